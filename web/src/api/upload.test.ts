import { describe, expect, it } from 'vitest';
import { ApiError } from './errors';
import { upload, type UploadProgress } from './upload';

/** A stand-in for XMLHttpRequest that the test drives: upload progress events, then a response. */
class FakeXhr {
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = '';
  headers: Record<string, string> = {};
  sent: unknown = null;
  open() {}
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  getAllResponseHeaders() {
    return 'content-type: application/problem+json\r\nx-request-id: rid-9\r\n';
  }
  send(body: unknown) {
    this.sent = body;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ lengthComputable: true, loaded, total } as ProgressEvent);
  }
  respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe('upload with progress', () => {
  it('reports bytes sent / total and resolves with the JSON body', async () => {
    const xhr = new FakeXhr();
    const seen: UploadProgress[] = [];
    const done = upload<{ id: string }>({
      url: '/api/x',
      body: new Blob(['abc']),
      onProgress: (p) => seen.push(p),
      xhr: () => xhr as unknown as XMLHttpRequest,
    });
    await Promise.resolve();
    await Promise.resolve();
    xhr.progress(1, 3);
    xhr.progress(3, 3);
    xhr.respond(201, { id: 'a1' });
    await expect(done).resolves.toEqual({ id: 'a1' });
    expect(seen).toEqual([
      { loaded: 1, total: 3 },
      { loaded: 3, total: 3 },
    ]);
  });

  it('turns an error response into an ApiError with the request id', async () => {
    const xhr = new FakeXhr();
    const done = upload({ url: '/api/x', body: 'a', xhr: () => xhr as unknown as XMLHttpRequest });
    await new Promise((r) => setTimeout(r, 0));
    xhr.respond(413, { status: 413, code: 'ARTIFACTS.TOO_LARGE', detail: 'The file is larger than 64 MB' });
    const err = (await done.catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(413);
    expect(err.detail).toBe('The file is larger than 64 MB');
    expect(err.requestId).toBe('rid-9');
  });

  it('cancels through the AbortSignal', async () => {
    const xhr = new FakeXhr();
    const ctrl = new AbortController();
    const done = upload({
      url: '/api/x',
      body: 'a',
      signal: ctrl.signal,
      xhr: () => xhr as unknown as XMLHttpRequest,
    });
    await new Promise((r) => setTimeout(r, 0));
    ctrl.abort();
    const err = (await done.catch((e: unknown) => e)) as ApiError;
    expect(err.kind).toBe('aborted');
  });
});
