import type { HostView } from '@opsdesk/contracts';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { renderWithProviders } from '../test/render';
import { conflictsBetween, EditHostModal, type GetFn, type UpdateFn } from './EditHost';

const host: HostView = {
  id: 'h1',
  hostname: 'web-01',
  fqdn: null,
  ip: '192.0.2.1',
  os: 'linux',
  environment: 'prod',
  owner: 'alice@example.com',
  team: 'web',
  criticality: 'high',
  tags: ['edge'],
  notes: null,
  connection_method: 'direct_ssh',
  ssh_user: null,
  ssh_port: 22,
  bastion_host: null,
  bastion_port: 22,
  access_template: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  last_seen_at: null,
  version: 3,
};

describe('editing a host that changed meanwhile (412)', () => {
  it('lists what the other writer changed', () => {
    const latest = { ...host, owner: 'bob@example.com', version: 4 };
    expect(conflictsBetween(host, latest, { team: 'payments' })).toEqual([
      { field: 'owner', base: 'alice@example.com', theirs: 'bob@example.com' },
    ]);
    expect(conflictsBetween(host, { ...latest, team: 'data' }, { team: 'payments' })).toContainEqual({
      field: 'team',
      base: 'web',
      theirs: 'data',
      mine: 'payments',
    });
  });

  it('shows the conflict and re-applies only my change on top of the current version', async () => {
    const latest = { ...host, owner: 'bob@example.com', version: 4 };
    const update = vi.fn<UpdateFn>(async (_id, version, body) => {
      if (version === 3)
        throw new ApiError({
          kind: 'problem',
          status: 412,
          code: 'INVENTORY.PRECONDITION_FAILED',
          detail: 'The host changed',
        });
      return { ...latest, ...(body as Partial<HostView>), version: 5 };
    });
    const get = vi.fn<GetFn>(async () => latest);
    const onSaved = vi.fn();
    renderWithProviders(
      <EditHostModal
        host={host}
        opened
        onClose={() => undefined}
        onSaved={onSaved}
        update={update}
        get={get}
      />,
    );
    fireEvent.change(screen.getByTestId('host-team'), { target: { value: 'payments' } });
    fireEvent.click(screen.getByTestId('host-submit'));

    const banner = await screen.findByTestId('edit-conflict');
    expect(banner).toHaveTextContent('Someone saved version 4 after you opened version 3');
    expect(banner).toHaveTextContent('owner: alice@example.com → bob@example.com');
    expect(update).toHaveBeenCalledWith('h1', 3, { team: 'payments' }); // a PATCH of the changed field only, with If-Match 3

    fireEvent.click(screen.getByTestId('conflict-reapply'));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(update).toHaveBeenLastCalledWith('h1', 4, { team: 'payments' });
    expect(onSaved.mock.calls[0][0]).toMatchObject({
      owner: 'bob@example.com',
      team: 'payments',
      version: 5,
    });
  });

  it('shows server field errors next to the fields', async () => {
    const update = vi.fn<UpdateFn>(async () => {
      throw new ApiError({
        kind: 'problem',
        status: 400,
        detail: 'Validation failed',
        fieldErrors: [{ field: 'ip', message: 'must be an IPv4 or IPv6 address' }],
      });
    });
    renderWithProviders(
      <EditHostModal
        host={host}
        opened
        onClose={() => undefined}
        onSaved={() => undefined}
        update={update}
        get={async () => host}
      />,
    );
    fireEvent.change(screen.getByTestId('host-ip'), { target: { value: '999.1.1.1' } });
    fireEvent.click(screen.getByTestId('host-submit'));
    const msg = await screen.findByText('must be an IPv4 or IPv6 address');
    expect(screen.getByTestId('host-ip')).toHaveAttribute('aria-invalid', 'true');
    expect(msg).toBeInTheDocument();
  });
});
