import { Center, Loader } from '@mantine/core';
import type { Permission } from '@opsdesk/contracts';
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ForbiddenState } from '../components/states';
import { useAuth } from './AuthProvider';

/** Signed-in pages: anonymous → sign-in; an expired session → sign-in that comes back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const loc = useLocation();
  if (status === 'booting')
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (status !== 'authenticated') {
    const next = `${loc.pathname}${loc.search}`;
    const params = new URLSearchParams({ next });
    if (status === 'expired') params.set('expired', '1');
    return <Navigate to={`/login?${params}`} replace />;
  }
  return <>{children}</>;
}

/** A page only some permissions may open (a deep link by another role shows why it is empty). */
export function RequirePermission({ permission, children }: { permission: Permission; children: ReactNode }) {
  const { can } = useAuth();
  return can(permission) ? <>{children}</> : <ForbiddenState />;
}
