import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { findRepoRoot } from '@opsdesk/config';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Paths that belong to the API or to the operational endpoints: never answered with the console. */
const NON_CONSOLE_PREFIXES = ['/api/', '/healthz', '/readyz', '/metrics'];

interface LogSink {
  log(message: string): void;
  warn(message: string): void;
}

/** Hashed build output (Vite's `assets/` folder): the name changes with the content, so it may be cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and the few unhashed files (favicon): always revalidated, so a deploy is picked up at once. */
const REVALIDATE = 'no-cache';

/**
 * Where the console's built files live: `WEB_DIST_PATH` (absolute, or relative to the working
 * directory), else `<repo>/web/dist` (the output of `npm run build`, see web/README.md) found from this
 * file (works from src/ and from dist/) or from the working directory. Returns null when no such folder exists.
 */
export function resolveWebRoot(configured: string | undefined): string | null {
  const candidates: string[] = [];
  if (configured) {
    candidates.push(isAbsolute(configured) ? configured : resolve(configured));
  } else {
    for (const root of [findRepoRoot(__dirname), findRepoRoot()]) {
      if (root) candidates.push(join(root, 'web', 'dist'));
    }
  }
  for (const dir of candidates) {
    if (existsSync(join(dir, 'index.html')) && statSync(dir).isDirectory()) return dir;
  }
  return null;
}

/** A browser navigation to a console route (e.g. a reload on /hosts/…), not an API or asset request. */
function wantsConsole(req: FastifyRequest): boolean {
  const path = req.url.split('?')[0];
  if (path === '/api' || NON_CONSOLE_PREFIXES.some((p) => path.startsWith(p))) return false;
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

/** Cache-Control for a file of the web root: hashed assets forever, everything else revalidated. */
export function cacheControlFor(filePath: string): string {
  return /[\\/]assets[\\/][^\\/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(filePath) ? IMMUTABLE : REVALIDATE;
}

/**
 * Serves the web console (the Vite build in web/dist, see web/README.md) at `/`:
 * - every file of the web root at its own path (`wildcard: false`: the file list is read once at boot, so a
 *   rebuild needs a gateway restart); content-hashed files under `assets/` with a one-year immutable
 *   Cache-Control, index.html and other files with `no-cache`;
 * - `/` → index.html;
 * - SPA fallback: any other GET that accepts text/html and is not under /api or a health/metrics path
 *   gets index.html, so deep links and reloads work; everything else falls through to the normal
 *   404 handler (Nest's, which answers a problem+json document).
 * These are plain Fastify routes, not Nest routes, so the auth guards do not apply: the console is public
 * (its data comes from the API, which is not).
 * Must be called before `app.listen()` and after Swagger's setup (Swagger registers its own
 * @fastify/static with decorateReply: false, so `reply.sendFile` is ours to decorate).
 */
export async function registerConsole(
  app: NestFastifyApplication,
  configured: string | undefined,
  logger: LogSink,
): Promise<boolean> {
  const root = resolveWebRoot(configured);
  if (!root) {
    logger.warn(
      `web console not served: no index.html in ${configured ?? '<repo>/web/dist'} (run \`npm run build\`, or set WEB_DIST_PATH)`,
    );
    return false;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    cacheControl: false, // set per file below
    setHeaders: (reply: FastifyReply, filePath: string) =>
      void reply.header('Cache-Control', cacheControlFor(filePath)),
    decorateReply: true,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/*', (req: FastifyRequest, reply: FastifyReply) => {
    if (!wantsConsole(req)) {
      reply.callNotFound();
      return reply;
    }
    return reply.header('Cache-Control', REVALIDATE).sendFile('index.html', root);
  });
  logger.log(`web console served from ${root}`);
  return true;
}
