/**
 * The NATS authorisation model of OpsDesk, in ONE place (SPEC §7 "Trust inside the system"): which
 * login each component has and exactly which subjects it may publish and subscribe to. `npm start`
 * (scripts/start.mjs, from dist), the test servers (libs/testing) and the shipped deploy/nats configs
 * (checked by e2e/deploy.e2e-spec.ts) are all generated from here, so they cannot drift apart.
 *
 * No imports on purpose: start.mjs requires the compiled file directly, and jest's globalSetup loads it
 * by a relative path (libs/testing/src/nats-auth.ts).
 */

/** A durable JetStream consumer a service runs: `<service>-<name>` on `<eventPrefix>.<filter>`. */
export interface NatsConsumerRole {
  name: string;
  filter: string;
}

export interface NatsServiceRole {
  /** answers `<rpcPrefix>.<service>.>` (queue group) */
  answersRpc: boolean;
  /** RPC patterns it may call: `>` for all (the gateway), else exact patterns like `inventory.hosts.get` */
  calls: string[];
  /** durable consumers it runs on the events stream (each one pinned to its filter) */
  consumers: NatsConsumerRole[];
  /** the revocation KV bucket: auth writes it, the gateway watches it, nobody else touches it */
  revocations: 'write' | 'read' | 'none';
}

/**
 * Who does what. Every service publishes only its own events (`<eventPrefix>.<service>.>`), which is what
 * makes an event's subject name its authenticated producer. Keep in step with the @EventHandler and
 * RpcClient.call sites: a missing permission shows as a timeout in the e2e suites, which run with this model.
 */
export const NATS_SERVICE_ROLES: Record<string, NatsServiceRole> = {
  gateway: { answersRpc: false, calls: ['>'], consumers: [], revocations: 'read' },
  auth: { answersRpc: true, calls: [], consumers: [{ name: 'revocations', filter: 'auth.>' }], revocations: 'write' },
  inventory: { answersRpc: true, calls: [], consumers: [], revocations: 'none' },
  audit: { answersRpc: true, calls: [], consumers: [{ name: 'recorder', filter: '>' }], revocations: 'none' },
  artifacts: {
    answersRpc: true,
    calls: ['inventory.hosts.get'],
    consumers: [{ name: 'host-cleanup', filter: 'inventory.host.deleted' }],
    revocations: 'none',
  },
};

export const NATS_SERVICES = Object.keys(NATS_SERVICE_ROLES);

/**
 * The login that creates the events stream and the revocation bucket (`npm run provision:nats`, the Helm
 * migration job, `npm start`). Services may only look at them, so none can change retention, purge the
 * stream or delete the bucket.
 */
export const NATS_PROVISION_USER = 'provision';

/** Names the permissions are computed for. Tests use `*` tokens to share one server between suites. */
export interface NatsNames {
  rpcPrefix: string;
  eventPrefix: string;
  stream: string;
  bucket: string;
}

export const DEFAULT_NATS_NAMES: NatsNames = { rpcPrefix: 'rpc', eventPrefix: 'opsdesk', stream: 'OPSDESK_EVENTS', bucket: 'OPSDESK_REVOCATIONS' };

export interface NatsUserPermissions {
  user: string;
  publish: string[];
  subscribe: string[];
  /** may answer the requests it received (once each, for a limited time): RPC responders only */
  allowResponses: boolean;
}

/**
 * How long a responder may answer a request it received. nats-server's `allow_responses: true` gives only
 * a couple of minutes; the slowest RPC (audit.verify over a long chain) may run up to 15 minutes
 * (services/gateway/src/audit/audit.controller.ts), so its answer must still be allowed after that.
 */
export const NATS_RESPONSE_EXPIRY = '20m';

