/**
 * Attacker-controlled strings that end up in the append-only audit trail (a login's claimed email, a user
 * agent): control and format characters (newlines, bidi overrides, zero-width) are replaced so a record cannot
 * fake log lines or hide text, and the length is bounded so a request cannot grow the trail by kilobytes.
 */
export const UNTRUSTED_TEXT_MAX = 120;

// C0/C1 controls, DEL, bidi controls, zero-width and line/paragraph separators, BOM
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function untrustedText(value: string, max: number = UNTRUSTED_TEXT_MAX): string {
  const clean = value.replace(UNSAFE, '\ufffd');
  const chars = Array.from(clean); // by code point, never splitting a surrogate pair
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('')}…`;
}
