/**
 * RBAC matrix generated from the served /api/openapi.json: every operation × {anonymous, viewer, auditor,
 * operator, admin, an API token of each scope} against SPEC §3 (support/expected-access.ts). A served operation
 * without a row, or a row without an operation, fails. Internal-only paths must answer 404. "Allowed" means the request got past authentication and
 * authorization (any answer but 401/403, and never a 5xx); refused means exactly 401 or 403 with a problem document.
 */
import request from 'supertest';
import { randomIp } from '../support/stack';
import { EXPECTED_ACCESS, INTERNAL_ONLY_PATHS } from './support/expected-access';
import { fillPath, operationsOf, startSuiteStack, type Operation, type SuiteStack } from './support/openapi';
import { expectedOutcome, makeCallers, type Caller } from './support/principals';
import { recordCheck } from './support/report';

let suite: SuiteStack;
let callers: Caller[];
let ops: Operation[];

beforeAll(async () => {
  suite = await startSuiteStack('secrbac');
  callers = await makeCallers(suite.stack, 'rbac');
  ops = operationsOf(suite.doc);
}, 180_000);

afterAll(async () => {
  await suite?.stop();
});

it('every served operation has a row in the SPEC §3 table, and every row is served', () => {
  const served = ops.map((o) => o.key);
  expect(served.filter((k) => !(k in EXPECTED_ACCESS))).toEqual([]);
  expect(Object.keys(EXPECTED_ACCESS).filter((k) => !served.includes(k))).toEqual([]);
});

it('readiness and metrics are neither documented nor served on the public port, whoever asks', async () => {
  for (const path of INTERNAL_ONLY_PATHS) {
    expect(ops.map((o) => o.path)).not.toContain(path);
    for (const caller of callers) {
      let req = request(suite.stack.url).get(path).set('X-Forwarded-For', randomIp());
      if (caller.token) req = req.set('Authorization', `Bearer ${caller.token}`);
      const res = await req;
      expect({ path, caller: caller.name, status: res.status }).toEqual({ path, caller: caller.name, status: 404 });
    }
  }
});

it('every operation × caller gets what SPEC §3 says (allowed, 401 or 403)', async () => {
  const mismatches: string[] = [];
  let cases = 0;
  for (const op of ops) {
    const access = EXPECTED_ACCESS[op.key];
    if (!access) continue; // reported by the test above
    for (const caller of callers) {
      const expected = expectedOutcome(access, caller);
      // logout ends the session it runs in: use a fresh one so the caller's main session survives
      const token = op.key === 'POST /api/auth/logout' && caller.fresh && expected === 'allowed' ? await caller.fresh() : caller.token;
      let req = request(suite.stack.url)[op.method.toLowerCase() as 'get'](fillPath(op.path, {})).set('X-Forwarded-For', randomIp());
      if (token) req = req.set('Authorization', `Bearer ${token}`);
      // an empty JSON body: enough to get through to validation, never a change (nothing required is given)
      if (op.method !== 'GET' && op.method !== 'DELETE') req = req.set('Content-Type', 'application/json').send('{}');
      const res = await req;
      cases++;
      const got = res.status === 401 || res.status === 403 || (expected === 404 && res.status === 404) ? res.status : 'allowed';
      const problem = res.status >= 400 ? String(res.headers['content-type'] ?? '').includes('application/problem+json') : true;
      if (got !== expected || res.status >= 500 || !problem) {
        mismatches.push(`${op.key} as ${caller.name}: expected ${expected}, got ${res.status} ${res.body?.code ?? ''}${problem ? '' : ' (not a problem document)'}`);
      }
    }
  }
  recordCheck('rbac-matrix', cases, `${ops.length} operations × ${callers.length} callers match SPEC §3`);
  expect(mismatches).toEqual([]);
}, 300_000);
