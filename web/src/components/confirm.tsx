import { Text } from '@mantine/core';
import { modals } from '@mantine/modals';

/** A confirmation dialog for destructive actions (keyboard: Enter confirms, Escape cancels). */
export function modalsConfirm({
  title,
  body,
  confirm,
  onConfirm,
}: {
  title: string;
  body: string;
  confirm: string;
  onConfirm: () => void;
}) {
  modals.openConfirmModal({
    title,
    children: <Text size="sm">{body}</Text>,
    labels: { confirm, cancel: 'Cancel' },
    confirmProps: { color: 'red', 'data-testid': 'confirm-button' } as Record<string, string>,
    onConfirm,
  });
}