/** Each login's requests get their replies on its own inbox prefix, so nobody can read another's replies. */
export function natsInboxPrefix(user: string): string {
  return `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The KV bucket's stream (`KV_<bucket>`); a `*` bucket (shared test server) stays a wildcard token. */
function kvStream(bucket: string): string {
  return bucket === '*' ? '*' : `KV_${bucket}`;
}

export function natsServicePermissions(service: string, names: NatsNames = DEFAULT_NATS_NAMES): NatsUserPermissions {
  const role = NATS_SERVICE_ROLES[service];
  if (!role) throw new Error(`no NATS role for service ${service}`);
  const { rpcPrefix, eventPrefix, stream, bucket } = names;
  const api = '$JS.API';
  const publish = [
    `${api}.INFO`, // the client's JetStream availability check
    `${api}.STREAM.INFO.${stream}`, // checks the events stream exists as provisioned (never creates or changes it)
    `${eventPrefix}.${service}.>`, // its own events only
  ];
  const subscribe = [`${natsInboxPrefix(service)}.>`];
  if (role.answersRpc) subscribe.push(`${rpcPrefix}.${service}.>`);
  for (const pattern of role.calls) publish.push(`${rpcPrefix}.${pattern}`);
  // a caller asks whether the instance holding its request is still alive (libs/messaging rpc.ts, RpcClient)
  for (const callee of new Set(role.calls.filter((p) => p !== '>').map((p) => p.split('.')[0]))) {
    publish.push(`${rpcPrefix}.${callee}._instance.*`);
  }
  for (const c of role.consumers) {
    const durable = `${service}-${c.name}`;
    publish.push(
      `${api}.CONSUMER.INFO.${stream}.${durable}`,
      // the create/update subject carries the filter, so a service cannot widen what its consumer reads
      `${api}.CONSUMER.CREATE.${stream}.${durable}.${eventPrefix}.${c.filter}`,
      `${api}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.ACK.${stream}.${durable}.>`,
    );
  }
  if (role.revocations !== 'none') publish.push(`${api}.STREAM.INFO.${kvStream(bucket)}`);
  if (role.revocations === 'write') publish.push(`$KV.${bucket}.>`);
  if (role.revocations === 'read') {
    // kv.watch(): an ordered ephemeral push consumer (recreated on gaps) with flow control
    publish.push(
      `${api}.CONSUMER.CREATE.${kvStream(bucket)}`,
      `${api}.CONSUMER.CREATE.${kvStream(bucket)}.>`,
      `${api}.CONSUMER.DELETE.${kvStream(bucket)}.*`,
      `$JS.FC.${kvStream(bucket)}.>`,
    );
  }
  return { user: service, publish, subscribe, allowResponses: role.answersRpc };
}

export function natsProvisionPermissions(names: NatsNames = DEFAULT_NATS_NAMES): NatsUserPermissions {
  const api = '$JS.API';
  const publish = [`${api}.INFO`];
  for (const s of [names.stream, kvStream(names.bucket)]) publish.push(`${api}.STREAM.INFO.${s}`, `${api}.STREAM.CREATE.${s}`, `${api}.STREAM.UPDATE.${s}`);
  return { user: NATS_PROVISION_USER, publish: [...new Set(publish)], subscribe: [`${natsInboxPrefix(NATS_PROVISION_USER)}.>`], allowResponses: false };
}

/** Every login of the system: the services, then the provisioning login. */
export function natsPermissionSet(names: NatsNames = DEFAULT_NATS_NAMES): NatsUserPermissions[] {
  return [...NATS_SERVICES.map((s) => natsServicePermissions(s, names)), natsProvisionPermissions(names)];
}

/**
 * The `authorization { users: [...] }` block of a nats-server config. `password(user)` returns the value
 * as it must appear in the file: a quoted literal (`npm start`, tests) or `$VARIABLE` (deploy configs,
 * resolved by nats-server from its environment). `extra` adds users verbatim (the test harness's admin).
 */
export function renderNatsAuthorization(users: NatsUserPermissions[], password: (user: string) => string): string {
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const lines = ['authorization {', '  users: ['];
  for (const u of users) {
    lines.push(`    {`);
    lines.push(`      user: ${JSON.stringify(u.user)}`);
    lines.push(`      password: ${password(u.user)}`);
    lines.push(`      permissions: {`);
    lines.push(`        publish: { allow: ${list(u.publish)} }`);
    lines.push(`        subscribe: { allow: ${list(u.subscribe)} }`);
    // two replies per request: the "accepted by <instance>" acknowledgement, then the answer (rpc.ts)
    if (u.allowResponses) lines.push(`        allow_responses: { max: 2, expires: ${JSON.stringify(NATS_RESPONSE_EXPIRY)} }`);
    lines.push(`      }`);
    lines.push(`    }`);
  }
  lines.push('  ]', '}');
  return `${lines.join('\n')}\n`;
}

/** Environment variable a deploy config reads a login's password from: NATS_PASSWORD_<USER>. */
export function natsPasswordVariable(user: string): string {
  return `NATS_PASSWORD_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * What a NATS password must look like. nats-server reads `password: $NATS_PASSWORD_<USER>` (deploy/nats) by
 * parsing the variable's value as a config value, not as a string: a value starting with `-` or a digit can read
 * as a number, a size or a date and stop the server ("variable reference ... could not be parsed"; about 3 % of
 * random base64url values, 1 % of `openssl rand -base64 32`), `true`/`no`/`off` read as booleans, and a `,` or `;`
 * ends the value early (the login then fails). A letter first, then only base64/base64url characters, at least
 * 8 long, always reads back as the same string (checked against nats-server by e2e/deploy-nats.e2e-spec.ts).
 */
export const NATS_PASSWORD_PATTERN = /^[A-Za-z][A-Za-z0-9+/=_-]{7,}$/;

/** Why a value cannot serve as a NATS password (see NATS_PASSWORD_PATTERN), or null when it can. */
export function natsPasswordProblem(password: string): string | null {
  if (NATS_PASSWORD_PATTERN.test(password)) return null;
  return (
    'must start with a letter and use only letters, digits and + / = _ - (at least 8 characters): nats-server reads ' +
    'it from its environment as a config value, and e.g. a leading digit or "-" stops the server; generate one with ' +
    '`printf "p%s\\n" "$(openssl rand -hex 24)"`'
  );
}
