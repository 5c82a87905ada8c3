import { Button, Card, Group, Select, TextInput } from '@mantine/core';
import { ArtifactKinds } from '@opsdesk/contracts';
import { IconFileStack } from '@tabler/icons-react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import { artifactsApi, hostsApi } from '../api';
import { ArtifactTable } from '../components/ArtifactTable';
import { PageHeader } from '../components/PageHeader';
import { TimeRangeInputs } from '../components/TimeRangeInputs';
import { EmptyState, ErrorAlert, TableSkeleton } from '../components/states';

/** Every artifact, newest first; filters (host, kind, uploader id, time) kept in the URL. */
export default function ArtifactsPage() {
  const [sp, setSp] = useSearchParams();
  const filters = useMemo(() => {
    const f: Record<string, string> = {};
    for (const k of ['host_id', 'kind', 'uploaded_by', 'from', 'to']) {
      const v = sp.get(k);
      if (v) f[k] = v;
    }
    return f;
  }, [sp]);
  const set = (k: string, v: string | null | undefined) => {
    const next = new URLSearchParams(sp);
    if (v) next.set(k, v);
    else next.delete(k);
    setSp(next, { replace: true });
  };
  const hosts = useQuery({
    queryKey: ['hosts', 'list', { limit: 100, sort: 'hostname' }],
    queryFn: () => hostsApi.list({ limit: 100, sort: 'hostname' }),
  });
  const hostNames = Object.fromEntries((hosts.data?.items ?? []).map((h) => [h.id, h.hostname]));
  const list = useInfiniteQuery({
    queryKey: ['artifacts', 'all', filters],
    queryFn: ({ pageParam }) => artifactsApi.list({ ...filters, cursor: pageParam, limit: 50 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <PageHeader
        title="Artifacts"
        description="Files attached to hosts, with their SHA-256 and integrity checks."
      />
      <Card p="md" mb="md">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <Select
            label="Host"
            placeholder="Any host"
            searchable
            clearable
            data={(hosts.data?.items ?? []).map((h) => ({ value: h.id, label: h.hostname }))}
            value={sp.get('host_id')}
            onChange={(v) => set('host_id', v)}
            w={220}
          />
          <Select
            label="Kind"
            placeholder="Any kind"
            clearable
            data={ArtifactKinds.map((k) => ({ value: k, label: k.replace('_', ' ') }))}
            value={sp.get('kind')}
            onChange={(v) => set('kind', v)}
            w={170}
          />
          <TextInput
            label="Uploader (user id)"
            placeholder="uuid"
            defaultValue={sp.get('uploaded_by') ?? ''}
            onBlur={(e) => set('uploaded_by', e.currentTarget.value.trim())}
            w={220}
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
          <EmptyState title="No artifacts" icon={<IconFileStack size={26} />}>
            {Object.keys(filters).length
              ? 'Nothing matches these filters.'
              : 'Upload one from a host’s Artifacts tab.'}
          </EmptyState>
        ) : (
          <ArtifactTable items={items} showHost hostNames={hostNames} />
        )}
      </Card>
      {list.hasNextPage && (
        <Group justify="center" mt="md">
          <Button
            variant="default"
            onClick={() => void list.fetchNextPage()}
            loading={list.isFetchingNextPage}
          >
            Load more
          </Button>
        </Group>
      )}
    </>
  );
}
