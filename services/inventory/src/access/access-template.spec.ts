import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AccessTemplateError, DEFAULT_ACCESS_TEMPLATES, accessTemplateProblem, parseAccessTemplate, type HostView } from '@opsdesk/contracts';
import { chooseTemplate, templateValues } from './access.service';
import { MissingTemplateValueError, renderAccessTemplate, type TemplateValues } from './access-template';
import { jumpHost, renderSshCommand, type SshTarget } from './ssh-command';
import type { EffectiveIntegrations } from '../settings/settings.service';

/**
 * The proof that templates are safe is a real shell: every rendered command is checked with `/bin/sh -n` and
 * then executed by /bin/sh with stub programs (ssh, tsh, mosh, …) first on PATH that record the argv they got.
 * The real /usr/bin and /bin stay on PATH, so an injection that ran `touch` would leave a file behind: the
 * working directory must hold nothing afterwards but the stubs' record.
 */
const STUBS = ['ssh', 'tsh', 'mosh', 'autossh', 'wrapper'];
let dir: string;
let bin: string;
let work: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'access-template-'));
  bin = join(dir, 'bin');
  work = join(dir, 'work');
  execFileSync('mkdir', ['-p', bin, work]);
  for (const name of STUBS) {
    // NUL-separated: any argument (spaces, quotes, new lines, empty) comes back exactly
    writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\0' "$(basename "$0")" "$@" > "$ARGV_OUT"\n`);
    chmodSync(join(bin, name), 0o755);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shSyntaxOk(command: string): boolean {
  return spawnSync('/bin/sh', ['-n', '-c', command]).status === 0;
}

/** Runs the command with /bin/sh in an empty directory; returns the argv the stub recorded and what else appeared. */
function execute(command: string): { argv: string[] | null; status: number | null; leftovers: string[] } {
  for (const f of readdirSync(work)) rmSync(join(work, f), { recursive: true, force: true });
  const out = join(dir, 'argv.bin');
  rmSync(out, { force: true });
  const r = spawnSync('/bin/sh', ['-c', command], { cwd: work, env: { PATH: `${bin}:/usr/bin:/bin`, ARGV_OUT: out, HOME: work }, timeout: 10_000 });
  const argv = existsSync(out) ? readFileSync(out, 'utf8').split('\0').slice(0, -1) : null;
  return { argv, status: r.status, leftovers: readdirSync(work) };
}

function expectInert(command: string, argv: string[]): void {
  expect(shSyntaxOk(command)).toBe(true);
  const r = execute(command);
  expect(r.status).toBe(0);
  expect(r.leftovers).toEqual([]);
  expect(r.argv).toEqual(argv);
}

const hostOf = (t: SshTarget, user: string): TemplateValues => {
  const v: TemplateValues = { user, host: t.ip, port: String(t.ssh_port), hostname: 'web-01' };
  if (t.bastion_host) {
    v.bastion = t.bastion_host;
    v.bastion_port = String(t.bastion_port);
    v.jump = `${user}@${jumpHost(t.bastion_host)}:${t.bastion_port}`;
  }
  return v;
};

describe('default templates reproduce the fixed renderer exactly', () => {
  it.each<[SshTarget, string]>([
    [{ connection_method: 'direct_ssh', ip: '10.1.2.3', ssh_port: 2222, bastion_host: null, bastion_port: 22 }, 'deploy'],
    [{ connection_method: 'bastion_ssh', ip: '10.1.2.3', ssh_port: 22, bastion_host: 'jump.example.com', bastion_port: 2200 }, 'ops'],
    [{ connection_method: 'bastion_ssh', ip: '2001:db8::5', ssh_port: 22, bastion_host: '2001:db8::1', bastion_port: 22 }, 'ops'],
    [{ connection_method: 'direct_ssh', ip: '10.0.0.1', ssh_port: 22, bastion_host: null, bastion_port: 22 }, 'x;id'],
  ])('%j as %s', (t, user) => {
    const tpl = t.connection_method === 'bastion_ssh' ? DEFAULT_ACCESS_TEMPLATES.bastion_ssh : DEFAULT_ACCESS_TEMPLATES.direct_ssh;
    expect(renderAccessTemplate(tpl, hostOf(t, user))).toEqual(renderSshCommand(t, user));
  });

  it('for any host and user (hostile ones included), character for character', () => {
    const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);
    const target = fc.record({
      connection_method: fc.constantFrom('direct_ssh' as const, 'bastion_ssh' as const),
      ip: fc.oneof(fc.ipV4(), fc.ipV6()),
      ssh_port: fc.integer({ min: 1, max: 65535 }),
      bastion_host: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.string({ minLength: 1 }).filter(noControl)),
      bastion_port: fc.integer({ min: 1, max: 65535 }),
    });
    fc.assert(
      fc.property(target, fc.string({ minLength: 1 }).filter(noControl), (t, user) => {
        const tpl = t.connection_method === 'bastion_ssh' ? DEFAULT_ACCESS_TEMPLATES.bastion_ssh : DEFAULT_ACCESS_TEMPLATES.direct_ssh;
        expect(renderAccessTemplate(tpl, hostOf(t, user))).toEqual(renderSshCommand(t, user));
      }),
      { numRuns: 500 },
    );
  });
});

