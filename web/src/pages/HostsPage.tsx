import {
  ActionIcon,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  CloseButton,
  Group,
  Menu,
  Modal,
  Select,
  Stack,
  Table,
  TagsInput,
  Text,
  TextInput,
  Tooltip,
  UnstyledButton,
} from '@mantine/core';
import { useDebouncedValue, useLocalStorage, useMediaQuery } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import {
  Criticalities,
  HostEnvironments,
  OperatingSystems,
  type HostSort,
  type HostView,
} from '@opsdesk/contracts';
import {
  IconArrowDown,
  IconArrowUp,
  IconColumns3,
  IconDownload,
  IconAdjustmentsHorizontal,
  IconFilterOff,
  IconPlus,
  IconSearch,
  IconSelector,
  IconUpload,
} from '@tabler/icons-react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { download, hostsApi, type HostListParams } from '../api';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { CritBadge, EnvBadge } from '../components/badges';
import { formatDate, timeAgo } from '../components/format';
import { emptyHost, formToBody, HostForm } from '../components/HostForm';
import { ImportHostsModal } from '../components/ImportHostsModal';
import { PageHeader } from '../components/PageHeader';
import { EmptyState, ErrorAlert, TableSkeleton } from '../components/states';

const PAGE_SIZE = 50;
const COLUMNS = [
  'ip',
  'environment',
  'criticality',
  'os',
  'team',
  'owner',
  'tags',
  'updated_at',
  'last_seen_at',
] as const;
type Column = (typeof COLUMNS)[number];
const COLUMN_LABELS: Record<Column, string> = {
  ip: 'IP',
  environment: 'Environment',
  criticality: 'Criticality',
  os: 'OS',
  team: 'Team',
  owner: 'Owner',
  tags: 'Tags',
  updated_at: 'Updated',
  last_seen_at: 'Last seen',
};
const DEFAULT_COLUMNS: Column[] = ['ip', 'environment', 'criticality', 'os', 'team', 'tags', 'updated_at'];
const FILTER_KEYS = ['q', 'environment', 'criticality', 'os', 'team', 'owner'] as const;

/** The list's state lives in the URL (shareable, survives reload and back): filters, sort, cursor. */
export function paramsFromUrl(sp: URLSearchParams): HostListParams {
  const p: HostListParams = { limit: PAGE_SIZE, sort: (sp.get('sort') as HostSort) || 'hostname' };
  for (const k of FILTER_KEYS) {
    const v = sp.get(k);
    if (v) (p as Record<string, unknown>)[k] = v;
  }
  const tags = sp.getAll('tag');
  if (tags.length) p.tag = tags;
  const cursor = sp.get('cursor');
  if (cursor) p.cursor = cursor;
  return p;
}

function SortHeader({
  label,
  field,
  sort,
  onSort,
}: {
  label: string;
  field: string;
  sort: string;
  onSort: (s: HostSort) => void;
}) {
  const active = sort === field || sort === `-${field}`;
  const desc = sort === `-${field}`;
  const Icon = active ? (desc ? IconArrowDown : IconArrowUp) : IconSelector;
  return (
    <UnstyledButton
      onClick={() => onSort((active && !desc ? `-${field}` : field) as HostSort)}
      aria-label={`Sort by ${label}`}
      data-testid={`sort-${field}`}
    >
      <Group gap={4} wrap="nowrap">
        <Text fw={600} size="sm">
          {label}
        </Text>
        <Icon size={14} />
      </Group>
    </UnstyledButton>
  );
}

