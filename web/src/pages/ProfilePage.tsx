import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Grid,
  Group,
  Image,
  Modal,
  NumberInput,
  PasswordInput,
  PinInput,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { ApiTokenScopes, maxScopeFor, scopeRank, type ApiTokenScope, type ApiTokenView } from '@opsdesk/contracts';

const SCOPE_LABELS: Record<ApiTokenScope, string> = { read: 'read (view, download)', write: 'write (+ change hosts)', admin: 'admin (everything)' };
import { IconCheck, IconCopy, IconKey, IconShieldLock, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import QRCode from 'qrcode';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, authApi, describeError } from '../api';
import { useAuth } from '../auth/AuthProvider';
import { RoleBadge } from '../components/badges';
import { modalsConfirm } from '../components/confirm';
import { formatDate, timeAgo } from '../components/format';
import { PageHeader } from '../components/PageHeader';
import { EmptyState, ErrorAlert, TableSkeleton } from '../components/states';

function Copy({ value, label }: { value: string; label: string }) {
  return (
    <CopyButton value={value}>
      {({ copied, copy }) => (
        <Tooltip label={copied ? 'Copied' : label}>
          <ActionIcon variant="light" onClick={copy} aria-label={label}>
            {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
          </ActionIcon>
        </Tooltip>
      )}
    </CopyButton>
  );
}

function PasswordCard() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const change = useMutation({
    mutationFn: () => authApi.changePassword({ current_password: current, new_password: next }),
    onSuccess: () => {
      setCurrent('');
      setNext('');
      notifications.show({
        color: 'green',
        title: 'Password changed',
        message: 'Your other sessions were signed out.',
      });
    },
  });
  const fe = (f: string) => (change.error instanceof ApiError ? change.error.fieldError(f) : undefined);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <Card>
      <Title order={4} mb="md">
        Password
      </Title>
      <form onSubmit={submit}>
        <Stack>
          {change.error != null && !(change.error instanceof ApiError && change.error.fieldErrors.length) && (
            <ErrorAlert error={change.error} />
          )}
          <PasswordInput
            label="Current password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.currentTarget.value)}
            error={fe('current_password')}
          />
          <PasswordInput
            label="New password"
            autoComplete="new-password"
            description="12+ characters, three of: lower, upper, digits, symbols"
            value={next}
            onChange={(e) => setNext(e.currentTarget.value)}
            error={fe('new_password')}
          />
          <Group justify="flex-end">
            <Button type="submit" loading={change.isPending} disabled={!current || !next}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function MfaCard() {
  const { me } = useAuth();
  const qc = useQueryClient();
  const [setup, setSetup] = useState<{ secret: string; otpauth_url: string } | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [disableOpen, setDisableOpen] = useState(false);
  const [disableCode, setDisableCode] = useState('');
  const [disablePassword, setDisablePassword] = useState('');
  useEffect(() => {
    if (setup) void QRCode.toDataURL(setup.otpauth_url, { margin: 1, width: 200 }).then(setQr);
  }, [setup]);
  const start = useMutation({ mutationFn: authApi.mfaSetup, onSuccess: setSetup });
  const enable = useMutation({
    mutationFn: () => authApi.mfaEnable(code),
    onSuccess: (r) => {
      setCodes(r.recovery_codes);
      setSetup(null);
      void qc.invalidateQueries({ queryKey: ['me'] });
    },
    onError: () => setCode(''),
  });
  const disable = useMutation({
    mutationFn: () => authApi.mfaDisable({ code: disableCode.trim(), password: disablePassword }),
    onSuccess: () => {
      setDisableOpen(false);
      void qc.invalidateQueries({ queryKey: ['me'] });
      notifications.show({ color: 'green', message: 'Two-step verification turned off' });
    },
  });
  return (
    <Card>
      <Group justify="space-between" mb="md">
        <Title order={4}>Two-step verification</Title>
        <Badge color={me?.mfa_enabled ? 'green' : 'gray'} variant="light" data-testid="mfa-status">
          {me?.mfa_enabled ? 'on' : 'off'}
        </Badge>
      </Group>
      {codes ? (
        <Stack data-testid="recovery-codes">
          <Alert color="yellow" variant="light" title="Save your recovery codes now">
            Each code signs you in once if you lose your authenticator. They are shown only this time.
          </Alert>
          <SimpleGrid cols={2} spacing={6}>
            {codes.map((c) => (
              <Code key={c} ta="center" fz="md">
                {c}
              </Code>
            ))}
          </SimpleGrid>
          <Group justify="space-between">
            <CopyButton value={codes.join('\n')}>
              {({ copied, copy }) => (
                <Button variant="default" onClick={copy}>
                  {copied ? 'Copied' : 'Copy all'}
                </Button>
              )}
            </CopyButton>
            <Button onClick={() => setCodes(null)} data-testid="recovery-done">
              I saved them
            </Button>
          </Group>
        </Stack>
      ) : me?.mfa_enabled ? (
        <Stack>
          <Text size="sm" c="dimmed">
            Signing in asks for a code from your authenticator app (or a recovery code).
          </Text>
          <Group justify="flex-end">
            <Button variant="default" color="red" onClick={() => setDisableOpen(true)}>
              Turn off
            </Button>
          </Group>
        </Stack>
      ) : setup ? (
        <Stack data-testid="mfa-setup">
          <Text size="sm">
            Scan the code with an authenticator app (or type the key), then enter the 6-digit code it shows.
          </Text>
          <Group align="flex-start" wrap="wrap">
            {qr && (
              <Image
                src={qr}
                alt="QR code for your authenticator app"
                w={160}
                h={160}
                radius="sm"
                style={{ background: '#fff' }}
              />
            )}
            <Stack gap={6} style={{ flex: 1, minWidth: 180 }}>
              <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
                Key
              </Text>
              <Group gap={6} wrap="nowrap">
                <Code data-testid="mfa-secret" style={{ wordBreak: 'break-all' }}>
                  {setup.secret}
                </Code>
                <Copy value={setup.secret} label="Copy key" />
              </Group>
            </Stack>
          </Group>
          {enable.error != null && <ErrorAlert error={enable.error} title="Code not accepted" />}
          <Group>
            <PinInput
              length={6}
              type="number"
              oneTimeCode
              value={code}
              onChange={setCode}
              aria-label="Code from your app"
              data-testid="mfa-code"
            />
            <Button
              onClick={() => enable.mutate()}
              disabled={code.length !== 6}
              loading={enable.isPending}
              data-testid="mfa-enable"
            >
              Turn on
            </Button>
          </Group>
        </Stack>
      ) : (
        <Stack>
          <Text size="sm" c="dimmed">
            Protect your account with a time-based code from an authenticator app.
          </Text>
          {start.error != null && <ErrorAlert error={start.error} />}
          <Group justify="flex-end">
            <Button
              leftSection={<IconShieldLock size={16} />}
              onClick={() => start.mutate()}
              loading={start.isPending}
              data-testid="mfa-start"
            >
              Set up
            </Button>
          </Group>
        </Stack>
      )}
      <Modal
        opened={disableOpen}
        onClose={() => setDisableOpen(false)}
        title="Turn off two-step verification"
      >
        <Stack>
          {disable.error != null && <ErrorAlert error={disable.error} />}
          <TextInput
            label="Code or recovery code"
            value={disableCode}
            onChange={(e) => setDisableCode(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            value={disablePassword}
            onChange={(e) => setDisablePassword(e.currentTarget.value)}
          />
          <Group justify="flex-end">
            <Button color="red" onClick={() => disable.mutate()} loading={disable.isPending}>
              Turn off
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}

function TokensCard() {
  const qc = useQueryClient();
  const { me } = useAuth();
  // the scopes this user may give (never above their role; the server enforces the same rule)
  const scopes = me ? ApiTokenScopes.filter((s) => scopeRank(s) <= scopeRank(maxScopeFor(me.role))) : ['read' as const];
  const [scope, setScope] = useState<ApiTokenScope>('read');
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: authApi.tokens });
  const [name, setName] = useState('');
  const [days, setDays] = useState<number>(90);
  const [created, setCreated] = useState<(ApiTokenView & { token: string }) | null>(null);
  const create = useMutation({
    mutationFn: () => authApi.createToken({ name: name.trim(), scope, expires_in_days: days }),
    onSuccess: (t) => {
      setCreated(t);
      setName('');
      void qc.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const revoke = useMutation({
    mutationFn: authApi.revokeToken,
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tokens'] });
      notifications.show({ color: 'green', message: 'Token revoked' });
    },
    onError: (e) => notifications.show({ color: 'red', message: describeError(e) }),
  });
  const fe = (f: string) => (create.error instanceof ApiError ? create.error.fieldError(f) : undefined);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const active = (tokens.data?.items ?? []).filter((t) => !t.revoked_at);
  return (
    <Card>
      <Title order={4} mb={4}>
        Personal API tokens
      </Title>
      <Text size="sm" c="dimmed" mb="md">
        For scripts and CI: send as <Code>Authorization: Bearer odp_…</Code>. A token acts with its scope, never
        beyond your role, and cannot manage tokens, your password or two-step verification.
      </Text>
      {created && (
        <Alert
          color="green"
          variant="light"
          title={`Token “${created.name}” created — copy it now, it is shown only once`}
          mb="md"
          data-testid="token-created"
        >
          <Group gap={6} wrap="nowrap">
            <Code style={{ flex: 1, wordBreak: 'break-all' }} data-testid="token-value">
              {created.token}
            </Code>
            <Copy value={created.token} label="Copy token" />
          </Group>
        </Alert>
      )}
      <form onSubmit={submit}>
        <Group align="flex-end" gap="sm" mb="md">
          <TextInput
            label="Name"
            placeholder="ci-deploy"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fe('name')}
            style={{ flex: 1, minWidth: 160 }}
            data-testid="token-name"
          />
          <Select
            label="Scope"
            data={scopes.map((s) => ({ value: s, label: SCOPE_LABELS[s] }))}
            value={scope}
            onChange={(v) => v && setScope(v as ApiTokenScope)}
            allowDeselect={false}
            error={fe('scope')}
            w={190}
            data-testid="token-scope"
          />
          <NumberInput
            label="Expires in (days)"
            min={1}
            max={365}
            value={days}
            onChange={(v) => setDays(Number(v) || 1)}
            error={fe('expires_in_days')}
            w={150}
          />
          <Button
            type="submit"
            leftSection={<IconKey size={16} />}
            disabled={!name.trim()}
            loading={create.isPending}
            data-testid="token-create"
          >
            Create token
          </Button>
        </Group>
      </form>
      {create.error != null && !(create.error instanceof ApiError && create.error.fieldErrors.length) && (
        <ErrorAlert error={create.error} />
      )}
      {tokens.isLoading ? (
        <TableSkeleton rows={2} />
      ) : active.length === 0 ? (
        <EmptyState title="No active tokens" icon={<IconKey size={26} />} />
      ) : (
        <Table.ScrollContainer minWidth={520}>
          <Table data-testid="tokens-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Prefix</Table.Th>
                <Table.Th>Scope</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th w={50} />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {active.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td fw={500}>{t.name}</Table.Td>
                  <Table.Td className="mono">{t.prefix}…</Table.Td>
                  <Table.Td>{t.scope}</Table.Td>
                  <Table.Td>{formatDate(t.expires_at)}</Table.Td>
                  <Table.Td>{timeAgo(t.last_used_at)}</Table.Td>
                  <Table.Td>
                    <Tooltip label="Revoke">
                      <ActionIcon
                        variant="subtle"
                        color="red"
                        aria-label={`Revoke ${t.name}`}
                        onClick={() =>
                          modalsConfirm({
                            title: `Revoke “${t.name}”?`,
                            body: 'Anything using this token stops working at once.',
                            confirm: 'Revoke',
                            onConfirm: () => revoke.mutate(t.id),
                          })
                        }
                      >
                        <IconTrash size={16} />
                      </ActionIcon>
                    </Tooltip>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Card>
  );
}

export default function ProfilePage() {
  const { me } = useAuth();
  return (
    <>
      <PageHeader
        title="Profile"
        description={
          <Group gap={6} component="span">
            <span>{me?.email}</span>
            {me && <RoleBadge value={me.role} />}
          </Group>
        }
      />
      <Grid gutter="lg">
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Stack gap="lg">
            <MfaCard />
            <PasswordCard />
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <TokensCard />
        </Grid.Col>
      </Grid>
    </>
  );
}
