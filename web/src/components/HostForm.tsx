import {
  Button,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import {
  ConnectionMethods,
  Criticalities,
  HostEnvironments,
  OperatingSystems,
  type HostView,
} from '@opsdesk/contracts';
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type CreateHostInput } from '../api';
import { ErrorAlert } from './states';

/** The editable fields of a host, as the form holds them (empty string = not set). */
export interface HostFormValues {
  hostname: string;
  fqdn: string;
  ip: string;
  os: string;
  environment: string;
  criticality: string;
  owner: string;
  team: string;
  tags: string[];
  notes: string;
  connection_method: string;
  ssh_user: string;
  ssh_port: number;
  bastion_host: string;
  bastion_port: number;
  /** the host's own access command template ('' = the global one of its connection method) */
  access_template: string;
}

export const emptyHost: HostFormValues = {
  hostname: '',
  fqdn: '',
  ip: '',
  os: 'linux',
  environment: 'dev',
  criticality: 'medium',
  owner: '',
  team: '',
  tags: [],
  notes: '',
  connection_method: 'direct_ssh',
  ssh_user: '',
  ssh_port: 22,
  bastion_host: '',
  bastion_port: 22,
  access_template: '',
};

export function hostToForm(h: HostView): HostFormValues {
  return {
    hostname: h.hostname,
    fqdn: h.fqdn ?? '',
    ip: h.ip,
    os: h.os,
    environment: h.environment,
    criticality: h.criticality,
    owner: h.owner ?? '',
    team: h.team ?? '',
    tags: h.tags,
    notes: h.notes ?? '',
    connection_method: h.connection_method,
    ssh_user: h.ssh_user ?? '',
    ssh_port: h.ssh_port,
    bastion_host: h.bastion_host ?? '',
    bastion_port: h.bastion_port,
    access_template: h.access_template ?? '',
  };
}

/** Form → request body; empty optional text becomes null (the API's "not set"). */
export function formToBody(v: HostFormValues): CreateHostInput {
  const opt = (s: string) => (s.trim() === '' ? null : s.trim());
  return {
    hostname: v.hostname.trim(),
    fqdn: opt(v.fqdn),
    ip: v.ip.trim(),
    os: v.os as CreateHostInput['os'],
    environment: v.environment as CreateHostInput['environment'],
    criticality: v.criticality as CreateHostInput['criticality'],
    owner: opt(v.owner),
    team: opt(v.team),
    tags: v.tags,
    notes: opt(v.notes),
    connection_method: v.connection_method as CreateHostInput['connection_method'],
    ssh_user: opt(v.ssh_user),
    ssh_port: v.ssh_port,
    bastion_host: opt(v.bastion_host),
    bastion_port: v.bastion_port,
    access_template: opt(v.access_template),
  };
}

/** Only the fields that differ from `base` (a PATCH sends what the user changed, nothing else). */
export function changedFields(base: HostFormValues, v: HostFormValues): Partial<CreateHostInput> {
  const a = formToBody(base) as Record<string, unknown>;
  const b = formToBody(v) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(b)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = b[k];
  return out as Partial<CreateHostInput>;
}

const opts = (xs: readonly string[]) => xs.map((x) => ({ value: x, label: x.replace('_', ' ') }));

