import { request, type Query } from './http';

/**
 * Downloads an authenticated file (the API needs the bearer header, so a plain link cannot do it): fetches it
 * as a Blob and hands it to the browser as a download with the server's file name.
 */
export function filenameFrom(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // malformed: try the plain parameter
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : fallback;
}

export async function fetchBlob(
  path: string,
  query?: Query,
): Promise<{ blob: Blob; filename: string | null }> {
  const res = await request<Blob>(path, { query, headers: { Accept: '*/*' }, timeoutMs: 300_000, raw: true });
  return { blob: res.data, filename: filenameFrom(res.headers.get('content-disposition'), '') || null };
}

export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function download(path: string, fallbackName: string, query?: Query): Promise<Blob> {
  const { blob, filename } = await fetchBlob(path, query);
  saveBlob(blob, filename ?? fallbackName);
  return blob;
}
