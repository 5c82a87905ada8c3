import {
  Alert,
  Badge,
  Button,
  Checkbox,
  FileInput,
  Group,
  Modal,
  Progress,
  SegmentedControl,
  Stack,
  Switch,
  Table,
  Text,
} from '@mantine/core';
import type { ImportConflictPolicy, ImportReport } from '@opsdesk/contracts';
import { IconFileTypeCsv } from '@tabler/icons-react';
import { useRef, useState } from 'react';
import { ApiError, hostsApi, type UploadProgress } from '../api';
import { formatBytes } from './format';
import { ErrorAlert } from './states';

const statusColor: Record<string, string> = {
  created: 'green',
  updated: 'blue',
  unchanged: 'gray',
  error: 'red',
};
const MAX_ROWS_SHOWN = 200;

export type ImportFn = typeof hostsApi.importCsv;

/**
 * CSV import in two steps: a dry run that reports what each row would do (nothing is written), then the same
 * file for real. Upload progress comes from XMLHttpRequest (files up to IMPORT_MAX_BYTES).
 */
export function ImportHostsModal({
  opened,
  onClose,
  onImported,
  importFn = hostsApi.importCsv,
}: {
  opened: boolean;
  onClose: () => void;
  onImported: (r: ImportReport) => void;
  importFn?: ImportFn;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [atomic, setAtomic] = useState(false);
  const [policy, setPolicy] = useState<ImportConflictPolicy>('update');
  const [preview, setPreview] = useState<ImportReport | null>(null);
  const [result, setResult] = useState<ImportReport | null>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [busy, setBusy] = useState<'preview' | 'commit' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [onlyProblems, setOnlyProblems] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const reset = () => {
    setPreview(null);
    setResult(null);
    setError(null);
    setProgress(null);
  };
  const close = () => {
    abort.current?.abort();
    setFile(null);
    reset();
    onClose();
  };

  async function run(dryRun: boolean) {
    if (!file) return;
    setBusy(dryRun ? 'preview' : 'commit');
    setError(null);
    setProgress({ loaded: 0, total: file.size });
    abort.current = new AbortController();
    try {
      const report = await importFn(
        file,
        { dry_run: dryRun, atomic, on_conflict: policy },
        setProgress,
        abort.current.signal,
      );
      if (dryRun) setPreview(report);
      else {
        setResult(report);
        onImported(report);
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.kind === 'aborted')) setError(err);
    } finally {
      setBusy(null);
    }
  }

  const report = result ?? preview;
  const rows = report
    ? report.rows.filter((r) => !onlyProblems || r.status === 'error' || r.warnings?.length)
    : [];
  const pct = progress && progress.total ? Math.round((progress.loaded / progress.total) * 100) : 0;
  const blocked = !!preview && atomic && preview.summary.error > 0;

  return (
    <Modal opened={opened} onClose={close} title="Import hosts from CSV" size="xl" data-testid="import-modal">
      <Stack gap="md">
        <Text size="sm" c="dimmed">
          Columns are matched by name (hostname, ip, environment, os, criticality, owner, team, tags, …).
          Start with a dry run: nothing is written until you import.
        </Text>
        <FileInput
          label="CSV file"
          placeholder="Choose a .csv file"
          accept=".csv,text/csv"
          value={file}
          onChange={(f) => {
            setFile(f);
            reset();
          }}
          leftSection={<IconFileTypeCsv size={18} />}
          clearable
          data-testid="import-file"
          description={file ? `${file.name} · ${formatBytes(file.size)}` : undefined}
        />
        <Group gap="xl" align="flex-end">
          <Stack gap={4}>
            <Text size="sm" fw={500}>
              Existing hostnames
            </Text>
            <SegmentedControl
              value={policy}
              onChange={(v) => {
                setPolicy(v as ImportConflictPolicy);
                reset();
              }}
              data={[
                { value: 'update', label: 'Update' },
                { value: 'skip', label: 'Skip' },
                { value: 'fail', label: 'Fail' },
              ]}
            />
          </Stack>
          <Checkbox
            label="All or nothing (atomic)"
            checked={atomic}
            onChange={(e) => {
              setAtomic(e.currentTarget.checked);
              reset();
            }}
            data-testid="import-atomic"
          />
        </Group>
        {busy && progress && (
          <Stack gap={4} data-testid="import-progress">
            <Progress value={pct} animated={pct < 100} aria-label="Upload progress" />
            <Text size="xs" c="dimmed">
              {pct < 100
                ? `Uploading ${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} (${pct}%)`
                : 'Uploaded; checking rows…'}
            </Text>
          </Stack>
        )}
        {error != null && <ErrorAlert error={error} title="Import failed" />}
        {report && (
          <Stack gap="sm" data-testid={result ? 'import-result' : 'import-preview'}>
            <Alert
              color={result ? (result.committed ? 'green' : 'red') : report.summary.error ? 'yellow' : 'blue'}
              variant="light"
              title={
                result
                  ? result.committed
                    ? 'Import done'
                    : 'Nothing was imported'
                  : 'Dry run — nothing written yet'
              }
            >
              <Group gap="xs">
                <Badge color="green" variant="light">
                  {report.summary.created} new
                </Badge>
                <Badge color="blue" variant="light">
                  {report.summary.updated} updated
                </Badge>
                <Badge color="gray" variant="light">
                  {report.summary.unchanged} unchanged
                </Badge>
                <Badge color="red" variant="light" data-testid="import-error-count">
                  {report.summary.error} with errors
                </Badge>
                <Text size="sm">of {report.summary.rows} rows</Text>
              </Group>
              {blocked && (
                <Text size="sm" mt={6}>
                  Atomic import: fix the rows with errors first, or turn off “All or nothing” to import the
                  valid rows.
                </Text>
              )}
            </Alert>
            {report.columns.ignored.length > 0 && (
              <Text size="xs" c="dimmed">
                Ignored columns: {report.columns.ignored.join(', ')}
              </Text>
            )}
            <Switch
              label="Only rows with problems"
              checked={onlyProblems}
              onChange={(e) => setOnlyProblems(e.currentTarget.checked)}
              size="sm"
            />
            <Table.ScrollContainer minWidth={520} mah={320} type="native">
              <Table stickyHeader striped data-testid="import-rows">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th w={70}>Line</Table.Th>
                    <Table.Th>Hostname</Table.Th>
                    <Table.Th w={110}>Result</Table.Th>
                    <Table.Th>Details</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {rows.slice(0, MAX_ROWS_SHOWN).map((r) => (
                    <Table.Tr key={r.line}>
                      <Table.Td>{r.line}</Table.Td>
                      <Table.Td>{r.hostname ?? '—'}</Table.Td>
                      <Table.Td>
                        <Badge color={statusColor[r.status]} variant="light">
                          {r.status}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        {[...(r.errors ?? []), ...(r.warnings ?? [])].map((e, i) => (
                          <Text key={i} size="xs" c={i < (r.errors?.length ?? 0) ? 'red' : 'yellow.8'}>
                            {e.field}: {e.message}
                          </Text>
                        ))}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {rows.length > MAX_ROWS_SHOWN && (
              <Text size="xs" c="dimmed">
                Showing the first {MAX_ROWS_SHOWN} of {rows.length} rows.
              </Text>
            )}
          </Stack>
        )}
        <Group justify="flex-end">
          {busy ? (
            <Button variant="default" onClick={() => abort.current?.abort()}>
              Cancel upload
            </Button>
          ) : (
            <Button variant="default" onClick={close}>
              {result ? 'Close' : 'Cancel'}
            </Button>
          )}
          {!result && (
            <>
              <Button
                variant="light"
                disabled={!file || !!busy}
                loading={busy === 'preview'}
                onClick={() => void run(true)}
                data-testid="import-preview-button"
              >
                Dry run
              </Button>
              <Button
                disabled={!preview || blocked || !!busy}
                loading={busy === 'commit'}
                onClick={() => void run(false)}
                data-testid="import-commit-button"
              >
                Import {preview ? `${preview.summary.created + preview.summary.updated} rows` : ''}
              </Button>
            </>
          )}
        </Group>
      </Stack>
    </Modal>
  );
}
