import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NATS_PASSWORD_PATTERN, natsPermissionSet, natsPasswordVariable } from '@opsdesk/contracts';
import { ROUTE_TLS_DIR_IN_CONF, kubernetesEdgeUpstreams, makeRouteTlsFiles } from '@opsdesk/testing';
import { DEPLOY, hasPath, isRecord, readYaml, walk } from './support/deploy-files';

/**
 * The Helm chart without Helm (not installable here, and no Go-template engine with Helm's functions exists on
 * npm): the chart is parsed, values resolved, and what issue 13 asks for is checked in the template text —
 * the NATS cluster and its config (rendered the way the template rewrites it, then `nats-server -t`), the
 * migrate job's install order, PDBs, NetworkPolicies, the Prometheus Operator objects behind flags, the
 * CloudNativePG cluster, the secrets every reference points at, and the pool budget of both values files.
 * Not checked without a cluster: that the Go templates render (syntax beyond balanced actions), that the API
 * server accepts the objects, that the CNI enforces the policies, that CloudNativePG archives and restores
 * (deploy/backup's PITR drill exercises the same Postgres mechanism), see docs/OPERATIONS.md.
 */
const CHART = join(DEPLOY, 'helm', 'opsdesk');
const TEMPLATES = join(CHART, 'templates');
const tpl = (name: string) => readFileSync(join(TEMPLATES, name), 'utf8');
const values = readYaml(join(CHART, 'values.yaml')) as Record<string, unknown>;
const prod = readYaml(join(CHART, 'values-prod.yaml')) as Record<string, unknown>;
const NATS_SERVER = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
/** values.yaml with values-prod.yaml merged over it (Helm's -f: maps merge, everything else replaces) */
function merged(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merged(base[k], v);
  return out;
}
const prodValues = merged(values, prod);

