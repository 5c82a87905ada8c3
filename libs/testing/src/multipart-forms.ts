import fc from 'fast-check';

/**
 * Generated multipart/form-data bodies for the upload route's reader: its differential spec against busboy
 * (services/artifacts/src/uploads/multipart-parser.spec.ts) and the security suite's hostile uploads
 * (e2e/security/fuzz.security-spec.ts). Bodies are latin1 strings turned into bytes, cut at random points the way
 * a network would deliver them.
 */
export interface GeneratedForm {
  boundary: string;
  body: Buffer;
  /** the body cut into the pieces a client would write */
  chunks: Buffer[];
}

/** A well-formed upload: `kind`, maybe `description`, and one file part whose bytes are `file`. */
export interface GeneratedUpload extends GeneratedForm {
  kind: string;
  file: Buffer;
}

/** RFC 2046 bchars (space not last); `dashes: false` leaves out '-' (see the differential spec) */
function boundaryArb(dashes: boolean, minLength: number): fc.Arbitrary<string> {
  const bchar = fc.constantFrom(...`0123456789abcXYZ'()+_,./:=? ${dashes ? '-' : ''}`);
  return fc
    .array(bchar, { minLength, maxLength: 70 })
    .map((cs) => cs.join(''))
    .filter((b) => !b.endsWith(' '));
}

/** Body bytes that look like the framing: CRs, LFs, dashes, pieces of a delimiter. */
const framingBytes = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.constantFrom('', '\r', '\r\n', '\r\n-', '\r\n--', '--', '\r\r\n\n', '-\r\n-\r\n--'));

function cut(body: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (body.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((p, i, all) => body.subarray(p, all[i + 1] ?? body.length)).filter((b) => b.length > 0);
}

export interface FormOptions {
  /** boundaries may hold '-' (default true) */
  dashes?: boolean;
  minBoundary?: number;
  /** also headers and fields past the upload route's limits, many parts, long values (default false) */
  oversized?: boolean;
}

/**
 * Any form: parts with Content-Disposition variants (names, filenames, filename*, other dispositions, none),
 * Content-Types and charsets, folded headers, framing-like bodies; a preamble and an epilogue; and, in a quarter
 * of the cases, one byte-level mutation (bytes dropped, framing bytes inserted) anywhere.
 */
export function multipartForm(options: FormOptions = {}): fc.Arbitrary<GeneratedForm> {
  const name = fc.constantFrom('file', 'kind', 'description', 'x', '', 'a b', 'ü', '__proto__');
  const header = fc.oneof(
    name.map((n) => `Content-Disposition: form-data; name="${n}"`),
    fc.tuple(name, fc.constantFrom('a.bin', '', '../x', 'c:\\t\\y', 'wörk.txt')).map(([n, f]) => `Content-Disposition: form-data; name="${n}"; filename="${f}"`),
    name.map((n) => `content-disposition: form-data; name=${n || 'x'}; filename*=utf-8''%e2%82%ac.txt`),
    fc.constantFrom(
      'Content-Disposition: attachment; name="file"',
      'Content-Disposition: form-data',
      'Content-Type: application/octet-stream',
      'Content-Type: text/plain; charset=latin1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Type: bogus',
      'Content-Transfer-Encoding: binary',
      'X-Folded: a\r\n b',
    ),
    ...(options.oversized ? [fc.constantFrom(`X-Pad: ${'p'.repeat(17 * 1024)}`, 'Content-Disposition: form-data; name="kind"; filename*=x\'\'%zz', `Content-Disposition: form-data; name="${'n'.repeat(300)}"`)] : []),
  );
  const body = options.oversized ? fc.oneof({ weight: 4, arbitrary: fc.array(framingBytes, { maxLength: 4 }).map((bs) => bs.join('')) }, fc.constantFrom('v'.repeat(17 * 1024))) : fc.array(framingBytes, { maxLength: 4 }).map((bs) => bs.join(''));
  const part = fc.record({ headers: fc.array(header, { minLength: 1, maxLength: options.oversized ? 24 : 4 }), body });
  const mutation = fc.option(fc.record({ at: fc.nat(), drop: fc.nat({ max: 6 }), insert: fc.constantFrom('', '\r', '\n', '\r\n', '-', '--', ':', ' ', '"') }), { freq: 3 });
  return fc
    .record({
      boundary: boundaryArb(options.dashes ?? true, options.minBoundary ?? 1),
      preamble: fc.constantFrom('', 'preamble\r\n', '\r\n'),
      parts: fc.array(part, { maxLength: options.oversized ? 14 : 5 }),
      closing: fc.constantFrom('--', '--\r\n', '--epilogue', ''),
      mutation,
      cutsAt: fc.array(fc.nat(), { maxLength: 6 }),
    })
    .map((c) => {
      let raw = c.preamble + c.parts.map((p) => `--${c.boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n${p.body}\r\n`).join('') + `--${c.boundary}${c.closing}`;
      if (c.mutation) {
        const at = c.mutation.at % (raw.length + 1);
        raw = raw.slice(0, at) + c.mutation.insert + raw.slice(at + c.mutation.drop);
      }
      const bytes = Buffer.from(raw, 'latin1');
      return { boundary: c.boundary, body: bytes, chunks: cut(bytes, c.cutsAt) };
    });
}

/**
 * A valid upload the way browsers, curl and undici write one, the fields before or after the file, the file's
 * bytes random with framing-like runs (CRLF, dashes, the delimiter less its last byte) and cut anywhere.
 */
export function multipartUpload(kinds: readonly string[]): fc.Arbitrary<GeneratedUpload> {
  return fc
    .record({
      boundary: boundaryArb(true, 8).filter((b) => b.trim() === b),
      kind: fc.constantFrom(...kinds),
      description: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
      fieldsFirst: fc.boolean(),
      pieces: fc.array(fc.oneof(fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)), fc.constantFrom('\r\n', '\r\n--', '--', '\r')), { maxLength: 8 }),
      nearDelimiter: fc.boolean(),
      cutsAt: fc.array(fc.nat(), { maxLength: 6 }),
    })
    .map((c) => {
      const near = c.nearDelimiter ? [`\r\n--${c.boundary.slice(0, -1)}`] : [];
      const file = Buffer.concat([...c.pieces, ...near].map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
      const field = (n: string, v: string) => Buffer.from(`--${c.boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`, 'utf8');
      const fields = [field('kind', c.kind), ...(c.description === undefined ? [] : [field('description', c.description)])];
      const filePart = Buffer.concat([Buffer.from(`--${c.boundary}\r\nContent-Disposition: form-data; name="file"; filename="generated.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`), file, Buffer.from('\r\n')]);
      const body = Buffer.concat([...(c.fieldsFirst ? [...fields, filePart] : [filePart, ...fields]), Buffer.from(`--${c.boundary}--\r\n`)]);
      return { boundary: c.boundary, body, chunks: cut(body, c.cutsAt), kind: c.kind, file };
    });
}
