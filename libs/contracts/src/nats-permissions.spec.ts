import {
  DEFAULT_NATS_NAMES,
  NATS_SERVICES,
  natsPermissionSet,
  natsProvisionPermissions,
  natsServicePermissions,
  renderNatsAuthorization,
} from './nats-permissions';
import { DEFAULT_EVENT_SUBJECT_PREFIX, DEFAULT_EVENTS_STREAM } from './events';
import { DEFAULT_RPC_SUBJECT_PREFIX } from './rpc';
import { DEFAULT_REVOCATION_BUCKET } from './auth';

// The model's properties (SPEC §7), independent of any server; e2e/nats-authorisation.e2e-spec.ts proves
// nats-server enforces them.
describe('NATS permission model', () => {
  it('is computed for the same default names the services use (this file has no imports, so a test ties them)', () => {
    expect(DEFAULT_NATS_NAMES).toEqual({
      rpcPrefix: DEFAULT_RPC_SUBJECT_PREFIX,
      eventPrefix: DEFAULT_EVENT_SUBJECT_PREFIX,
      stream: DEFAULT_EVENTS_STREAM,
      bucket: DEFAULT_REVOCATION_BUCKET,
    });
  });

  const all = natsPermissionSet();
  const of = (user: string) => all.find((u) => u.user === user)!;

  it('has one login per service plus provision, each subscribing only to its own inbox prefix (and its RPCs)', () => {
    expect(all.map((u) => u.user)).toEqual([...NATS_SERVICES, 'provision']);
    for (const u of all) {
      const own = [`_INBOX_${u.user}.>`, ...(u.allowResponses ? [`rpc.${u.user}.>`] : [])];
      expect(u.subscribe.sort()).toEqual(own.sort());
    }
    expect(all.filter((u) => u.allowResponses).map((u) => u.user).sort()).toEqual(['artifacts', 'audit', 'auth', 'inventory']);
  });

  it('each service publishes only its own events; only the gateway requests rpc.>; artifacts only inventory.hosts.get', () => {
    for (const svc of NATS_SERVICES) {
      const events = of(svc).publish.filter((s) => s.startsWith('opsdesk.'));
      expect(events).toEqual([`opsdesk.${svc}.>`]);
    }
    const rpcs = Object.fromEntries(NATS_SERVICES.map((s) => [s, of(s).publish.filter((p) => p.startsWith('rpc.'))]));
    expect(rpcs).toEqual({ gateway: ['rpc.>'], auth: [], inventory: [], audit: [], artifacts: ['rpc.inventory.hosts.get', 'rpc.inventory._instance.*'] });
  });

  it('only auth writes the revocation bucket; the gateway can only watch it; nobody else sees it', () => {
    const kvWriters = all.filter((u) => u.publish.some((p) => p.startsWith('$KV.'))).map((u) => u.user);
    expect(kvWriters).toEqual(['auth']);
    expect(of('auth').publish).toContain('$KV.OPSDESK_REVOCATIONS.>');
    const kvStream = (u: string) => of(u).publish.filter((p) => p.includes('KV_OPSDESK_REVOCATIONS'));
    expect(kvStream('inventory')).toEqual([]);
    expect(kvStream('audit')).toEqual([]);
    expect(kvStream('artifacts')).toEqual([]);
    expect(kvStream('gateway').every((p) => /STREAM\.INFO|CONSUMER\.(CREATE|DELETE)|\$JS\.FC\./.test(p))).toBe(true);
  });

  it('no service may change the stream; consumers are pinned to their durable name and filter', () => {
    for (const svc of NATS_SERVICES) {
      const api = natsServicePermissions(svc).publish.filter((p) => p.startsWith('$JS.API.STREAM.'));
      expect(api.every((p) => p.startsWith('$JS.API.STREAM.INFO.'))).toBe(true);
      for (const p of natsServicePermissions(svc).publish.filter((x) => x.startsWith('$JS.API.CONSUMER.CREATE.OPSDESK_EVENTS'))) {
        expect(p).toMatch(new RegExp(`^\\$JS\\.API\\.CONSUMER\\.CREATE\\.OPSDESK_EVENTS\\.${svc}-[a-z-]+\\.opsdesk\\.`));
      }
    }
    expect(of('artifacts').publish).toContain('$JS.API.CONSUMER.CREATE.OPSDESK_EVENTS.artifacts-host-cleanup.opsdesk.inventory.host.deleted');
    expect(natsProvisionPermissions().publish.filter((p) => /DELETE|PURGE|MSG/.test(p))).toEqual([]);
    expect(all.some((u) => u.publish.includes('>') || u.subscribe.includes('>'))).toBe(false);
  });

  it('renders a nats-server authorization block with the password tokens given', () => {
    const text = renderNatsAuthorization(natsPermissionSet({ ...DEFAULT_NATS_NAMES, rpcPrefix: '*.rpc' }), (u) => `$PW_${u.toUpperCase()}`);
    expect(text).toMatch(/^authorization \{\n {2}users: \[/);
    expect(text).toContain('password: $PW_INVENTORY');
    expect(text).toContain('"*.rpc.inventory.>"');
    expect(text.match(/allow_responses: \{ max: 2, expires: "20m" \}/g)).toHaveLength(4);
    expect(() => natsServicePermissions('mailer')).toThrow(/no NATS role for service mailer/);
  });
});
