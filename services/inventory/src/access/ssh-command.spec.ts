import { HostRules } from '@opsdesk/contracts';
import { renderSshCommand, shellQuote } from './ssh-command';

describe('shellQuote', () => {
  it('leaves safe words alone', () => {
    for (const w of ['ssh', '22', 'deploy@10.0.0.1', 'ops@[2001:db8::1]:22', 'a.b-c_d']) expect(shellQuote(w)).toBe(w);
  });

  it('single-quotes anything with metacharacters, escaping embedded quotes', () => {
    expect(shellQuote('a b')).toBe(`'a b'`);
    expect(shellQuote('x;rm -rf /')).toBe(`'x;rm -rf /'`);
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(shellQuote('$(id)')).toBe(`'$(id)'`);
    expect(shellQuote('`id`')).toBe(`'\`id\`'`);
    expect(shellQuote('')).toBe(`''`);
    expect(shellQuote('-oProxyCommand=x')).toBe(`'-oProxyCommand=x'`);
  });

  it('round-trips through a real shell as exactly one argument', async () => {
    const { execFileSync } = await import('node:child_process');
    for (const v of [`it's`, 'a b', '$(id)', '`id`', 'x;y|z&w', '"q"', 'back\\slash', 'nl\nx', '*?[a]']) {
      const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(v)}`]).toString();
      expect(out).toBe(v);
    }
  });
});

describe('renderSshCommand', () => {
  it('direct: ssh -p <port> <user>@<ip>', () => {
    const r = renderSshCommand({ connection_method: 'direct_ssh', ip: '10.1.2.3', ssh_port: 2222, bastion_host: null, bastion_port: 22 }, 'deploy');
    expect(r.command).toBe('ssh -p 2222 deploy@10.1.2.3');
    expect(r.argv).toEqual(['ssh', '-p', '2222', 'deploy@10.1.2.3']);
  });

  it('bastion: -J <user>@<bastion_host>:<bastion_port>', () => {
    const r = renderSshCommand({ connection_method: 'bastion_ssh', ip: '10.1.2.3', ssh_port: 22, bastion_host: 'jump.example.com', bastion_port: 2200 }, 'ops');
    expect(r.command).toBe('ssh -J ops@jump.example.com:2200 -p 22 ops@10.1.2.3');
  });

  it('brackets an IPv6 bastion in -J and keeps an IPv6 target plain', () => {
    const r = renderSshCommand({ connection_method: 'bastion_ssh', ip: '2001:db8::5', ssh_port: 22, bastion_host: '2001:db8::1', bastion_port: 22 }, 'ops');
    expect(r.command).toBe('ssh -J ops@[2001:db8::1]:22 -p 22 ops@2001:db8::5');
  });

  it('quotes a hostile value instead of letting it through (defence in depth)', () => {
    const r = renderSshCommand({ connection_method: 'direct_ssh', ip: '10.0.0.1', ssh_port: 22, bastion_host: null, bastion_port: 22 }, 'x;id');
    expect(r.command).toBe(`ssh -p 22 'x;id@10.0.0.1'`);
  });
});

describe('write-time rules reject shell metacharacters', () => {
  it.each(['root;id', 'a b', '$(id)', '`id`', 'a|b', 'a&b', "o'neil", 'a"b', 'a>b', 'a\\b', '-oProxyCommand', 'é'])('ssh user %p', (v) => {
    expect(HostRules.sshUser(v)).not.toBeNull();
  });
  it.each(['deploy', 'ec2-user', '_svc', 'a.b'])('accepts ssh user %p', (v) => expect(HostRules.sshUser(v)).toBeNull());
  it.each(['jump;id', 'jump host', '$(id)', 'j`id`', '-oProxyCommand=x', 'a|b', 'x&y', 'bad_host!'])('bastion %p', (v) => {
    expect(HostRules.bastionHost(v)).not.toBeNull();
  });
  it.each(['jump', 'jump.example.com', '10.0.0.1', '2001:db8::1'])('accepts bastion %p', (v) => expect(HostRules.bastionHost(v)).toBeNull());
});
