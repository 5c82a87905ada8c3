import {
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { ConnectionMethods, type IntegrationSettingsView } from '@opsdesk/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError, settingsApi } from '../api';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { formatBytes, formatDate } from '../components/format';
import { PageHeader } from '../components/PageHeader';
import { ErrorAlert, TableSkeleton } from '../components/states';

function IntegrationForm({ current, editable }: { current: IntegrationSettingsView; editable: boolean }) {
  const qc = useQueryClient();
  const [url, setUrl] = useState(current.prometheus_url ?? '');
  const [template, setTemplate] = useState(current.instance_template);
  const [ttl, setTtl] = useState<number>(current.snapshot_ttl_seconds);
  const save = useMutation({
    mutationFn: () =>
      settingsApi.updateIntegrations({
        prometheus_url: url.trim() || null,
        instance_template: template.trim(),
        snapshot_ttl_seconds: ttl,
      }),
    onSuccess: (v) => {
      qc.setQueryData(['settings', 'integrations'], v);
      void qc.invalidateQueries({ queryKey: ['settings', 'runtime'] }); // "Prometheus configured" comes from there
      notifications.show({ color: 'green', message: 'Integration settings saved' });
    },
  });
  const fe = (f: string) => (save.error instanceof ApiError ? save.error.fieldError(f) : undefined);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit}>
      <Stack>
        {save.error != null && !(save.error instanceof ApiError && save.error.fieldErrors.length) && (
          <ErrorAlert error={save.error} />
        )}
        <TextInput
          label="Prometheus URL"
          description={
            current.prometheus_url_source === 'env'
              ? 'Currently from the environment (PROMETHEUS_URL); saving here overrides it'
              : 'Credentials in the URL are stored but never shown'
          }
          placeholder="http://prometheus:9090"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
          error={fe('prometheus_url')}
          disabled={!editable}
          data-testid="settings-prometheus-url"
        />
        <TextInput
          label="Instance template"
          description="The node_exporter instance label of a host: {ip}, {hostname} or {fqdn}"
          value={template}
          onChange={(e) => setTemplate(e.currentTarget.value)}
          data-testid="settings-instance-template"
          error={fe('instance_template')}
          disabled={!editable}
        />
        <NumberInput
          label="Snapshot lifetime (seconds)"
          min={60}
          value={ttl}
          onChange={(v) => setTtl(Number(v) || 0)}
          error={fe('snapshot_ttl_seconds')}
          disabled={!editable}
        />
        <Group justify="space-between">
          <Text size="xs" c="dimmed">
            {current.updated_at
              ? `Last changed ${formatDate(current.updated_at)}${current.updated_by ? ` by ${current.updated_by}` : ''}`
              : 'Never changed here'}
          </Text>
          {editable && (
            <Button type="submit" loading={save.isPending} data-testid="settings-save">
              Save
            </Button>
          )}
        </Group>
      </Stack>
    </form>
  );
}

type Method = (typeof ConnectionMethods)[number];

/**
 * Global access templates per connection method and the Teleport proxy/cluster. An empty template field sends
 * null: the built-in default (shown as the placeholder) applies again.
 */
