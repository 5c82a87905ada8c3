/** The trace id of a W3C `traceparent` header (version 00), or null when absent or malformed. */
export function traceIdFromTraceparent(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(header.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1])) return null;
  return m[1];
}
