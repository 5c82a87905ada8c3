import {
  Anchor,
  Badge,
  Breadcrumbs,
  Button,
  Card,
  Grid,
  Group,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import type { HostRevisionView, HostView } from '@opsdesk/contracts';
import {
  IconClockHour4,
  IconEdit,
  IconFileStack,
  IconHistory,
  IconInfoCircle,
  IconRefresh,
  IconTerminal2,
  IconTrash,
  IconActivity,
} from '@tabler/icons-react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { ApiError, artifactsApi, describeError, hostsApi } from '../api';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { AccessCommandModal } from '../components/AccessCommand';
import { ArtifactTable } from '../components/ArtifactTable';
import { ArtifactUpload } from '../components/ArtifactUpload';
import { CritBadge, EnvBadge } from '../components/badges';
import { modalsConfirm } from '../components/confirm';
import { EditHostModal } from '../components/EditHost';
import { displayValue, formatBytes, formatDate, localInputToIso, timeAgo } from '../components/format';
import { Sparkline } from '../components/Sparkline';
import { EmptyState, ErrorAlert, TableSkeleton } from '../components/states';

function formatUptime(seconds: number | null): string {
  if (seconds === null) return '—';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  return d > 0
    ? `${d} d ${h} h`
    : h > 0
      ? `${h} h ${Math.floor((seconds % 3600) / 60)} min`
      : `${Math.floor(seconds / 60)} min`;
}

const FIELDS: Array<[keyof HostView, string]> = [
  ['ip', 'IP address'],
  ['fqdn', 'FQDN'],
  ['os', 'Operating system'],
  ['environment', 'Environment'],
  ['criticality', 'Criticality'],
  ['owner', 'Owner'],
  ['team', 'Team'],
  ['tags', 'Tags'],
  ['connection_method', 'Connection'],
  ['ssh_user', 'SSH user'],
  ['ssh_port', 'SSH port'],
  ['bastion_host', 'Bastion host'],
  ['access_template', 'Access template'],
  ['notes', 'Notes'],
];

function FieldList({ host }: { host: HostView }) {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="lg" verticalSpacing="md" data-testid="host-fields">
      {FIELDS.filter(([k]) => k !== 'bastion_host' || host.connection_method === 'bastion_ssh').map(
        ([k, label]) => (
          <Stack gap={2} key={k}>
            <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
              {label}
            </Text>
            <Text
              size="sm"
              ff={k === 'ip' ? 'monospace' : undefined}
              style={{ whiteSpace: 'pre-wrap' }}
              data-field={k}
            >
              {displayValue(host[k])}
            </Text>
          </Stack>
        ),
      )}
    </SimpleGrid>
  );
}

const actionColor = { created: 'green', updated: 'blue', deleted: 'red' } as const;

