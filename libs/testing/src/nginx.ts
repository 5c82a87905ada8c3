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

/** The system nginx's mime.types (the Debian package's), else deploy/nginx's, into `dir`. */
function copyMimeTypes(dir: string): void {
  copyFileSync(existsSync('/etc/nginx/mime.types') ? '/etc/nginx/mime.types' : join(DEPLOY_NGINX, 'mime.types'), join(dir, 'mime.types'));
}

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
  // the host/compose layout only: the Kubernetes edge's files (kubernetes/) have their own tree below
  cpSync(DEPLOY_NGINX, dir, { recursive: true, filter: (src) => src !== join(DEPLOY_NGINX, 'kubernetes') });
  copyMimeTypes(dir);
  const edit = (file: string, fn: (s: string) => string) => writeFileSync(join(dir, file), fn(readFileSync(join(dir, file), 'utf8')));
  edit('nginx.conf', (s) => s.replace(/^pid .*;$/m, `pid ${dir}/nginx.pid;`).replace(/\/var\/log\/nginx\//g, `${dir}/`));
  edit('conf.d/opsdesk-upstreams.conf', (s) =>
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

/** Where the Kubernetes edge's three upstreams point (host:port each). */
export interface EdgeUpstreams {
  gateway: string;
  gatewayInternal: string;
  artifacts: string;
}

export interface KubernetesEdgeTree {
  dir: string;
  conf: string;
  /** the edge server's port (8080 in the pod) */
  port: number;
  /** the probe server's port (8081 in the pod) */
  probePort: number;
}

/**
 * The Helm chart's edge nginx (deploy/nginx/kubernetes, templates/edge.yaml) on a test machine, laid out as the chart
 * mounts it at /etc/nginx/opsdesk/: kubernetes/nginx.conf and opsdesk-edge.conf, the shared opsdesk-locations.conf
 * and conf.d/opsdesk-http.conf, plus the two files the chart renders from values, written here the way the template
 * writes them — conf.d/opsdesk-upstreams.conf (the release's Services → `upstreams`) and conf.d/opsdesk-realip.conf
 * (`set_real_ip_from` per ingress.trustedProxies entry → `trustedProxies`). Changed for the test machine only: the
 * /tmp paths and the logs into `dir`, the two listen ports on 127.0.0.1, mime.types from the system's nginx.
 */
export function writeKubernetesEdgeTree(dir: string, upstreams: EdgeUpstreams, port: number, probePort: number, trustedProxies: readonly string[]): KubernetesEdgeTree {
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  const k8s = join(DEPLOY_NGINX, 'kubernetes');
  copyMimeTypes(dir);
  const write = (file: string, text: string) => writeFileSync(join(dir, file), text);
  const swapped = (text: string, from: RegExp, to: string, what: string) => {
    // checked, not assumed: a reworded line in deploy/ would otherwise leave the test's nginx on the pod's paths
    if (!from.test(text)) throw new Error(`writeKubernetesEdgeTree: ${what} not found (${from})`);
    return text.replace(from, to);
  };
  let main = readFileSync(join(k8s, 'nginx.conf'), 'utf8');
  main = swapped(main, /\/tmp\//g, `${dir}/`, 'the /tmp paths');
  main = swapped(main, /\/dev\/stderr/, join(dir, 'error.log'), 'error_log /dev/stderr');
  main = swapped(main, /\/dev\/stdout/, join(dir, 'access.log'), 'access_log /dev/stdout');
  main = swapped(main, /\/etc\/nginx\/mime\.types/, join(dir, 'mime.types'), 'the image\'s mime.types');
  write('nginx.conf', main);
  let server = readFileSync(join(k8s, 'opsdesk-edge.conf'), 'utf8');
  server = swapped(server, /listen 8080;/, `listen 127.0.0.1:${port};`, 'listen 8080');
  server = swapped(server, /listen 8081;/, `listen 127.0.0.1:${probePort};`, 'listen 8081');
  write('opsdesk-edge.conf', server);
  copyFileSync(join(DEPLOY_NGINX, 'opsdesk-locations.conf'), join(dir, 'opsdesk-locations.conf'));
  copyFileSync(join(DEPLOY_NGINX, 'conf.d', 'opsdesk-http.conf'), join(dir, 'conf.d', 'opsdesk-http.conf'));
  write('conf.d/opsdesk-upstreams.conf', kubernetesEdgeUpstreams(upstreams));
  write('conf.d/opsdesk-realip.conf', trustedProxies.map((p) => `set_real_ip_from ${p};\n`).join(''));
  return { dir, conf: join(dir, 'nginx.conf'), port, probePort };
}

/**
 * conf.d/opsdesk-upstreams.conf as templates/edge.yaml renders it (the same upstream names, servers and keepalive as
 * deploy/nginx/conf.d/opsdesk-upstreams.conf; e2e/deploy-helm checks the template against this).
 */
export function kubernetesEdgeUpstreams(u: EdgeUpstreams): string {
  return [
    `upstream opsdesk_gateway {\n    server ${u.gateway};\n    keepalive 32;\n}\n`,
    `upstream opsdesk_gateway_internal {\n    server ${u.gatewayInternal};\n    keepalive 8;\n}\n`,
    `upstream opsdesk_artifacts {\n    server ${u.artifacts};\n    keepalive 16;\n}\n`,
  ].join('');
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
export async function startNginx(tree: { dir: string; conf: string }, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<RunningNginx> {
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
