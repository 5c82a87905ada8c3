import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_MAX_RESPONSE_BYTES, PrometheusClient } from './prometheus.client';

/**
 * A hostile "Prometheus" on a real socket: the admin-set URL makes inventory send requests where the admin says,
 * so the client must not follow redirects, read unbounded answers, hang, or echo what comes back.
 */
describe('PrometheusClient against a hostile upstream', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const path = (req.url ?? '').split('?')[0];
      if (path.startsWith('/redirect/')) return res.writeHead(302, { location: `${base}/internal-secret/api/v1/query` }).end();
      if (path.startsWith('/internal-secret/')) return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[]}}');
      if (path.startsWith('/huge/')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent <= PROMETHEUS_MAX_RESPONSE_BYTES * 2) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      if (path.startsWith('/slow/')) return void setTimeout(() => res.writeHead(200).end('{}'), 5000).unref();
      if (path.startsWith('/leaky/')) return res.writeHead(500, { 'content-type': 'application/json' }).end('{"status":"error","errorType":"internal","error":"db password is hunter2"}');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[]}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers a normal query (control)', async () => {
    await expect(new PrometheusClient(`${base}/ok/`, 2000).query('up')).resolves.toEqual([]);
  });

  it('refuses non-http(s) URLs', () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/', 'gopher://127.0.0.1:70/']) expect(() => new PrometheusClient(url, 1000)).toThrow(/must be http\(s\)/);
  });

  it('does not follow redirects', async () => {
    hits.length = 0;
    await expect(new PrometheusClient(`${base}/redirect/`, 2000).query('up')).rejects.toThrow(/redirect \(HTTP 302\); redirects are not followed/);
    expect(hits.some((h) => h.startsWith('/internal-secret/'))).toBe(false);
  });

  it('stops reading an answer larger than the bound', async () => {
    await expect(new PrometheusClient(`${base}/huge/`, 10_000).query('up')).rejects.toThrow(/sent more than/);
  });

  it('gives up after its timeout', async () => {
    await expect(new PrometheusClient(`${base}/slow/`, 300).query('up')).rejects.toThrow(/unreachable/);
  });

  it("never echoes the upstream's error text, only its status and errorType", async () => {
    const err = await new PrometheusClient(`${base}/leaky/`, 2000).query('up').catch((e: Error) => e);
    expect(String((err as Error).message)).toContain('HTTP 500 (internal)');
    expect(JSON.stringify(err)).not.toContain('hunter2');
    expect(String((err as Error).message)).not.toContain('hunter2');
  });
});
