import { ActionIcon, Anchor, Badge, CopyButton, Group, Menu, Table, Text, Tooltip } from '@mantine/core';
import { modalsConfirm } from './confirm';
import { notifications } from '@mantine/notifications';
import type { ArtifactView } from '@opsdesk/contracts';
import {
  IconCheck,
  IconCopy,
  IconDots,
  IconDownload,
  IconRosetteDiscountCheck,
  IconTrash,
} from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { artifactsApi, describeError, download } from '../api';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { formatBytes, formatDate, timeAgo } from './format';

function VerifyBadge({ a }: { a: ArtifactView }) {
  if (a.last_verify_ok === null)
    return (
      <Badge variant="light" color="gray">
        not verified
      </Badge>
    );
  return a.last_verify_ok ? (
    <Tooltip label={`Verified ${formatDate(a.last_verified_at)}`}>
      <Badge variant="light" color="green" data-testid="verify-ok">
        verified
      </Badge>
    </Tooltip>
  ) : (
    <Badge variant="filled" color="red">
      mismatch
    </Badge>
  );
}

/** Artifacts with sha256, download, verify and delete (each shown only to roles that may do it). */
export function ArtifactTable({
  items,
  showHost = false,
  hostNames = {},
}: {
  items: ArtifactView[];
  showHost?: boolean;
  hostNames?: Record<string, string>;
}) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const verify = useMutation({
    mutationFn: artifactsApi.verify,
    onSuccess: (r) => {
      notifications.show({
        color: r.ok ? 'green' : 'red',
        title: r.ok ? 'Verified: the stored file matches its SHA-256' : 'Verification failed',
        message: r.ok
          ? r.expected_sha256
          : `expected ${r.expected_sha256}, got ${r.actual_sha256 ?? 'missing file'}`,
      });
      void qc.invalidateQueries({ queryKey: ['artifacts'] });
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Verify failed', message: describeError(e) }),
  });
  const remove = useMutation({
    mutationFn: artifactsApi.remove,
    onSuccess: () => {
      notifications.show({ color: 'green', message: 'Artifact deleted' });
      void qc.invalidateQueries({ queryKey: ['artifacts'] });
    },
    onError: (e) => notifications.show({ color: 'red', title: 'Delete failed', message: describeError(e) }),
  });
  const get = async (a: ArtifactView) => {
    try {
      await download(artifactsApi.downloadPath(a.id), a.filename);
    } catch (e) {
      notifications.show({ color: 'red', title: 'Download failed', message: describeError(e) });
    }
  };

  return (
    <Table.ScrollContainer minWidth={760}>
      <Table data-testid="artifacts-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>File</Table.Th>
            {showHost && <Table.Th>Host</Table.Th>}
            <Table.Th>Kind</Table.Th>
            <Table.Th>Size</Table.Th>
            <Table.Th>SHA-256</Table.Th>
            <Table.Th>Uploaded</Table.Th>
            <Table.Th>Integrity</Table.Th>
            <Table.Th w={90} />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((a) => (
            <Table.Tr key={a.id} data-artifact={a.original_name} data-sha256={a.sha256}>
              <Table.Td>
                <Text size="sm" fw={500}>
                  {a.original_name}
                </Text>
                {a.description && (
                  <Text size="xs" c="dimmed">
                    {a.description}
                  </Text>
                )}
              </Table.Td>
              {showHost && (
                <Table.Td>
                  <Anchor component={Link} to={`/hosts/${a.host_id}`} size="sm">
                    {hostNames[a.host_id] ?? a.host_id.slice(0, 8)}
                  </Anchor>
                </Table.Td>
              )}
              <Table.Td>
                <Badge variant="outline" color="gray" tt="none">
                  {a.kind.replace('_', ' ')}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{formatBytes(a.size)}</Text>
              </Table.Td>
              <Table.Td>
                <Group gap={4} wrap="nowrap">
                  <Tooltip label={a.sha256} multiline maw={300}>
                    <Text className="mono" data-testid="artifact-sha256">
                      {a.sha256.slice(0, 16)}…
                    </Text>
                  </Tooltip>
                  <CopyButton value={a.sha256}>
                    {({ copied, copy }) => (
                      <ActionIcon
                        size="sm"
                        variant="subtle"
                        color="gray"
                        onClick={copy}
                        aria-label="Copy SHA-256"
                      >
                        {copied ? <IconCheck size={14} /> : <IconCopy size={14} />}
                      </ActionIcon>
                    )}
                  </CopyButton>
                </Group>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{timeAgo(a.uploaded_at)}</Text>
                <Text size="xs" c="dimmed">
                  {a.uploaded_by_email ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>
                <VerifyBadge a={a} />
              </Table.Td>
              <Table.Td>
                <Group gap={4} wrap="nowrap" justify="flex-end">
                  {can(Permissions.ARTIFACTS_DOWNLOAD) && (
                    <Tooltip label="Download">
                      <ActionIcon
                        variant="subtle"
                        onClick={() => void get(a)}
                        aria-label={`Download ${a.original_name}`}
                        data-testid="artifact-download"
                      >
                        <IconDownload size={18} />
                      </ActionIcon>
                    </Tooltip>
                  )}
                  {(can(Permissions.ARTIFACTS_DOWNLOAD) || can(Permissions.ARTIFACTS_WRITE)) && (
                    <Menu position="bottom-end">
                      <Menu.Target>
                        <ActionIcon
                          variant="subtle"
                          color="gray"
                          aria-label="More actions"
                          data-testid="artifact-menu"
                        >
                          <IconDots size={18} />
                        </ActionIcon>
                      </Menu.Target>
                      <Menu.Dropdown>
                        {can(Permissions.ARTIFACTS_DOWNLOAD) && (
                          <Menu.Item
                            leftSection={<IconRosetteDiscountCheck size={16} />}
                            onClick={() => verify.mutate(a.id)}
                            data-testid="artifact-verify"
                          >
                            Verify integrity
                          </Menu.Item>
                        )}
                        {can(Permissions.ARTIFACTS_WRITE) && (
                          <Menu.Item
                            color="red"
                            leftSection={<IconTrash size={16} />}
                            data-testid="artifact-delete"
                            onClick={() =>
                              modalsConfirm({
                                title: `Delete ${a.original_name}?`,
                                body: 'The file is removed for good. The deletion is recorded in the audit trail.',
                                confirm: 'Delete',
                                onConfirm: () => remove.mutate(a.id),
                              })
                            }
                          >
                            Delete
                          </Menu.Item>
                        )}
                      </Menu.Dropdown>
                    </Menu>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
