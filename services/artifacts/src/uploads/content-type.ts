/**
 * Content type from the first bytes of a file (magic numbers), never from the client's claim. The result is
 * only ever one of the types below, so nothing a client sends can make a download look like HTML or SVG.
 */
export const SNIFF_BYTES = 4096;

export const OCTET_STREAM = 'application/octet-stream';

const MAGIC: Array<{ type: string; offset: number; bytes: number[] }> = [
  { type: 'application/gzip', offset: 0, bytes: [0x1f, 0x8b] },
  { type: 'application/zip', offset: 0, bytes: [0x50, 0x4b, 0x03, 0x04] },
  { type: 'application/zip', offset: 0, bytes: [0x50, 0x4b, 0x05, 0x06] }, // empty archive
  { type: 'application/zip', offset: 0, bytes: [0x50, 0x4b, 0x07, 0x08] }, // spanned archive
  { type: 'application/pdf', offset: 0, bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] }, // %PDF-
  { type: 'image/png', offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', offset: 0, bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', offset: 0, bytes: [0x47, 0x49, 0x46, 0x38] }, // GIF8
  { type: 'application/x-elf', offset: 0, bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { type: 'application/x-bzip2', offset: 0, bytes: [0x42, 0x5a, 0x68] }, // BZh
  { type: 'application/x-xz', offset: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { type: 'application/zstd', offset: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { type: 'application/x-7z-compressed', offset: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  // POSIX (ustar\0) and GNU (ustar  ) tar both have "ustar" at offset 257
  { type: 'application/x-tar', offset: 257, bytes: [0x75, 0x73, 0x74, 0x61, 0x72] },
];

function startsWith(buf: Buffer, offset: number, bytes: number[]): boolean {
  if (buf.length < offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[offset + i] !== bytes[i]) return false;
  return true;
}

/**
 * Valid UTF-8 without NUL and with few control characters. `truncated` tolerates a multi-byte sequence cut
 * at the end of the sample.
 */
export function looksLikeText(buf: Buffer, truncated: boolean): boolean {
  if (buf.length === 0) return false;
  let control = 0;
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b === 0) return false;
    if (b < 0x80) {
      // tab, LF, FF, CR and ESC (ANSI colours in logs) are normal in text
      if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) || b === 0x7f) control++;
      i++;
      continue;
    }
    const len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
    if (len === 0 || (b >= 0xe0 && b < 0xf0 && len !== 3)) return false;
    if (i + len > buf.length) return truncated;
    for (let k = 1; k < len; k++) if ((buf[i + k] & 0xc0) !== 0x80) return false;
    i += len;
  }
  return control <= buf.length / 100;
}

function jsonType(text: string, complete: boolean): string | null {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return null;
  if (complete) {
    try {
      JSON.parse(t);
      return 'application/json';
    } catch {
      // maybe JSON Lines: every non-empty line is a JSON value
      const lines = t.split(/\r?\n/).filter((l) => l.trim());
      if (lines.length > 1 && lines.every((l) => isJson(l))) return 'application/x-ndjson';
      return null;
    }
  }
  // A truncated sample cannot be parsed: accept a document that opens like JSON (not "[2024-01-01] log line").
  if (/^(\{\s*("|\})|\[\s*(\{|\[|"|-?\d|true|false|null|\]))/.test(t)) {
    const lines = t.split(/\r?\n/).filter((l) => l.trim());
    if (lines.length > 2 && lines.slice(0, -1).every((l) => isJson(l))) return 'application/x-ndjson';
    return 'application/json';
  }
  return null;
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * @param head the first bytes of the file (up to SNIFF_BYTES)
 * @param totalSize the file's full size, to know whether `head` is the whole file
 */
export function detectContentType(head: Buffer, totalSize: number): string {
  for (const m of MAGIC) if (startsWith(head, m.offset, m.bytes)) return m.type;
  const complete = head.length >= totalSize;
  if (looksLikeText(head, !complete)) {
    const json = jsonType(head.toString('utf8'), complete);
    if (json) return json;
    return 'text/plain; charset=utf-8';
  }
  return OCTET_STREAM;
}
