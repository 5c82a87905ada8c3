/**
 * Preloaded into every service by the memory benchmark (`node -r …/probe.js`, with --expose-gc), never by
 * `npm start`: answers the benchmark over the IPC channel with process.memoryUsage() after a forced full
 * GC (so growth of live objects can be told from garbage not yet collected) and writes heap snapshots on
 * request. The channel is unref'd so it never keeps a service alive.
 */
import { writeHeapSnapshot } from 'node:v8';

interface ProbeRequest {
  probe: 'memory' | 'snapshot';
  id: number;
  file?: string;
  /** false: report only, no forced GC (the heap-after-GC figure is then the same reading) */
  gc?: boolean;
}

if (process.send) {
  process.channel?.unref();
  process.on('message', (m: ProbeRequest) => {
    if (!m || typeof m !== 'object' || !('probe' in m)) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (m.probe === 'memory') {
      const before = process.memoryUsage();
      if (m.gc !== false) gc?.();
      const after = m.gc !== false ? process.memoryUsage() : before;
      process.send?.({ id: m.id, rss: before.rss, heapUsed: before.heapUsed, heapUsedAfterGc: after.heapUsed, rssAfterGc: after.rss, external: after.external, arrayBuffers: after.arrayBuffers });
    } else if (m.probe === 'snapshot' && m.file) {
      gc?.();
      const file = writeHeapSnapshot(m.file);
      process.send?.({ id: m.id, file });
    }
  });
}
