import type { ImportReport } from '@opsdesk/contracts';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../test/render';
import { ImportHostsModal, type ImportFn } from './ImportHostsModal';

const report = (dry: boolean): ImportReport => ({
  dry_run: dry,
  atomic: false,
  on_conflict: 'update',
  committed: !dry,
  summary: { rows: 3, created: 1, updated: 1, unchanged: 0, error: 1 },
  columns: { mapped: { hostname: 'hostname', ip: 'ip' }, ignored: ['colour'] },
  rows: [
    { line: 2, status: 'created', hostname: 'imp-01' },
    { line: 3, status: 'updated', hostname: 'imp-02' },
    {
      line: 4,
      status: 'error',
      hostname: 'imp-bad',
      errors: [{ field: 'ip', message: 'must be an IPv4 or IPv6 address' }],
    },
  ],
});

describe('ImportHostsModal', () => {
  it('previews with a dry run (with upload progress), then commits the same file', async () => {
    let release: () => void = () => undefined;
    const importFn = vi.fn<ImportFn>((_file, opts, onProgress) => {
      onProgress?.({ loaded: 50, total: 100 });
      return new Promise<ImportReport>((resolve) => {
        release = () => resolve(report(opts.dry_run));
      });
    });
    const onImported = vi.fn();
    renderWithProviders(
      <ImportHostsModal opened onClose={() => undefined} onImported={onImported} importFn={importFn} />,
    );
    const file = new File(['hostname,ip\nimp-01,203.0.113.1\n'], 'hosts.csv', { type: 'text/csv' });
    const input = document.querySelector('input[type=file]') as HTMLInputElement;
    fireEvent.change(input, { target: { files: [file] } });
    expect(screen.getByTestId('import-commit-button')).toBeDisabled(); // no commit before a preview

    fireEvent.click(screen.getByTestId('import-preview-button'));
    await screen.findByText('Uploading 50 B of 100 B (50%)');
    release();
    const preview = await screen.findByTestId('import-preview');
    expect(importFn.mock.calls[0][1]).toEqual({ dry_run: true, atomic: false, on_conflict: 'update' });
    expect(within(preview).getByText('Dry run — nothing written yet')).toBeInTheDocument();
    expect(within(preview).getByText('ip: must be an IPv4 or IPv6 address')).toBeInTheDocument();
    expect(within(preview).getByText('Ignored columns: colour')).toBeInTheDocument();
    expect(onImported).not.toHaveBeenCalled();

    const commit = screen.getByTestId('import-commit-button');
    expect(commit).toHaveTextContent('Import 2 rows');
    fireEvent.click(commit);
    await waitFor(() => expect(importFn).toHaveBeenCalledTimes(2));
    release();
    await screen.findByTestId('import-result');
    expect(importFn.mock.calls[1][0]).toBe(file);
    expect(importFn.mock.calls[1][1]).toEqual({ dry_run: false, atomic: false, on_conflict: 'update' });
    expect(onImported).toHaveBeenCalledTimes(1);
  });

  it('blocks an atomic import while the preview has errors', async () => {
    const importFn = vi.fn<ImportFn>(async (_f, opts) => ({ ...report(opts.dry_run), atomic: opts.atomic }));
    renderWithProviders(
      <ImportHostsModal opened onClose={() => undefined} onImported={() => undefined} importFn={importFn} />,
    );
    fireEvent.change(document.querySelector('input[type=file]') as HTMLInputElement, {
      target: { files: [new File(['x'], 'a.csv')] },
    });
    fireEvent.click(screen.getByTestId('import-atomic'));
    fireEvent.click(screen.getByTestId('import-preview-button'));
    await screen.findByText(/fix the rows with errors first/);
    expect(screen.getByTestId('import-commit-button')).toBeDisabled();
  });
});
