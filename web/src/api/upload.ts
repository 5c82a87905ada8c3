import { ApiError, problemFromResponse } from './errors';
import { ensureFreshToken, refreshSession } from './http';
import { session } from './session';

/**
 * Uploads with real progress: fetch() cannot report upload progress, XMLHttpRequest's upload events can
 * (bytes handed to the network / total). Cancel with the AbortSignal.
 */
export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadOptions {
  url: string;
  body: FormData | Blob | string;
  contentType?: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** factory, so tests can hand in a fake; the browser's by default */
  xhr?: () => XMLHttpRequest;
}

function parseHeaders(raw: string): { get(name: string): string | null } {
  const map = new Map<string, string>();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { get: (name) => map.get(name.toLowerCase()) ?? null };
}

function once<T>(opts: UploadOptions): Promise<{ status: number; data: T }> {
  return new Promise((resolve, reject) => {
    const xhr = (opts.xhr ?? (() => new XMLHttpRequest()))();
    xhr.open('POST', opts.url);
    if (session.accessToken) xhr.setRequestHeader('Authorization', `Bearer ${session.accessToken}`);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    if (opts.contentType) xhr.setRequestHeader('Content-Type', opts.contentType);
    xhr.upload.onprogress = (e: ProgressEvent) => {
      if (e.lengthComputable) opts.onProgress?.({ loaded: e.loaded, total: e.total });
    };
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = xhr.responseText ? (JSON.parse(xhr.responseText) as unknown) : undefined;
      } catch {
        // not JSON: keep the text
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, data: body as T });
      else reject(problemFromResponse(xhr.status, parseHeaders(xhr.getAllResponseHeaders()), body));
    };
    xhr.onerror = () => reject(new ApiError({ kind: navigator.onLine === false ? 'offline' : 'network' }));
    xhr.ontimeout = () => reject(new ApiError({ kind: 'timeout' }));
    xhr.onabort = () => reject(new ApiError({ kind: 'aborted' }));
    if (opts.signal) {
      if (opts.signal.aborted) {
        xhr.abort();
        return;
      }
      opts.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(opts.body);
  });
}

export async function upload<T>(opts: UploadOptions): Promise<T> {
  await ensureFreshToken();
  try {
    return (await once<T>(opts)).data;
  } catch (err) {
    // a token revoked mid-upload: one refresh and one retry (the body is a File/Blob, so it can be re-sent)
    if (err instanceof ApiError && err.status === 401 && (await refreshSession()))
      return (await once<T>(opts)).data;
    if (err instanceof ApiError && err.status === 401) session.expire();
    throw err;
  }
}
