import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './dist-system';
import { waitFor } from './wait';

/**
 * The edge nginx of deploy/nginx on a test machine: shared by the e2e suites (e2e/deploy, e2e/edge-artifacts, through
 * e2e/support/deploy-files.ts) and the artifacts bench (bench/artifacts), which is compiled into dist/ where e2e/
 * is not — hence here rather than in e2e/support.
 */

/** REPO_ROOT, not __dirname: this file runs from libs/testing/src (jest) and from dist/libs/testing/src (bench). */
const DEPLOY_NGINX = join(REPO_ROOT, 'deploy', 'nginx');

export interface NginxTree {
  dir: string;
  conf: string;
  httpPort: number;
  httpsPort: number;
}

/**
 * Copies deploy/nginx into `dir` the way it is installed, changing only what a test machine needs:
 * upstream servers -> `upstream` (e.g. 127.0.0.1:8000), TLS files -> a self-signed pair in `dir`,
 * pid/log paths -> `dir`, listen ports -> the given free ports, IPv6 listens dropped (may be unavailable).
 */
export function writeNginxTree(
  dir: string,
  upstream: string,
  httpPort: number,
  httpsPort: number,
  /** the gateway's internal port and the artifacts service (the one-hop artifact routes); unreachable when not given */
  more: { gatewayInternal?: string; artifacts?: string } = {},
): NginxTree {
  mkdirSync(dir, { recursive: true });
  cpSync(DEPLOY_NGINX, dir, { recursive: true });
  copyFileSync(existsSync('/etc/nginx/mime.types') ? '/etc/nginx/mime.types' : join(DEPLOY_NGINX, 'mime.types'), join(dir, 'mime.types'));
  const edit = (file: string, fn: (s: string) => string) => writeFileSync(join(dir, file), fn(readFileSync(join(dir, file), 'utf8')));
  edit('nginx.conf', (s) => s.replace(/^pid .*;$/m, `pid ${dir}/nginx.pid;`).replace(/\/var\/log\/nginx\//g, `${dir}/`));
  edit('conf.d/opsdesk-http.conf', (s) =>
    s
      .replace(/^(\s*server\s+)[\w.-]+:8000\b/gm, `$1${upstream}`)
      .replace(/^(\s*server\s+)[\w.-]+:8010\b/gm, `$1${more.gatewayInternal ?? '127.0.0.1:9'}`)
      .replace(/^(\s*server\s+)[\w.-]+:8004\b/gm, `$1${more.artifacts ?? '127.0.0.1:9'}`),
  );
  edit('opsdesk.conf', (s) =>
    s
      .replace(/^\s*listen \[::\]:.*$/gm, '')
      .replace(/listen 80;/g, `listen 127.0.0.1:${httpPort};`)
      .replace(/listen 443 ssl/g, `listen 127.0.0.1:${httpsPort} ssl`)
      .replace(/ssl_certificate \S+;/, `ssl_certificate ${dir}/cert.pem;`)
      .replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${dir}/key.pem;`),
  );
  return { dir, conf: join(dir, 'nginx.conf'), httpPort, httpsPort };
}

/** The self-signed pair writeNginxTree's config points at (`dir`/cert.pem, `dir`/key.pem; CN=localhost, one day), by openssl. */
export function makeSelfSignedCert(dir: string): void {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr ?? ''}`);
}

/** The nginx binary: the Debian package's path, else whatever `nginx` is on PATH. */
export const NGINX_BIN = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

export interface RunningNginx {
  proc: ChildProcess;
  /** SIGTERM to the master (its workers exit with it) and wait for it; the tree's directory is the caller's */
  stop(): Promise<void>;
}

/**
 * Runs nginx in the foreground on a tree from writeNginxTree and waits until `ready` answers true (e.g. /healthz
 * proxied through it); nginx's stderr is in the error when it exits first. Stopped again when it never gets ready.
 */
export async function startNginx(tree: NginxTree, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<RunningNginx> {
  const proc = spawn(NGINX_BIN, ['-c', tree.conf, '-p', tree.dir, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${stderr}`);
        return ready().catch(() => false);
      },
      { timeoutMs, what: 'nginx to get ready' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, stop };
}

/**
 * How many requests a service answered for the given (method, route) pairs, from its Prometheus text: the sum of its
 * RED histogram's `_count` series (libs/observability). Tells whether a request passed through a process.
 */
export function redRequestCount(metrics: string, routes: ReadonlyArray<readonly [method: string, route: string]>): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith('opsdesk_http_request_duration_seconds_count{') && routes.some(([m, r]) => l.includes(`method="${m}"`) && l.includes(`route="${r}"`)))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}
