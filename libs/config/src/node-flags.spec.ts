import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nodeFlagsFile, parseNodeFlags, serviceNodeFlags } from './node-flags';

describe('node flags (deploy/node-flags.conf)', () => {
  it('parses `<service> <flag> …` lines, skipping comments and blank lines', () => {
    const flags = parseNodeFlags('# why\n\ngateway --a=1 --b   # trailing\n  artifacts\t--c=x/y\nauth\n');
    expect([...flags]).toEqual([
      ['gateway', ['--a=1', '--b']],
      ['artifacts', ['--c=x/y']],
      ['auth', []],
    ]);
  });

  it.each([
    ['Gateway --a', /"Gateway" is not a service name/],
    ['gateway -a', /"-a" is not a --flag/],
    ['gateway --a=$(id)', /is not a --flag/],
    ['gateway --a\ngateway --b', /line 2: gateway is listed twice/],
  ])('refuses %j', (text, error) => {
    expect(() => parseNodeFlags(text)).toThrow(error);
  });

  it('the committed file names only services that exist, and Node accepts every flag in it', () => {
    const file = nodeFlagsFile();
    const root = dirname(dirname(file));
    const services = readdirSync(join(root, 'services'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    const flags = parseNodeFlags(readFileSync(file, 'utf8'));
    expect(flags.size).toBeGreaterThan(0);
    for (const [service, list] of flags) {
      expect(services).toContain(service);
      // a misspelt V8 flag makes node exit with "bad option" before any code runs
      const r = spawnSync(process.execPath, [...list, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
      expect({ service, status: r.status, stderr: r.stderr }).toEqual({ service, status: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toEqual([...list, '-e', expect.any(String)]);
    }
    expect(serviceNodeFlags('artifacts', file)).toEqual(flags.get('artifacts'));
    expect(serviceNodeFlags('no-such-service', file)).toEqual([]);
  });
});
