import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Drawer,
  Group,
  Loader,
  Menu,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue, useIntersection } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import type { AuditRecordView, AuditVerifyResult } from '@opsdesk/contracts';
import { IconDownload, IconSearch, IconShieldCheck, IconShieldX } from '@tabler/icons-react';
import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { auditApi, describeError, download, settingsApi, type AuditListParams } from '../api';
import { displayValue, formatDate, traceLink } from '../components/format';
import { PageHeader } from '../components/PageHeader';
import { TimeRangeInputs } from '../components/TimeRangeInputs';
import { EmptyState, ErrorAlert, TableSkeleton } from '../components/states';

const FILTERS = ['actor', 'action', 'entity_type', 'entity_id', 'from', 'to', 'q'] as const;

export function RecordDetails({ r }: { r: AuditRecordView }) {
  // the deployment's trace UI (TRACE_UI_URL), shared with the settings page's query
  const runtime = useQuery({ queryKey: ['settings', 'runtime'], queryFn: settingsApi.runtime, staleTime: 5 * 60_000 });
  const traceHref = traceLink(runtime.data?.trace_ui_url, r.trace_id);
  const row = (label: string, value: React.ReactNode) => (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <div>{value}</div>
    </Stack>
  );
  return (
    <Stack gap="md" data-testid="audit-details">
      {row('Event', <Text fw={600}>{r.type}</Text>)}
      {row(
        'When',
        <Text size="sm">
          {formatDate(r.occurred_at, true)} (recorded {formatDate(r.recorded_at, true)})
        </Text>,
      )}
      {row(
        'Actor',
        <Text size="sm">
          {r.actor?.email ?? 'system'}
          {r.actor?.ip ? ` from ${r.actor.ip}` : ''}
        </Text>,
      )}
      {row(
        'Entity',
        <Text size="sm">
          {r.entity_type}
          {r.entity_id ? ` · ${r.entity_id}` : ''}
        </Text>,
      )}
      {row('Request id', <Text className="mono">{r.request_id ?? '—'}</Text>)}
      {row(
        'Trace id',
        traceHref ? (
          <Anchor className="mono" href={traceHref} target="_blank" rel="noopener noreferrer" data-testid="audit-trace-id">
            {r.trace_id}
          </Anchor>
        ) : (
          <Text className="mono" data-testid="audit-trace-id">
            {r.trace_id ?? '—'}
          </Text>
        ),
      )}
      {row(
        'Sequence',
        <Text size="sm">
          #{r.seq} · source {r.source}
        </Text>,
      )}
      {row(
        'Hash',
        <Text className="mono" data-testid="audit-hash">
          {r.hash}
        </Text>,
      )}
      {row('Previous hash', <Text className="mono">{r.prev_hash}</Text>)}
      {row(
        'Data',
        Object.keys(r.data).length ? (
          <Table fz="sm" withTableBorder>
            <Table.Tbody>
              {Object.entries(r.data).map(([k, v]) => (
                <Table.Tr key={k}>
                  <Table.Td fw={500} w={140} style={{ verticalAlign: 'top' }}>
                    {k}
                  </Table.Td>
                  <Table.Td style={{ wordBreak: 'break-word' }}>
                    {typeof v === 'object' && v !== null ? (
                      <Code block>{JSON.stringify(v, null, 2)}</Code>
                    ) : (
                      displayValue(v)
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : (
          <Text size="sm" c="dimmed">
            none
          </Text>
        ),
      )}
    </Stack>
  );
}

function VerifyResultAlert({ r }: { r: AuditVerifyResult }) {
  return (
    <Alert
      color={r.ok && r.checkpoints_ok ? 'green' : 'red'}
      icon={r.ok ? <IconShieldCheck size={18} /> : <IconShieldX size={18} />}
      title={r.ok && r.checkpoints_ok ? 'The audit chain is intact' : 'The audit chain does not verify'}
      mb="md"
      data-testid="audit-verify-result"
    >
      <Text size="sm">
        {r.checked} records checked up to #{r.head_seq}; {r.checkpoints_trusted} of {r.checkpoints_checked}{' '}
        signed checkpoints trusted; records up to #{r.attested_seq} are attested by a signature.
        {r.first_bad_seq ? ` First bad record: #${r.first_bad_seq}.` : ''}
      </Text>
      {r.problems.map((p) => (
        <Text size="sm" key={p} c="red">
          {p}
        </Text>
      ))}
    </Alert>
  );
}

export default function AuditPage() {
  const [sp, setSp] = useSearchParams();
  const [q, setQ] = useState(sp.get('q') ?? '');
  const [dq] = useDebouncedValue(q, 300);
  const [selected, setSelected] = useState<AuditRecordView | null>(null);
  const filters = useMemo(() => {
    const f: AuditListParams = {};
    for (const k of FILTERS) {
      const v = sp.get(k);
      if (v) (f as Record<string, string>)[k] = v;
    }
    return f;
  }, [sp]);
  const set = (k: string, v: string | null | undefined) => {
    const next = new URLSearchParams(sp);
    if (v) next.set(k, v);
    else next.delete(k);
    setSp(next, { replace: true });
  };
  useEffect(() => {
    if ((sp.get('q') ?? '') !== dq.trim()) set('q', dq.trim());
    // only the typed text drives this effect
  }, [dq]); // eslint-disable-line

  const list = useInfiniteQuery({
    queryKey: ['audit', 'list', filters],
    queryFn: ({ pageParam, signal }) => auditApi.list({ ...filters, cursor: pageParam, limit: 50 }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const verify = useMutation({ mutationFn: auditApi.verify });
  // infinite scroll: the sentinel below the table loads the next page when it comes into view
  const { ref, entry } = useIntersection({ rootMargin: '300px' });
  useEffect(() => {
    if (entry?.isIntersecting && list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage();
  }, [entry?.isIntersecting, list.hasNextPage, list.isFetchingNextPage, list]);

  const exportAs = async (format: 'csv' | 'jsonl') => {
    try {
      await download(`/api/audit/export.${format}`, `audit.${format}`, filters);
    } catch (e) {
      notifications.show({ color: 'red', title: 'Export failed', message: describeError(e) });
    }
  };
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <PageHeader
        title="Audit trail"
        description="Every change and sign-in, hash-chained and signed. Newest first."
        actions={
          <>
            <Button
              variant="default"
              leftSection={<IconShieldCheck size={16} />}
              onClick={() => verify.mutate()}
              loading={verify.isPending}
              data-testid="audit-verify"
            >
              Verify chain
            </Button>
            <Menu position="bottom-end">
              <Menu.Target>
                <Button leftSection={<IconDownload size={16} />} data-testid="audit-export">
                  Export
                </Button>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>Current filter</Menu.Label>
                <Menu.Item onClick={() => void exportAs('csv')} data-testid="audit-export-csv">
                  CSV (spreadsheets)
                </Menu.Item>
                <Menu.Item onClick={() => void exportAs('jsonl')} data-testid="audit-export-jsonl">
                  JSONL (with hashes, verifiable offline)
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </>
        }
      />
      {verify.data && <VerifyResultAlert r={verify.data} />}
      {verify.error && <ErrorAlert error={verify.error} title="Verification failed to run" />}
      <Card p="md" mb="md">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <TextInput
            label="Search"
            placeholder="words in type, actor, entity, data"
            leftSection={<IconSearch size={16} />}
            value={q}
            onChange={(e) => setQ(e.currentTarget.value)}
            style={{ flex: '1 1 220px' }}
            data-testid="audit-q"
          />
          <TextInput
            label="Actor"
            placeholder="email or user id"
            defaultValue={sp.get('actor') ?? ''}
            key={`a-${sp.get('actor')}`}
            onBlur={(e) => set('actor', e.currentTarget.value.trim())}
            onKeyDown={(e) => e.key === 'Enter' && set('actor', e.currentTarget.value.trim())}
            w={200}
            data-testid="audit-actor"
          />
          <TextInput
            label="Action"
            placeholder="inventory.* or auth.login.failed"
            defaultValue={sp.get('action') ?? ''}
            key={`b-${sp.get('action')}`}
            onBlur={(e) => set('action', e.currentTarget.value.trim())}
            onKeyDown={(e) => e.key === 'Enter' && set('action', e.currentTarget.value.trim())}
            w={220}
            data-testid="audit-action"
          />
          <TextInput
            label="Entity"
            placeholder="host, user, artifact"
            defaultValue={sp.get('entity_type') ?? ''}
            key={`c-${sp.get('entity_type')}`}
            onBlur={(e) => set('entity_type', e.currentTarget.value.trim())}
            onKeyDown={(e) => e.key === 'Enter' && set('entity_type', e.currentTarget.value.trim())}
            w={150}
          />
          <TimeRangeInputs from={sp.get('from')} to={sp.get('to')} onChange={set} />
        </Group>
      </Card>
      {list.error && <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />}
      <Card p={0}>
        {list.isLoading ? (
          <div style={{ padding: 16 }}>
            <TableSkeleton />
          </div>
        ) : items.length === 0 ? (
          <EmptyState title="No records match">Try a wider time range or fewer filters.</EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={760}>
            <Table data-testid="audit-table" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={70}>#</Table.Th>
                  <Table.Th w={190}>When</Table.Th>
                  <Table.Th>Event</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Entity</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((r) => (
                  <Table.Tr
                    key={r.seq}
                    data-seq={r.seq}
                    className="clickable-row"
                    onClick={() => setSelected(r)}
                    tabIndex={0}
                    onKeyDown={(e) => e.key === 'Enter' && setSelected(r)}
                  >
                    <Table.Td c="dimmed">{r.seq}</Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDate(r.occurred_at, true)}</Table.Td>
                    <Table.Td>
                      <Badge
                        variant="light"
                        color={
                          /failed|denied|reused|deleted/.test(r.type)
                            ? 'red'
                            : r.type.startsWith('auth')
                              ? 'grape'
                              : 'indigo'
                        }
                        tt="none"
                        radius="sm"
                      >
                        {r.type}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{r.actor?.email ?? 'system'}</Text>
                      {r.actor?.ip && (
                        <Text size="xs" c="dimmed">
                          {r.actor.ip}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{r.entity_type}</Text>
                      {typeof r.data.hostname === 'string' && (
                        <Text size="xs" c="dimmed">
                          {r.data.hostname}
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <div ref={ref} />
        {list.isFetchingNextPage && (
          <Group justify="center" p="md">
            <Loader size="sm" />
          </Group>
        )}
        {!list.hasNextPage && items.length > 0 && (
          <Text size="xs" c="dimmed" ta="center" p="sm">
            {items.length} records · end of the trail for this filter
          </Text>
        )}
      </Card>
      <Drawer
        opened={!!selected}
        onClose={() => setSelected(null)}
        position="right"
        size="lg"
        title={<Title order={4}>Audit record #{selected?.seq}</Title>}
      >
        {selected && <RecordDetails r={selected} />}
      </Drawer>
    </>
  );
}
