/**
 * CSV for spreadsheets (RFC 4180) with formula injection neutralised (OWASP "CSV injection"): a cell
 * starting with =, +, -, @, tab or CR gets a leading apostrophe so Excel/Sheets/LibreOffice show it as
 * text. The JSONL export is the verifiable one; CSV values may therefore differ from what was hashed.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralise(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = neutralise(typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value));
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