export function HostsPage() {
  const [sp, setSp] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const { can } = useAuth();
  const params = useMemo(() => paramsFromUrl(sp), [sp]);
  const [search, setSearch] = useState(sp.get('q') ?? '');
  const [debounced] = useDebouncedValue(search, 250);
  const [cursors, setCursors] = useState<string[]>([]); // the pages before this one, for "Previous"
  const [columns, setColumns] = useLocalStorage<Column[]>({
    key: 'opsdesk-host-columns',
    defaultValue: DEFAULT_COLUMNS,
  });
  const [createOpen, setCreateOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  // on a phone the filters fold under one button so the list starts on the first screen
  const narrow = useMediaQuery('(max-width: 48em)');
  const [filtersOpen, setFiltersOpen] = useState(false);

  const update = (changes: Record<string, string | string[] | null>, keepCursor = false) => {
    const next = new URLSearchParams(sp);
    for (const [k, v] of Object.entries(changes)) {
      next.delete(k);
      if (Array.isArray(v)) v.forEach((x) => next.append(k, x));
      else if (v) next.set(k, v);
    }
    if (!keepCursor) {
      next.delete('cursor');
      setCursors([]);
    }
    setSp(next, { replace: true });
  };

  // search as you type: the URL follows the debounced text
  useEffect(() => {
    if ((sp.get('q') ?? '') !== debounced.trim()) update({ q: debounced.trim() || null });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only the typed text drives this
  }, [debounced]);

  const list = useQuery({
    queryKey: ['hosts', 'list', params],
    queryFn: ({ signal }) => hostsApi.list(params, signal),
    placeholderData: keepPreviousData,
  });
  const tags = useQuery({ queryKey: ['tags'], queryFn: hostsApi.tags, staleTime: 60_000 });

  const create = useMutation({
    mutationFn: hostsApi.create,
    onSuccess: (h) => {
      void qc.invalidateQueries({ queryKey: ['hosts'] });
      notifications.show({ color: 'green', title: 'Host created', message: h.hostname });
      setCreateOpen(false);
      navigate(`/hosts/${h.id}`);
    },
  });

  const [exporting, setExporting] = useState(false);
  async function exportCsv() {
    setExporting(true);
    try {
      const { sort: _s, limit: _l, cursor: _c, ...filters } = params;
      await download('/api/hosts/export.csv', 'hosts.csv', filters);
    } catch (err) {
      notifications.show({ color: 'red', title: 'Export failed', message: String((err as Error).message) });
    } finally {
      setExporting(false);
    }
  }

  const hasFilters = FILTER_KEYS.some((k) => sp.get(k)) || sp.getAll('tag').length > 0;
  const show = (c: Column) => columns.includes(c);
  const items = list.data?.items ?? [];

  const cell = (h: HostView, c: Column) => {
    switch (c) {
      case 'environment':
        return <EnvBadge value={h.environment} />;
      case 'criticality':
        return <CritBadge value={h.criticality} />;
      case 'tags':
        return (
          <Group gap={4}>
            {h.tags.slice(0, 3).map((t) => (
              <Badge key={t} variant="outline" color="gray" size="sm" radius="sm" tt="none">
                {t}
              </Badge>
            ))}
            {h.tags.length > 3 && (
              <Text size="xs" c="dimmed">
                +{h.tags.length - 3}
              </Text>
            )}
          </Group>
        );
      case 'updated_at':
        return (
          <Tooltip label={formatDate(h.updated_at)}>
            <Text size="sm" c="dimmed">
              {timeAgo(h.updated_at)}
            </Text>
          </Tooltip>
        );
      case 'last_seen_at':
        return (
          <Text size="sm" c="dimmed">
            {timeAgo(h.last_seen_at)}
          </Text>
        );
      case 'ip':
        return (
          <Text size="sm" ff="monospace">
            {h.ip}
          </Text>
        );
      default:
        return <Text size="sm">{h[c] ?? '—'}</Text>;
    }
  };

  return (
    <>
      <PageHeader
        title="Hosts"
        description="Every server OpsDesk knows about. Search, filter and open one for history, telemetry, artifacts and SSH access."
        actions={
          <>
            <Button
              variant="default"
              leftSection={<IconDownload size={16} />}
              onClick={() => void exportCsv()}
              loading={exporting}
              data-testid="hosts-export"
            >
              Export CSV
            </Button>
            {can(Permissions.HOSTS_WRITE) && (
              <>
                <Button
                  variant="default"
                  leftSection={<IconUpload size={16} />}
                  onClick={() => setImportOpen(true)}
                  data-testid="hosts-import"
                >
                  Import CSV
                </Button>
                <Button
                  leftSection={<IconPlus size={16} />}
                  onClick={() => setCreateOpen(true)}
                  data-testid="hosts-new"
                >
                  New host
                </Button>
              </>
            )}
          </>
        }
      />
      <Card p="md" mb="md">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <TextInput
            placeholder="Search hostname, IP, FQDN, owner, team, notes…"
            leftSection={<IconSearch size={16} />}
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            rightSection={
              search ? (
                <CloseButton size="sm" aria-label="Clear search" onClick={() => setSearch('')} />
              ) : null
            }
            style={{ flex: '1 1 260px' }}
            aria-label="Search hosts"
            data-testid="host-search"
          />
          {narrow && (
            <Button
              variant="default"
              leftSection={<IconAdjustmentsHorizontal size={16} />}
              onClick={() => setFiltersOpen((o) => !o)}
              aria-expanded={filtersOpen}
            >
              Filters{hasFilters ? ' •' : ''}
            </Button>
          )}
          {(!narrow || filtersOpen) && (
            <>
              <Select
                placeholder="Environment"
                data={[...HostEnvironments]}
                value={sp.get('environment')}
                onChange={(v) => update({ environment: v })}
                clearable
                w={150}
                aria-label="Environment"
                data-testid="filter-environment"
              />
              <Select
                placeholder="Criticality"
                data={[...Criticalities]}
                value={sp.get('criticality')}
                onChange={(v) => update({ criticality: v })}
                clearable
                w={140}
                aria-label="Criticality"
                data-testid="filter-criticality"
              />
              <Select
                placeholder="OS"
                data={[...OperatingSystems]}
                value={sp.get('os')}
                onChange={(v) => update({ os: v })}
                clearable
                w={120}
                aria-label="Operating system"
              />
              <TextInput
                placeholder="Team"
                defaultValue={sp.get('team') ?? ''}
                key={`team-${sp.get('team')}`}
                onBlur={(e) => update({ team: e.currentTarget.value.trim() || null })}
                onKeyDown={(e) => e.key === 'Enter' && update({ team: e.currentTarget.value.trim() || null })}
                w={130}
                aria-label="Team"
              />
              <TextInput
                placeholder="Owner"
                defaultValue={sp.get('owner') ?? ''}
                key={`owner-${sp.get('owner')}`}
                onBlur={(e) => update({ owner: e.currentTarget.value.trim() || null })}
                onKeyDown={(e) =>
                  e.key === 'Enter' && update({ owner: e.currentTarget.value.trim() || null })
                }
                w={150}
                aria-label="Owner"
              />
              <TagsInput
                placeholder={sp.getAll('tag').length ? '' : 'Tags'}
                data={tags.data?.items.map((t) => t.tag) ?? []}
                value={sp.getAll('tag')}
                onChange={(v) => update({ tag: v })}
                w={200}
                aria-label="Tags"
                clearable
              />
              {hasFilters && (
                <Button
                  variant="subtle"
                  color="gray"
                  leftSection={<IconFilterOff size={16} />}
                  onClick={() => {
                    setSearch('');
                    update({
                      q: null,
                      environment: null,
                      criticality: null,
                      os: null,
                      team: null,
                      owner: null,
                      tag: [],
                    });
                  }}
                >
                  Clear
                </Button>
              )}
              <Menu closeOnItemClick={false} position="bottom-end">
                <Menu.Target>
                  <Tooltip label="Columns">
                    <ActionIcon
                      variant="default"
                      size="lg"
                      aria-label="Choose columns"
                      data-testid="column-chooser"
                    >
                      <IconColumns3 size={18} />
                    </ActionIcon>
                  </Tooltip>
                </Menu.Target>
                <Menu.Dropdown>
                  <Menu.Label>Columns</Menu.Label>
                  {COLUMNS.map((c) => (
                    <Menu.Item key={c}>
                      <Checkbox
                        label={COLUMN_LABELS[c]}
                        checked={show(c)}
                        onChange={(e) =>
                          setColumns(
                            e.currentTarget.checked
                              ? COLUMNS.filter((x) => x === c || columns.includes(x))
                              : columns.filter((x) => x !== c),
                          )
                        }
                      />
                    </Menu.Item>
                  ))}
                </Menu.Dropdown>
              </Menu>
            </>
          )}
        </Group>
      </Card>
      {list.error && <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />}
      <Card p={0}>
        {list.isLoading ? (
          <div style={{ padding: 16 }}>
            <TableSkeleton />
          </div>
        ) : items.length === 0 ? (
          <EmptyState
            title={hasFilters ? 'No hosts match' : 'No hosts yet'}
            action={
              hasFilters ? undefined : can(Permissions.HOSTS_WRITE) ? (
                <Button size="xs" onClick={() => setCreateOpen(true)}>
                  Add the first host
                </Button>
              ) : undefined
            }
          >
            {hasFilters
              ? 'Try fewer filters or another search.'
              : 'Create a host or import a CSV to get started.'}
          </EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table data-testid="hosts-table" style={{ opacity: list.isPlaceholderData ? 0.6 : 1 }}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>
                    <SortHeader
                      label="Hostname"
                      field="hostname"
                      sort={params.sort ?? 'hostname'}
                      onSort={(s) => update({ sort: s })}
                    />
                  </Table.Th>
                  {COLUMNS.filter(show).map((c) => (
                    <Table.Th key={c}>
                      {c === 'updated_at' ? (
                        <SortHeader
                          label="Updated"
                          field="updated_at"
                          sort={params.sort ?? ''}
                          onSort={(s) => update({ sort: s })}
                        />
                      ) : (
                        COLUMN_LABELS[c]
                      )}
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((h) => (
                  <Table.Tr key={h.id} data-hostname={h.hostname}>
                    <Table.Td>
                      <Anchor
                        component={Link}
                        to={`/hosts/${h.id}`}
                        fw={600}
                        size="sm"
                        data-testid="host-link"
                      >
                        {h.hostname}
                      </Anchor>
                    </Table.Td>
                    {COLUMNS.filter(show).map((c) => (
                      <Table.Td key={c}>{cell(h, c)}</Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {(list.data?.next_cursor || params.cursor) && (
          <Group
            justify="space-between"
            p="sm"
            style={{ borderTop: '1px solid var(--mantine-color-default-border)' }}
          >
            <Text size="sm" c="dimmed">
              Page {cursors.length + 1}
            </Text>
            <Group gap="xs">
              <Button
                variant="default"
                size="xs"
                disabled={!params.cursor}
                data-testid="hosts-prev"
                onClick={() => {
                  const prev = cursors.slice(0, -1);
                  setCursors(prev);
                  update({ cursor: cursors[cursors.length - 1] ?? null }, true);
                }}
              >
                Previous
              </Button>
              <Button
                variant="default"
                size="xs"
                disabled={!list.data?.next_cursor}
                data-testid="hosts-next"
                onClick={() => {
                  setCursors([...cursors, params.cursor ?? '']);
                  update({ cursor: list.data?.next_cursor ?? null }, true);
                }}
              >
                Next
              </Button>
            </Group>
          </Group>
        )}
      </Card>
      <Modal opened={createOpen} onClose={() => setCreateOpen(false)} title="New host" size="lg">
        <Stack>
          <HostForm
            initial={emptyHost}
            submitLabel="Create host"
            busy={create.isPending}
            error={create.error}
            onCancel={() => setCreateOpen(false)}
            onSubmit={(v) => create.mutate(formToBody(v))}
            tagSuggestions={tags.data?.items.map((t) => t.tag)}
            canSetTemplate={can(Permissions.SETTINGS_WRITE)}
          />
        </Stack>
      </Modal>
      <ImportHostsModal
        opened={importOpen}
        onClose={() => setImportOpen(false)}
        onImported={() => void qc.invalidateQueries({ queryKey: ['hosts'] })}
      />
    </>
  );
}