describe('template validation', () => {
  it.each([
    'ssh -p {{port}} {{user}}@{{host}}',
    'ssh -i /etc/opsdesk/keys/ops_ed25519 -o StrictHostKeyChecking=accept-new -p {{port}} {{user}}@{{host}}',
    `ssh -o 'ProxyCommand=ssh -W %h:%p {{user}}@{{bastion}}' {{user}}@{{host}}`,
    'ssh -o "ProxyJump={{jump}}" {{user}}@{{host}}',
    'mosh --ssh="ssh -p {{port}}" {{user}}@{{host}}',
    'tsh ssh --proxy={{proxy}} --cluster={{cluster}} {{user}}@{{hostname}}',
    `ssh -o 'SetEnv=A=$HOME' {{ user }}@{{host}}`,
    '/usr/local/bin/wrapper --reason-required {{hostname}}',
  ])('accepts %p', (t) => expect(accessTemplateProblem(t)).toBeNull());

  it.each<[string, RegExp]>([
    ['ssh {{user}}@{{host}}; rm -rf /', /';' outside quotes/],
    ['ssh {{user}}@{{host}} | tee log', /'\|' outside quotes/],
    ['ssh {{user}}@{{host}} & disown', /'&' outside quotes/],
    ['ssh {{user}}@{{host}} && id', /'&' outside quotes/],
    ['ssh $(id)@{{host}}', /'\$' outside single quotes/],
    ['ssh `id`@{{host}}', /'`' outside single quotes/],
    ['ssh "$HOME" {{host}}', /'\$' inside double quotes/],
    ['ssh "`id`" {{host}}', /'`' inside double quotes/],
    ['ssh ${USER}@{{host}}', /'\$' outside/],
    ['ssh {{user}}@{{host}} > /tmp/x', /redirections/],
    ['ssh {{user}}@{{host}} < /etc/passwd', /redirections/],
    ['ssh ({{host}})', /subshells/],
    ['ssh ~/.ssh/key {{host}}', /'~'/],
    ['ssh * {{host}}', /'\*'/],
    ['ssh {{host}} # comment', /'#'/],
    ['ssh \\; {{host}}', /'\\' outside single quotes/],
    ['ssh {a,b} {{host}}', /'\{'|malformed/],
    ['ssh {{nope}}', /unknown placeholder/],
    ['ssh {{user}', /malformed placeholder/],
    ["ssh 'unterminated", /unterminated single quote/],
    ['ssh "unterminated', /unterminated double quote/],
    ['ssh {{host}}\nid', /one line/],
    ['{{user}} {{host}}', /must start with a program name/],
    ['-oProxyCommand=id ssh', /must start with a program name/],
    ["'ssh' {{host}}", /must start with a program name/],
    ['eval ssh {{host}}', /must not start with 'eval'/],
    ['. ./x {{host}}', /must not start with '\.'/],
    ['exec ssh {{host}}', /must not start with 'exec'/],
    ['PATH=/tmp ssh {{host}}', /must not start with|program name/],
    ['if true', /must not start with 'if'/],
    ['', /is empty/],
    ['   ', /is empty/],
    [`ssh ${'x'.repeat(600)}`, /at most 500/],
  ])('refuses %p', (t, why) => {
    const problem = accessTemplateProblem(t);
    expect(problem).not.toBeNull();
    expect(problem).toMatch(why);
  });
});

