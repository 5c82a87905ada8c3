/**
 * File names sent by clients are data, never paths. Two forms are kept:
 * - `storedOriginalName`: what the client sent, for display, minus what cannot be stored (NUL) or shown
 *   safely as plain text (other control characters); capped in length.
 * - `safeFilename`: a download name that is safe on every OS and in every browser: the last path segment
 *   only, no control or bidirectional-override characters, no reserved characters or device names, no
 *   leading dot (hidden/config files like .htaccess), at most 200 characters with the extension kept.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// bidi embeddings/overrides/isolates and marks, zero-width characters, BOM: they can disguise an extension
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
const RESERVED = /[<>:"|?*\\/]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
export const MAX_FILENAME_CHARS = 200;
export const MAX_ORIGINAL_NAME_CHARS = 1000;
export const FALLBACK_FILENAME = 'artifact';

export function storedOriginalName(name: string | null | undefined): string {
  const cleaned = (name ?? '').normalize('NFC').replace(CONTROL, '\ufffd');
  return Array.from(cleaned).slice(0, MAX_ORIGINAL_NAME_CHARS).join('');
}

export function safeFilename(name: string | null | undefined): string {
  let s = (name ?? '').normalize('NFC').replace(CONTROL, '').replace(INVISIBLE, '');
  // a name is not a path: keep the last segment of either separator
  const parts = s.split(/[/\\]/);
  s = parts[parts.length - 1] ?? '';
  s = s.replace(RESERVED, '_').replace(/\s+/g, ' ').trim();
  // trailing dots/spaces are stripped by Windows; leading dots make hidden or special files
  s = s.replace(/[. ]+$/, '').replace(/^[. ]+/, (m) => '_'.repeat(Math.min(m.length, 1)));
  if (!s || s === '_' || /^_+$/.test(s)) return FALLBACK_FILENAME;
  if (WINDOWS_DEVICE.test(s)) s = `_${s}`;
  const chars = Array.from(s);
  if (chars.length > MAX_FILENAME_CHARS) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 ? Array.from(s.slice(dot)) : [];
    const keepExt = ext.length > 1 && ext.length <= 20 ? ext : [];
    s = chars.slice(0, MAX_FILENAME_CHARS - keepExt.length).join('') + keepExt.join('');
  }
  return s;
}
