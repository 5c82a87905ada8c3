/**
 * Hostile input: property-based fuzzing (fast-check) of every operation of the served /api/openapi.json — path
 * parameters, query parameters (declared and invented) and bodies generated from the request schemas, mixed with
 * hostile values — as an admin (the caller that reaches the most code). The properties: never a 5xx, every error is
 * an RFC 9457 problem document, and the gateway is still healthy afterwards. At least 10,000 cases per run with a
 * fixed seed (SECURITY_FUZZ_SEED; printed on failure with the counterexample). SECURITY=full runs 5× more.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ArtifactKinds } from '@opsdesk/contracts';
import { multipartForm, multipartUpload, waitFor } from '@opsdesk/testing';
import fc from 'fast-check';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, login, randomIp } from '../support/stack';
import { deref, fillPath, operationsOf, pct, startSuiteStack, type OpenApiDoc, type Operation, type Schema, type SuiteStack } from './support/openapi';
import { recordCheck } from './support/report';

const SEED = Number(process.env.SECURITY_FUZZ_SEED ?? 20261201);
const TOTAL = Number(process.env.SECURITY_FUZZ_CASES ?? (process.env.SECURITY === 'full' ? 50_000 : 10_000));
/** operations that would end the fuzzing session itself (every other one is fuzzed) */
const SKIP = new Set(['POST /api/auth/logout']);

let suite: SuiteStack;
let admin: string;

beforeAll(async () => {
  suite = await startSuiteStack('secfuzz');
  admin = (await login(suite.stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
}, 180_000);

afterAll(async () => {
  await suite?.stop();
});

/** Strings an attacker tries everywhere: traversal, injection, encodings, controls, huge, unicode tricks. */
const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '../../../../etc/passwd',
    '..%2f..%2fetc%2fpasswd',
    '%00',
    '\u0000',
    "' OR '1'='1",
    '"; DROP TABLE auth.users; --',
    '${jndi:ldap://x}',
    '{{7*7}}',
    '<script>alert(1)</script>',
    '=cmd|\' /C calc\'!A0',
    '\u202egnp.exe',
    '\ud800',
    'null',
    'true',
    '-1',
    '1e309',
    'NaN',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '__proto__',
    'constructor',
    'a'.repeat(5000),
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.uuid(),
  fc.integer().map(String),
  fc.double().map(String),
);

const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A value for a schema: usually shaped like it (so validation passes and handlers run), sometimes hostile. */
function fromSchema(doc: OpenApiDoc, raw: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(doc, raw);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => fromSchema(doc, a, depth + 1)));
  if (s.allOf?.length) return fromSchema(doc, s.allOf[0], depth + 1);
  let shaped: fc.Arbitrary<unknown>;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (s.enum?.length) shaped = fc.constantFrom(...s.enum);
  else if (type === 'object' || s.properties) {
    const props = Object.entries(s.properties ?? {});
    if (depth > 4 || props.length === 0) shaped = fc.dictionary(fc.string({ maxLength: 10 }), hostileJson, { maxKeys: 3 });
    else
      shaped = fc.record(Object.fromEntries(props.map(([k, v]) => [k, fromSchema(doc, v, depth + 1)])), {
        requiredKeys: (s.required ?? []).filter((k) => s.properties && k in s.properties),
      });
  } else if (type === 'array') shaped = fc.array(fromSchema(doc, s.items, depth + 1), { maxLength: 4 });
  else if (type === 'integer') shaped = fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 100_000 });
  else if (type === 'number') shaped = fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
  else if (type === 'boolean') shaped = fc.boolean();
  else if (s.format === 'uuid') shaped = fc.uuid();
  else if (s.format === 'email') shaped = fc.emailAddress();
  else if (s.format === 'date-time') shaped = fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4102444800000) }).map((d) => d.toISOString());
  else if (s.format === 'ipv4') shaped = fc.ipV4();
  else if (s.format === 'uri') shaped = fc.webUrl();
  else shaped = fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 64, 256) });
  return fc.oneof({ arbitrary: shaped, weight: 4 }, { arbitrary: hostileJson, weight: 1 });
}

interface Case {
  path: Record<string, string>;
  query: Record<string, string | string[]>;
  body: unknown;
  raw?: string;
}