function Revision({ r }: { r: HostRevisionView }) {
  return (
    <Stack gap={6} data-testid="history-entry">
      <Group gap="xs">
        <Badge color={actionColor[r.action]} variant="light">
          {r.action}
        </Badge>
        <Text size="sm" fw={500}>
          revision {r.revision}
        </Text>
        <Text size="sm" c="dimmed">
          by {r.actor?.email ?? 'system'} · {formatDate(r.at, true)} · via {r.source}
        </Text>
      </Group>
      {r.action === 'updated' && r.changes.length > 0 && (
        <Table withTableBorder withColumnBorders={false} fz="sm" maw={720} data-testid="history-diff">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={160}>Field</Table.Th>
              <Table.Th>Before</Table.Th>
              <Table.Th>After</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {r.changes.map((c) => (
              <Table.Tr key={c.field}>
                <Table.Td fw={500}>{c.field}</Table.Td>
                <Table.Td>
                  <Text size="sm" c="red.7" td="line-through">
                    {displayValue(c.before)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" c="green.8">
                    {displayValue(c.after)}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function HistoryTab({ host }: { host: HostView }) {
  const history = useInfiniteQuery({
    queryKey: ['hosts', host.id, 'history'],
    queryFn: ({ pageParam }) => hostsApi.history(host.id, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const [asOfInput, setAsOfInput] = useState('');
  const [asOf, setAsOf] = useState<string | null>(null);
  const snapshot = useQuery({
    queryKey: ['hosts', host.id, 'as_of', asOf],
    queryFn: () => hostsApi.get(host.id, asOf ?? undefined),
    enabled: !!asOf,
    retry: false,
  });
  const revisions = history.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Grid gutter="lg">
      <Grid.Col span={{ base: 12, lg: 8 }}>
        <Card>
          <Title order={4} mb="md">
            Changes
          </Title>
          {history.isLoading ? (
            <TableSkeleton rows={4} />
          ) : history.error ? (
            <ErrorAlert error={history.error} />
          ) : (
            <Timeline bulletSize={14} lineWidth={2} active={revisions.length}>
              {revisions.map((r) => (
                <Timeline.Item key={r.revision}>
                  <Revision r={r} />
                </Timeline.Item>
              ))}
            </Timeline>
          )}
          {history.hasNextPage && (
            <Button
              variant="default"
              size="xs"
              mt="md"
              onClick={() => void history.fetchNextPage()}
              loading={history.isFetchingNextPage}
            >
              Older changes
            </Button>
          )}
        </Card>
      </Grid.Col>
      <Grid.Col span={{ base: 12, lg: 4 }}>
        <Card>
          <Title order={4} mb={4}>
            As of
          </Title>
          <Text size="sm" c="dimmed" mb="sm">
            The host exactly as it was at a moment in the past.
          </Text>
          <Group gap="xs" align="flex-end">
            <TextInput
              type="datetime-local"
              step={1}
              value={asOfInput}
              onChange={(e) => setAsOfInput(e.currentTarget.value)}
              style={{ flex: 1 }}
              aria-label="As of time"
              data-testid="as-of-input"
            />
            <Button
              leftSection={<IconClockHour4 size={16} />}
              disabled={!asOfInput}
              onClick={() => setAsOf(localInputToIso(asOfInput) ?? null)}
              data-testid="as-of-show"
            >
              Show
            </Button>
          </Group>
          {asOf && (
            <Stack mt="md" gap="xs" data-testid="as-of-result">
              {snapshot.isLoading && <Skeleton h={120} />}
              {snapshot.error &&
                (snapshot.error instanceof ApiError && snapshot.error.status === 404 ? (
                  <Text size="sm" c="dimmed">
                    The host did not exist at {formatDate(asOf, true)}.
                  </Text>
                ) : (
                  <ErrorAlert error={snapshot.error} />
                ))}
              {snapshot.data && (
                <>
                  <Text size="sm" fw={500}>
                    Version {snapshot.data.version} at {formatDate(asOf, true)}
                  </Text>
                  {FIELDS.slice(0, 8).map(([k, label]) => (
                    <Group key={k} justify="space-between" gap="xs" wrap="nowrap">
                      <Text size="xs" c="dimmed">
                        {label}
                      </Text>
                      <Text
                        size="sm"
                        ta="right"
                        c={
                          JSON.stringify(snapshot.data[k]) !== JSON.stringify(host[k])
                            ? 'orange.8'
                            : undefined
                        }
                      >
                        {displayValue(snapshot.data[k])}
                      </Text>
                    </Group>
                  ))}
                </>
              )}
            </Stack>
          )}
        </Card>
      </Grid.Col>
    </Grid>
  );
}

function TelemetryTab({ host }: { host: HostView }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const metrics = useQuery({
    queryKey: ['hosts', host.id, 'metrics'],
    queryFn: () => hostsApi.metrics(host.id),
  });
  const refresh = useMutation({
    mutationFn: () => hostsApi.refreshMetrics(host.id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['hosts', host.id, 'metrics'] });
      notifications.show({ color: 'green', message: 'New snapshot collected' });
    },
  });
  const snaps = [...(metrics.data?.items ?? [])].reverse();
  const memUsed = (s: (typeof snaps)[number]) =>
    s.memory.total_bytes && s.memory.available_bytes !== null
      ? ((s.memory.total_bytes - s.memory.available_bytes) / s.memory.total_bytes) * 100
      : null;
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          Snapshots pulled from Prometheus (node_exporter).{' '}
          {snaps.length ? `Latest ${timeAgo(snaps[snaps.length - 1].collected_at)}.` : ''}
        </Text>
        {can(Permissions.HOSTS_WRITE) && (
          <Button
            variant="default"
            leftSection={<IconRefresh size={16} />}
            onClick={() => refresh.mutate()}
            loading={refresh.isPending}
            data-testid="metrics-refresh"
          >
            Collect now
          </Button>
        )}
      </Group>
      {refresh.error && <ErrorAlert error={refresh.error} title="Could not collect" />}
      {metrics.isLoading ? (
        <TableSkeleton rows={3} />
      ) : metrics.error ? (
        <ErrorAlert error={metrics.error} />
      ) : snaps.length === 0 ? (
        <Card>
          <EmptyState title="No telemetry yet" icon={<IconActivity size={26} />}>
            {can(Permissions.HOSTS_WRITE)
              ? 'Collect a snapshot now (Prometheus must be configured in Settings).'
              : 'Nobody has collected a snapshot for this host yet.'}
          </EmptyState>
        </Card>
      ) : (
        <>
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <Card>
              <Sparkline
                label="CPU usage"
                unit="%"
                max={100}
                values={snaps.map((s) => s.cpu.usage_percent)}
              />
            </Card>
            <Card>
              <Sparkline label="Load (1 min)" values={snaps.map((s) => s.load.load1)} />
            </Card>
            <Card>
              <Sparkline label="Memory used" unit="%" max={100} values={snaps.map(memUsed)} />
            </Card>
          </SimpleGrid>
          <Card p={0}>
            <Table.ScrollContainer minWidth={640}>
              <Table data-testid="metrics-table">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Collected</Table.Th>
                    <Table.Th>By</Table.Th>
                    <Table.Th>CPU</Table.Th>
                    <Table.Th>Load</Table.Th>
                    <Table.Th>Memory</Table.Th>
                    <Table.Th>Uptime</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {[...snaps].reverse().map((s) => (
                    <Table.Tr key={s.id}>
                      <Table.Td>{formatDate(s.collected_at, true)}</Table.Td>
                      <Table.Td>{s.collected_by?.email ?? 'scheduler'}</Table.Td>
                      <Table.Td>
                        {s.cpu.usage_percent === null
                          ? '—'
                          : `${s.cpu.usage_percent.toFixed(1)}% of ${s.cpu.count ?? '?'}`}
                      </Table.Td>
                      <Table.Td>
                        {[s.load.load1, s.load.load5, s.load.load15]
                          .map((l) => (l === null ? '—' : l.toFixed(2)))
                          .join(' / ')}
                      </Table.Td>
                      <Table.Td>
                        {formatBytes(s.memory.available_bytes)} free of {formatBytes(s.memory.total_bytes)}
                      </Table.Td>
                      <Table.Td>{formatUptime(s.uptime_seconds)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </Card>
        </>
      )}
    </Stack>
  );
}

function ArtifactsTab({ host }: { host: HostView }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const list = useInfiniteQuery({
    queryKey: ['artifacts', 'host', host.id],
    queryFn: ({ pageParam }) => artifactsApi.forHost(host.id, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Stack>
      {can(Permissions.ARTIFACTS_WRITE) && (
        <ArtifactUpload
          hostId={host.id}
          onUploaded={() => void qc.invalidateQueries({ queryKey: ['artifacts'] })}
        />
      )}
      <Card p={0}>
        {list.isLoading ? (
          <TableSkeleton rows={3} />
        ) : list.error ? (
          <ErrorAlert error={list.error} />
        ) : items.length === 0 ? (
          <EmptyState title="No artifacts" icon={<IconFileStack size={26} />}>
            Logs, configs and crash dumps attached to this host appear here.
          </EmptyState>
        ) : (
          <ArtifactTable items={items} />
        )}
      </Card>
      {list.hasNextPage && (
        <Button variant="default" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
          More
        </Button>
      )}
    </Stack>
  );
}

export default function HostDetailPage() {
  const { id = '' } = useParams();
  const [sp, setSp] = useSearchParams();
  const tab = sp.get('tab') ?? 'overview';
  const navigate = useNavigate();
  const qc = useQueryClient();
  const { can } = useAuth();
  const [editOpen, setEditOpen] = useState(false);
  const [accessOpen, setAccessOpen] = useState(false);
  const host = useQuery({ queryKey: ['hosts', id], queryFn: () => hostsApi.get(id) });
  const remove = useMutation({
    mutationFn: (h: HostView) => hostsApi.remove(h.id, h.version),
    onSuccess: (_v, h) => {
      notifications.show({ color: 'green', title: 'Host deleted', message: h.hostname });
      void qc.invalidateQueries({ queryKey: ['hosts'] });
      navigate('/hosts');
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Delete failed', message: describeError(e) }),
  });

  if (host.isLoading) return <TableSkeleton />;
  if (host.error)
    return host.error instanceof ApiError && host.error.status === 404 ? (
      <EmptyState
        title="Host not found"
        action={
          <Anchor component={Link} to="/hosts">
            Back to hosts
          </Anchor>
        }
      >
        It may have been deleted.
      </EmptyState>
    ) : (
      <ErrorAlert error={host.error} onRetry={() => void host.refetch()} />
    );
  const h = host.data as HostView;

  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/hosts" size="sm">
          Hosts
        </Anchor>
        <Text size="sm">{h.hostname}</Text>
      </Breadcrumbs>
      <Group justify="space-between" align="flex-start" mb="lg" gap="sm">
        <Stack gap={6}>
          <Group gap="sm">
            <Title order={2} data-testid="host-title">
              {h.hostname}
            </Title>
            <EnvBadge value={h.environment} />
            <CritBadge value={h.criticality} />
          </Group>
          <Text size="sm" c="dimmed">
            {h.ip}
            {h.fqdn ? ` · ${h.fqdn}` : ''} · version {h.version} · updated {timeAgo(h.updated_at)}
          </Text>
        </Stack>
        <Group gap="xs">
          {can(Permissions.ACCESS_ISSUE) && (
            <Button
              leftSection={<IconTerminal2 size={16} />}
              onClick={() => setAccessOpen(true)}
              data-testid="access-button"
            >
              SSH command
            </Button>
          )}
          {can(Permissions.HOSTS_WRITE) && (
            <>
              <Button
                variant="default"
                leftSection={<IconEdit size={16} />}
                onClick={() => setEditOpen(true)}
                data-testid="host-edit"
              >
                Edit
              </Button>
              <Button
                variant="default"
                color="red"
                leftSection={<IconTrash size={16} />}
                data-testid="host-delete"
                onClick={() =>
                  modalsConfirm({
                    title: `Delete ${h.hostname}?`,
                    body: 'The host leaves the inventory. Its history stays in the audit trail and can be viewed by admins and auditors.',
                    confirm: 'Delete host',
                    onConfirm: () => remove.mutate(h),
                  })
                }
              >
                Delete
              </Button>
            </>
          )}
        </Group>
      </Group>
      <Tabs
        value={tab}
        onChange={(t) => setSp(t && t !== 'overview' ? { tab: t } : {}, { replace: true })}
        keepMounted={false}
      >
        <Tabs.List mb="md">
          <Tabs.Tab value="overview" leftSection={<IconInfoCircle size={16} />}>
            Overview
          </Tabs.Tab>
          <Tabs.Tab value="history" leftSection={<IconHistory size={16} />} data-testid="tab-history">
            History
          </Tabs.Tab>
          <Tabs.Tab value="telemetry" leftSection={<IconActivity size={16} />} data-testid="tab-telemetry">
            Telemetry
          </Tabs.Tab>
          <Tabs.Tab value="artifacts" leftSection={<IconFileStack size={16} />} data-testid="tab-artifacts">
            Artifacts
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="overview">
          <Card>
            <FieldList host={h} />
            <Text size="xs" c="dimmed" mt="lg">
              Created {formatDate(h.created_at)} · last seen {timeAgo(h.last_seen_at)} · id{' '}
              <span className="mono">{h.id}</span>
            </Text>
          </Card>
        </Tabs.Panel>
        <Tabs.Panel value="history">
          <HistoryTab host={h} />
        </Tabs.Panel>
        <Tabs.Panel value="telemetry">
          <TelemetryTab host={h} />
        </Tabs.Panel>
        <Tabs.Panel value="artifacts">
          <ArtifactsTab host={h} />
        </Tabs.Panel>
      </Tabs>
      {editOpen && (
        <EditHostModal
          canSetTemplate={can(Permissions.SETTINGS_WRITE)}
          host={h}
          opened={editOpen}
          onClose={() => setEditOpen(false)}
          onSaved={(saved) => {
            qc.setQueryData(['hosts', id], saved);
            void qc.invalidateQueries({ queryKey: ['hosts'] });
            setEditOpen(false);
            notifications.show({
              color: 'green',
              title: 'Saved',
              message: `${saved.hostname} is now version ${saved.version}`,
            });
          }}
        />
      )}
      {accessOpen && <AccessCommandModal host={h} opened={accessOpen} onClose={() => setAccessOpen(false)} />}
    </>
  );
}
