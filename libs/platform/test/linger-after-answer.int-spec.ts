import { connect, type Socket } from 'node:net';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Controller, Get, Module, Post, Req, UseFilters } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { AppError, ErrorCodes } from '@opsdesk/contracts';
import { waitFor } from '@opsdesk/testing';
import { InternalHttpErrorFilter } from '../src/internal-http-error.filter';
import { LINGER_AFTER_ANSWER_MS } from '../src/linger-after-answer';
import { createServiceApp } from '../src/service-app';

const READ_FIRST = 64 * 1024;

/** An internal streamed route like the upload and the CSV import: it refuses a body it has not read to the end. */
@Controller('internal/probe')
@UseFilters(InternalHttpErrorFilter)
class RefusingController {
  // reads part of the body, then refuses it (413 while streaming, a malformed form)
  @Post('refuse-after-reading')
  async refuseAfterReading(@Req() req: FastifyRequest): Promise<never> {
    await new Promise<void>((resolve) => {
      let seen = 0;
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen < READ_FIRST) return;
        req.raw.off('data', onData);
        req.raw.pause();
        resolve();
      };
      req.raw.on('data', onData);
      req.raw.once('end', () => resolve());
    });
    throw new AppError(ErrorCodes.PAYLOAD_TOO_LARGE, 'The body is larger than this probe takes');
  }

  // reads the body through stream.pipeline, whose failing stage destroys the request (it cannot be drained then)
  @Post('refuse-in-pipeline')
  async refuseInPipeline(@Req() req: FastifyRequest): Promise<never> {
    let seen = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        done(seen > READ_FIRST ? new AppError(ErrorCodes.PAYLOAD_TOO_LARGE, 'The body is larger than this probe takes') : null);
      },
    });
    await pipeline(req.raw, limit, new Writable({ write: (_c, _e, done) => done() }));
    throw new Error('unreachable: the probe body is always over the limit');
  }

  // refuses before reading anything (a failed guard, a quota)
  @Post('refuse-at-once')
  refuseAtOnce(): never {
    throw new AppError(ErrorCodes.PAYLOAD_TOO_LARGE, 'The body is larger than this probe takes');
  }

  @Get('ok')
  ok() {
    return { ok: true };
  }
}

@Module({ controllers: [RefusingController] })
class ProbeModule {}

interface RawClient {
  socket: Socket;
  /** everything the server sent, as text */
  text(): string;
  /** the socket has closed */
  closed(): boolean;
  /** the socket's error (a reset, a failed write), if any */
  error(): Error | null;
}

/** A client on a raw socket: sends exactly what the test writes, so "still writing after the answer" is real. */
async function rawClient(port: number): Promise<RawClient> {
  const socket = connect({ port, host: '127.0.0.1' });
  const received: Buffer[] = [];
  let error: Error | null = null;
  let closed = false;
  socket.on('data', (c: Buffer) => received.push(c));
  socket.on('error', (err) => (error = err));
  socket.once('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, text: () => Buffer.concat(received).toString('latin1'), closed: () => closed, error: () => error };
}

const write = (socket: Socket, data: string | Buffer) => new Promise<void>((resolve) => socket.write(data, () => resolve()));
/** a POST's head to a probe route, declaring `length` body bytes */
const postHead = (client: RawClient, route: string, length: number) =>
  write(client.socket, `POST /internal/probe/${route} HTTP/1.1\r\nHost: probe\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
const closedByService = (client: RawClient, timeoutMs: number) => waitFor(() => client.closed(), { timeoutMs, what: 'the service closing the socket' });
/** the answer to the request, once its JSON body is complete */
const answered = (client: RawClient) =>
  waitFor(() => (/\r\n\r\n\{[\s\S]*\}$/.test(client.text()) ? client.text() : null), { timeoutMs: 10_000, what: 'the answer' });

// The linger is the bootstrap's (createServiceApp's onSend hook), so every process has it; the probe is an internal
// route like the upload and the CSV import, answered by InternalHttpErrorFilter.
describe('a body refused before it is complete is answered, read and dropped, then closed (real HTTP)', () => {
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    app = await createServiceApp({
      service: 'probe',
      module: ProbeModule,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      logger: false,
      handleSignals: false,
      configure: (a) => a.getHttpAdapter().getInstance().addContentTypeParser('application/octet-stream', (_req, _payload, done) => done(null)),
    });
    port = (app.getHttpServer().address() as { port: number }).port;
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each([['refuse-after-reading'], ['refuse-at-once']])(
    '%s: a peer still writing after the answer gets no reset while it writes, and the socket is closed after the linger',
    async (route) => {
      const client = await rawClient(port);
      await postHead(client, route, 64 * 1024 * 1024);
      // like the gateway relaying an upload: it keeps writing until it has read the answer...
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      while (!/\r\n\r\n\{[\s\S]*\}$/.test(client.text()) && sent < 32 * 1024 * 1024 && !client.error()) {
        await write(client.socket, chunk);
        sent += chunk.length;
      }
      const answer = await answered(client);
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toContain(ErrorCodes.PAYLOAD_TOO_LARGE);
      // ...and a while after it (a relay's writes already in flight): with `Connection: close` the service closed
      // with these bytes unread, a reset that could reach the peer before the answer did
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        await write(client.socket, chunk);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(client.error()).toBeNull();
      expect(client.socket.destroyed).toBe(false);
      // this peer never finishes its body: the service closes the socket at the end of the linger
      await closedByService(client, LINGER_AFTER_ANSWER_MS + 5_000);
    },
  );

  it('a route whose pipeline destroyed its request answers with Connection: close and closes, never keeps the connection (it would hang)', async () => {
    const client = await rawClient(port);
    const body = 256 * 1024;
    await postHead(client, 'refuse-in-pipeline', body);
    await write(client.socket, Buffer.alloc(body / 2, 1));
    const answer = await answered(client);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    await closedByService(client, 5_000);
  });

  it('a peer that finishes its body after the answer keeps its connection: the next request on it is served', async () => {
    const client = await rawClient(port);
    const body = 256 * 1024;
    await postHead(client, 'refuse-after-reading', body);
    await write(client.socket, Buffer.alloc(body / 2, 1));
    const answer = await answered(client);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).not.toContain('connection: close');
    await write(client.socket, Buffer.alloc(body / 2, 2));
    const before = client.text().length;
    await write(client.socket, 'GET /internal/probe/ok HTTP/1.1\r\nHost: probe\r\n\r\n');
    const second = await waitFor(() => (/\{"ok":true\}$/.test(client.text()) ? client.text().slice(before) : null), { what: 'the second answer' });
    expect(second).toMatch(/^HTTP\/1\.1 200 /);
    expect(client.error()).toBeNull();
    client.socket.destroy();
  });
});
