import { convertToUTF8, getDecoder, parseContentType, parseDisposition } from 'busboy/lib/utils.js';

/**
 * A streaming multipart/form-data reader (RFC 7578) for the upload route, built for the byte path: the file part's
 * bytes are handed on as views of the request's own chunks (no copy), and the delimiter is found with
 * `Buffer.indexOf` (native memmem) instead of busboy's JavaScript Boyer-Moore-Horspool, which cost ~9 % of the
 * artifacts service's CPU on a large upload (docs/PERFORMANCE.md change 23).
 *
 * It reads a form the way busboy 1.6 does (the differential spec checks this on generated forms): the body's
 * first delimiter may come without a preceding CRLF; a preamble and an epilogue are ignored; what follows a
 * delimiter other than CRLF or `--` is ignored up to the next delimiter; a part without a `form-data`
 * Content-Disposition is skipped; a part is a file when it has a (non-empty) filename or the type
 * application/octet-stream; parameters are parsed by busboy's own helpers (quoting, `filename*`, charsets).
 * Where it differs, it is stricter: limits are errors, never silent truncation, and a delimiter inside a header
 * block or right after it (sharing its final CRLF) is refused ('ambiguous').
 */

export interface MultipartLimits {
  /** bytes of one part's header block */
  headerSize: number;
  /** header lines of one part */
  headerPairs: number;
  /** parts in the form, skipped ones included */
  parts: number;
  /** bytes of one field's value */
  fieldSize: number;
}

export interface PartInfo {
  /** the disposition's `name` (undefined when absent or empty) */
  name: string | undefined;
  /** `filename*` (decoded) or `filename`, raw: it may hold a path and must never be used as one */
  filename: string | undefined;
  mimeType: string;
  /** the part's charset, lower case (utf8 unless its Content-Type names one) */
  charset: string;
}

export interface MultipartHandlers {
  /** a field's whole value; undefined when its charset is unknown */
  field(info: PartInfo, value: string | undefined): void;
  fileStart(info: PartInfo): void;
  /** a view of the request's chunk: valid as long as the caller keeps it (nothing reuses it) */
  fileData(chunk: Buffer): void;
  fileEnd(): void;
}

/**
 * `ambiguous`: a delimiter inside a part's header block or sharing the CRLF that ends it. No client writes that;
 * busboy would split the header there and read on in a confused state, this reader refuses the form.
 */
export type MultipartErrorReason = 'content-type' | 'malformed' | 'ambiguous' | 'incomplete' | 'parts' | 'header-size' | 'header-pairs' | 'field-size';