function caseFor(doc: OpenApiDoc, op: Operation): fc.Arbitrary<Case> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const asText = (a: fc.Arbitrary<unknown>) => a.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''));
  return fc.record({
    path: fc.record(Object.fromEntries(pathParams.map((p) => [p.name, fc.oneof(fc.uuid(), asText(fromSchema(doc, p.schema)), hostileString)]))) as fc.Arbitrary<Record<string, string>>,
    query: fc
      .tuple(
        fc.record(Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(asText(fromSchema(doc, p.schema)), fc.array(hostileString, { minLength: 2, maxLength: 3 }))])), {
          requiredKeys: [],
        }),
        fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'limit', 'cursor', 'skip', 'as_of')), hostileString, { maxKeys: 2 }),
      )
      .map(([declared, extra]) => ({ ...extra, ...declared }) as Record<string, string | string[]>),
    body: op.jsonBody ? fromSchema(doc, op.jsonBody) : hostileJson,
    raw: fc.option(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '{"a":', '[1,2', '\u0000', '{"__proto__":{"role":"admin"}}')), { nil: undefined, freq: 8 }),
  });
}

function queryString(q: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) for (const one of Array.isArray(v) ? v : [v]) parts.push(`${pct(k)}=${pct(one)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

async function send(op: Operation, c: Case): Promise<request.Response> {
  const url = fillPath(op.path, c.path) + queryString(c.query);
  let req = request(suite.stack.url)[op.method.toLowerCase() as 'get'](url).set('Authorization', `Bearer ${admin}`).set('X-Forwarded-For', randomIp()).timeout(30_000);
  if (op.method === 'GET' || op.method === 'DELETE') return req;
  const type = op.bodyTypes.find((t) => t !== 'application/json') && !op.jsonBody ? op.bodyTypes[0] : 'application/json';
  req = req.set('Content-Type', type === 'multipart/form-data' ? 'multipart/form-data; boundary=fuzz' : type);
  return req.send(c.raw ?? (type === 'application/json' ? JSON.stringify(c.body) ?? 'null' : String(typeof c.body === 'string' ? c.body : JSON.stringify(c.body))));
}

it(`fuzzes every operation (≥ ${TOTAL} cases, seed ${SEED}): never a 5xx, always a problem document`, async () => {
  // SECURITY_FUZZ_ONLY="DELETE /api/artifacts/{id}" reproduces one operation's failure with its seed
  const only = process.env.SECURITY_FUZZ_ONLY;
  const ops = operationsOf(suite.doc).filter((o) => !SKIP.has(o.key) && (!only || o.key === only));
  const perOp = Math.ceil(TOTAL / ops.length);
  let cases = 0;
  const statuses: Record<string, number> = {};
  for (const [i, op] of ops.entries()) {
    let lastError = '';
    await fc.assert(
      fc.asyncProperty(caseFor(suite.doc, op), async (c) => {
        const res = await send(op, c).catch((err: Error) => {
          lastError = `request failed: ${err.message}`;
          throw err;
        });
        cases++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const fail = (why: string) => {
          lastError = why;
          throw new Error(why);
        };
        if (res.status >= 500) fail(`${op.key} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
        if (res.status >= 400 && !String(res.headers['content-type'] ?? '').includes('application/problem+json'))
          fail(`${op.key} answered ${res.status} without a problem document (${res.headers['content-type']}): ${String(res.text).slice(0, 200)}`);
        if (res.status >= 400 && (typeof res.body?.code !== 'string' || res.body?.status !== res.status)) fail(`${op.key}: malformed problem ${JSON.stringify(res.body)}`);
      }),
      // one seed per operation derived from the run's seed, so a failure reproduces with SECURITY_FUZZ_SEED alone
      { numRuns: perOp, seed: SEED + i, endOnFailure: true, verbose: 2 },
    ).catch((err: Error) => {
      throw new Error(`fuzz of ${op.key} failed (SECURITY_FUZZ_SEED=${SEED}, operation seed ${SEED + i}): ${lastError}\n${err.message}`);
    });
  }
  // still alive and still itself
  await request(suite.stack.url).get('/healthz').expect(200);
  await request(suite.stack.url).get('/api/auth/me').set('Authorization', `Bearer ${admin}`).expect(200);
  recordCheck('fuzz', cases, `${ops.length} operations: no 5xx, no crash, every error a problem document`, { seed: SEED, statuses });
  expect(cases).toBeGreaterThanOrEqual(TOTAL);
}, 3_600_000);

