import { contentRange, ifNoneMatchHits, ifRangeAllows, parseRange } from './range';

describe('parseRange', () => {
  const size = 1000;
  it('serves the whole file without a usable Range', () => {
    expect(parseRange(undefined, size)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-1', size)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-1,5-9', size)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=9-1', size)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=-', size)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=abc', size)).toEqual({ kind: 'full' });
  });

  it('parses closed, open and suffix ranges', () => {
    expect(parseRange('bytes=0-99', size)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=900-', size)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseRange('bytes=990-5000', size)).toEqual({ kind: 'partial', start: 990, end: 999 });
    expect(parseRange('bytes=-10', size)).toEqual({ kind: 'partial', start: 990, end: 999 });
    expect(parseRange('bytes=-5000', size)).toEqual({ kind: 'partial', start: 0, end: 999 });
    expect(parseRange(' Bytes = 5 - 6 ', size)).toEqual({ kind: 'partial', start: 5, end: 6 });
  });

  it('reports unsatisfiable ranges', () => {
    expect(parseRange('bytes=1000-', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=5000-6000', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', size)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('formats Content-Range', () => {
    expect(contentRange(0, 99, 1000)).toBe('bytes 0-99/1000');
  });
});

describe('conditional headers', () => {
  const etag = '"abc"';
  it('If-None-Match matches lists, weak tags and *', () => {
    expect(ifNoneMatchHits('"abc"', etag)).toBe(true);
    expect(ifNoneMatchHits('"x", W/"abc"', etag)).toBe(true);
    expect(ifNoneMatchHits('*', etag)).toBe(true);
    expect(ifNoneMatchHits('"x"', etag)).toBe(false);
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
  });
  it('If-Range must name the same content', () => {
    expect(ifRangeAllows(undefined, etag)).toBe(true);
    expect(ifRangeAllows('"abc"', etag)).toBe(true);
    expect(ifRangeAllows('"old"', etag)).toBe(false);
    expect(ifRangeAllows('Wed, 21 Oct 2015 07:28:00 GMT', etag)).toBe(false);
  });
});
