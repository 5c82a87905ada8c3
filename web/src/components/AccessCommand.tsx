import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  Stack,
  Text,
  Textarea,
  TextInput,
  Tooltip,
} from '@mantine/core';
import type { AccessCommandView, HostView } from '@opsdesk/contracts';
import { IconCheck, IconCopy, IconTerminal2 } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError, hostsApi } from '../api';
import { ErrorAlert } from './states';

const TEMPLATE_SOURCE: Record<AccessCommandView['template_source'], string> = {
  host: "Rendered from this host's own access template",
  settings: 'Rendered from the global access template of its connection method (settings)',
  default: 'Rendered from the built-in template of its connection method',
};

/** Governed SSH access: a reason is required for prod or critical hosts; the command is issued (and audited) by the server. */
export function AccessCommandModal({
  host,
  opened,
  onClose,
}: {
  host: HostView;
  opened: boolean;
  onClose: () => void;
}) {
  const needsReason = host.environment === 'prod' || host.criticality === 'critical';
  const [reason, setReason] = useState('');
  const [user, setUser] = useState(host.ssh_user ?? '');
  const [issued, setIssued] = useState<AccessCommandView | null>(null);
  const issue = useMutation({
    mutationFn: () =>
      hostsApi.accessCommand(host.id, { reason: reason.trim() || undefined, user: user.trim() || undefined }),
    onSuccess: setIssued,
  });
  const fe = (f: string) => (issue.error instanceof ApiError ? issue.error.fieldError(f) : undefined);
  const close = () => {
    setIssued(null);
    setReason('');
    issue.reset();
    onClose();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    issue.mutate();
  };
  return (
    <Modal opened={opened} onClose={close} title={`SSH access to ${host.hostname}`} size="lg">
      {issued ? (
        <Stack>
          <Text size="sm">
            Run this command. It was recorded in the audit trail{issued.reason ? ' with your reason' : ''}.
          </Text>
          <Group gap="xs" wrap="nowrap" align="center">
            <Code
              block
              // long commands (tsh with proxy and cluster, custom templates) wrap instead of being cut off
              style={{ flex: 1, fontSize: 14, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
              data-testid="access-command"
            >
              {issued.command}
            </Code>
            <CopyButton value={issued.command}>
              {({ copied, copy }) => (
                <Tooltip label={copied ? 'Copied' : 'Copy'}>
                  <ActionIcon
                    variant="light"
                    size="lg"
                    onClick={copy}
                    aria-label="Copy command"
                    data-testid="access-copy"
                  >
                    {copied ? <IconCheck size={18} /> : <IconCopy size={18} />}
                  </ActionIcon>
                </Tooltip>
              )}
            </CopyButton>
          </Group>
          <Group gap="xs" data-testid="access-meta">
            <Badge variant="light" color={issued.connection_method === 'teleport' ? 'violet' : 'gray'}>
              {issued.connection_method.replace('_', ' ')}
            </Badge>
            <Text size="xs" c="dimmed" data-testid="access-template-source">
              {TEMPLATE_SOURCE[issued.template_source]}
            </Text>
          </Group>
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            {host.connection_method === 'teleport' && (
              <Text size="sm" c="dimmed">
                A Teleport host: the command is a tsh ssh through the configured proxy.
              </Text>
            )}
            {needsReason && (
              <Alert color="orange" variant="light" icon={<IconTerminal2 size={18} />}>
                This is a {host.environment === 'prod' ? 'production' : 'critical'} host: say why you need
                access (e.g. a ticket).
              </Alert>
            )}
            <Textarea
              label="Reason"
              placeholder="OPS-123: restart nginx after config change"
              required={needsReason}
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
              error={fe('reason')}
              autosize
              minRows={2}
              data-testid="access-reason"
              data-autofocus
            />
            <TextInput
              label="SSH user"
              description={
                host.ssh_user ? `Default for this host: ${host.ssh_user}` : 'This host has no default user'
              }
              value={user}
              onChange={(e) => setUser(e.currentTarget.value)}
              error={fe('user')}
              data-testid="access-user"
            />
            {/* field errors of the form sit next to it; anything else (e.g. an unusable access_template, 409) here */}
            {issue.error &&
              !(
                issue.error instanceof ApiError &&
                issue.error.fieldErrors.length &&
                issue.error.fieldErrors.every((f) => f.field === 'reason' || f.field === 'user')
              ) && <ErrorAlert error={issue.error} />}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button
                type="submit"
                loading={issue.isPending}
                disabled={needsReason && !reason.trim()}
                data-testid="access-submit"
              >
                Get command
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
