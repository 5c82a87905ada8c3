import { z } from 'zod';

/** Keyset cursors are opaque base64url JSON; they never expose offsets. */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T extends Record<string, unknown>>(cursor: string): T | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as T) : null;
  } catch {
    return null;
  }
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 100;

/**
 * `skip` (an offset) on lists that page by keyset: accepted for compatibility with the original OpsDesk and
 * honoured when no cursor is given (the gateway refuses skip together with cursor, 400). Offsets re-read the
 * skipped rows, so deep ones are slow: new clients use cursor.
 */
export const skipParam = z.coerce.number().int().min(0).max(100000).optional();