export class MultipartError extends Error {
  constructor(
    message: string,
    readonly reason: MultipartErrorReason,
    /** the field concerned (field-size) */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** RFC 2046: 1 to 70 characters */
const MAX_BOUNDARY = 70;

/** The boundary of a multipart/form-data Content-Type; throws MultipartError ('content-type') for anything else. */
export function multipartBoundary(contentType: string | undefined): string {
  const type = contentType ? parseContentType(contentType) : undefined;
  if (!type || type.type !== 'multipart' || type.subtype !== 'form-data') throw new MultipartError('Expected a multipart/form-data body', 'content-type');
  const boundary = type.params.boundary;
  if (typeof boundary !== 'string' || boundary.length === 0 || boundary.length > MAX_BOUNDARY)
    throw new MultipartError(`The multipart/form-data Content-Type needs a boundary of 1 to ${MAX_BOUNDARY} characters`, 'content-type');
  return boundary;
}

const enum State {
  /** before the first delimiter: ignored */
  Preamble,
  /** the two bytes after a delimiter decide: CRLF (a part follows), `--` (the end), anything else (ignored) */
  AfterDelimiter,
  Headers,
  /** right after a header block: a body that opens with `--boundary` would share the header's CRLF (refused) */
  BodyStart,
  Body,
  /** after a delimiter followed by neither CRLF nor `--`: ignored up to the next delimiter */
  Ignore,
  /** after the close delimiter: the epilogue is ignored */
  Done,
}

type Part = { kind: 'file' } | { kind: 'field'; info: PartInfo; chunks: Buffer[]; size: number } | { kind: 'skip' };

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** HTAB, visible ASCII, space and obs-text: what busboy accepts in a header value */
const FIELD_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;
const utf8Params = getDecoder('utf8');

export class MultipartParser {
  private readonly delimiter: Buffer;
  private state = State.Preamble;
  /**
   * Bytes at the end of the previous chunk that are not decided yet: a possible start of a delimiter, or the
   * bytes after one. Starts as CRLF because the body's first delimiter usually opens the body without one.
   */
  private held: Buffer = CRLF;
  /** the current part's header bytes so far, as they came */
  private headerChunks: Buffer[] = [];
  private headerLength = 0;
  /** the last bytes before the next header piece (the part's opening CRLF first), see headers() */
  private headerTail: Buffer = CRLF;
  private part: Part | null = null;
  private parts = 0;

  constructor(
    boundary: string,
    private readonly limits: MultipartLimits,
    private readonly handlers: MultipartHandlers,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** true once the close delimiter was read */
  get complete(): boolean {
    return this.state === State.Done;
  }

  /** Reads one chunk of the body; throws MultipartError (or what a handler threw) on the first problem. */
  write(chunk: Buffer): void {
    if (this.state === State.Done || chunk.length === 0) return;
    let buf = chunk;
    if (this.held.length > 0) {
      // rare on real data (the previous chunk ended in what could begin a delimiter): one copy of this chunk
      buf = Buffer.concat([this.held, chunk]);
      this.held = EMPTY;
    }
    let pos = 0;
    while (pos < buf.length && !this.complete) pos = this.step(buf, pos);
  }

  /** The body ended: throws unless the form was complete. */
  end(): void {
    if (this.state === State.Done) return;
    throw this.state === State.Headers ? new MultipartError('Malformed part header', 'malformed') : new MultipartError('Unexpected end of form', 'incomplete');
  }

  /** Consumes from `pos` what the current state can decide; returns where the next step starts. */
  private step(buf: Buffer, pos: number): number {
    switch (this.state) {
      case State.AfterDelimiter:
        return this.afterDelimiter(buf, pos);
      case State.Headers:
        return this.headers(buf, pos);
      case State.BodyStart:
        return this.bodyStart(buf, pos);
      default:
        return this.search(buf, pos);
    }
  }

  private search(buf: Buffer, pos: number): number {
    const at = buf.indexOf(this.delimiter, pos);
    if (at === -1) {
      const keep = this.delimiterPrefixAtEnd(buf, pos);
      this.data(buf, pos, buf.length - keep);
      this.held = buf.subarray(buf.length - keep);
      return buf.length;
    }
    this.data(buf, pos, at);
    this.endPart();
    this.state = State.AfterDelimiter;
    return at + this.delimiter.length;
  }

  /** Length of the longest tail of buf[from..] that is a proper prefix of the delimiter (it starts with CR). */
  private delimiterPrefixAtEnd(buf: Buffer, from: number): number {
    const window = Math.min(this.delimiter.length - 1, buf.length - from);
    for (let i = buf.indexOf(CR, buf.length - window); i !== -1; i = buf.indexOf(CR, i + 1)) {
      const k = buf.length - i;
      if (buf.compare(this.delimiter, 0, k, i, buf.length) === 0) return k;
    }
    return 0;
  }

  private afterDelimiter(buf: Buffer, pos: number): number {
    if (buf.length - pos < 2) {
      this.held = buf.subarray(pos);
      return buf.length;
    }
    if (buf[pos] === DASH && buf[pos + 1] === DASH) {
      this.state = State.Done;
      return buf.length;
    }
    if (buf[pos] === CR && buf[pos + 1] === LF) {
      if (++this.parts > this.limits.parts) throw new MultipartError('Too many parts in the form', 'parts');
      this.state = State.Headers;
      this.headerChunks = [];
      this.headerLength = 0;
      this.headerTail = CRLF;
      return pos + 2;
    }
    this.state = State.Ignore;
    return pos;
  }

  /**
   * Collects a part's header block. Linear in its size however it is cut (a client sending one byte per packet
   * must not make the reader copy the block again for every byte): the pieces are kept as they come, and only the
   * last few bytes before a new piece (`headerTail`) are joined to it to find what straddles pieces.
   */
  private headers(buf: Buffer, pos: number): number {
    const before = this.headerLength;
    const taken = buf.subarray(pos, pos + this.limits.headerSize + HEADER_END.length - before);
    // a part must have at least its Content-Disposition: its header block cannot open with the empty line
    if (before < 2) {
      const opening = Buffer.concat([...this.headerChunks, taken.subarray(0, 2)]);
      if (opening.length >= 2 && opening[0] === CR && opening[1] === LF) throw new MultipartError('Malformed part header', 'malformed');
    }
    // the tail holds the CRLF that opened the part while the block is short: a delimiter right at its start counts
    const view = Buffer.concat([this.headerTail, taken]);
    const offset = this.headerTail.length;
    const end = view.indexOf(HEADER_END, Math.max(0, offset - Math.min(HEADER_END.length - 1, before)));
    if (view.subarray(0, end === -1 ? view.length : end).includes(this.delimiter)) throw new MultipartError('A delimiter inside a part header', 'ambiguous');
    if (end === -1) {
      if (before + taken.length >= this.limits.headerSize + HEADER_END.length) throw new MultipartError('Part header too large', 'header-size');
      this.headerChunks.push(Buffer.from(taken));
      this.headerLength += taken.length;
      this.headerTail = Buffer.from(view.subarray(Math.max(0, view.length - (this.delimiter.length - 1))));
      return pos + taken.length;
    }
    // `end` is in view coordinates; the block is the header bytes before it
    const block = Buffer.concat([...this.headerChunks, taken]).toString('latin1', 0, before + end - offset);
    this.headerChunks = [];
    this.headerLength = 0;
    this.beginPart(block);
    return pos + end - offset + HEADER_END.length;
  }

  private bodyStart(buf: Buffer, pos: number): number {
    // the delimiter without its CRLF: `--boundary`
    const tail = this.delimiter.length - 2;
    const n = Math.min(tail, buf.length - pos);
    if (buf.compare(this.delimiter, 2, 2 + n, pos, pos + n) === 0) {
      if (n === tail) throw new MultipartError('A delimiter shares the CRLF that ends a part header', 'ambiguous');
      // not decidable yet
      this.held = buf.subarray(pos);
      return buf.length;
    }
    this.state = State.Body;
    return pos;
  }

  private beginPart(block: string): void {
    const headers = this.parseHeaderBlock(block);
    this.state = State.BodyStart;
    const disposition = headers.get('content-disposition');
    const disp = disposition === undefined ? undefined : parseDisposition(disposition, utf8Params);
    if (!disp || disp.type !== 'form-data') {
      this.part = { kind: 'skip' };
      return;
    }
    // busboy's reading: an empty name is no name; filename* wins over filename; an empty filename is none
    const name = disp.params.name || undefined;
    const filename = disp.params['filename*'] || disp.params.filename || undefined;
    let mimeType = 'text/plain';
    let charset = 'utf8';
    const contentType = headers.get('content-type');
    const type = contentType === undefined ? undefined : parseContentType(contentType);
    if (type) {
      mimeType = `${type.type}/${type.subtype}`;
      if (typeof type.params.charset === 'string') charset = type.params.charset.toLowerCase();
    }
    const info: PartInfo = { name, filename, mimeType, charset };
    if (mimeType === 'application/octet-stream' || filename !== undefined) {
      this.part = { kind: 'file' };
      this.handlers.fileStart(info);
    } else {
      this.part = { kind: 'field', info, chunks: [], size: 0 };
    }
  }

  /** Header lines (obs-fold joined, names lower-cased, the first of a repeated name kept); throws when malformed. */
  private parseHeaderBlock(block: string): Map<string, string> {
    const headers = new Map<string, string>();
    let last: string | null = null;
    let pairs = 0;
    for (const line of block.split('\r\n')) {
      if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) {
        // obs-fold: the line continues the previous value (busboy keeps the leading whitespace)
        if (last === null || !FIELD_VALUE_RE.test(line)) throw new MultipartError('Malformed part header', 'malformed');
        if (last !== '') headers.set(last, `${headers.get(last) ?? ''}${line}`);
        continue;
      }
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
      if (!TOKEN_RE.test(name) || !FIELD_VALUE_RE.test(value)) throw new MultipartError('Malformed part header', 'malformed');
      if (++pairs > this.limits.headerPairs) throw new MultipartError('Too many part headers', 'header-pairs');
      const key = name.toLowerCase();
      // '' marks a repeated name whose continuation lines must not change the first value
      last = headers.has(key) ? '' : key;
      if (last !== '') headers.set(key, value);
    }
    return headers;
  }

  private data(buf: Buffer, from: number, to: number): void {
    if (to <= from || this.state !== State.Body || !this.part) return;
    if (this.part.kind === 'file') {
      this.handlers.fileData(buf.subarray(from, to));
    } else if (this.part.kind === 'field') {
      this.part.size += to - from;
      if (this.part.size > this.limits.fieldSize) throw new MultipartError('Field value too long', 'field-size', this.part.info.name);
      this.part.chunks.push(Buffer.from(buf.subarray(from, to)));
    }
  }

  private endPart(): void {
    const part = this.part;
    this.part = null;
    if (!part || this.state !== State.Body) return;
    if (part.kind === 'file') this.handlers.fileEnd();
    else if (part.kind === 'field') this.handlers.field(part.info, part.size === 0 ? '' : convertToUTF8(Buffer.concat(part.chunks, part.size), part.info.charset, 0));
  }
}
