import { RolePermissions, type Role } from '@opsdesk/contracts';
import { screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { session } from '../api';
import { Layout } from '../components/Layout';
import { renderWithProviders, jsonResponse } from '../test/render';
import { AuthProvider, Can, Permissions } from './AuthProvider';

function signedInAs(role: Role, permissions = [...RolePermissions[role]]) {
  session.signIn({
    access_token: 'a',
    refresh_token: 'refresh-token-x',
    token_type: 'bearer',
    expires_in: 900,
  });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) =>
      url === '/api/auth/me'
        ? jsonResponse(200, {
            id: 'u1',
            email: `${role}@example.com`,
            role,
            is_active: true,
            mfa_enabled: false,
            created_at: '',
            updated_at: '',
            last_login_at: null,
            permissions,
          })
        : jsonResponse(200, { items: [], next_cursor: null }),
    ),
  );
}

function App() {
  return (
    <AuthProvider>
      <Layout />
      <Can permission={Permissions.HOSTS_WRITE}>
        <button>New host</button>
      </Can>
    </AuthProvider>
  );
}

describe('rendering from /api/auth/me permissions', () => {
  beforeEach(() => sessionStorage.clear());
  afterEach(() => {
    vi.unstubAllGlobals();
    session.clear();
  });

  it('an admin sees every section and write actions', async () => {
    signedInAs('admin');
    renderWithProviders(<App />);
    await screen.findByTestId('nav-audit');
    for (const n of ['dashboard', 'hosts', 'artifacts', 'audit', 'users', 'settings'])
      expect(screen.getByTestId(`nav-${n}`)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'New host' })).toBeInTheDocument();
  });

  it('a viewer sees no audit, users or write actions', async () => {
    signedInAs('viewer');
    renderWithProviders(<App />);
    await screen.findByTestId('nav-hosts');
    expect(screen.queryByTestId('nav-audit')).toBeNull();
    expect(screen.queryByTestId('nav-users')).toBeNull();
    expect(screen.queryByRole('button', { name: 'New host' })).toBeNull();
  });

  it('follows the permissions, not the role name', async () => {
    // a role the console has never heard of, with audit access only: what shows is decided by permissions
    signedInAs('viewer', [Permissions.HOSTS_READ, Permissions.AUDIT_READ]);
    renderWithProviders(<App />);
    await screen.findByTestId('nav-audit');
    expect(screen.queryByTestId('nav-users')).toBeNull();
    expect(screen.queryByRole('button', { name: 'New host' })).toBeNull();
  });
});
