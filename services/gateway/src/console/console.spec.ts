import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheControlFor, resolveWebRoot } from './console';

describe('console static files', () => {
  it('caches content-hashed build assets for good and revalidates everything else', () => {
    expect(cacheControlFor('/repo/web/dist/assets/index-CoGqCi5K.js')).toBe(
      'public, max-age=31536000, immutable',
    );
    expect(cacheControlFor('/repo/web/dist/assets/index-riZI86nv.css')).toBe(
      'public, max-age=31536000, immutable',
    );
    expect(cacheControlFor('/repo/web/dist/index.html')).toBe('no-cache');
    expect(cacheControlFor('/repo/web/dist/favicon.svg')).toBe('no-cache');
    // a file under assets/ without a hash in its name is not immutable
    expect(cacheControlFor('/repo/web/dist/assets/logo.svg')).toBe('no-cache');
  });

  it('serves WEB_DIST_PATH when it holds an index.html, and nothing when it does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-web-'));
    try {
      mkdirSync(join(dir, 'dist'));
      expect(resolveWebRoot(join(dir, 'dist'))).toBeNull();
      writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html>');
      expect(resolveWebRoot(join(dir, 'dist'))).toBe(join(dir, 'dist'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
