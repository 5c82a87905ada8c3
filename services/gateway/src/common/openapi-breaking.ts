/**
 * Breaking changes between two OpenAPI 3.0 documents (the committed docs/openapi.json and a new one), from a
 * client's point of view: what worked against the old document and no longer does. Pure; no I/O.
 *
 * Flagged: removed operations, success statuses, parameters or request fields; changed operation ids; new
 * required inputs (parameter, body, body field); narrowed input types (type changed, enum value removed,
 * lower maximum/maxLength/maxItems, higher minimum/minLength, nullable removed, new pattern); response fields
 * removed, made optional, made nullable or of another type. Additions (operations, optional inputs, response
 * fields) are not breaking. A change made on purpose is accepted by listing its exact text in
 * docs/openapi-breaking-changes.json (see docs/API.md "Changing the API").
 */

type Json = Record<string, unknown>;
type Doc = { paths?: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json>; parameters?: Record<string, Json> } };

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function deref(doc: Doc, node: unknown): Json {
  let n = (node ?? {}) as Json;
  for (let i = 0; i < 20 && typeof n.$ref === 'string'; i++) {
    const parts = (n.$ref as string).replace(/^#\//, '').split('/');
    n = parts.reduce<unknown>((acc, p) => (acc as Json | undefined)?.[p], doc) as Json;
    n ??= {};
  }
  // `{allOf: [$ref], nullable}` is how a nullable component is written: look through it
  if (Array.isArray(n.allOf) && n.allOf.length === 1) return { ...deref(doc, n.allOf[0]), ...(n.nullable ? { nullable: true } : {}) };
  return n;
}

const typeOf = (s: Json): string => (typeof s.type === 'string' ? s.type : s.properties ? 'object' : 'any');

/** Input side: the new schema must accept everything the old one did. */
function inputNarrowing(a: Doc, b: Doc, oldS: Json, newS: Json, at: string, out: string[], depth = 0): void {
  if (depth > 12) return;
  const o = deref(a, oldS);
  const n = deref(b, newS);
  const ot = typeOf(o);
  const nt = typeOf(n);
  // integer → number widens; any other change narrows
  if (ot !== 'any' && nt !== 'any' && ot !== nt && !(ot === 'integer' && nt === 'number')) out.push(`${at}: type ${ot} became ${nt}`);
  if (ot === 'any' && nt !== 'any') out.push(`${at}: type any became ${nt}`);
  if (o.nullable && !n.nullable) out.push(`${at}: no longer nullable`);
  if (Array.isArray(n.enum)) {
    const removed = Array.isArray(o.enum) ? o.enum.filter((v) => !(n.enum as unknown[]).includes(v)) : ['(any value)'];
    if (removed.length) out.push(`${at}: enum no longer accepts ${removed.map(String).join(', ')}`);
  }
  for (const k of ['maximum', 'maxLength', 'maxItems'] as const) {
    if (typeof n[k] === 'number' && (typeof o[k] !== 'number' || (n[k] as number) < (o[k] as number))) out.push(`${at}: ${k} lowered to ${String(n[k])}`);
  }
  for (const k of ['minimum', 'minLength', 'minItems'] as const) {
    if (typeof n[k] === 'number' && (typeof o[k] !== 'number' || (n[k] as number) > (o[k] as number))) out.push(`${at}: ${k} raised to ${String(n[k])}`);
  }
  if (typeof n.pattern === 'string' && n.pattern !== o.pattern) out.push(`${at}: pattern changed`);
  if (nt === 'object') {
    const op = (o.properties ?? {}) as Record<string, Json>;
    const np = (n.properties ?? {}) as Record<string, Json>;
    const oreq = new Set((o.required ?? []) as string[]);
    for (const r of (n.required ?? []) as string[]) if (!oreq.has(r)) out.push(`${at}: new required field ${r}`);
    for (const [k, s] of Object.entries(op)) {
      if (!np[k]) {
        if (n.additionalProperties === false) out.push(`${at}: field ${k} removed`);
        continue;
      }
      inputNarrowing(a, b, s, np[k], `${at}.${k}`, out, depth + 1);
    }
  }
  if (nt === 'array' && o.items && n.items) inputNarrowing(a, b, o.items as Json, n.items as Json, `${at}[]`, out, depth + 1);
}

/** Output side: every field a client could read must still be there, required, of the same type. */
function outputNarrowing(a: Doc, b: Doc, oldS: Json, newS: Json, at: string, out: string[], depth = 0): void {
  if (depth > 12) return;
  const o = deref(a, oldS);
  const n = deref(b, newS);
  const ot = typeOf(o);
  const nt = typeOf(n);
  if (ot !== 'any' && ot !== nt && !(ot === 'integer' && nt === 'number')) out.push(`${at}: type ${ot} became ${nt}`);
  if (!o.nullable && n.nullable) out.push(`${at}: may now be null`);
  if (Array.isArray(o.enum) && Array.isArray(n.enum)) {
    const added = n.enum.filter((v) => !(o.enum as unknown[]).includes(v));
    if (added.length) out.push(`${at}: new enum values ${added.map(String).join(', ')}`);
  }
  if (ot === 'object') {
    const op = (o.properties ?? {}) as Record<string, Json>;
    const np = (n.properties ?? {}) as Record<string, Json>;
    const oreq = new Set((o.required ?? []) as string[]);
    const nreq = new Set((n.required ?? []) as string[]);
    for (const [k, s] of Object.entries(op)) {
      if (!np[k]) out.push(`${at}: field ${k} removed`);
      else {
        if (oreq.has(k) && !nreq.has(k)) out.push(`${at}: field ${k} no longer always present`);
        outputNarrowing(a, b, s, np[k], `${at}.${k}`, out, depth + 1);
      }
    }
  }
  if (ot === 'array' && o.items && n.items) outputNarrowing(a, b, o.items as Json, n.items as Json, `${at}[]`, out, depth + 1);
}

const jsonSchemaOf = (content: unknown): Json | undefined => {
  const c = (content ?? {}) as Record<string, { schema?: Json }>;
  const key = Object.keys(c).find((k) => k.includes('json'));
  return key ? c[key].schema : undefined;
};

export function breakingChanges(oldDoc: unknown, newDoc: unknown): string[] {
  const a = oldDoc as Doc;
  const b = newDoc as Doc;
  const out: string[] = [];
  for (const [path, item] of Object.entries(a.paths ?? {})) {
    for (const method of METHODS) {
      const o = item[method];
      if (!o) continue;
      const at = `${method.toUpperCase()} ${path}`;
      const n = b.paths?.[path]?.[method];
      if (!n) {
        out.push(`${at}: operation removed`);
        continue;
      }
      if (o.operationId !== n.operationId) out.push(`${at}: operationId ${String(o.operationId)} became ${String(n.operationId)}`);

      // parameters (by location and name)
      const params = (d: Doc, list: unknown) => ((list ?? []) as unknown[]).map((p) => deref(d, p));
      const op = params(a, o.parameters);
      const np = params(b, n.parameters);
      const key = (p: Json) => `${String(p.in)} ${String(p.name)}`;
      for (const p of np) {
        const old = op.find((x) => key(x) === key(p));
        if (p.required && !old?.required) out.push(`${at}: new required parameter ${key(p)}`);
        if (old) inputNarrowing(a, b, (old.schema ?? {}) as Json, (p.schema ?? {}) as Json, `${at}: parameter ${key(p)}`, out);
      }
      for (const p of op) if (!np.some((x) => key(x) === key(p))) out.push(`${at}: parameter ${key(p)} removed`);

      // request body
      const ob = o.requestBody ? deref(a, o.requestBody) : undefined;
      const nb = n.requestBody ? deref(b, n.requestBody) : undefined;
      if (nb?.required && !ob?.required) out.push(`${at}: request body now required`);
      if (ob && !nb) out.push(`${at}: request body no longer accepted`);
      if (ob && nb) {
        for (const type of Object.keys((ob.content ?? {}) as Json)) {
          if (!((nb.content ?? {}) as Json)[type]) out.push(`${at}: request media type ${type} no longer accepted`);
        }
        const os = jsonSchemaOf(ob.content);
        const ns = jsonSchemaOf(nb.content);
        if (os && ns) inputNarrowing(a, b, os, ns, `${at}: request body`, out);
      }

      // success responses
      const oresp = (o.responses ?? {}) as Record<string, unknown>;
      const nresp = (n.responses ?? {}) as Record<string, unknown>;
      for (const status of Object.keys(oresp).filter((s) => s.startsWith('2'))) {
        if (!nresp[status]) {
          out.push(`${at}: response ${status} removed`);
          continue;
        }
        const os = jsonSchemaOf(deref(a, oresp[status]).content);
        const ns = jsonSchemaOf(deref(b, nresp[status]).content);
        if (os && !ns) out.push(`${at}: response ${status} no longer JSON`);
        if (os && ns) outputNarrowing(a, b, os, ns, `${at}: response ${status}`, out);
      }
    }
  }
  return [...new Set(out)];
}

/** docs/openapi-breaking-changes.json: breaking changes made on purpose, each with its reason. */
export interface AcceptedBreakingChanges {
  accepted: Array<{ change: string; reason: string }>;
}

/** Accepted entries are exact texts, or patterns where `*` stands for any text (one removed field shows up once per operation). */
export function unacceptedBreakingChanges(oldDoc: unknown, newDoc: unknown, accepted: AcceptedBreakingChanges): string[] {
  const patterns = accepted.accepted.map((a) => new RegExp(`^${a.change.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return breakingChanges(oldDoc, newDoc).filter((c) => !patterns.some((re) => re.test(c)));
}
