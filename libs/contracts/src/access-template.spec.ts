import { DEFAULT_ACCESS_TEMPLATES, parseAccessTemplate } from './access-template';
import { createHostSchema, integrationSettingsSchema, updateHostSchema } from './inventory';

/** The schema side of access templates; rendering and the real-shell proofs live in services/inventory (access-template.spec.ts). */
describe('access templates in the contracts', () => {
  it('the built-in templates parse, with their placeholders', () => {
    expect(parseAccessTemplate(DEFAULT_ACCESS_TEMPLATES.bastion_ssh).flatMap((w) => w.placeholders)).toEqual(['jump', 'port', 'user', 'host']);
    expect(parseAccessTemplate(DEFAULT_ACCESS_TEMPLATES.teleport_cluster).map((w) => w.raw)).toEqual(['tsh', 'ssh', '--proxy={{proxy}}', '--cluster={{cluster}}', '{{user}}@{{hostname}}']);
  });

  it('a host access_template is validated, trimmed, and empty means none', () => {
    const base = { hostname: 'h1', ip: '10.0.0.1', environment: 'dev' };
    expect(createHostSchema.parse(base).access_template).toBeNull();
    expect(createHostSchema.parse({ ...base, access_template: '  ssh {{user}}@{{host}} ' }).access_template).toBe('ssh {{user}}@{{host}}');
    expect(updateHostSchema.parse({ access_template: '' }).access_template).toBeNull();
    const bad = updateHostSchema.safeParse({ access_template: 'ssh {{user}}@{{host}}; id' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['access_template'], message: expect.stringContaining("';' outside quotes") });
  });

  it('teleport is a connection method', () => {
    expect(createHostSchema.parse({ hostname: 'h1', ip: '10.0.0.1', environment: 'dev', connection_method: 'teleport' }).connection_method).toBe('teleport');
  });

  it('settings: templates per method (null restores the default), teleport proxy and cluster without shell syntax', () => {
    expect(integrationSettingsSchema.parse({ access_templates: { teleport: null, direct_ssh: 'mosh {{user}}@{{host}}' } })).toEqual({ access_templates: { teleport: null, direct_ssh: 'mosh {{user}}@{{host}}' } });
    expect(integrationSettingsSchema.safeParse({ access_templates: { winrm: 'x' } }).success).toBe(false);
    expect(integrationSettingsSchema.safeParse({ access_templates: { direct_ssh: 'ssh `id`' } }).success).toBe(false);
    expect(integrationSettingsSchema.parse({ teleport_proxy: 'tp.example.com:3080', teleport_cluster: 'prod-eu' })).toEqual({ teleport_proxy: 'tp.example.com:3080', teleport_cluster: 'prod-eu' });
    for (const bad of [{ teleport_proxy: 'tp;id' }, { teleport_proxy: '-oProxyCommand=x' }, { teleport_proxy: 'tp example' }, { teleport_cluster: 'c:1' }, { teleport_cluster: '$(id)' }])
      expect(integrationSettingsSchema.safeParse(bad).success).toBe(false);
  });
});
