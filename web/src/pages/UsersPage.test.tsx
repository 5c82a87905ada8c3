import type { UserView } from '@opsdesk/contracts';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { session } from '../api';
import { jsonResponse, renderWithProviders } from '../test/render';
import { ChangeEmailModal } from './UsersPage';

const user: UserView = {
  id: '0b6a8c1e-6f0e-4c55-9a57-1f1d3f1b2c3d',
  email: 'carol@example.com',
  role: 'operator',
  is_active: true,
  mfa_enabled: false,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  last_login_at: null,
};

describe("changing a user's email", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    session.clear();
  });

  it('a taken email (409 AUTH.EMAIL_TAKEN) is shown at the email field, and the dialog stays open', async () => {
    const fetchMock = vi.fn(async () =>
      jsonResponse(409, {
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        code: 'AUTH.EMAIL_TAKEN',
        detail: 'A user with this email already exists',
        errors: [{ field: 'email', message: 'is already taken' }],
      }),
    );
    vi.stubGlobal('fetch', fetchMock);
    const onClose = vi.fn();
    renderWithProviders(<ChangeEmailModal user={user} onClose={onClose} />);

    const input = await screen.findByTestId('change-email-input');
    expect(input).toHaveValue('carol@example.com');
    expect(screen.getByTestId('change-email-submit')).toBeDisabled(); // unchanged
    fireEvent.change(input, { target: { value: 'dave@example.com' } });
    fireEvent.click(screen.getByTestId('change-email-submit'));

    expect(await screen.findByText('is already taken')).toBeInTheDocument();
    expect(screen.getByTestId('change-email-input')).toHaveAttribute('aria-invalid', 'true');
    expect(onClose).not.toHaveBeenCalled();
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe(`/api/users/${user.id}`);
    expect(init.method).toBe('PATCH');
    expect(JSON.parse(init.body as string)).toEqual({ email: 'dave@example.com' });
  });

  it('a 409 without field errors still lands at the field', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => jsonResponse(409, { status: 409, code: 'AUTH.EMAIL_TAKEN', detail: 'taken' })),
    );
    renderWithProviders(<ChangeEmailModal user={user} onClose={() => undefined} />);
    fireEvent.change(await screen.findByTestId('change-email-input'), {
      target: { value: 'eve@example.com' },
    });
    fireEvent.click(screen.getByTestId('change-email-submit'));
    await waitFor(() =>
      expect(screen.getByTestId('change-email-input')).toHaveAttribute('aria-invalid', 'true'),
    );
    expect(screen.getByText('is already taken by another user')).toBeInTheDocument();
  });
});
