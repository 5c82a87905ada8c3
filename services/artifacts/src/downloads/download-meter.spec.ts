import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DownloadMeter, type BlobMismatch } from './download-meter';

function run(chunks: Buffer[], meter: DownloadMeter): Promise<{ out: Buffer; error: Error | null }> {
  const out: Buffer[] = [];
  return new Promise((resolve) => {
    meter.on('data', (c: Buffer) => out.push(c));
    meter.on('end', () => resolve({ out: Buffer.concat(out), error: null }));
    meter.on('error', (e: Error) => resolve({ out: Buffer.concat(out), error: e }));
    Readable.from(chunks).pipe(meter);
  });
}

describe('DownloadMeter', () => {
  const data = [Buffer.from('hello '), Buffer.from('artifact '), Buffer.from('world')];
  const sha = createHash('sha256').update(Buffer.concat(data)).digest('hex');

  it('passes intact content through and counts it', async () => {
    const m = new DownloadMeter({ sha256: sha, size: 20, onMismatch: () => undefined });
    const r = await run(data, m);
    expect(r.error).toBeNull();
    expect(r.out.toString()).toBe('hello artifact world');
    expect(m.bytes).toBe(20);
  });

  it('withholds the last chunk of corrupt content and fails', async () => {
    const seen: BlobMismatch[] = [];
    const m = new DownloadMeter({ sha256: sha, size: 20, onMismatch: (a) => seen.push(a) });
    const r = await run([data[0], data[1], Buffer.from('WORLD')], m);
    expect(r.error).not.toBeNull();
    expect(r.out.toString()).toBe('hello artifact ');
    expect(seen).toHaveLength(1);
    expect(seen[0].sha256).not.toBe(sha);
  });

  it('only counts when not verifying (ranges)', async () => {
    const m = new DownloadMeter(null);
    const r = await run(data, m);
    expect(r.out.toString()).toBe('hello artifact world');
    expect(m.bytes).toBe(20);
  });
});
