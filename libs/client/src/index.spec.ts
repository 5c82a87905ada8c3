import { createOpsDeskClient, hostETag, importHostsCsv, uploadArtifact } from './index';

/** The client's own logic (auth header, URL building, bodies) against a recording fetch; real flows: e2e/client.e2e-spec.ts. */
function recorder(status = 200, body: unknown = { items: [], next_cursor: null }) {
  const requests: Request[] = [];
  const fetch = async (input: Request) => {
    requests.push(input);
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status < 400 ? 'application/json' : 'application/problem+json' } });
  };
  return { requests, fetch: fetch as unknown as typeof globalThis.fetch };
}

describe('createOpsDeskClient', () => {
  it('sends the token as a bearer, asking a token function on every request', async () => {
    const r = recorder();
    let n = 0;
    const api = createOpsDeskClient({ baseUrl: 'http://opsdesk.test/', token: () => `odp_token${++n}`, fetch: r.fetch });
    await api.GET('/api/hosts', { params: { query: { environment: 'prod', tag: ['a', 'b'], limit: 5 } } });
    await api.GET('/api/hosts');
    expect(r.requests.map((q) => q.headers.get('authorization'))).toEqual(['Bearer odp_token1', 'Bearer odp_token2']);
    expect(r.requests[0].url).toBe('http://opsdesk.test/api/hosts?environment=prod&tag=a&tag=b&limit=5');
  });

  it('returns problem documents as error, not as an exception', async () => {
    const r = recorder(412, { status: 412, code: 'INVENTORY.PRECONDITION_FAILED', title: 'Precondition Failed', detail: 'changed', type: 't', request_id: 'r' });
    const api = createOpsDeskClient({ baseUrl: 'http://opsdesk.test', fetch: r.fetch });
    const res = await api.PATCH('/api/hosts/{id}', { params: { path: { id: 'h1' }, header: { 'If-Match': hostETag({ version: 3 }) } }, body: { owner: 'x' } });
    expect(res.data).toBeUndefined();
    expect(res.error?.code).toBe('INVENTORY.PRECONDITION_FAILED');
    expect(r.requests[0].headers.get('if-match')).toBe('"3"');
    expect(r.requests[0].headers.get('authorization')).toBeNull();
  });

  it('uploads artifacts as multipart with the fields before the file, and imports CSV as text/csv', async () => {
    const r = recorder(201, {});
    const api = createOpsDeskClient({ baseUrl: 'http://opsdesk.test', fetch: r.fetch });
    await uploadArtifact(api, 'h1', new Blob(['hello']), { filename: 'a.log', kind: 'log', description: 'd' });
    const sent = r.requests[0];
    expect(sent.url).toBe('http://opsdesk.test/api/hosts/h1/artifacts');
    expect(sent.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const text = await sent.text();
    expect(text.indexOf('name="kind"')).toBeLessThan(text.indexOf('name="file"'));
    expect(text.indexOf('name="description"')).toBeLessThan(text.indexOf('name="file"'));

    await importHostsCsv(api, 'hostname,ip,environment\nweb-1,10.0.0.1,dev\n', { dry_run: true });
    const csv = r.requests[1];
    expect(csv.url).toBe('http://opsdesk.test/api/hosts/import?dry_run=true');
    expect(csv.headers.get('content-type')).toBe('text/csv');
    expect(await csv.text()).toBe('hostname,ip,environment\nweb-1,10.0.0.1,dev\n');
  });
});
