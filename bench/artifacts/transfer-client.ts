/**
 * The HTTP client of the artifacts bench, run in a process of its own (`node transfer-client.js '<json>'`)
 * so the transfer is timed without the bench process's other work (in-process auth and inventory, GC of
 * their heaps) on the same event loop. Prints one JSON line: {status, seconds, body?, sha256?, bytes?}.
 * `gateway` is the base URL the request goes to: the gateway, a bare baseline, or the edge nginx (http or https).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const MB = 1024 * 1024;

export type TransferJob =
  | { kind: 'upload'; gateway: string; token: string; hostId: string; file: string; size: number }
  | { kind: 'download'; gateway: string; token: string; id: string; dest: string };

export interface TransferResult {
  status: number;
  seconds: number;
  body?: string;
  sha256?: string;
  bytes?: number;
}

/**
 * http or https by the base URL's scheme. https only reaches the bench's own nginx (BENCH_ARTIFACT_EDGE_TLS=1), whose
 * certificate is a throwaway self-signed one made for the run: there is nothing to verify it against.
 */
function open(url: URL, options: RequestOptions): ClientRequest {
  return url.protocol === 'https:' ? httpsRequest(url, { ...options, rejectUnauthorized: false }) : httpRequest(url, options);
}

/** Streams a file as multipart/form-data through the gateway (never in memory). */
function upload(job: Extract<TransferJob, { kind: 'upload' }>): Promise<{ status: number; body: string }> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nsupport_bundle\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bundle.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = open(new URL(`/api/hosts/${job.hostId}/artifacts`, job.gateway), {
      method: 'POST',
      headers: { authorization: `Bearer ${job.token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + job.size + tail.length) },
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    const body = new PassThrough({ highWaterMark: MB });
    body.pipe(req);
    void (async () => {
      body.write(head);
      await pipeline(createReadStream(job.file, { highWaterMark: MB }), body, { end: false });
      body.end(tail);
    })().catch(reject);
  });
}

/** Streams a download to a file (hashed afterwards, outside the timed window: cp does not hash either). */
function download(job: Extract<TransferJob, { kind: 'download' }>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = open(new URL(`/api/artifacts/${job.id}/download`, job.gateway), { headers: { authorization: `Bearer ${job.token}` } });
    req.on('response', (res: IncomingMessage) => {
      pipeline(res, createWriteStream(job.dest, { highWaterMark: MB })).then(() => resolve({ status: res.statusCode ?? 0 }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function sha256Of(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const c of createReadStream(path, { highWaterMark: MB }) as AsyncIterable<Buffer>) {
    bytes += c.length;
    hash.update(c);
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function run(job: TransferJob): Promise<TransferResult> {
  const t0 = process.hrtime.bigint();
  if (job.kind === 'upload') {
    const r = await upload(job);
    return { ...r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }
  const r = await download(job);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ...r, seconds, ...(await sha256Of(job.dest)) };
}

if (require.main === module) {
  run(JSON.parse(process.argv[2] ?? '{}') as TransferJob).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
