import { isIPv6, type FilesystemMetrics, type MetricsSnapshotView, type NetworkMetrics } from '@opsdesk/contracts';

/** One instant-vector sample from Prometheus' HTTP API. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * The Prometheus `instance` label for a host. `{ip}` renders an IPv6 address in brackets, the way
 * Prometheus writes host:port targets (`[2001:db8::1]:9100`).
 */
export function renderInstance(template: string, host: { ip: string; hostname: string; fqdn: string | null }): string {
  return template
    .replace(/\{ip\}/g, isIPv6(host.ip) ? `[${host.ip}]` : host.ip)
    .replace(/\{hostname\}/g, host.hostname)
    .replace(/\{fqdn\}/g, host.fqdn ?? host.hostname);
}

/** A PromQL string literal (double-quoted): backslash, quote and newlines escaped. */
export function promString(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

const IGNORED_FS = 'tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|autofs|proc|sysfs|cgroup|cgroup2|fuse.lxcfs|tracefs|devpts|mqueue|bpf|pstore|securityfs|debugfs|configfs|fusectl|hugetlbfs|binfmt_misc|rpc_pipefs';

/** node_exporter queries for one instance; rates use irate so 1 s and 60 s scrape intervals both work. */
export function nodeQueries(instance: string): Record<string, string> {
  const i = `instance=${promString(instance)}`;
  return {
    cpu_count: `count(node_cpu_seconds_total{${i},mode="idle"})`,
    cpu_usage: `100 * (1 - avg(irate(node_cpu_seconds_total{${i},mode="idle"}[5m])))`,
    load1: `node_load1{${i}}`,
    load5: `node_load5{${i}}`,
    load15: `node_load15{${i}}`,
    mem_total: `node_memory_MemTotal_bytes{${i}}`,
    mem_available: `node_memory_MemAvailable_bytes{${i}}`,
    fs_size: `node_filesystem_size_bytes{${i},fstype!~"${IGNORED_FS}"}`,
    fs_free: `node_filesystem_avail_bytes{${i},fstype!~"${IGNORED_FS}"}`,
    net_rx: `sum by (device) (irate(node_network_receive_bytes_total{${i},device!="lo"}[5m]))`,
    net_tx: `sum by (device) (irate(node_network_transmit_bytes_total{${i},device!="lo"}[5m]))`,
    uptime: `node_time_seconds{${i}} - node_boot_time_seconds{${i}}`,
  };
}

export type SnapshotData = Pick<MetricsSnapshotView, 'cpu' | 'load' | 'memory' | 'filesystems' | 'network' | 'uptime_seconds'>;

function num(samples: PromSample[] | undefined): number | null {
  const v = samples?.[0]?.value?.[1];
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Whether Prometheus knows the host at all (no series: 404, not an empty snapshot). */
export function hasSeries(r: Record<string, PromSample[]>): boolean {
  return (r.cpu_count?.length ?? 0) > 0 || (r.mem_total?.length ?? 0) > 0 || (r.uptime?.length ?? 0) > 0;
}

/** Turns query results into the stored snapshot shape. */
export function toSnapshot(r: Record<string, PromSample[]>): SnapshotData {
  const free = new Map((r.fs_free ?? []).map((s) => [s.metric.mountpoint, Number(s.value[1])]));
  const filesystems: FilesystemMetrics[] = (r.fs_size ?? [])
    .map((s) => ({
      mountpoint: s.metric.mountpoint ?? '',
      device: s.metric.device ?? '',
      fstype: s.metric.fstype ?? '',
      size_bytes: Number(s.value[1]),
      free_bytes: free.get(s.metric.mountpoint) ?? 0,
    }))
    .sort((a, b) => a.mountpoint.localeCompare(b.mountpoint));
  const tx = new Map((r.net_tx ?? []).map((s) => [s.metric.device, Number(s.value[1])]));
  const network: NetworkMetrics[] = (r.net_rx ?? [])
    .map((s) => ({ device: s.metric.device ?? '', rx_bytes_per_second: Number(s.value[1]), tx_bytes_per_second: tx.get(s.metric.device) ?? 0 }))
    .sort((a, b) => a.device.localeCompare(b.device));
  const cpuUsage = num(r.cpu_usage);
  return {
    cpu: { count: num(r.cpu_count), usage_percent: cpuUsage === null ? null : Math.min(100, Math.max(0, Math.round(cpuUsage * 100) / 100)) },
    load: { load1: num(r.load1), load5: num(r.load5), load15: num(r.load15) },
    memory: { total_bytes: num(r.mem_total), available_bytes: num(r.mem_available) },
    filesystems,
    network,
    uptime_seconds: num(r.uptime),
  };
}
