import type { AuditRecordView, RuntimeSettingsView } from '@opsdesk/contracts';
import { screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { session } from '../api';
import { jsonResponse, renderWithProviders } from '../test/render';
import { RecordDetails } from './AuditPage';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const record: AuditRecordView = {
  seq: 42,
  event_id: '0b5e8c1e-1f7e-4a53-9c1e-2f1c1b1a0a01',
  type: 'inventory.host.created',
  source: 'inventory',
  occurred_at: '2026-12-01T10:00:00.000Z',
  recorded_at: '2026-12-01T10:00:00.100Z',
  actor: { user_id: null, email: 'admin@example.com', ip: '10.0.0.1', user_agent: null },
  entity_type: 'host',
  entity_id: 'web-1',
  request_id: 'req-1',
  trace_id: TRACE,
  data: {},
  prev_hash: '0'.repeat(64),
  hash: 'a'.repeat(64),
};
const runtime = (trace_ui_url: string | null): RuntimeSettingsView => ({
  environment: 'development',
  version: '0.1.0',
  limits: { page_limit_default: 50, page_limit_max: 100, import_max_bytes: 1, import_max_rows: 1 },
  prometheus: { configured: false, source: null },
  metrics: { snapshot_ttl_seconds: 300, instance_template: '{ip}:9100' },
  trace_ui_url,
});

describe('audit record details: the trace id', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    session.clear();
  });

  it('opens the trace in the trace UI the deployment configured (TRACE_UI_URL)', async () => {
    const fetchMock = vi.fn(async (_url: RequestInfo | URL) => jsonResponse(200, runtime('http://127.0.0.1:16686/trace/{trace_id}')));
    vi.stubGlobal('fetch', fetchMock);
    renderWithProviders(<RecordDetails r={record} />);
    await waitFor(() => expect(screen.getByTestId('audit-trace-id')).toHaveAttribute('href', `http://127.0.0.1:16686/trace/${TRACE}`));
    const link = screen.getByTestId('audit-trace-id');
    expect(link).toHaveTextContent(TRACE);
    expect(link).toHaveAttribute('target', '_blank');
    expect(link).toHaveAttribute('rel', 'noopener noreferrer');
    expect(String(fetchMock.mock.calls[0]?.[0])).toContain('/api/settings/runtime');
  });

  it('shows the id as text when no trace UI is configured', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, runtime(null)));
    vi.stubGlobal('fetch', fetchMock);
    renderWithProviders(<RecordDetails r={record} />);
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    const shown = screen.getByTestId('audit-trace-id');
    expect(shown).toHaveTextContent(TRACE);
    expect(shown).not.toHaveAttribute('href');
  });
});
