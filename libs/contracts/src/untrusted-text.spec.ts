import { UNTRUSTED_TEXT_MAX, untrustedText } from './untrusted-text';

describe('untrustedText', () => {
  it('keeps ordinary text as it is', () => {
    expect(untrustedText('alice@example.com')).toBe('alice@example.com');
  });

  it('replaces control, bidi and zero-width characters', () => {
    expect(untrustedText('a\nb\r\u0000c\u202ed\u200be\u2028f')).toBe('a\ufffdb\ufffd\ufffdc\ufffdd\ufffde\ufffdf');
  });

  it('bounds the length by code points with an ellipsis, never splitting a surrogate pair', () => {
    const long = '😀'.repeat(500);
    const out = untrustedText(long);
    expect(Array.from(out)).toHaveLength(UNTRUSTED_TEXT_MAX);
    expect(out.endsWith('…')).toBe(true);
    expect(out.slice(0, -1)).toBe('😀'.repeat(UNTRUSTED_TEXT_MAX - 1));
    expect(untrustedText('x'.repeat(254), 64)).toHaveLength(64);
  });
});
