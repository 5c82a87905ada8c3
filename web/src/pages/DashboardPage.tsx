import { Anchor, Badge, Card, Group, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router-dom';
import { auditApi, hostsApi } from '../api';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { critColors, EnvBadge, envColors } from '../components/badges';
import { BarList } from '../components/BarList';
import { timeAgo } from '../components/format';
import { PageHeader } from '../components/PageHeader';
import { ErrorAlert } from '../components/states';

const STALE_MS = 24 * 3600_000;

export function DashboardPage() {
  const { can, me } = useAuth();
  const navigate = useNavigate();
  const summary = useQuery({ queryKey: ['hosts', 'summary'], queryFn: hostsApi.summary });
  const recent = useQuery({
    queryKey: ['hosts', 'list', { sort: '-updated_at', limit: 8 }],
    queryFn: () => hostsApi.list({ sort: '-updated_at', limit: 8 }),
  });
  // telemetry freshness: hosts not seen for a day or never (from the 100 least recently updated)
  const stale = useQuery({
    queryKey: ['hosts', 'list', { sort: 'updated_at', limit: 100 }],
    queryFn: () => hostsApi.list({ sort: 'updated_at', limit: 100 }),
    select: (p) =>
      p.items
        .filter((h) => !h.last_seen_at || Date.now() - new Date(h.last_seen_at).getTime() > STALE_MS)
        .slice(0, 8),
  });
  const security = useQuery({
    queryKey: ['audit', 'security'],
    queryFn: () => auditApi.list({ action: 'auth.*', limit: 8 }),
    enabled: can(Permissions.AUDIT_READ),
  });

  const s = summary.data;
  return (
    <>
      <PageHeader title="Dashboard" description={`Welcome back${me ? `, ${me.email}` : ''}.`} />
      {summary.error && <ErrorAlert error={summary.error} onRetry={() => void summary.refetch()} />}
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} mb="lg">
        <Card>
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            Hosts
          </Text>
          {s ? (
            <Text fz={36} fw={700} data-testid="stat-total">
              {s.total}
            </Text>
          ) : (
            <Skeleton h={44} mt={6} />
          )}
        </Card>
        <Card>
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            Production
          </Text>
          {s ? (
            <Text fz={36} fw={700}>
              {s.by_environment.prod ?? 0}
            </Text>
          ) : (
            <Skeleton h={44} mt={6} />
          )}
        </Card>
        <Card>
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            Critical
          </Text>
          {s ? (
            <Text fz={36} fw={700} c={(s.by_criticality.critical ?? 0) > 0 ? 'red' : undefined}>
              {s.by_criticality.critical ?? 0}
            </Text>
          ) : (
            <Skeleton h={44} mt={6} />
          )}
        </Card>
        <Card>
          <Text size="xs" tt="uppercase" fw={700} c="dimmed">
            No recent telemetry
          </Text>
          {stale.data ? (
            <Text fz={36} fw={700}>
              {stale.data.length >= 8 ? '8+' : stale.data.length}
            </Text>
          ) : (
            <Skeleton h={44} mt={6} />
          )}
        </Card>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 3 }} mb="lg">
        {(
          [
            ['By environment', 'environment', s?.by_environment, envColors],
            ['By criticality', 'criticality', s?.by_criticality, critColors],
            ['By operating system', 'os', s?.by_os, undefined],
          ] as const
        ).map(([title, key, data, colors]) => (
          <Card key={key}>
            <Title order={4} mb="md">
              {title}
            </Title>
            {data ? (
              <BarList
                data={data}
                colors={colors}
                label={title}
                onSelect={(v) => navigate(`/hosts?${key}=${encodeURIComponent(v)}`)}
              />
            ) : (
              <Skeleton h={120} />
            )}
          </Card>
        ))}
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, lg: can(Permissions.AUDIT_READ) ? 3 : 2 }}>
        <Card>
          <Group justify="space-between" mb="sm">
            <Title order={4}>Recently changed</Title>
            <Anchor component={Link} to="/hosts?sort=-updated_at" size="sm">
              All hosts
            </Anchor>
          </Group>
          <HostMiniList
            items={recent.data?.items}
            loading={recent.isLoading}
            when={(h) => timeAgo(h.updated_at)}
            empty="No hosts yet."
          />
        </Card>
        <Card>
          <Title order={4} mb="sm">
            Stale or missing telemetry
          </Title>
          <HostMiniList
            items={stale.data}
            loading={stale.isLoading}
            when={(h) => (h.last_seen_at ? `seen ${timeAgo(h.last_seen_at)}` : 'never seen')}
            empty="Every host reported within a day."
          />
        </Card>
        {can(Permissions.AUDIT_READ) && (
          <Card>
            <Group justify="space-between" mb="sm">
              <Title order={4}>Security events</Title>
              <Anchor component={Link} to="/audit?action=auth.*" size="sm">
                Audit
              </Anchor>
            </Group>
            {security.isLoading ? (
              <Skeleton h={160} />
            ) : security.data?.items.length ? (
              <Stack gap={8}>
                {security.data.items.map((r) => (
                  <Group key={r.seq} justify="space-between" wrap="nowrap">
                    <Stack gap={0} style={{ minWidth: 0 }}>
                      <Text size="sm" fw={500} truncate>
                        {r.type}
                      </Text>
                      <Text size="xs" c="dimmed" truncate>
                        {r.actor?.email ?? 'system'}
                      </Text>
                    </Stack>
                    <Badge
                      variant="light"
                      color={/failed|denied|reused|locked/.test(r.type) ? 'red' : 'gray'}
                      style={{ flexShrink: 0 }}
                    >
                      {timeAgo(r.occurred_at)}
                    </Badge>
                  </Group>
                ))}
              </Stack>
            ) : (
              <Text size="sm" c="dimmed">
                No security events.
              </Text>
            )}
          </Card>
        )}
      </SimpleGrid>
    </>
  );
}

function HostMiniList({
  items,
  loading,
  when,
  empty,
}: {
  items: import('@opsdesk/contracts').HostView[] | undefined;
  loading: boolean;
  when: (h: import('@opsdesk/contracts').HostView) => string;
  empty: string;
}) {
  if (loading) return <Skeleton h={160} />;
  if (!items?.length)
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  return (
    <Stack gap={10}>
      {items.map((h) => (
        <Group key={h.id} justify="space-between" wrap="nowrap" gap="xs">
          <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
            <Anchor component={Link} to={`/hosts/${h.id}`} size="sm" fw={500} truncate>
              {h.hostname}
            </Anchor>
            <span style={{ flexShrink: 0 }}>
              <EnvBadge value={h.environment} />
            </span>
          </Group>
          <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap', flexShrink: 0 }}>
            {when(h)}
          </Text>
        </Group>
      ))}
    </Stack>
  );
}
