import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createOpsDeskClient, hostETag, uploadArtifact, type Artifact, type AuditRecord, type Host } from '../index';

/**
 * Example (docs/API.md "The typed client"): what a CI job does — register the build host, set its owner with
 * optimistic concurrency, attach the build log, read the audit trail. Run after `npm run build`:
 *   OPSDESK_URL=http://127.0.0.1:8000 OPSDESK_TOKEN=odp_… node dist/libs/client/src/examples/attach-build-log.js build.log
 * The e2e suite e2e/client.e2e-spec.ts runs it against the real system.
 */
export async function attachBuildLog(opts: {
  baseUrl: string;
  token: string;
  logFile: string;
  hostname: string;
  ip: string;
}): Promise<{ host: Host; artifact: Artifact; trail: AuditRecord[] }> {
  const api = createOpsDeskClient({ baseUrl: opts.baseUrl, token: opts.token });

  const created = await api.POST('/api/hosts', { body: { hostname: opts.hostname, ip: opts.ip, environment: 'dev', tags: ['ci'] } });
  if (created.error) throw new Error(`create host: ${created.error.code}: ${created.error.detail}`);

  // applies only if nobody changed the host since we read it (else 412 INVENTORY.PRECONDITION_FAILED)
  const patched = await api.PATCH('/api/hosts/{id}', {
    params: { path: { id: created.data.id }, header: { 'If-Match': hostETag(created.data) } },
    body: { owner: 'ci@example.com' },
  });
  if (patched.error) throw new Error(`update host: ${patched.error.code}: ${patched.error.detail}`);

  const log = new Blob([readFileSync(opts.logFile)], { type: 'text/plain' });
  const up = await uploadArtifact(api, patched.data.id, log, { filename: basename(opts.logFile), kind: 'log', description: 'CI build log' });
  if (up.error) throw new Error(`upload: ${up.error.code}: ${up.error.detail}`);

  // needs audit:read (admin, auditor); the trail is written asynchronously, so it may lag a moment
  const trail = await api.GET('/api/audit', { params: { query: { entity_id: patched.data.id } } });
  return { host: patched.data, artifact: up.data, trail: trail.data?.items ?? [] };
}

if (require.main === module) {
  const [logFile = 'build.log'] = process.argv.slice(2);
  const stamp = Date.now().toString(36);
  attachBuildLog({
    baseUrl: process.env.OPSDESK_URL ?? 'http://127.0.0.1:8000',
    token: process.env.OPSDESK_TOKEN ?? '',
    logFile,
    hostname: `build-${stamp}`,
    ip: `10.250.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`,
  })
    .then(({ host, artifact, trail }) => {
      console.log(`host ${host.hostname} (${host.id}); artifact ${artifact.id} sha256 ${artifact.sha256}`);
      for (const r of trail) console.log(`audit #${r.seq} ${r.type} by ${r.actor?.email ?? 'system'}`);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
