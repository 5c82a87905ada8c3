import { Alert, Button, Center, Group, Skeleton, Stack, Text, ThemeIcon } from '@mantine/core';
import { IconAlertTriangle, IconInbox, IconLock, IconWifiOff } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { ApiError, describeError } from '../api';

/** A failed request as a person reads it: message, field errors, request id to quote to an admin, retry. */
export function ErrorAlert({
  error,
  onRetry,
  title,
}: {
  error: unknown;
  onRetry?: () => void;
  title?: string;
}) {
  const e = error instanceof ApiError ? error : null;
  const offline = e?.kind === 'offline' || e?.kind === 'network' || e?.kind === 'timeout';
  return (
    <Alert
      color={offline ? 'orange' : 'red'}
      variant="light"
      icon={offline ? <IconWifiOff size={18} /> : <IconAlertTriangle size={18} />}
      title={title ?? (offline ? 'Connection problem' : 'Something went wrong')}
      role="alert"
      data-testid="error-alert"
    >
      <Stack gap={6}>
        <Text size="sm">{describeError(error)}</Text>
        {e?.requestId && (
          <Text size="xs" c="dimmed">
            Request id: <code>{e.requestId}</code>
          </Text>
        )}
        {onRetry && (
          <Group>
            <Button size="xs" variant="default" onClick={onRetry}>
              Try again
            </Button>
          </Group>
        )}
      </Stack>
    </Alert>
  );
}

export function EmptyState({
  title,
  children,
  action,
  icon,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  icon?: ReactNode;
}) {
  return (
    <Center py={48} data-testid="empty-state">
      <Stack align="center" gap="xs" maw={420}>
        <ThemeIcon size={48} radius="xl" variant="light" color="gray">
          {icon ?? <IconInbox size={26} />}
        </ThemeIcon>
        <Text fw={600}>{title}</Text>
        {children && (
          <Text size="sm" c="dimmed" ta="center">
            {children}
          </Text>
        )}
        {action}
      </Stack>
    </Center>
  );
}

export function ForbiddenState() {
  return (
    <EmptyState title="Not available for your role" icon={<IconLock size={26} />}>
      Ask an admin if you need access to this page.
    </EmptyState>
  );
}

export function TableSkeleton({ rows = 8 }: { rows?: number }) {
  return (
    <Stack gap="xs" aria-busy="true" aria-label="Loading">
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} height={34} radius="sm" />
      ))}
    </Stack>
  );
}