describe('rendering through a real /bin/sh', () => {
  const benign: TemplateValues = { user: 'ops', host: '10.0.0.7', hostname: 'web-01', port: '2222', bastion: 'jump.example.com', bastion_port: '22', jump: 'ops@jump.example.com:22', proxy: 'teleport.example.com:443', cluster: 'prod' };

  it.each([
    DEFAULT_ACCESS_TEMPLATES.direct_ssh,
    DEFAULT_ACCESS_TEMPLATES.bastion_ssh,
    DEFAULT_ACCESS_TEMPLATES.teleport,
    DEFAULT_ACCESS_TEMPLATES.teleport_cluster,
    `ssh -o 'ProxyCommand=ssh -W %h:%p {{user}}@{{bastion}}' {{user}}@{{host}}`,
    'mosh --ssh="ssh -p {{port}}" {{user}}@{{host}}',
    `autossh -M 0 -o "ServerAliveInterval 30" '' {{user}}@{{host}}`,
  ])('%p: sh -n passes and the program gets exactly the rendered argv', (t) => {
    const r = renderAccessTemplate(t, benign);
    expectInert(r.command, r.argv);
  });

  it('a placeholder inside quotes still becomes part of exactly one argument', () => {
    const r = renderAccessTemplate(`ssh -o 'ProxyCommand=ssh -W %h:%p {{user}}@{{bastion}}' {{user}}@{{host}}`, { ...benign, user: "x' ; touch pwned ; '" });
    expect(r.argv).toEqual(['ssh', '-o', "ProxyCommand=ssh -W %h:%p x' ; touch pwned ; '@jump.example.com", "x' ; touch pwned ; '@10.0.0.7"]);
    expectInert(r.command, r.argv);
  });

  it('teleport: tsh ssh with proxy and cluster, the login and the host name', () => {
    const r = renderAccessTemplate(DEFAULT_ACCESS_TEMPLATES.teleport_cluster, benign);
    expect(r.command).toBe('tsh ssh --proxy=teleport.example.com:443 --cluster=prod ops@web-01');
    expectInert(r.command, ['tsh', 'ssh', '--proxy=teleport.example.com:443', '--cluster=prod', 'ops@web-01']);
  });

  it('refuses values with control characters and templates needing values the host lacks', () => {
    expect(() => renderAccessTemplate(DEFAULT_ACCESS_TEMPLATES.direct_ssh, { ...benign, user: 'a\nid' })).toThrow(AccessTemplateError);
    expect(() => renderAccessTemplate(DEFAULT_ACCESS_TEMPLATES.direct_ssh, { ...benign, user: 'a\u0000b' })).toThrow(AccessTemplateError);
    expect(() => renderAccessTemplate(DEFAULT_ACCESS_TEMPLATES.bastion_ssh, { user: 'ops', host: '10.0.0.1', port: '22' })).toThrow(MissingTemplateValueError);
  });

  const hostileValue = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc
      .array(fc.constantFrom(';', '|', '&', '$(touch pwned)', '`touch pwned`', "'", '"', '\\', ' ', '*', '~', '{a,b}', '$HOME', '-oProxyCommand=touch pwned', '#', '!', '\n', '\t', '\u0000', 'é', '>pwned', 'x'), { maxLength: 12 })
      .map((a) => a.join('')),
  );

  it('property: hostile host values are refused or inert (sh -n, then the stub sees exactly the argv)', () => {
    const templates = [
      DEFAULT_ACCESS_TEMPLATES.direct_ssh,
      DEFAULT_ACCESS_TEMPLATES.bastion_ssh,
      DEFAULT_ACCESS_TEMPLATES.teleport_cluster,
      `ssh -o 'ProxyCommand=ssh -W %h:%p {{user}}@{{bastion}}' -p {{port}} {{user}}@{{host}}`,
      'mosh --ssh="ssh -p {{port}}" {{user}}@{{host}}',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...templates), fc.record({ user: hostileValue, host: hostileValue, hostname: hostileValue, port: hostileValue, bastion: hostileValue, jump: hostileValue, proxy: hostileValue, cluster: hostileValue }), (t, values) => {
        let r: { argv: string[]; command: string };
        try {
          r = renderAccessTemplate(t, { ...values, bastion_port: '22' });
        } catch (err) {
          expect(err).toBeInstanceOf(AccessTemplateError);
          expect(Object.values(values).some((v) => /[\u0000-\u001f\u007f]/.test(v))).toBe(true);
          return;
        }
        expectInert(r.command, r.argv);
      }),
      { numRuns: 120 },
    );
  });

  it('property: hostile templates are refused, or render to a command the shell runs as exactly the argv', () => {
    const token = fc.constantFrom(
      ' ', ' ', '{{user}}', '{{host}}', '{{port}}', "'", '"', ';', '|', '&', '$', '(', ')', '`', '\\', '*', '?', '~', '#', '!', '<', '>',
      '{', '}', '[', ']', '\t', '\n', '-o', 'x', '=', '@', ':', 'touch pwned', 'ProxyCommand=', '%h', ',',
    );
    const template = fc.tuple(fc.constantFrom(...STUBS), fc.array(token, { maxLength: 16 })).map(([p, ts]) => `${p} ${ts.join('')}`);
    let accepted = 0;
    fc.assert(
      fc.property(template, hostileValue.filter((v) => !/[\u0000-\u001f\u007f]/.test(v)), (t, user) => {
        try {
          parseAccessTemplate(t);
        } catch (err) {
          expect(err).toBeInstanceOf(AccessTemplateError);
          return;
        }
        accepted++;
        const r = renderAccessTemplate(t, { user, host: '10.0.0.7', port: '22' });
        expectInert(r.command, r.argv);
      }),
      { numRuns: 300 },
    );
    // the generator must reach the interesting case (templates that pass validation), or the property proves little
    expect(accepted).toBeGreaterThan(20);
  });
});

