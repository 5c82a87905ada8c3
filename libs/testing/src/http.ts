/**
 * A supertest `.parse()` that keeps a response body as raw bytes (downloads, exports): with `.buffer(true)`,
 * `res.body` is then the exact Buffer the server sent, whatever its content type.
 */
export function rawBody(res: Pick<NodeJS.EventEmitter, 'on'>, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
  res.on('error', (e: Error) => cb(e, Buffer.concat(chunks)));
}
