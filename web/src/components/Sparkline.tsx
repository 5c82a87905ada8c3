import { Stack, Text } from '@mantine/core';

/** A small line chart (SVG, no library): values oldest → newest; gaps (null) are skipped. */
export function Sparkline({
  label,
  values,
  unit = '',
  max,
}: {
  label: string;
  values: Array<number | null>;
  unit?: string;
  max?: number;
}) {
  const pts = values
    .map((v, i) => ({ v, i }))
    .filter((p): p is { v: number; i: number } => p.v !== null && Number.isFinite(p.v));
  const hi = max ?? Math.max(1, ...pts.map((p) => p.v));
  const w = 240;
  const h = 64;
  const x = (i: number) => (values.length <= 1 ? w / 2 : (i / (values.length - 1)) * (w - 8) + 4);
  const y = (v: number) => h - 4 - (v / hi) * (h - 8);
  const last = pts.length ? pts[pts.length - 1].v : null;
  return (
    <Stack gap={4}>
      <Text size="xs" tt="uppercase" fw={700} c="dimmed">
        {label}
      </Text>
      <Text fw={700} fz="xl">
        {last === null ? '—' : `${Math.round(last * 10) / 10}${unit}`}
      </Text>
      <svg
        viewBox={`0 0 ${w} ${h}`}
        width="100%"
        height={h}
        role="img"
        aria-label={`${label} over the last ${values.length} snapshots`}
      >
        <line x1="0" x2={w} y1={h - 4} y2={h - 4} stroke="var(--mantine-color-default-border)" />
        {pts.length > 1 && (
          <polyline
            fill="none"
            stroke="var(--mantine-color-indigo-6)"
            strokeWidth="2"
            points={pts.map((p) => `${x(p.i)},${y(p.v)}`).join(' ')}
          />
        )}
        {pts.map((p) => (
          <circle key={p.i} cx={x(p.i)} cy={y(p.v)} r="2.5" fill="var(--mantine-color-indigo-6)" />
        ))}
      </svg>
    </Stack>
  );
}
