import { Group, Stack, Text } from '@mantine/core';

/** Horizontal bars of counts (a tiny SVG-free chart: plain boxes scale and print well in both themes). */
export function BarList({
  data,
  colors,
  onSelect,
  label,
}: {
  data: Record<string, number>;
  colors?: Record<string, string>;
  onSelect?: (key: string) => void;
  label: string;
}) {
  const entries = Object.entries(data).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  if (!entries.length)
    return (
      <Text size="sm" c="dimmed">
        No hosts yet.
      </Text>
    );
  return (
    <Stack gap="sm" role="list" aria-label={label}>
      {entries.map(([key, value]) => (
        <Stack
          key={key}
          gap={4}
          role="listitem"
          style={onSelect ? { cursor: 'pointer' } : undefined}
          onClick={onSelect ? () => onSelect(key) : undefined}
          aria-label={`${key}: ${value}`}
        >
          <Group justify="space-between">
            <Text size="sm" fw={500} tt="capitalize">
              {key}
            </Text>
            <Text size="sm" c="dimmed">
              {value}
            </Text>
          </Group>
          <div className="bar-track">
            <div
              className="bar-fill"
              style={{
                width: `${(value / max) * 100}%`,
                background: `var(--mantine-color-${colors?.[key] ?? 'indigo'}-6)`,
              }}
            />
          </div>
        </Stack>
      ))}
    </Stack>
  );
}
