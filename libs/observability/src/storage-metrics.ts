import { statfs } from 'node:fs/promises';
import { gauge } from './metrics';

/**
 * Free and total bytes of the filesystem holding a directory (artifact blobs), read at scrape time with
 * statfs, so OpsDeskArtifactStorageLow sees the disk as it is now. For the artifacts service: call once at
 * boot with ARTIFACT_STORAGE_PATH and the volume's name (`local`). A path that cannot be read exports
 * nothing for that volume (and the service's own errors say why).
 */
export function registerStorageMetrics(volume: string, path: string): void {
  paths.set(volume, path);
  const total = gauge('opsdesk_storage_size_bytes', 'Size of the filesystem holding a storage volume', ['volume']);
  gauge('opsdesk_storage_free_bytes', 'Bytes available to the service on the filesystem holding a storage volume', ['volume'], async function collect() {
    this.reset();
    total.reset();
    for (const [v, p] of paths) {
      try {
        const s = await statfs(p);
        this.set({ volume: v }, Number(s.bavail) * Number(s.bsize));
        total.set({ volume: v }, Number(s.blocks) * Number(s.bsize));
      } catch {
        // not mounted / not created yet: no sample rather than a wrong one
      }
    }
  });
}
const paths = new Map<string, string>();
