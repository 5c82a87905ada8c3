import { createReadStream } from 'node:fs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';

export const REDOC_PATH = '/api/redoc';

/** The page loads two same-origin scripts and nothing inline, so the gateway's CSP (script-src 'self') holds. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpsDesk API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="redoc"></div>
<script src="${REDOC_PATH}/redoc.standalone.js"></script>
<script src="${REDOC_PATH}/redoc-init.js"></script>
</body>
</html>
`;

// Search is off: Redoc runs it in a worker made from a blob: URL, which the CSP (script-src 'self') forbids.
const INIT = `// Renders the gateway's own OpenAPI document (served beside Swagger UI at /api/docs).
Redoc.init('/api/openapi.json', { disableSearch: true, expandResponses: '200,201' }, document.getElementById('redoc'));
`;

/**
 * Redoc at /api/redoc beside Swagger UI: the standalone bundle straight from node_modules (no CDN), an
 * external init script, public like /api/docs (plain Fastify routes, so the API's guards do not apply).
 */
export function registerRedoc(app: NestFastifyApplication): void {
  const bundle = require.resolve('redoc/bundles/redoc.standalone.js');
  const fastify = app.getHttpAdapter().getInstance();
  const asset = (reply: FastifyReply, type: string) => reply.header('Content-Type', type).header('Cache-Control', 'public, max-age=3600');
  fastify.get(REDOC_PATH, (_req, reply) => reply.header('Content-Type', 'text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(PAGE));
  fastify.get(`${REDOC_PATH}/redoc.standalone.js`, (_req, reply) => asset(reply, 'application/javascript; charset=utf-8').send(createReadStream(bundle)));
  fastify.get(`${REDOC_PATH}/redoc-init.js`, (_req, reply) => asset(reply, 'application/javascript; charset=utf-8').send(INIT));
}
