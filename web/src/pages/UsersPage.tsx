import {
  ActionIcon,
  Badge,
  Button,
  Card,
  Group,
  Menu,
  Modal,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { Roles, type Page, type UserView } from '@opsdesk/contracts';
import {
  IconDots,
  IconMail,
  IconPlus,
  IconSearch,
  IconShieldOff,
  IconUserOff,
  IconUserCheck,
} from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError, describeError, usersApi } from '../api';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { RoleBadge } from '../components/badges';
import { modalsConfirm } from '../components/confirm';
import { timeAgo } from '../components/format';
import { PageHeader } from '../components/PageHeader';
import { EmptyState, ErrorAlert, TableSkeleton } from '../components/states';

function CreateUserModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<string>('viewer');
  const create = useMutation({
    mutationFn: () => usersApi.create({ email, password, role: role as UserView['role'] }),
    onSuccess: (u) => {
      notifications.show({ color: 'green', title: 'User created', message: u.email });
      void qc.invalidateQueries({ queryKey: ['users'] });
      setEmail('');
      setPassword('');
      onClose();
    },
  });
  const fe = (f: string) => (create.error instanceof ApiError ? create.error.fieldError(f) : undefined);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New user">
      <form onSubmit={submit} noValidate>
        <Stack>
          {create.error != null && !(create.error instanceof ApiError && create.error.fieldErrors.length) && (
            <ErrorAlert error={create.error} />
          )}
          <TextInput
            label="Email"
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={fe('email')}
            data-testid="user-email-input"
          />
          <PasswordInput
            label="Initial password"
            description="At least 12 characters mixing three of: lower, upper, digits, symbols"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={fe('password')}
            data-testid="user-password-input"
          />
          <Select
            label="Role"
            data={[...Roles]}
            value={role}
            onChange={(v) => setRole(v ?? 'viewer')}
            allowDeselect={false}
            data-testid="user-role-input"
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} data-testid="user-create-submit">
              Create user
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** An admin changes a user's email (the user's tokens are cut off); a taken email (409) shows at the field. */
export function ChangeEmailModal({ user, onClose }: { user: UserView | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [email, setEmail] = useState(user?.email ?? '');
  const change = useMutation({
    mutationFn: () => usersApi.update(user!.id, { email: email.trim() }),
    onSuccess: (u) => {
      notifications.show({ color: 'green', title: 'Email changed', message: u.email });
      void qc.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
  });
  const err = change.error;
  const fieldMsg =
    err instanceof ApiError
      ? (err.fieldError('email') ?? (err.status === 409 ? 'is already taken by another user' : undefined))
      : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <Modal opened={user != null} onClose={onClose} title={`Change email of ${user?.email ?? ''}`}>
      <form onSubmit={submit} noValidate data-testid="change-email-form">
        <Stack>
          {err != null && !fieldMsg && <ErrorAlert error={err} />}
          <Text size="sm" c="dimmed">
            They are signed out everywhere at once and sign in with the new email from then on.
          </Text>
          <TextInput
            label="New email"
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={fieldMsg}
            data-testid="change-email-input"
            data-autofocus
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button
              type="submit"
              loading={change.isPending}
              disabled={!email.trim() || email.trim() === user?.email}
              data-testid="change-email-submit"
            >
              Change email
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function UsersPage() {
  const { can, me } = useAuth();
  const qc = useQueryClient();
  const [q, setQ] = useState('');
  const [dq] = useDebouncedValue(q, 250);
  const [role, setRole] = useState<string | null>(null);
  const [createOpen, setCreateOpen] = useState(false);
  const [emailOf, setEmailOf] = useState<UserView | null>(null);
  // keyset paging: the cursors of the pages before this one (a new search or role filter starts again)
  const [cursors, setCursors] = useState<string[]>([]);
  const [filterKey, setFilterKey] = useState('');
  if (filterKey !== `${dq}|${role ?? ''}`) {
    setFilterKey(`${dq}|${role ?? ''}`);
    setCursors([]);
  }
  const cursor = cursors.at(-1);
  const users = useQuery({
    queryKey: ['users', { q: dq, role, cursor }],
    queryFn: () => usersApi.list({ q: dq || undefined, role: role ?? undefined, cursor }),
    placeholderData: (prev) => prev,
  });
  const onDone = (msg: string) => () => {
    notifications.show({ color: 'green', message: msg });
    void qc.invalidateQueries({ queryKey: ['users'] });
  };
  const onFail = (e: unknown) =>
    notifications.show({ color: 'red', title: 'Not changed', message: describeError(e) });
  const listKey = ['users', { q: dq, role, cursor }];
  const update = useMutation({
    mutationFn: (v: { id: string; role?: UserView['role']; is_active?: boolean }) =>
      usersApi.update(v.id, { role: v.role, is_active: v.is_active }),
    // optimistic: the row shows the new role/status at once; the server's answer (or a rollback) follows
    onMutate: async (v) => {
      await qc.cancelQueries({ queryKey: listKey });
      const previous = qc.getQueryData<Page<UserView>>(listKey);
      if (previous)
        qc.setQueryData<Page<UserView>>(listKey, {
          ...previous,
          items: previous.items.map((u) =>
            u.id === v.id
              ? {
                  ...u,
                  ...(v.role ? { role: v.role } : {}),
                  ...(v.is_active !== undefined ? { is_active: v.is_active } : {}),
                }
              : u,
          ),
        });
      return { previous };
    },
    onSuccess: onDone('User updated'),
    onError: (e, _v, ctx) => {
      if (ctx?.previous) qc.setQueryData(listKey, ctx.previous);
      onFail(e);
    },
  });
  const resetMfa = useMutation({
    mutationFn: usersApi.resetMfa,
    onSuccess: onDone('MFA reset: the user enrols again at next sign-in'),
    onError: onFail,
  });
  const writable = can(Permissions.USERS_WRITE);

  return (
    <>
      <PageHeader
        title="Users"
        description="Who can sign in, and with which role. Role changes and deactivation take effect at once."
        actions={
          writable && (
            <Button
              leftSection={<IconPlus size={16} />}
              onClick={() => setCreateOpen(true)}
              data-testid="users-new"
            >
              New user
            </Button>
          )
        }
      />
      <Card p="md" mb="md">
        <Group gap="sm">
          <TextInput
            placeholder="Search email"
            leftSection={<IconSearch size={16} />}
            value={q}
            onChange={(e) => setQ(e.currentTarget.value)}
            style={{ flex: 1 }}
            aria-label="Search users"
          />
          <Select
            placeholder="Any role"
            data={[...Roles]}
            value={role}
            onChange={setRole}
            clearable
            w={160}
            aria-label="Role"
          />
        </Group>
      </Card>
      {users.error && <ErrorAlert error={users.error} onRetry={() => void users.refetch()} />}
      <Card p={0}>
        {users.isLoading ? (
          <div style={{ padding: 16 }}>
            <TableSkeleton rows={5} />
          </div>
        ) : !users.data?.items.length ? (
          <EmptyState title="No users match" />
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table data-testid="users-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>MFA</Table.Th>
                  <Table.Th>Last sign-in</Table.Th>
                  <Table.Th w={60} />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {users.data.items.map((u) => {
                  const self = u.id === me?.id;
                  return (
                    <Table.Tr key={u.id} data-email={u.email}>
                      <Table.Td>
                        <Text size="sm" fw={500}>
                          {u.email}
                        </Text>
                        {self && (
                          <Text size="xs" c="dimmed">
                            you
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>
                        {writable && !self ? (
                          <Select
                            size="xs"
                            w={120}
                            data={[...Roles]}
                            value={u.role}
                            allowDeselect={false}
                            onChange={(v) =>
                              v && v !== u.role && update.mutate({ id: u.id, role: v as UserView['role'] })
                            }
                            aria-label={`Role of ${u.email}`}
                          />
                        ) : (
                          <RoleBadge value={u.role} />
                        )}
                      </Table.Td>
                      <Table.Td>
                        <Badge color={u.is_active ? 'green' : 'gray'} variant="light">
                          {u.is_active ? 'active' : 'deactivated'}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        {u.mfa_enabled ? (
                          <Badge color="indigo" variant="light">
                            on
                          </Badge>
                        ) : (
                          <Text size="sm" c="dimmed">
                            off
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" c="dimmed">
                          {timeAgo(u.last_login_at)}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        {writable && !self && (
                          <Menu position="bottom-end">
                            <Menu.Target>
                              <ActionIcon variant="subtle" color="gray" aria-label={`Actions for ${u.email}`}>
                                <IconDots size={18} />
                              </ActionIcon>
                            </Menu.Target>
                            <Menu.Dropdown>
                              <Menu.Item
                                leftSection={<IconMail size={16} />}
                                onClick={() => setEmailOf(u)}
                                data-testid="user-change-email"
                              >
                                Change email
                              </Menu.Item>
                              {u.is_active ? (
                                <Menu.Item
                                  color="red"
                                  leftSection={<IconUserOff size={16} />}
                                  onClick={() =>
                                    modalsConfirm({
                                      title: `Deactivate ${u.email}?`,
                                      body: 'They are signed out everywhere at once and cannot sign in until reactivated.',
                                      confirm: 'Deactivate',
                                      onConfirm: () => update.mutate({ id: u.id, is_active: false }),
                                    })
                                  }
                                >
                                  Deactivate
                                </Menu.Item>
                              ) : (
                                <Menu.Item
                                  leftSection={<IconUserCheck size={16} />}
                                  onClick={() => update.mutate({ id: u.id, is_active: true })}
                                >
                                  Reactivate
                                </Menu.Item>
                              )}
                              {u.mfa_enabled && (
                                <Menu.Item
                                  leftSection={<IconShieldOff size={16} />}
                                  onClick={() =>
                                    modalsConfirm({
                                      title: `Reset MFA for ${u.email}?`,
                                      body: 'Their authenticator and recovery codes stop working; they can sign in with the password alone and enrol again.',
                                      confirm: 'Reset MFA',
                                      onConfirm: () => resetMfa.mutate(u.id),
                                    })
                                  }
                                >
                                  Reset MFA
                                </Menu.Item>
                              )}
                            </Menu.Dropdown>
                          </Menu>
                        )}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {(cursors.length > 0 || users.data?.next_cursor) && (
          <Group justify="flex-end" p="sm" gap="xs" data-testid="users-paging">
            <Text size="xs" c="dimmed">
              Page {cursors.length + 1}
            </Text>
            <Button
              size="xs"
              variant="default"
              disabled={cursors.length === 0}
              onClick={() => setCursors((c) => c.slice(0, -1))}
              data-testid="users-prev"
            >
              Previous
            </Button>
            <Button
              size="xs"
              variant="default"
              disabled={!users.data?.next_cursor || users.isPlaceholderData}
              onClick={() => {
                const next = users.data?.next_cursor;
                if (next) setCursors((c) => [...c, next]);
              }}
              data-testid="users-next"
            >
              Next
            </Button>
          </Group>
        )}
      </Card>
      <ChangeEmailModal key={emailOf?.id ?? 'none'} user={emailOf} onClose={() => setEmailOf(null)} />
      <CreateUserModal opened={createOpen} onClose={() => setCreateOpen(false)} />
    </>
  );
}
