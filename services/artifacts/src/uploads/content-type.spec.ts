import { OCTET_STREAM, detectContentType, looksLikeText } from './content-type';

const detect = (b: Buffer) => detectContentType(b, b.length);

describe('detectContentType', () => {
  it('recognises binary formats by magic bytes', () => {
    expect(detect(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2]))).toBe('application/gzip');
    expect(detect(Buffer.from('PK\x03\x04rest', 'latin1'))).toBe('application/zip');
    expect(detect(Buffer.from('%PDF-1.7\n...'))).toBe('application/pdf');
    expect(detect(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]))).toBe('image/png');
    expect(detect(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('image/jpeg');
    expect(detect(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]))).toBe('application/x-elf');
  });

  it('recognises tar by ustar at offset 257', () => {
    const tar = Buffer.alloc(1024);
    tar.write('etc/hosts', 0);
    tar.write('ustar\u000000', 257, 'latin1');
    expect(detect(tar)).toBe('application/x-tar');
  });

  it('tells JSON, JSON lines and text apart', () => {
    expect(detect(Buffer.from('{"a": [1, 2, {"b": null}]}\n'))).toBe('application/json');
    expect(detect(Buffer.from(' [1,2,3]'))).toBe('application/json');
    expect(detect(Buffer.from('{"a":1}\n{"a":2}\n'))).toBe('application/x-ndjson');
    expect(detect(Buffer.from('[2024-01-01 10:00:00] kernel: oops\n'))).toBe('text/plain; charset=utf-8');
    expect(detect(Buffer.from('Jan  1 sshd[42]: Accepted publickey for root — ok ✓\n'))).toBe('text/plain; charset=utf-8');
  });

  it('judges a truncated JSON sample by how it opens', () => {
    const big = Buffer.from(`{"items": [${'1,'.repeat(5000)}1]}`);
    expect(detectContentType(big.subarray(0, 4096), big.length)).toBe('application/json');
  });

  it('never trusts a claim and falls back to octet-stream', () => {
    expect(detect(Buffer.from('<html><script>alert(1)</script></html>'))).toBe('text/plain; charset=utf-8');
    expect(detect(Buffer.from([0, 1, 2, 3, 0xff, 0xfe]))).toBe(OCTET_STREAM);
    expect(detect(Buffer.alloc(0))).toBe(OCTET_STREAM);
  });

  it('treats invalid UTF-8 and NUL as binary, tolerates a cut multi-byte character', () => {
    expect(looksLikeText(Buffer.from([0x61, 0xc3, 0x28]), false)).toBe(false);
    expect(looksLikeText(Buffer.from('abc\u0000def'), false)).toBe(false);
    const cut = Buffer.from('abc é', 'utf8').subarray(0, 5);
    expect(looksLikeText(cut, true)).toBe(true);
    expect(looksLikeText(cut, false)).toBe(false);
  });
});
