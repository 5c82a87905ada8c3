import { describe, expect, it } from 'vitest';
import { paramsFromUrl } from './HostsPage';
import { safeNext } from './SignInPage';

describe('URL-kept state', () => {
  it('reads the host list request from the URL (filters, repeated tags, sort, cursor)', () => {
    const p = paramsFromUrl(
      new URLSearchParams(
        'q=web&environment=prod&tag=edge&tag=nginx&team=web&sort=-updated_at&cursor=abc&unknown=1',
      ),
    );
    expect(p).toEqual({
      limit: 50,
      sort: '-updated_at',
      q: 'web',
      environment: 'prod',
      team: 'web',
      tag: ['edge', 'nginx'],
      cursor: 'abc',
    });
    expect(paramsFromUrl(new URLSearchParams(''))).toEqual({ limit: 50, sort: 'hostname' });
  });

  it('returns after sign-in only to a page of the console, never to another origin', () => {
    expect(safeNext('/audit?action=auth.*')).toBe('/audit?action=auth.*');
    expect(safeNext(null)).toBe('/hosts');
    expect(safeNext('//evil.example/x')).toBe('/hosts');
    expect(safeNext('/\\evil.example/x')).toBe('/hosts');
    expect(safeNext('https://evil.example/')).toBe('/hosts');
    expect(safeNext('/login?next=/x')).toBe('/hosts');
  });
});