describe('deploy: Helm chart (static, no cluster)', () => {
  it('every template has balanced actions (if/range/with/define … end)', () => {
    for (const f of walk(TEMPLATES).filter((x) => /\.(ya?ml|tpl|txt)$/.test(x))) {
      const text = readFileSync(f, 'utf8').replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');
      const opens = [...text.matchAll(/\{\{-?\s*(if|range|with|define)\b/g)].length;
      const ends = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
      expect({ file: f, opens }).toEqual({ file: f, opens: ends });
    }
  });

  it('files the templates read exist (links into deploy/ resolve) and every .Values path exists in values.yaml', () => {
    for (const f of walk(TEMPLATES)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\.Files\.Get "([^"]+)"/g)) expect({ f, file: m[1], exists: existsSync(join(CHART, m[1])) }).toEqual({ f, file: m[1], exists: true });
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) expect({ f, path: m[1], ok: hasPath(values, m[1].slice(1)) }).toEqual({ f, path: m[1], ok: true });
    }
    // the chart ships the very files deploy/ tests: the NATS config, the alerts, the backup script
    expect(realpathSync(join(CHART, 'files', 'nats-cluster.conf'))).toBe(realpathSync(join(DEPLOY, 'nats', 'nats-cluster.conf')));
    expect(realpathSync(join(CHART, 'files', 'opsdesk-alerts.yml'))).toBe(realpathSync(join(DEPLOY, 'prometheus', 'opsdesk-alerts.yml')));
    expect(realpathSync(join(CHART, 'files', 'backup.sh'))).toBe(realpathSync(join(DEPLOY, 'backup', 'backup.sh')));
    expect(realpathSync(join(CHART, 'files', 'nginx'))).toBe(realpathSync(join(DEPLOY, 'nginx')));
  });

  it('edge: the Ingress routes to an nginx with deploy/nginx\'s files (artifact bytes in one hop), the upstreams and trusted proxies rendered as the tested tree writes them', () => {
    expect(get(values, 'edge.enabled')).toBe(true);
    expect(get(prodValues, 'edge.enabled')).toBe(true);
    expect(get(prodValues, 'ingress.enabled')).toBe(true);
    expect(tpl('_helpers.tpl')).toMatch(/define "opsdesk\.edgeEnabled" -\}\}\n\{\{- if and \.Values\.ingress\.enabled \.Values\.edge\.enabled -\}\}true/);
    const edge = tpl('edge.yaml');
    const [config, deployment, service] = edge.split(/^---$/m);
    // the ConfigMap: the very files e2e/edge-artifacts runs (writeKubernetesEdgeTree), mounted as that tree
    const files = new Map([...config.matchAll(/^ {2}([\w.-]+): \|\n\s+\{\{- \.Files\.Get "files\/nginx\/([^"]+)" \| nindent 4 \}\}/gm)].map((m) => [m[1], m[2]]));
    expect(Object.fromEntries(files)).toEqual({
      'nginx.conf': 'kubernetes/nginx.conf',
      'opsdesk-edge.conf': 'kubernetes/opsdesk-edge.conf',
      'opsdesk-locations.conf': 'opsdesk-locations.conf',
      'opsdesk-http.conf': 'conf.d/opsdesk-http.conf',
    });
    const items = Object.fromEntries([...deployment.matchAll(/- \{ key: ([\w.-]+), path: ([\w./-]+) \}/g)].map((m) => [m[1], m[2]]));
    expect(items).toEqual({
      'nginx.conf': 'nginx.conf',
      'opsdesk-edge.conf': 'opsdesk-edge.conf',
      'opsdesk-locations.conf': 'opsdesk-locations.conf',
      'opsdesk-http.conf': 'conf.d/opsdesk-http.conf',
      'opsdesk-upstreams.conf': 'conf.d/opsdesk-upstreams.conf',
      'opsdesk-realip.conf': 'conf.d/opsdesk-realip.conf',
    });
    expect(deployment).toMatch(/mountPath: \/etc\/nginx\/opsdesk\n/);
    expect(deployment).toContain('command: ["nginx", "-c", "/etc/nginx/opsdesk/nginx.conf", "-g", "daemon off;"]');
    // the tree's include paths and listen ports are the ones the pod's spec names
    const k8sMain = readFileSync(join(DEPLOY, 'nginx', 'kubernetes', 'nginx.conf'), 'utf8');
    expect(k8sMain).toMatch(/include conf\.d\/\*\.conf;/);
    expect(k8sMain).toMatch(/include opsdesk-edge\.conf;/);
    expect(k8sMain).toMatch(/pid \/tmp\/nginx\.pid;/);
    const k8sServer = readFileSync(join(DEPLOY, 'nginx', 'kubernetes', 'opsdesk-edge.conf'), 'utf8');
    expect(k8sServer).toMatch(/listen 8080;[\s\S]*include opsdesk-locations\.conf;/);
    expect(k8sServer).toMatch(/listen 8081;/);
    expect(deployment).toMatch(/containerPort: 8080[\s\S]*containerPort: 8081/);
    expect(deployment).toMatch(/readinessProbe:\n\s+httpGet: \{ path: \/healthz, port: probe \}/);
    expect(deployment).toMatch(/mountPath: \/tmp\n/);
    expect(deployment).toContain('{{- toYaml .Values.securityContext | nindent 12 }}');
    expect(service).toMatch(/port: 8080\n\s+targetPort: http/);
    expect(service).not.toMatch(/8081/);
    // the upstreams: the same three names, servers and keepalives as the tree the e2e test runs
    const rendered = (/opsdesk-upstreams\.conf: \|\n([\s\S]*?)\n {2}#/.exec(config)?.[1] ?? '')
      .split('\n')
      .map((l) => l.slice(4))
      .join('\n')
      .replace('{{ $fullname }}-gateway:{{ $svc.gateway.port }}', 'GW')
      .replace('{{ $fullname }}-gateway:{{ $svc.gateway.internalPort }}', 'GWI')
      .replace('{{ $fullname }}-artifacts:{{ $svc.artifacts.port }}', 'ART');
    expect(`${rendered}\n`).toBe(kubernetesEdgeUpstreams({ gateway: 'GW', gatewayInternal: 'GWI', artifacts: 'ART' }));
    // and the compose upstreams carry the same names
    const composeUpstreams = readFileSync(join(DEPLOY, 'nginx', 'conf.d', 'opsdesk-upstreams.conf'), 'utf8');
    for (const name of ['opsdesk_gateway', 'opsdesk_gateway_internal', 'opsdesk_artifacts']) expect(composeUpstreams).toContain(`upstream ${name} {`);
    expect(config).toMatch(/opsdesk-realip\.conf: \|[\s\S]*\{\{- range \.Values\.ingress\.trustedProxies \}\}\n\s+set_real_ip_from \{\{ \. \}\};\n\s+\{\{- end \}\}/);
    // the Ingress: to the edge's Service when the edge runs, else to the gateway
    const ingress = tpl('ingress.yaml');
    expect(ingress).toMatch(/\{\{- if \$edge \}\}\n[^\n]*\n\s+name: \{\{ \$fullname \}\}-edge\n\s+port:\n\s+number: 8080\n\s+\{\{- else \}\}\n\s+name: \{\{ \$fullname \}\}-\{\{ \.backend \}\}/);
    // the gateway trusts the edge pods' X-Forwarded-For while the edge runs
    expect(tpl('configmap.yaml')).toMatch(/if include "opsdesk\.edgeEnabled" \. \}\}\n[^\n]*\n\s+TRUST_PROXY: \{\{ join "," \(\.Values\.edge\.podAddresses \| default \.Values\.ingress\.trustedProxies\) \| quote \}\}/);
    // the edge holds no secret and no API token
    expect(edge).not.toMatch(/secretKeyRef|secretRef|secret:/);
    expect(deployment).toContain('automountServiceAccountToken: false');
  });

  it('NATS: a 3-node JetStream StatefulSet on by default, the stream and bucket at 3 replicas, one password env per login', () => {
    expect(get(values, 'natsCluster.enabled')).toBe(true);
    expect(get(values, 'natsCluster.replicas')).toBe(3);
    expect(get(prodValues, 'natsCluster.replicas')).toBe(3);
    expect(get(values, 'nats.url')).toBe('');
    for (const v of [values, prodValues]) expect(Number(get(v, 'config.NATS_STREAM_REPLICAS'))).toBe(get(v, 'natsCluster.replicas'));
    const nats = tpl('nats.yaml');
    expect(nats).toMatch(/kind: StatefulSet/);
    expect(nats).toMatch(/podManagementPolicy: Parallel/);
    expect(nats).toMatch(/kind: PodDisruptionBudget[\s\S]*maxUnavailable: 1/);
    expect(nats).toMatch(/requiredDuringSchedulingIgnoredDuringExecution/);
    // every login's password from the chart's NATS Secret, under the name the config reads
    expect(nats).toMatch(/range \$user, \$_ := \.Values\.nats\.passwords[\s\S]*- name: NATS_PASSWORD_\{\{ upper \$user \}\}[\s\S]*key: \{\{ \$user \}\}/);
    // the chart refuses a password nats-server would misread, by the services' own rule
    expect(tpl('nats-secret.yaml')).toContain(`(not (regexMatch ${JSON.stringify(NATS_PASSWORD_PATTERN.source)} $password))`);
    const logins = natsPermissionSet().map((u) => u.user).sort();
    expect(Object.keys(get(values, 'nats.passwords') as object).sort()).toEqual(logins);
    // the services' NATS_URL lists every node when nats.url is empty
    expect(tpl('configmap.yaml')).toContain('NATS_URL: {{ include "opsdesk.natsUrl" . | quote }}');
    expect(tpl('_helpers.tpl')).toMatch(/define "opsdesk\.natsUrl"[\s\S]*until \(int \.Values\.natsCluster\.replicas\)[\s\S]*nats:\/\/%s-%d\.%s-headless:4222/);
  });

  it("NATS: the config the template renders (deploy/nats/nats-cluster.conf, routes rewritten) passes nats-server -t", () => {
    const conf = readFileSync(join(CHART, 'files', 'nats-cluster.conf'), 'utf8');
    const nats = tpl('nats.yaml');
    // the template's rewrite, applied here the same way (Go RE2 and JS agree on this pattern)
    const pattern = /regexReplaceAll "([^"]+)" \$conf/.exec(nats)?.[1];
    expect(pattern).toBe('routes: \\\\[[^\\\\]]*\\\\]');
    const re = new RegExp(pattern!.replace(/\\\\/g, '\\'), 'g');
    const name = 'opsdesk-opsdesk-nats';
    const routes = [0, 1, 2].map((i) => `nats-route://${name}-${i}.${name}-headless:6222`);
    const rendered = conf.replace(re, `routes: [\n    ${routes.join('\n    ')}\n  ]`).replace('max_file_store: 20GB', `max_file_store: ${String(get(values, 'natsCluster.maxFileStore'))}`);
    expect(rendered).not.toContain('nats-1:6222');
    for (const r of routes) expect(rendered).toContain(r);
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-helm-nats-'));
    try {
      // the routes' TLS files where the config names them, for the names the routes dial (as the chart makes them)
      makeRouteTlsFiles(dir, { dns: [`*.${name}-headless`] });
      const file = join(dir, 'nats.conf');
      writeFileSync(file, rendered.split(ROUTE_TLS_DIR_IN_CONF).join(`${dir}/`));
      const env: NodeJS.ProcessEnv = { ...process.env, NATS_SERVER_NAME: `${name}-0` };
      for (const u of natsPermissionSet()) env[natsPasswordVariable(u.user)] = `pw-${u.user}-0123456789abcdef`;
      const r = spawnSync(NATS_SERVER, ['-t', '-c', file], { encoding: 'utf8', env });
      if (r.error) throw new Error(`nats-server is not installed (apt-get install nats-server): ${r.error.message}`);
      expect({ status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, out: expect.stringMatching(/configuration file .* is valid/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('NATS routes: mutual TLS files from a Secret the chart makes and keeps (or yours), mounted where the config names them', () => {
    const conf = readFileSync(join(CHART, 'files', 'nats-cluster.conf'), 'utf8');
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) expect(conf).toContain(`"${ROUTE_TLS_DIR_IN_CONF}${f}"`);
    const nats = tpl('nats.yaml');
    expect(nats).toContain(`- { name: route-tls, mountPath: ${ROUTE_TLS_DIR_IN_CONF.replace(/\/$/, '')}, readOnly: true }`);
    expect(nats).toMatch(/- name: route-tls\n\s+secret:\n\s+secretName: \{\{ include "opsdesk\.natsRouteTlsSecretName" \. \}\}/);
    const secret = tpl('nats-route-tls.yaml');
    // made once per release: looked up and reused on upgrade, never regenerated under running nodes
    expect(secret).toContain('{{- if and .Values.natsCluster.enabled (not .Values.natsCluster.routeTls.existingSecret) }}');
    expect(secret).toMatch(/\$existing := lookup "v1" "Secret" \.Release\.Namespace \$secretName/);
    expect(secret).toContain('"helm.sh/resource-policy": keep');
    expect(secret).toMatch(/genCA [\s\S]*genSignedCert \(printf "%s-route" \$name\) nil \$dns 3650 \$ca/);
    // the certificate names what the routes dial: <pod>.<release>-nats-headless (templates/nats.yaml)
    expect(secret).toContain('(printf "*.%s-headless" $name)');
    expect(nats).toContain('(printf "nats-route://%s-%d.%s-headless:6222" $name $i $name)');
    expect(secret).toContain('{{- if $existing }}{{ $data = $existing.data | default dict }}{{ end -}}');
    for (const key of ['ca.crt', 'tls.crt', 'tls.key']) expect(secret).toContain(`  ${key}: {{ index $data "${key}" }}`);
    expect(get(values, 'natsCluster.routeTls.existingSecret')).toBe('');
    expect(tpl('_helpers.tpl')).toMatch(/define "opsdesk\.natsRouteTlsSecretName"[\s\S]*existingSecret \| default \(printf "%s-route-tls"/);
  });

  it('install order: no post-install hook anywhere (helm --wait deadlock); migrations a pre-install/pre-upgrade hook only with external dependencies, else a Job per revision', () => {
    for (const f of walk(TEMPLATES)) expect({ f, postInstall: /"helm\.sh\/hook":[^\n]*post-install/.test(readFileSync(f, 'utf8')) }).toEqual({ f, postInstall: false });
    const job = tpl('migrate-job.yaml');
    expect(tpl('_helpers.tpl')).toMatch(/define "opsdesk\.inClusterDeps"[\s\S]*or \.Values\.postgresql\.enabled \.Values\.cnpg\.enabled \.Values\.natsCluster\.enabled/);
    expect(job).toMatch(/\{\{- if \$inCluster \}\}\n[^\n]*\n\s+name: \{\{ include "opsdesk\.fullname" \. \}\}-migrate-\{\{ \.Release\.Revision \}\}/);
    expect(job).toMatch(/\{\{- if not \$inCluster \}\}\n\s+annotations:[\s\S]*"helm\.sh\/hook": pre-install,pre-upgrade/);
    // with in-cluster dependencies the logins are provisioned first, by an init container with its own Secret only
    expect(job).toMatch(/if and \$inCluster \.Values\.provision\.enabled[\s\S]*initContainers:[\s\S]*command: \["node", "scripts\/provision\.mjs"\][\s\S]*"name" "db-provision"/);
    expect(tpl('provision-job.yaml')).toMatch(/if and \.Values\.provision\.enabled \(not \(include "opsdesk\.inClusterDeps" \.\)\)/);
    // the job migrates, provisions NATS (replicas) and seeds, in that order
    expect(job).toContain('node scripts/migrate.mjs && node scripts/provision-nats.mjs && node dist/services/auth/src/seed-admin.js');
    // the pods gate on /readyz, which fails until the migrations are applied (e2e/deploy-readiness.e2e-spec.ts)
    expect(get(values, 'probes.readiness.path')).toBe('/readyz');
  });

  it('a PodDisruptionBudget for every service with more than one pod, and NATS', () => {
    expect(get(values, 'podDisruptionBudget.enabled')).toBe(true);
    const pdb = tpl('pdb.yaml');
    expect(pdb).toMatch(/range \$name, \$svc := \.Values\.services/);
    expect(pdb).toMatch(/kind: PodDisruptionBudget/);
    expect(pdb).toMatch(/if or \$hpa \(gt \(int \(index \$\.Values\.replicas \$name\)\) 1\)/);
    expect(tpl('nats.yaml')).toMatch(/kind: PodDisruptionBudget/);
  });

  it('NetworkPolicies: default deny; the edge from the ingress only, the gateway from the edge (or the ingress); NATS and Postgres from the release pods only', () => {
    expect(get(values, 'networkPolicy.enabled')).toBe(true);
    const docs = tpl('networkpolicy.yaml').split(/^---$/m);
    const byName = (re: RegExp) => docs.find((d) => re.test(d)) ?? '';
    const deny = byName(/-default-deny/);
    expect(deny).toMatch(/policyTypes: \[Ingress\]/);
    expect(deny).not.toMatch(/ingress:/);
    const gateway = byName(/name: \{\{ \$fullname \}\}-gateway/);
    // edge on: the gateway's two ports from the edge pods only; edge off: the public port from the ingress controller
    expect(gateway).toMatch(
      /\{\{- if \$edge \}\}[^\n]*\n[^\n]*\n\s+- from:\n\s+- podSelector:\n\s+matchLabels:\n\s+\{\{- include "opsdesk\.edgeSelectorLabels" \. [^\n]*\n\s+ports:\n\s+- \{ port: \{\{ \.Values\.services\.gateway\.port \}\}, protocol: TCP \}\n\s+- \{ port: \{\{ \.Values\.services\.gateway\.internalPort \}\}, protocol: TCP \}\n\s+\{\{- else \}\}/,
    );
    expect(gateway).toMatch(/\{\{- else \}\}[^\n]*\n[^\n]*\n\s+- from:\n\s+\{\{- toYaml \.Values\.networkPolicy\.ingressFrom[^\n]*\n\s+ports:\n\s+- \{ port: \{\{ \.Values\.services\.gateway\.port \}\}/);
    // nothing else may open the gateway's public port
    expect([...gateway.matchAll(/services\.gateway\.port/g)]).toHaveLength(2);
    // the edge pods: their one port from the ingress controller only, and out of the release-wide selector
    const edgePolicy = byName(/name: \{\{ \$fullname \}\}-edge\n/);
    expect(edgePolicy).toMatch(/podSelector:\n\s+matchLabels:\n\s+\{\{- include "opsdesk\.edgeSelectorLabels" \. [^\n]*\n\s+policyTypes: \[Ingress\]\n\s+ingress:\n\s+- from:\n\s+\{\{- toYaml \.Values\.networkPolicy\.ingressFrom[^\n]*\n\s+ports:\n\s+- \{ port: 8080, protocol: TCP \}\n\{\{- end \}\}\n\{\{- if \.Values\.natsCluster/);
    expect(tpl('_helpers.tpl')).toMatch(/define "opsdesk\.edgeSelectorLabels" -\}\}\napp\.kubernetes\.io\/name: \{\{ include "opsdesk\.name" \. \}\}-edge\n/);
    // the artifacts service's port from the edge too (one-hop bytes), no other service's
    const services = byName(/name: \{\{ \$fullname \}\}-\{\{ \$name \}\}/);
    expect(services).toMatch(/\{\{- if and \$edge \(eq \$name "artifacts"\) \}\}[^\n]*\n[^\n]*\n\s+- from:\n\s+- podSelector:\n\s+matchLabels:\n\s+\{\{- include "opsdesk\.edgeSelectorLabels" \$root/);
    expect([...tpl('networkpolicy.yaml').matchAll(/opsdesk\.edgeSelectorLabels/g)]).toHaveLength(3);
    const natsPolicy = byName(/opsdesk\.natsName/);
    expect(natsPolicy).toMatch(/podSelector:\n\s+matchLabels:\n\s+\{\{- toYaml \$opsdeskPods[^\n]*\n\s+ports:\n\s+- \{ port: 4222/);
    expect(natsPolicy).not.toMatch(/namespaceSelector/);
    const pg = byName(/-postgres\n/);
    expect(pg).toMatch(/toYaml \$opsdeskPods[^\n]*\n\s+ports:\n\s+- \{ port: 5432/);
    expect(tpl('networkpolicy.yaml')).toMatch(/\$opsdeskPods := dict "app\.kubernetes\.io\/name" \(include "opsdesk\.name" \.\) "app\.kubernetes\.io\/instance" \.Release\.Name/);
    // the migrate job's and the backup's pods carry those labels (they reach NATS / Postgres)
    expect(tpl('migrate-job.yaml')).toContain('include "opsdesk.selectorLabels" (dict "root" . "name" "migrate")');
    expect(tpl('backup-cronjob.yaml')).toContain('include "opsdesk.selectorLabels" (dict "root" . "name" "backup")');
  });

  it('ServiceMonitor and PrometheusRule behind flags (off by default, on in production), the rule from the tested alerts file', () => {
    const mon = tpl('monitoring.yaml');
    expect(mon).toMatch(/if \.Values\.metrics\.serviceMonitor\.enabled[\s\S]*kind: ServiceMonitor/);
    expect(mon).toMatch(/if \.Values\.metrics\.prometheusRule\.enabled[\s\S]*kind: PrometheusRule[\s\S]*\.Files\.Get "files\/opsdesk-alerts\.yml"/);
    expect(get(values, 'metrics.serviceMonitor.enabled')).toBe(false);
    expect(get(values, 'metrics.prometheusRule.enabled')).toBe(false);
    expect(get(prodValues, 'metrics.serviceMonitor.enabled')).toBe(true);
    expect(get(prodValues, 'metrics.prometheusRule.enabled')).toBe(true);
    const rules = parse(readFileSync(join(CHART, 'files', 'opsdesk-alerts.yml'), 'utf8')) as { groups?: unknown[] };
    expect(rules.groups?.length).toBeGreaterThan(0);
    // the gateway is scraped on its internal port, which its Service now names
    expect(tpl('services.yaml')).toMatch(/- name: internal\n\s+port: \{\{ \$svc\.internalPort \}\}/);
  });

  it('production Postgres: CloudNativePG, 3 instances, WAL archive with archive_timeout ≤ 15 min, scheduled base backups; the bundled single server off', () => {
    expect(get(prodValues, 'cnpg.enabled')).toBe(true);
    expect(get(prodValues, 'postgresql.enabled')).toBe(false);
    expect(get(prodValues, 'cnpg.instances')).toBe(3);
    expect(String(get(prodValues, 'cnpg.archiveTimeout'))).toMatch(/^([1-9]|1[0-5])min$/);
    expect(get(prodValues, 'cnpg.backup.destinationPath')).toMatch(/^s3:\/\//);
    const cnpg = tpl('cnpg.yaml');
    expect(cnpg).toMatch(/kind: Cluster[\s\S]*instances: \{\{ \$c\.instances \}\}[\s\S]*barmanObjectStore:[\s\S]*wal:/);
    expect(cnpg).toMatch(/kind: ScheduledBackup[\s\S]*schedule: \{\{ \$c\.backup\.schedule \| quote \}\}/);
    expect(cnpg).toMatch(/max_connections: \{\{ \$c\.maxConnections \| quote \}\}/);
    // the services' database host becomes the cluster's read-write Service
    expect(tpl('_helpers.tpl')).toMatch(/else if \.Values\.cnpg\.enabled -\}\}\n\{\{- printf "%s-pg-rw"/);
    // and the logical dump CronJob is on in production
    expect(get(prodValues, 'backup.enabled')).toBe(true);
    expect(tpl('backup-cronjob.yaml')).toMatch(/kind: CronJob[\s\S]*concurrencyPolicy: Forbid/);
  });

  it('the pool budget fits in both values files (what each service checks at start with the computed DB_CLIENT_PROCESSES)', () => {
    const processes = (v: unknown): number =>
      ['auth', 'inventory', 'audit', 'artifacts']
        .map((s) => (get(v, 'autoscaling.enabled') && (get(v, 'autoscaling.services') as string[]).includes(s) ? Number(get(v, 'autoscaling.maxReplicas')) : Number(get(v, `replicas.${s}`))))
        .reduce((a, b) => a + b, 0);
    const pool = (v: unknown) => Number(get(v, 'config.DB_POOL_SIZE')) + Number(get(v, 'config.DB_MAX_OVERFLOW'));
    const reserved = (v: unknown) => Number(get(v, 'config.DB_RESERVED_CONNECTIONS'));
    // default values: Postgres' default max_connections (100) minus its 3 superuser slots
    expect(processes(values) * pool(values)).toBeLessThanOrEqual(100 - 3 - reserved(values));
    // production: the CloudNativePG cluster's max_connections
    expect(processes(prodValues) * pool(prodValues)).toBeLessThanOrEqual(Number(get(prodValues, 'cnpg.maxConnections')) - 3 - reserved(prodValues));
    // the chart computes the same sum for the services
    expect(tpl('configmap.yaml')).toContain('DB_CLIENT_PROCESSES: {{ include "opsdesk.dbClientProcesses" . | quote }}');
    expect(tpl('_helpers.tpl')).toMatch(/define "opsdesk\.dbClientProcesses"[\s\S]*list "auth" "inventory" "audit" "artifacts"[\s\S]*autoscaling\.maxReplicas[\s\S]*index \$\.Values\.replicas \$name/);
  });

  it('every secretKeyRef names a Secret the chart creates (or documents) with that key', () => {
    const secretKeys = new Map<string, Set<string>>();
    secretKeys.set('opsdesk.natsSecretName', new Set(Object.keys(get(values, 'nats.passwords') as object)));
    secretKeys.set('opsdesk.authKeySecretName', new Set(['JWT_PRIVATE_KEY']));
    secretKeys.set('context-key', new Set(['private-key']));
    for (const doc of tpl('secret.yaml').split(/^---$/m).slice(1)) {
      const comp = /"name" "([a-z-]+)"\) \}\}/.exec(doc)?.[1];
      if (comp) secretKeys.set(`secretName:${comp}`, new Set([...doc.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1])));
    }
    const refs: string[] = [];
    for (const f of walk(TEMPLATES)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/secretKeyRef:\n\s+name: ([^\n]+)\n\s+key: ([^\n]+)/g)) {
        const [nameExpr, keyExpr] = [m[1].trim(), m[2].trim()];
        let id = '';
        if (nameExpr.includes('opsdesk.natsSecretName')) id = 'opsdesk.natsSecretName';
        else if (nameExpr.includes('opsdesk.authKeySecretName')) id = 'opsdesk.authKeySecretName';
        else if (nameExpr.includes('-context-key')) id = 'context-key';
        else if (/opsdesk\.secretName" \(dict "root" [.$a-z]+ "name" "([a-z-]+)"\)/.test(nameExpr)) id = `secretName:${/"name" "([a-z-]+)"/.exec(nameExpr)![1]}`;
        else if (/required "cnpg\.backup\.s3SecretName|\$c\.backup\.s3SecretName/.test(nameExpr)) continue; // user-supplied S3 credentials (documented in values.yaml)
        else if (/\.Values\.(grafana|alertmanager)\.existingSecret/.test(nameExpr)) continue; // user-supplied monitoring credentials (documented in values.yaml)
        refs.push(`${f.slice(TEMPLATES.length + 1)} ${nameExpr} ${keyExpr}`);
        expect({ ref: `${nameExpr} → ${keyExpr}`, known: secretKeys.has(id) }).toEqual({ ref: `${nameExpr} → ${keyExpr}`, known: true });
        if (keyExpr.includes('{{')) continue; // templated keys (the NATS logins) are checked above
        expect({ ref: `${nameExpr} → ${keyExpr}`, hasKey: secretKeys.get(id)!.has(keyExpr) }).toEqual({ ref: `${nameExpr} → ${keyExpr}`, hasKey: true });
      }
    }
    expect(refs.length).toBeGreaterThanOrEqual(6);
  });
});