describe('choosing the template', () => {
  const settings = (over: Partial<EffectiveIntegrations> = {}): EffectiveIntegrations => ({
    prometheusUrl: null,
    prometheusSource: null,
    instanceTemplate: '{ip}:9100',
    snapshotTtlSeconds: 3600,
    accessTemplates: { direct_ssh: null, bastion_ssh: null, teleport: null },
    teleportProxy: null,
    teleportCluster: null,
    ...over,
  });
  const host = (over: Partial<HostView> = {}): HostView => ({
    id: '00000000-0000-4000-8000-000000000001',
    hostname: 'web-01',
    fqdn: null,
    ip: '10.0.0.7',
    os: 'linux',
    environment: 'dev',
    owner: null,
    team: null,
    criticality: 'low',
    tags: [],
    notes: null,
    connection_method: 'direct_ssh',
    ssh_user: 'ops',
    ssh_port: 22,
    bastion_host: null,
    bastion_port: 22,
    access_template: null,
    created_at: '',
    updated_at: '',
    last_seen_at: null,
    version: 1,
    ...over,
  });

  it('host template, then the global one for the method, then the built-in default', () => {
    expect(chooseTemplate(host(), settings())).toEqual({ template: DEFAULT_ACCESS_TEMPLATES.direct_ssh, source: 'default' });
    expect(chooseTemplate(host(), settings({ accessTemplates: { direct_ssh: 'mosh {{user}}@{{host}}', bastion_ssh: null, teleport: null } }))).toEqual({ template: 'mosh {{user}}@{{host}}', source: 'settings' });
    expect(chooseTemplate(host({ access_template: 'ssh -i k {{user}}@{{host}}' }), settings({ accessTemplates: { direct_ssh: 'mosh {{user}}@{{host}}', bastion_ssh: null, teleport: null } }))).toEqual({
      template: 'ssh -i k {{user}}@{{host}}',
      source: 'host',
    });
    expect(chooseTemplate(host({ connection_method: 'teleport' }), settings({ teleportProxy: 'tp:443' })).template).toBe(DEFAULT_ACCESS_TEMPLATES.teleport);
    expect(chooseTemplate(host({ connection_method: 'teleport' }), settings({ teleportProxy: 'tp:443', teleportCluster: 'c1' })).template).toBe(DEFAULT_ACCESS_TEMPLATES.teleport_cluster);
  });

  it('values: bastion ones only with a bastion, teleport ones only when configured', () => {
    expect(templateValues(host(), 'ops', settings())).toEqual({ user: 'ops', host: '10.0.0.7', hostname: 'web-01', port: '22' });
    expect(templateValues(host({ connection_method: 'bastion_ssh', bastion_host: '2001:db8::1', bastion_port: 2200 }), 'ops', settings({ teleportProxy: 'tp' }))).toMatchObject({
      bastion: '2001:db8::1',
      bastion_port: '2200',
      jump: 'ops@[2001:db8::1]:2200',
      proxy: 'tp',
    });
  });
});
