import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@opsdesk/testing';

/**
 * deploy/alertmanager checked with the real tools: the rendered configuration passes `amtool check-config`, the
 * routing tree sends each severity to its receiver (`amtool config routes test`), and a real Alertmanager
 * notifies the webhook of causes while it mutes their symptoms (inhibition).
 */
const DIR = join(__dirname, '..', 'deploy', 'alertmanager');
const AMTOOL = '/usr/bin/amtool';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

function render(env: Record<string, string>): { status: number | null; out: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-am-'));
  const r = spawnSync('sh', [join(DIR, 'render-config.sh')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, RENDER_ONLY: '1', OUT_DIR: dir, ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, dir };
}

function amtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(AMTOOL, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`amtool is not installed (Debian: apt-get install prometheus-alertmanager): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('deploy: Alertmanager configuration (amtool)', () => {
  it('renders from the environment and passes amtool check-config, with and without the e-mail receiver', () => {
    const webhookOnly = render({ ALERT_WEBHOOK_URL: 'http://hooks.example/opsdesk?a=1&b=2' });
    dirs.push(webhookOnly.dir);
    expect(webhookOnly.status).toBe(0);
    const plain = readFileSync(join(webhookOnly.dir, 'alertmanager.yml'), 'utf8');
    expect(plain).toContain("url: 'http://hooks.example/opsdesk?a=1&b=2'");
    expect(plain).not.toContain('email_configs');
    expect(plain).not.toMatch(/\$\{/);
    const c1 = amtool(['check-config', join(webhookOnly.dir, 'alertmanager.yml')]);
    expect({ status: c1.status, out: c1.out }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });

    const withEmail = render({
      ALERT_WEBHOOK_URL: 'http://hooks.example/opsdesk',
      ALERT_EMAIL_TO: 'oncall@example.com',
      ALERT_EMAIL_FROM: 'alertmanager@example.com',
      ALERT_SMTP_SMARTHOST: 'smtp.example.com:587',
      ALERT_SMTP_USERNAME: 'alertmanager',
      ALERT_SMTP_PASSWORD: "it's secret",
      RUNBOOK_BASE_URL: 'https://git.example.com/opsdesk/blob/main/',
    });
    dirs.push(withEmail.dir);
    expect(withEmail.status).toBe(0);
    const full = readFileSync(join(withEmail.dir, 'alertmanager.yml'), 'utf8');
    expect(full).toContain("to: 'oncall@example.com'");
    expect(full).toContain("smtp_auth_password: 'it''s secret'");
    expect(readFileSync(join(withEmail.dir, 'templates', 'opsdesk.tmpl'), 'utf8')).toContain('https://git.example.com/opsdesk/blob/main/{{ .Annotations.runbook_url }}');
    const c2 = amtool(['check-config', join(withEmail.dir, 'alertmanager.yml')]);
    expect({ status: c2.status, out: c2.out }).toEqual({ status: 0, out: expect.stringMatching(/SUCCESS[\s\S]*2 receivers[\s\S]*1 templates/) });

    // critical pages (webhook + e-mail), warning and unlabelled go to the webhook
    // (stdout only: amtool warns on stderr that --config.file overrides --alertmanager.url)
    const route = (labels: string[]) =>
      spawnSync(AMTOOL, ['config', 'routes', 'test', `--config.file=${join(withEmail.dir, 'alertmanager.yml')}`, ...labels], { encoding: 'utf8' }).stdout.trim();
    expect(route(['severity=critical', 'alertname=OpsDeskApiDown'])).toBe('page');
    expect(route(['severity=warning', 'alertname=OpsDeskRpcSlow'])).toBe('webhook');
    expect(route(['alertname=Other'])).toBe('webhook');
  });

  it('refuses to render without a webhook, or with a recipient but no SMTP server', () => {
    const none = render({});
    dirs.push(none.dir);
    expect(none.status).not.toBe(0);
    expect(none.out).toContain('ALERT_WEBHOOK_URL must be set');
    const noSmtp = render({ ALERT_WEBHOOK_URL: 'http://h/x', ALERT_EMAIL_TO: 'a@example.com', ALERT_EMAIL_FROM: 'b@example.com' });
    dirs.push(noSmtp.dir);
    expect(noSmtp.status).not.toBe(0);
    expect(noSmtp.out).toContain('ALERT_SMTP_SMARTHOST');
  });
});

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('deploy: a real Alertmanager routes causes and inhibits their symptoms', () => {
  let am: ChildProcess | null = null;
  let hook: Server;
  let url = '';
  const received: Array<{ receiver: string; alerts: WebhookAlert[] }> = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as { receiver: string; alerts: WebhookAlert[] });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;
    const cfg = render({ ALERT_WEBHOOK_URL: hookUrl, ALERT_GROUP_WAIT: '1s' });
    dirs.push(cfg.dir);
    expect(cfg.status).toBe(0);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    am = spawn(
      ALERTMANAGER,
      [
        `--config.file=${join(cfg.dir, 'alertmanager.yml')}`,
        `--storage.path=${join(cfg.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // a single instance: no gossip listener
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true, { timeoutMs: 20_000, what: 'alertmanager ready' });
  }, 30_000);

  afterAll(async () => {
    if (am && am.exitCode === null) {
      const p = am;
      await new Promise<void>((r) => {
        p.once('exit', () => r());
        p.kill('SIGTERM');
      });
    }
    await new Promise<void>((r) => hook.close(() => r()));
  });

  it('notifies OpsDeskServiceDown and an unrelated 5xx alert, and holds back the down service\'s own symptoms', async () => {
    const alert = (alertname: string, service: string, severity: string) => ({
      labels: { alertname, service, severity },
      annotations: { summary: alertname, runbook_url: `docs/OPERATIONS.md#${alertname.toLowerCase()}` },
      startsAt: new Date().toISOString(),
    });
    const post = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert('OpsDeskServiceDown', 'inventory', 'critical'),
        alert('OpsDeskHigh5xxRate', 'inventory', 'critical'),
        alert('OpsDeskConsumerRetries', 'inventory', 'warning'),
        alert('OpsDeskHigh5xxRate', 'auth', 'critical'),
        alert('OpsDeskDatabasePoolSaturated', 'auth', 'warning'),
      ]),
    });
    expect(post.status).toBe(200);

    const notified = () => received.flatMap((n) => n.alerts.map((a) => `${n.receiver}:${a.labels.alertname}/${a.labels.service}`)).sort();
    await waitFor(() => notified().length >= 3, { timeoutMs: 30_000, what: 'webhook notifications' });
    const states = (await (await fetch(`${url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>;
    const state = Object.fromEntries(states.map((a) => [`${a.labels.alertname}/${a.labels.service}`, a.status.state]));
    expect(state).toEqual({
      'OpsDeskServiceDown/inventory': 'active',
      'OpsDeskHigh5xxRate/inventory': 'suppressed',
      'OpsDeskConsumerRetries/inventory': 'suppressed',
      'OpsDeskHigh5xxRate/auth': 'active',
      'OpsDeskDatabasePoolSaturated/auth': 'active',
    });
    expect(notified()).toEqual(['page:OpsDeskHigh5xxRate/auth', 'page:OpsDeskServiceDown/inventory', 'webhook:OpsDeskDatabasePoolSaturated/auth']);
  });
});
