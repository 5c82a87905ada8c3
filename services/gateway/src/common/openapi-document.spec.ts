import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import { generateOpenApiDocument, serializeOpenApiDocument } from './openapi-document';
import { unacceptedBreakingChanges, type AcceptedBreakingChanges } from './openapi-breaking';

const ROOT = join(__dirname, '..', '..', '..', '..');
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

/** docs/openapi.json as committed at OPENAPI_BASE_REF (default HEAD), or null outside a git checkout. */
function baseline(): unknown {
  const ref = process.env.OPENAPI_BASE_REF ?? 'HEAD';
  try {
    return JSON.parse(execFileSync('git', ['show', `${ref}:docs/openapi.json`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 }));
  } catch {
    return null;
  }
}

describe('the OpenAPI document', () => {
  let doc: OpenAPIObject;
  beforeAll(async () => {
    doc = await generateOpenApiDocument();
  }, 60_000);

  it('is what docs/openapi.json holds, byte for byte (run `npm run openapi` after changing the API)', () => {
    expect(serializeOpenApiDocument(doc)).toBe(read('docs/openapi.json'));
  });

  it('is deterministic', async () => {
    expect(serializeOpenApiDocument(await generateOpenApiDocument())).toBe(serializeOpenApiDocument(doc));
  });

  it('has no breaking change against the committed document that docs/openapi-breaking-changes.json does not list', () => {
    const accepted = JSON.parse(read('docs/openapi-breaking-changes.json')) as AcceptedBreakingChanges;
    for (const old of [JSON.parse(read('docs/openapi.json')), baseline()].filter(Boolean)) {
      expect(unacceptedBreakingChanges(old, doc, accepted)).toEqual([]);
    }
  });

  it('names every operation <area>.<verb> and documents 429 and 503 on each', () => {
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item) as Array<{ operationId: string; responses: Record<string, unknown> }>) {
        expect(op.operationId).toMatch(/^[a-z]+\.[a-z_]+$/);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['429', '503']));
      }
    }
  });
});
