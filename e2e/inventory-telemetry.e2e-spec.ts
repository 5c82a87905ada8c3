import request from 'supertest';
import { Client } from 'pg';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createUser, login, startStack, waitFor, type Stack } from './support/stack';
import { bearer, createHost, streamEvents } from './support/inventory';
import { queryValue, startPrometheusRig, waitForSeries, type PrometheusRig } from './support/prometheus';

let stack: Stack;
let rig: PrometheusRig;
let admin: string;
let operator: string;
let viewer: string;

beforeAll(async () => {
  [stack, rig] = await Promise.all([startStack('inventorytel', { services: ['auth', 'inventory'], env: { RATE_LIMIT_API_PER_MINUTE: '100000', METRICS_CLEANUP_INTERVAL_SECONDS: '1' } }), startPrometheusRig()]);
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  operator = (await createUser(stack.url, admin, 'tel-op@inv.test', 'operator')).token;
  viewer = (await createUser(stack.url, admin, 'tel-viewer@inv.test', 'viewer')).token;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rig?.stop();
});

describe('telemetry from a real Prometheus scraping a real node exporter', () => {
  it('refreshes a snapshot with plausible values, serves latest/history, expires, and answers 404/503', async () => {
    // the host's instance label is rendered from the template: {ip}:<exporter port> -> 127.0.0.1:<port>
    await request(stack.url)
      .put('/api/settings/integrations')
      .set(bearer(admin))
      .send({ prometheus_url: rig.url, instance_template: `{ip}:${rig.exporterPort}`, snapshot_ttl_seconds: 3600 })
      .expect(200);
    const rt = await request(stack.url).get('/api/settings/runtime').set(bearer(viewer)).expect(200);
    expect(rt.body.prometheus).toEqual({ configured: true, source: 'settings' });
    const host = await createHost(stack, operator, { hostname: 'tel-local', ip: '127.0.0.1' });
    await request(stack.url).get(`/api/hosts/${host.id}/metrics/latest`).set(bearer(viewer)).expect(404);

    // irate needs two scrapes
    await waitForSeries(rig.url, `irate(node_cpu_seconds_total{instance="${rig.exporterTarget}",mode="idle"}[5m])`);
    await waitForSeries(rig.url, `node_memory_MemTotal_bytes{instance="${rig.exporterTarget}"}`);

    await request(stack.url).post(`/api/hosts/${host.id}/metrics:refresh`).set(bearer(viewer)).expect(403);
    // What Prometheus itself answers just before and just after the refresh brackets what the snapshot must hold
    // (node exporter is scraped every second, the kernel's load average changes every 5 s).
    const inst = `instance="${rig.exporterTarget}"`;
    const cpuQuery = `100 * (1 - avg(irate(node_cpu_seconds_total{${inst},mode="idle"}[5m])))`;
    const before = { load1: await queryValue(rig.url, `node_load1{${inst}}`), cpu: await queryValue(rig.url, cpuQuery) };
    const res = await request(stack.url).post(`/api/hosts/${host.id}/metrics:refresh`).set(bearer(operator)).expect(200);
    const after = { load1: await queryValue(rig.url, `node_load1{${inst}}`), cpu: await queryValue(rig.url, cpuQuery) };
    const s = res.body;
    expect(s.host_id).toBe(host.id);
    expect(s.instance).toBe(rig.exporterTarget);
    expect(s.cpu.count).toBeGreaterThanOrEqual(1);
    expect(s.cpu.count).toBe(await queryValue(rig.url, `count(node_cpu_seconds_total{${inst},mode="idle"})`));
    // the snapshot's CPU usage is Prometheus's own figure (rounded to 0.01) from the moment of the refresh; the
    // irate window can move by one scrape between the three queries, hence the bracket
    expect(s.cpu.usage_percent).toBeGreaterThanOrEqual(Math.max(0, Math.min(before.cpu, after.cpu) - 0.01));
    expect(s.cpu.usage_percent).toBeLessThanOrEqual(Math.min(100, Math.max(before.cpu, after.cpu) + 0.01));
    expect(s.load.load1).toBeGreaterThanOrEqual(Math.min(before.load1, after.load1));
    expect(s.load.load1).toBeLessThanOrEqual(Math.max(before.load1, after.load1));
    expect(s.memory.total_bytes).toBeGreaterThan(s.memory.available_bytes);
    expect(s.memory.available_bytes).toBeGreaterThan(0);
    expect(s.uptime_seconds).toBeGreaterThan(0);
    expect(s.filesystems.length).toBeGreaterThan(0);
    for (const fs of s.filesystems) expect(fs.size_bytes).toBeGreaterThanOrEqual(fs.free_bytes);
    expect(Array.isArray(s.network)).toBe(true);
    expect(s.collected_by.email).toBe('tel-op@inv.test');
    expect(Date.parse(s.expires_at) - Date.parse(s.collected_at)).toBe(3600_000);

    const latest = await request(stack.url).get(`/api/hosts/${host.id}/metrics/latest`).set(bearer(viewer)).expect(200);
    expect(latest.body).toEqual(s);
    const alias = await request(stack.url).get(`/api/hosts/${host.id}/metrics:latest`).set(bearer(viewer)).expect(200);
    expect(alias.body).toEqual(s);
    const second = await request(stack.url).post(`/api/hosts/${host.id}/metrics:update`).set(bearer(operator)).expect(200);
    const list = await request(stack.url).get(`/api/hosts/${host.id}/metrics?limit=1`).set(bearer(viewer)).expect(200);
    expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([second.body.id]);
    const page2 = await request(stack.url).get(`/api/hosts/${host.id}/metrics?limit=1&cursor=${encodeURIComponent(list.body.next_cursor)}`).set(bearer(viewer)).expect(200);
    expect(page2.body.items.map((i: { id: string }) => i.id)).toEqual([s.id]);
    const seen = await request(stack.url).get(`/api/hosts/${host.id}`).set(bearer(viewer)).expect(200);
    expect(seen.body.last_seen_at).toBe(second.body.collected_at);
    expect(seen.body.version).toBe(1);

    const ev = await waitFor(async () => {
      const e = await streamEvents(stack, 'inventory.host.metrics_collected');
      return e.length >= 2 ? e : null;
    }, { timeoutMs: 15_000, what: 'metrics_collected events' });
    expect(ev[0].data).toMatchObject({ host_id: host.id, snapshot_id: s.id, instance: rig.exporterTarget });

    // expiry: reads ignore expired snapshots at once; the cleanup job deletes them
    const pg = new Client({ connectionString: stack.db.url });
    await pg.connect();
    try {
      await pg.query(`UPDATE inventory.metrics_snapshots SET expires_at = now() - interval '1 second' WHERE host_id = $1`, [host.id]);
      await request(stack.url).get(`/api/hosts/${host.id}/metrics/latest`).set(bearer(viewer)).expect(404);
      // METRICS_CLEANUP_INTERVAL_SECONDS=1 in this suite: the job removes the expired rows
      await waitFor(async () => (await pg.query(`SELECT count(*)::int AS n FROM inventory.metrics_snapshots WHERE host_id = $1`, [host.id])).rows[0].n === 0, {
        timeoutMs: 10_000,
        what: 'expired snapshots to be deleted by the cleanup job',
      });
    } finally {
      await pg.end();
    }

    // a host Prometheus does not know: 404
    const unknown = await createHost(stack, operator, { hostname: 'tel-unknown', ip: '127.0.0.2' });
    const nf = await request(stack.url).post(`/api/hosts/${unknown.id}/metrics:refresh`).set(bearer(operator)).expect(404);
    expect(nf.body.code).toBe('INVENTORY.METRICS_NOT_FOUND');

    // Prometheus down: 503 with the cause
    await rig.stopPrometheus();
    const down = await request(stack.url).post(`/api/hosts/${host.id}/metrics:refresh`).set(bearer(operator)).expect(503);
    expect(down.body.code).toBe('INVENTORY.PROMETHEUS_UNAVAILABLE');
    expect(down.body.detail).toMatch(/unreachable/);
    expect(down.body.cause).toBeTruthy();
  }, 120_000);
});