describe('oversized and deeply nested JSON', () => {
  it('a body over BODY_LIMIT_BYTES is refused with 413 before it is parsed', async () => {
    const res = await request(suite.stack.url)
      .post('/api/hosts')
      .set('Authorization', `Bearer ${admin}`)
      .set('Content-Type', 'application/json')
      .send(`{"hostname":"${'a'.repeat(2 * 1024 * 1024)}"}`);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    recordCheck('oversized-json', 1, '2 MiB JSON refused with 413 problem (limit 1 MiB)');
  });

  it.each([
    ['arrays', (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`],
    ['objects', (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`],
  ])('deeply nested %s (100,000 levels) are refused with a 4xx problem, and the gateway stays up', async (_kind, make) => {
    const res = await request(suite.stack.url).post('/api/hosts').set('Authorization', `Bearer ${admin}`).set('Content-Type', 'application/json').send(make(100_000));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    await request(suite.stack.url).get('/healthz').expect(200);
    recordCheck(`nested-json-${_kind}`, 1, 'a 100,000-level JSON body gets a 4xx problem; the gateway keeps serving');
  });
});

/**
 * The upload route reads multipart bodies itself (services/artifacts/src/uploads/multipart-parser.ts): the request
 * fuzz above sends it strings, this sends it forms. Valid uploads (fields before or after the file, file bytes
 * full of CRLFs, dashes and near-delimiters, the body cut anywhere) must be stored with their exact sha256;
 * hostile forms (mutated framing, headers and fields past the limits, many parts, odd dispositions and
 * charsets) must get a 4xx problem document. Never a 5xx; afterwards no temp upload is left.
 */
describe('hostile multipart uploads', () => {
  const UPLOAD_CASES = Number(process.env.SECURITY_UPLOAD_CASES ?? (process.env.SECURITY === 'full' ? 5_000 : 600));
  let host: string;

  beforeAll(async () => {
    host = (await request(suite.stack.url).post('/api/hosts').set('Authorization', `Bearer ${admin}`).send({ hostname: 'multipart-fuzz', ip: '10.97.0.1', environment: 'dev' }).expect(201)).body.id;
  });

  /** One upload written chunk by chunk, as a client on a slow network would. */
  function upload(boundary: string, chunks: Buffer[]): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
    const url = new URL(`/api/hosts/${host}/artifacts`, suite.stack.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          agent: false,
          headers: { Authorization: `Bearer ${admin}`, 'X-Forwarded-For': randomIp(), 'Content-Type': `multipart/form-data; boundary="${boundary}"` },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString();
            let body: Record<string, unknown> = {};
            try {
              body = JSON.parse(text) as Record<string, unknown>;
            } catch {
              body = { unparsed: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body });
          });
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
      const next = (i: number) => {
        if (i === chunks.length) return void req.end();
        if (req.write(chunks[i])) setImmediate(() => next(i + 1));
        else req.once('drain', () => next(i + 1));
      };
      next(0);
    });
  }

  it(`stores every valid upload exactly and refuses every hostile form with a 4xx problem (${UPLOAD_CASES} cases)`, async () => {
    const statuses: Record<string, number> = {};
    let stored = 0;
    const cases = fc.oneof(
      multipartUpload(ArtifactKinds).map((u) => ({ ...u, valid: true as const })),
      multipartForm({ oversized: true }).map((f) => ({ ...f, valid: false as const, file: undefined, kind: undefined })),
    );
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const res = await upload(c.boundary, c.chunks);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        expect(res.status).toBeLessThan(500);
        if (c.valid) {
          expect({ status: res.status, sha256: res.body.sha256, size: res.body.size, kind: res.body.kind }).toEqual({
            status: 201,
            sha256: createHash('sha256').update(c.file).digest('hex'),
            size: c.file.length,
            kind: c.kind,
          });
          stored++;
        } else if (res.status >= 400) {
          expect(res.type).toContain('application/problem+json');
          expect(res.body).toMatchObject({ status: res.status, code: expect.any(String) });
        }
      }),
      { numRuns: UPLOAD_CASES, seed: SEED, endOnFailure: true },
    );
    // nothing half-written stays behind, and the system still serves
    const tmp = join(suite.storage, 'tmp');
    await waitFor(() => readdirSync(tmp).length === 0, { timeoutMs: 15_000, what: 'no temp uploads left' }).catch(() => expect(readdirSync(tmp)).toEqual([]));
    await request(suite.stack.url).get('/healthz').expect(200);
    expect(stored).toBeGreaterThan(UPLOAD_CASES / 4);
    recordCheck('multipart-uploads', UPLOAD_CASES, `${stored} generated uploads stored with their exact sha256; hostile forms answered 4xx problems; no temp left`, { seed: SEED, statuses });
  }, 1_800_000);
});
