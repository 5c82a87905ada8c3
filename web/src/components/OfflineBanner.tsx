import { Alert } from '@mantine/core';
import { useNetwork } from '@mantine/hooks';
import { IconWifiOff } from '@tabler/icons-react';

/** The browser lost its connection: say so once, at the top, instead of failing every request silently. */
export function OfflineBanner() {
  const { online } = useNetwork();
  if (online) return null;
  return (
    <Alert
      color="orange"
      icon={<IconWifiOff size={18} />}
      mb="md"
      title="You are offline"
      data-testid="offline-banner"
    >
      Changes cannot be saved until the connection is back; the console retries automatically.
    </Alert>
  );
}
