import { SecretBox, safeEqual, sha256Hex } from './crypto';

describe('SecretBox', () => {
  it('round-trips and never stores the plain text', () => {
    const box = new SecretBox('m'.repeat(32), 'mfa');
    const sealed = box.seal('JBSWY3DPEHPK3PXP');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(sealed)).toBe('JBSWY3DPEHPK3PXP');
  });

  it('refuses a tampered ciphertext and a different key', () => {
    const box = new SecretBox('m'.repeat(32), 'mfa');
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('xxxxxx').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => new SecretBox('k'.repeat(32), 'mfa').open(sealed)).toThrow();
    expect(() => new SecretBox('m'.repeat(32), 'other').open(sealed)).toThrow();
  });
});

describe('helpers', () => {
  it('hashes and compares', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
  });
});
