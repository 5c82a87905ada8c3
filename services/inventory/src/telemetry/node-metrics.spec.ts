import { hasSeries, nodeQueries, promString, renderInstance, toSnapshot, type PromSample } from './node-metrics';

const s = (metric: Record<string, string>, v: number): PromSample => ({ metric, value: [0, String(v)] });

describe('renderInstance', () => {
  it('fills placeholders; IPv6 in brackets', () => {
    expect(renderInstance('{ip}:9100', { ip: '10.0.0.1', hostname: 'web', fqdn: null })).toBe('10.0.0.1:9100');
    expect(renderInstance('{ip}:9100', { ip: '2001:db8::1', hostname: 'web', fqdn: null })).toBe('[2001:db8::1]:9100');
    expect(renderInstance('{fqdn}:9100', { ip: '10.0.0.1', hostname: 'web', fqdn: 'web.example.com' })).toBe('web.example.com:9100');
    expect(renderInstance('{fqdn}', { ip: '10.0.0.1', hostname: 'web', fqdn: null })).toBe('web');
    expect(renderInstance('127.0.0.1:9999', { ip: '10.0.0.1', hostname: 'web', fqdn: null })).toBe('127.0.0.1:9999');
  });
});

describe('promString', () => {
  it('escapes quotes and backslashes so a label value cannot break out of the selector', () => {
    expect(promString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(nodeQueries('x"}or vector(1)#').mem_total).toBe('node_memory_MemTotal_bytes{instance="x\\"}or vector(1)#"}');
  });
});

describe('toSnapshot', () => {
  it('maps samples to the snapshot shape', () => {
    const snap = toSnapshot({
      cpu_count: [s({}, 4)],
      cpu_usage: [s({}, 12.3456)],
      load1: [s({}, 0.5)],
      mem_total: [s({}, 8e9)],
      mem_available: [s({}, 4e9)],
      fs_size: [s({ mountpoint: '/', device: '/dev/sda1', fstype: 'ext4' }, 100), s({ mountpoint: '/boot', device: '/dev/sda2', fstype: 'ext4' }, 10)],
      fs_free: [s({ mountpoint: '/' }, 40), s({ mountpoint: '/boot' }, 5)],
      net_rx: [s({ device: 'eth0' }, 1000)],
      net_tx: [s({ device: 'eth0' }, 500)],
      uptime: [s({}, 3600)],
    });
    expect(snap).toEqual({
      cpu: { count: 4, usage_percent: 12.35 },
      load: { load1: 0.5, load5: null, load15: null },
      memory: { total_bytes: 8e9, available_bytes: 4e9 },
      filesystems: [
        { mountpoint: '/', device: '/dev/sda1', fstype: 'ext4', size_bytes: 100, free_bytes: 40 },
        { mountpoint: '/boot', device: '/dev/sda2', fstype: 'ext4', size_bytes: 10, free_bytes: 5 },
      ],
      network: [{ device: 'eth0', rx_bytes_per_second: 1000, tx_bytes_per_second: 500 }],
      uptime_seconds: 3600,
    });
  });

  it('no series at all is detected', () => {
    expect(hasSeries({ cpu_count: [], mem_total: [], uptime: [] })).toBe(false);
    expect(hasSeries({ mem_total: [s({}, 1)] })).toBe(true);
  });
});
