import { Alert, Button, Group, List, Modal, Stack, Text } from '@mantine/core';
import type { HostView } from '@opsdesk/contracts';
import { IconGitMerge } from '@tabler/icons-react';
import { useState } from 'react';
import { ApiError, hostsApi, type UpdateHostInput } from '../api';
import { displayValue } from './format';
import { changedFields, HostForm, hostToForm, type HostFormValues } from './HostForm';

export interface FieldConflict {
  field: string;
  /** what the user started from */
  base: unknown;
  /** what is stored now (someone else's change) */
  theirs: unknown;
  /** the user's value, when they changed the same field */
  mine?: unknown;
}

/** Fields another writer changed between `base` (what the form was opened with) and `latest`. */
export function conflictsBetween(
  base: HostView,
  latest: HostView,
  mine: Partial<Record<string, unknown>>,
): FieldConflict[] {
  const a = hostToForm(base);
  const b = hostToForm(latest);
  const out: FieldConflict[] = [];
  for (const k of Object.keys(a) as Array<keyof HostFormValues>) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k]))
      out.push({ field: k, base: a[k], theirs: b[k], ...(k in mine ? { mine: mine[k] } : {}) });
  }
  return out;
}

export type UpdateFn = (id: string, version: number, body: UpdateHostInput) => Promise<HostView>;
export type GetFn = (id: string) => Promise<HostView>;

/**
 * Edits a host with optimistic concurrency: PATCH with If-Match = the version the form was opened with. A 412
 * means someone saved in between: show what they changed and let the user re-apply their own changes on top
 * of the current version (or drop them).
 */
export function EditHostModal({
  host,
  opened,
  onClose,
  onSaved,
  update = hostsApi.update,
  get = (id) => hostsApi.get(id),
  canSetTemplate = false,
}: {
  host: HostView;
  opened: boolean;
  onClose: () => void;
  onSaved: (h: HostView) => void;
  update?: UpdateFn;
  get?: GetFn;
  canSetTemplate?: boolean;
}) {
  const [base, setBase] = useState(host);
  const [formKey, setFormKey] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState<{
    latest: HostView;
    mine: UpdateHostInput;
    fields: FieldConflict[];
  } | null>(null);

  async function save(body: UpdateHostInput, version: number) {
    setBusy(true);
    setError(null);
    try {
      const saved = await update(host.id, version, body);
      setConflict(null);
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        const latest = await get(host.id);
        setConflict({
          latest,
          mine: body,
          fields: conflictsBetween(base, latest, body as Record<string, unknown>),
        });
      } else setError(err);
    } finally {
      setBusy(false);
    }
  }

  function submit(v: HostFormValues) {
    const body = changedFields(hostToForm(base), v) as UpdateHostInput;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    void save(body, base.version);
  }

  const banner = conflict && (
    <Alert
      color="orange"
      variant="light"
      icon={<IconGitMerge size={18} />}
      title="This host changed while you were editing"
      data-testid="edit-conflict"
    >
      <Stack gap="xs">
        <Text size="sm">
          Someone saved version {conflict.latest.version} after you opened version {base.version}. Their
          changes:
        </Text>
        <List size="sm" spacing={4}>
          {conflict.fields.length === 0 && <List.Item>no visible field changes</List.Item>}
          {conflict.fields.map((f) => (
            <List.Item key={f.field}>
              <b>{f.field}</b>: {displayValue(f.base)} → <b>{displayValue(f.theirs)}</b>
              {'mine' in f && (
                <Text span c="orange.8">
                  {' '}
                  (you set {displayValue(f.mine)})
                </Text>
              )}
            </List.Item>
          ))}
        </List>
        <Group gap="xs">
          <Button
            size="xs"
            onClick={() => void save(conflict.mine, conflict.latest.version)}
            loading={busy}
            data-testid="conflict-reapply"
          >
            Re-apply my changes
          </Button>
          <Button
            size="xs"
            variant="default"
            onClick={() => {
              setBase(conflict.latest);
              setConflict(null);
              setFormKey((k) => k + 1);
            }}
            data-testid="conflict-discard"
          >
            Discard mine, edit the latest
          </Button>
        </Group>
      </Stack>
    </Alert>
  );

  return (
    <Modal opened={opened} onClose={onClose} title={`Edit ${host.hostname}`} size="lg">
      <HostForm
        key={formKey}
        initial={hostToForm(base)}
        submitLabel="Save changes"
        busy={busy && !conflict}
        error={error}
        onCancel={onClose}
        onSubmit={submit}
        banner={banner}
        canSetTemplate={canSetTemplate}
      />
    </Modal>
  );
}
