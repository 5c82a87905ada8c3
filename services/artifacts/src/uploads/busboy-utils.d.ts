// busboy 1.6 ships no types for its header-value helpers (lib/utils.js, reachable: the package has no "exports" map).
// The upload route's multipart reader (multipart-parser.ts) reuses them so Content-Type / Content-Disposition
// parameters (quoting, RFC 2231/5987 `filename*`, charsets) are read exactly as busboy reads them.
declare module 'busboy/lib/utils.js' {
  export interface ParsedContentType {
    type: string;
    subtype: string;
    /** parameter names lower-cased; the first occurrence of a name wins */
    params: Record<string, string>;
  }
  export interface ParsedDisposition {
    type: string;
    params: Record<string, string>;
  }
  /** decodes bytes (or a latin1 string of them) in one charset; `hint` > 1 when a string held percent-decoded bytes */
  export type Decoder = (data: Buffer | string, hint: number) => string | undefined;
  export function parseContentType(str: string): ParsedContentType | undefined;
  export function parseDisposition(str: string, defDecoder: Decoder): ParsedDisposition | undefined;
  export function getDecoder(charset: string): Decoder;
  /** undefined for a charset neither busboy nor TextDecoder knows */
  export function convertToUTF8(data: Buffer, charset: string, hint: number): string | undefined;
}