export function HostForm({
  initial,
  onSubmit,
  submitLabel,
  error,
  busy,
  onCancel,
  banner,
  tagSuggestions = [],
  canSetTemplate = false,
}: {
  initial: HostFormValues;
  onSubmit: (v: HostFormValues) => void;
  submitLabel: string;
  error: unknown;
  busy: boolean;
  onCancel?: () => void;
  banner?: ReactNode;
  tagSuggestions?: string[];
  /** the server lets only settings:write set a host's access template (from /me permissions, never a role) */
  canSetTemplate?: boolean;
}) {
  const [v, setV] = useState<HostFormValues>(initial);
  const set = <K extends keyof HostFormValues>(k: K, value: HostFormValues[K]) =>
    setV((prev) => ({ ...prev, [k]: value }));
  const fe = (field: string) => (error instanceof ApiError ? error.fieldError(field) : undefined);
  const text = (k: keyof HostFormValues, label: string, props: Record<string, unknown> = {}) => (
    <TextInput
      label={label}
      value={v[k] as string}
      onChange={(e) => set(k, e.currentTarget.value as never)}
      error={fe(k)}
      name={k}
      data-testid={`host-${k}`}
      {...props}
    />
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(v);
  };
  const unmatched =
    error instanceof ApiError
      ? error.fieldErrors.filter((f) => !(f.field.split(/[.[]/)[0] in emptyHost))
      : [];
  return (
    <form onSubmit={submit} noValidate data-testid="host-form">
      <Stack gap="md">
        {banner}
        {error != null &&
          (error instanceof ApiError
            ? !error.fieldErrors.length || unmatched.length > 0 || error.status !== 400
            : true) && <ErrorAlert error={error} title="Could not save" />}
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          {text('hostname', 'Hostname', { required: true, placeholder: 'web-01' })}
          {text('ip', 'IP address', { required: true, placeholder: '192.0.2.10' })}
          {text('fqdn', 'FQDN', { placeholder: 'web-01.example.com' })}
          <Select
            label="Operating system"
            data={opts(OperatingSystems)}
            value={v.os}
            onChange={(x) => set('os', x ?? 'linux')}
            error={fe('os')}
            allowDeselect={false}
            data-testid="host-os"
          />
          <Select
            label="Environment"
            data={opts(HostEnvironments)}
            value={v.environment}
            onChange={(x) => set('environment', x ?? 'dev')}
            error={fe('environment')}
            allowDeselect={false}
            data-testid="host-environment"
          />
          <Select
            label="Criticality"
            data={opts(Criticalities)}
            value={v.criticality}
            onChange={(x) => set('criticality', x ?? 'medium')}
            error={fe('criticality')}
            allowDeselect={false}
            data-testid="host-criticality"
          />
          {text('owner', 'Owner', { placeholder: 'alice@example.com' })}
          {text('team', 'Team', { placeholder: 'platform' })}
        </SimpleGrid>
        <TagsInput
          label="Tags"
          description="Lower case; Enter or comma adds one"
          value={v.tags}
          onChange={(t) => set('tags', t)}
          data={tagSuggestions}
          error={fe('tags')}
          clearable
          data-testid="host-tags"
          splitChars={[',', ' ']}
        />
        <Textarea
          label="Notes"
          autosize
          minRows={2}
          maxRows={6}
          value={v.notes}
          onChange={(e) => set('notes', e.currentTarget.value)}
          error={fe('notes')}
          data-testid="host-notes"
        />
        <Stack gap={6}>
          <Text size="sm" fw={500}>
            Connection
          </Text>
          <SegmentedControl
            data={opts(ConnectionMethods)}
            value={v.connection_method}
            onChange={(x) => set('connection_method', x)}
          />
        </Stack>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          {text('ssh_user', 'SSH user', { placeholder: 'deploy' })}
          <NumberInput
            label="SSH port"
            min={1}
            max={65535}
            value={v.ssh_port}
            onChange={(x) => set('ssh_port', Number(x) || 22)}
            error={fe('ssh_port')}
          />
          {v.connection_method === 'bastion_ssh' && (
            <>
              {text('bastion_host', 'Bastion host', { required: true })}
              <NumberInput
                label="Bastion port"
                min={1}
                max={65535}
                value={v.bastion_port}
                onChange={(x) => set('bastion_port', Number(x) || 22)}
                error={fe('bastion_port')}
              />
            </>
          )}
        </SimpleGrid>
        {v.connection_method === 'teleport' && (
          <Text size="xs" c="dimmed">
            Teleport hosts are reached with tsh ssh through the proxy and cluster of the integration settings.
          </Text>
        )}
        {canSetTemplate && (
          <TextInput
            label="Access template"
            description="This host's own access command, e.g. ssh -p {{port}} {{user}}@{{host}}; empty: the global template of its connection method"
            placeholder="global template"
            value={v.access_template}
            onChange={(e) => set('access_template', e.currentTarget.value)}
            error={fe('access_template')}
            ff="monospace"
            name="access_template"
            data-testid="host-access_template"
          />
        )}
        <Group justify="flex-end" mt="sm">
          {onCancel && (
            <Button variant="default" onClick={onCancel}>
              Cancel
            </Button>
          )}
          <Button type="submit" loading={busy} data-testid="host-submit">
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
