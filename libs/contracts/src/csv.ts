/**
 * The one CSV writer of OpsDesk's exports (host export, audit CSV export): RFC 4180 with spreadsheet formula
 * injection neutralised (OWASP "CSV injection").
 *
 * A cell that starts with = + - @ TAB or CR gets a leading single quote, so a spreadsheet shows text instead of
 * evaluating it. So that an export re-imports to identical values (the host import), a cell that already starts
 * with quotes followed by one of those characters gets one more quote, and `unneutralise` removes exactly one
 * leading quote from any cell of the form '+[=+-@\t\r]: import(export(v)) === v for every v. (The audit trail's
 * verifiable export is the JSONL one; its CSV is for reading, so its values may differ from what was hashed.)
 */
export const FORMULA_START = /^[=+\-@\t\r]/;

/** Export side: make a cell inert in spreadsheets. */
export function neutralise(v: string): string {
  return /^'*[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

/** Import side: undo exactly what neutralise() added. */
export function unneutralise(v: string): string {
  return /^'+[=+\-@\t\r]/.test(v) ? v.slice(1) : v;
}

export interface CsvOptions {
  /**
   * `neutralise` (the default) for anything a person may open in a spreadsheet; `keep` writes values exactly, for
   * CSV that only programs read back (the migration script hands the original's rows to the host import).
   */
  formulas?: 'neutralise' | 'keep';
}

/**
 * One cell: '' for null/undefined, numbers and booleans as text, objects as JSON, strings neutralised (unless
 * `formulas: 'keep'`); quoted when it holds a quote, separator or line break, or starts or ends with a space
 * (which readers would trim).
 */
export function csvCell(value: unknown, opts: CsvOptions = {}): string {
  if (value === null || value === undefined) return '';
  const inert = opts.formulas === 'keep' ? (v: string) => v : neutralise;
  const text = typeof value === 'string' ? inert(value) : typeof value === 'object' ? inert(JSON.stringify(value)) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated (RFC 4180). */
export function csvLine(values: readonly unknown[], opts: CsvOptions = {}): string {
  return `${values.map((v) => csvCell(v, opts)).join(',')}\r\n`;
}