export function AccessSettingsForm({
  current,
  editable,
}: {
  current: IntegrationSettingsView;
  editable: boolean;
}) {
  const qc = useQueryClient();
  const [templates, setTemplates] = useState<Record<Method, string>>({
    direct_ssh: current.access_templates.direct_ssh ?? '',
    bastion_ssh: current.access_templates.bastion_ssh ?? '',
    teleport: current.access_templates.teleport ?? '',
  });
  const [proxy, setProxy] = useState(current.teleport_proxy ?? '');
  const [cluster, setCluster] = useState(current.teleport_cluster ?? '');
  const save = useMutation({
    mutationFn: () =>
      settingsApi.updateIntegrations({
        access_templates: {
          direct_ssh: templates.direct_ssh.trim() || null,
          bastion_ssh: templates.bastion_ssh.trim() || null,
          teleport: templates.teleport.trim() || null,
        },
        teleport_proxy: proxy.trim() || null,
        teleport_cluster: cluster.trim() || null,
      }),
    onSuccess: (v) => {
      qc.setQueryData(['settings', 'integrations'], v);
      void qc.invalidateQueries({ queryKey: ['settings', 'runtime'] }); // "Teleport configured" comes from there
      notifications.show({ color: 'green', message: 'Access settings saved' });
    },
  });
  const fe = (f: string) => (save.error instanceof ApiError ? save.error.fieldError(f) : undefined);
  const known = (f: string) =>
    f.startsWith('access_templates') || f === 'teleport_proxy' || f === 'teleport_cluster';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit} noValidate data-testid="access-settings">
      <Stack>
        {save.error != null &&
          !(
            save.error instanceof ApiError &&
            save.error.fieldErrors.length &&
            save.error.fieldErrors.every((f) => known(f.field))
          ) && <ErrorAlert error={save.error} />}
        <Text size="xs" c="dimmed">
          The command people paste for a host, per connection method. Placeholders: {'{{user}} {{host}} '}
          {'{{hostname}} {{port}} {{jump}} {{bastion}} {{bastion_port}} {{proxy}} {{cluster}}'}. Empty: the
          built-in default (shown greyed). A host&apos;s own template wins over these.
        </Text>
        {ConnectionMethods.map((m) => (
          <TextInput
            key={m}
            label={`Template: ${m.replace('_', ' ')}`}
            description={
              current.access_templates[m] == null
                ? 'Using the built-in default'
                : 'Custom (clear it to restore the default)'
            }
            placeholder={current.default_access_templates[m]}
            value={templates[m]}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setTemplates((t) => ({ ...t, [m]: value }));
            }}
            error={fe(`access_templates.${m}`)}
            disabled={!editable}
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
            data-testid={`settings-template-${m}`}
          />
        ))}
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput
            label="Teleport proxy"
            description="host or host:port; empty: teleport hosts cannot be reached"
            placeholder="teleport.example.com:443"
            value={proxy}
            onChange={(e) => setProxy(e.currentTarget.value)}
            error={fe('teleport_proxy')}
            disabled={!editable}
            data-testid="settings-teleport-proxy"
          />
          <TextInput
            label="Teleport cluster"
            description="empty: the proxy's own cluster"
            placeholder="main"
            value={cluster}
            onChange={(e) => setCluster(e.currentTarget.value)}
            error={fe('teleport_cluster')}
            disabled={!editable}
            data-testid="settings-teleport-cluster"
          />
        </SimpleGrid>
        {editable && (
          <Group justify="flex-end">
            <Button type="submit" loading={save.isPending} data-testid="settings-access-save">
              Save access settings
            </Button>
          </Group>
        )}
      </Stack>
    </form>
  );
}

export default function SettingsPage() {
  const { can } = useAuth();
  const runtime = useQuery({ queryKey: ['settings', 'runtime'], queryFn: settingsApi.runtime });
  const integrations = useQuery({
    queryKey: ['settings', 'integrations'],
    queryFn: settingsApi.integrations,
    enabled: can(Permissions.HOSTS_READ),
  });
  const r = runtime.data;
  const info = (label: string, value: React.ReactNode) => (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm">{value}</Text>
    </Stack>
  );
  return (
    <>
      <PageHeader
        title="Settings"
        description={
          can(Permissions.SETTINGS_WRITE)
            ? 'Integrations and runtime information.'
            : 'Runtime information (admins can change integrations).'
        }
      />
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Card>
          <Title order={4} mb="md">
            Prometheus integration
          </Title>
          {integrations.isLoading ? (
            <TableSkeleton rows={3} />
          ) : integrations.error ? (
            <ErrorAlert error={integrations.error} />
          ) : (
            integrations.data && (
              <IntegrationForm current={integrations.data} editable={can(Permissions.SETTINGS_WRITE)} />
            )
          )}
        </Card>
        <Card>
          <Title order={4} mb="md">
            Runtime
          </Title>
          {runtime.isLoading ? (
            <TableSkeleton rows={3} />
          ) : runtime.error ? (
            <ErrorAlert error={runtime.error} />
          ) : (
            r && (
              <SimpleGrid cols={2} spacing="md" data-testid="runtime-info">
                {info('Environment', <Badge variant="light">{r.environment}</Badge>)}
                {info('Version', r.version)}
                {info(
                  'Prometheus',
                  r.prometheus.configured ? `configured (${r.prometheus.source})` : 'not configured',
                )}
                {info(
                  'Teleport',
                  r.teleport_configured === undefined
                    ? '—'
                    : r.teleport_configured
                      ? 'configured'
                      : 'not configured',
                )}
                {info(
                  'Artifact size limit',
                  r.max_artifact_size_bytes != null
                    ? formatBytes(r.max_artifact_size_bytes)
                    : r.max_artifact_size_mb != null
                      ? `${r.max_artifact_size_mb} MB`
                      : 'no limit',
                )}
                {info('Snapshot lifetime', `${r.metrics.snapshot_ttl_seconds} s`)}
                {info('Page size', `${r.limits.page_limit_default} (max ${r.limits.page_limit_max})`)}
                {info(
                  'Import limit',
                  `${formatBytes(r.limits.import_max_bytes)}, ${r.limits.import_max_rows.toLocaleString()} rows`,
                )}
              </SimpleGrid>
            )
          )}
        </Card>
      </SimpleGrid>
      {integrations.data && (
        <Card mt="md">
          <Title order={4} mb="md">
            Access commands and Teleport
          </Title>
          <AccessSettingsForm
            key={integrations.data.version}
            current={integrations.data}
            editable={can(Permissions.SETTINGS_WRITE)}
          />
        </Card>
      )}
    </>
  );
}
