/**
 * The ceiling of the upload architecture on this machine, for the artifacts bench: the same two HTTP hops
 * (client → proxy → sink) in bare Node, with none of OpsDesk's work — no auth, no multipart parsing, no
 * SHA-256, no metadata — only the sink's write to disk and fsync, like the artifacts service.
 *   node bare-hop.js sink <port> <file>          writes each request body to <file>, fsyncs, answers 201
 *   node bare-hop.js hash-sink <port> <file>     the one-hop baseline: like sink, and SHA-256 of the bytes too
 *   node bare-hop.js proxy <port> <upstream-url>  streams each request to the upstream and the answer back
 *   node bare-hop.js hash-source <port> <file>   the one-hop download baseline: answers every request with <file>,
 *                                                SHA-256 of the bytes computed while they stream (like a download)
 * Prints "ready" on stdout once listening.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { pipeline } from 'node:stream/promises';

const [mode, port, target] = process.argv.slice(2);

const server = createServer((req, res) => {
  if (mode === 'sink' || mode === 'hash-sink') {
    void (async () => {
      const hash = createHash('sha256');
      if (mode === 'hash-sink') req.on('data', (c: Buffer) => hash.update(c));
      await pipeline(req, createWriteStream(target, { highWaterMark: 1024 * 1024 }));
      const h = await open(target, 'r+');
      await h.sync();
      await h.close();
      res.writeHead(201, { 'content-type': 'application/json' }).end(mode === 'hash-sink' ? JSON.stringify({ sha256: hash.digest('hex') }) : '{}');
    })().catch((err: Error) => res.writeHead(500).end(err.message));
    return;
  }
  if (mode === 'hash-source') {
    const hash = createHash('sha256');
    const src = createReadStream(target, { highWaterMark: 256 * 1024 });
    src.on('data', (c: Buffer | string) => hash.update(c));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(statSync(target).size) });
    pipeline(src, res).catch(() => res.destroy());
    return;
  }
  const up = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers });
  up.on('response', (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', (err) => res.writeHead(502).end(err.message));
  req.pipe(up);
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
