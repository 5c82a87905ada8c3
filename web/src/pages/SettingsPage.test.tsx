import type { IntegrationSettingsView } from '@opsdesk/contracts';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { session } from '../api';
import { jsonResponse, renderWithProviders } from '../test/render';
import { AccessSettingsForm } from './SettingsPage';

const current: IntegrationSettingsView = {
  prometheus_url: null,
  prometheus_url_source: null,
  instance_template: '{ip}:9100',
  snapshot_ttl_seconds: 300,
  access_templates: { direct_ssh: 'mosh {{user}}@{{host}}', bastion_ssh: null, teleport: null },
  default_access_templates: {
    direct_ssh: 'ssh -p {{port}} {{user}}@{{host}}',
    bastion_ssh: 'ssh -J {{jump}} -p {{port}} {{user}}@{{host}}',
    teleport: 'tsh ssh --proxy={{proxy}} {{user}}@{{hostname}}',
  },
  teleport_proxy: null,
  teleport_cluster: null,
  updated_at: null,
  updated_by: null,
  version: 1,
};

describe('settings: access templates and Teleport', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    session.clear();
  });

  it('shows the default when unset, sends null for a cleared template, and puts the 400 field errors next to the fields', async () => {
    const fetchMock = vi.fn(async () =>
      jsonResponse(400, {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        code: 'COMMON.VALIDATION_FAILED',
        detail: 'Validation failed',
        errors: [
          { field: 'access_templates.teleport', message: "';' outside quotes is not allowed" },
          { field: 'teleport_proxy', message: 'must not contain shell metacharacters or spaces' },
        ],
      }),
    );
    vi.stubGlobal('fetch', fetchMock);
    renderWithProviders(<AccessSettingsForm current={current} editable />);

    // unset: the built-in default is the placeholder; set: the stored template is the value
    expect(screen.getByTestId('settings-template-bastion_ssh')).toHaveAttribute(
      'placeholder',
      current.default_access_templates.bastion_ssh,
    );
    expect(screen.getByTestId('settings-template-direct_ssh')).toHaveValue('mosh {{user}}@{{host}}');

    fireEvent.change(screen.getByTestId('settings-template-direct_ssh'), { target: { value: '' } });
    fireEvent.change(screen.getByTestId('settings-template-teleport'), { target: { value: 'tsh ssh; id' } });
    fireEvent.change(screen.getByTestId('settings-teleport-proxy'), { target: { value: 'proxy x' } });
    fireEvent.click(screen.getByTestId('settings-access-save'));

    expect(await screen.findByText("';' outside quotes is not allowed")).toBeInTheDocument();
    expect(screen.getByText('must not contain shell metacharacters or spaces')).toBeInTheDocument();
    expect(screen.getByTestId('settings-template-teleport')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('settings-teleport-proxy')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('settings-template-direct_ssh')).toHaveAttribute('aria-invalid', 'false');

    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/settings/integrations');
    expect(init.method).toBe('PUT');
    expect(JSON.parse(init.body as string)).toEqual({
      access_templates: { direct_ssh: null, bastion_ssh: null, teleport: 'tsh ssh; id' },
      teleport_proxy: 'proxy x',
      teleport_cluster: null,
    });
  });
});
