import { Permissions, type MeView, type Permission } from '@opsdesk/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { authApi, refreshSession, session, type SessionState } from '../api';

/**
 * Who is signed in and what they may do. The console renders from `permissions` (GET /api/auth/me), never
 * from role names; the server enforces every one of them anyway.
 */
export type AuthStatus = 'booting' | SessionState;

export interface AuthValue {
  status: AuthStatus;
  me: MeView | null;
  can(permission: Permission): boolean;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [status, setStatus] = useState<AuthStatus>(() =>
    session.state === 'authenticated'
      ? 'authenticated'
      : session.hasRefreshToken()
        ? 'booting'
        : session.state,
  );

  useEffect(() => session.subscribe(setStatus), []);
  useEffect(() => {
    if (status !== 'booting') return;
    // a reload: the access token was in memory only; the tab's refresh token gets a new one silently
    refreshSession()
      .then((ok) => setStatus(ok ? 'authenticated' : 'anonymous'))
      .catch(() => setStatus('anonymous'));
  }, [status]);

  const meQuery = useQuery({
    queryKey: ['me'],
    queryFn: authApi.me,
    enabled: status === 'authenticated',
    staleTime: 60_000,
  });
  const me = status === 'authenticated' ? (meQuery.data ?? null) : null;

  const signOut = useCallback(async () => {
    await authApi.logout().catch(() => undefined);
    qc.clear();
  }, [qc]);

  const value = useMemo<AuthValue>(
    () => ({
      status: status === 'authenticated' && !me ? 'booting' : status,
      me,
      can: (p) => !!me?.permissions.includes(p),
      signOut,
    }),
    [status, me, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** Renders children only when the signed-in user has the permission (hides, never replaces, server checks). */
export function Can({
  permission,
  children,
  fallback = null,
}: {
  permission: Permission;
  children: ReactNode;
  fallback?: ReactNode;
}) {
  return useAuth().can(permission) ? <>{children}</> : <>{fallback}</>;
}

export { Permissions };
