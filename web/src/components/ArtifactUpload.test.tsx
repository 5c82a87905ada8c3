import type { ArtifactView } from '@opsdesk/contracts';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type UploadProgress } from '../api';
import { renderWithProviders } from '../test/render';
import { ArtifactUpload, type ArtifactUploadFn } from './ArtifactUpload';

const artifact = { id: 'a1', original_name: 'dump.bin', sha256: 'ab'.repeat(32) } as ArtifactView;

async function pickFile(size: number) {
  const file = new File([new Uint8Array(size)], 'dump.bin', { type: 'application/octet-stream' });
  const input = document.querySelector('input[type=file]') as HTMLInputElement;
  fireEvent.change(input, { target: { files: [file] } });
  await screen.findByText('dump.bin');
  return file;
}

describe('ArtifactUpload', () => {
  it('shows bytes sent of total as the upload progresses, then the result', async () => {
    let progress: (p: UploadProgress) => void = () => undefined;
    let finish: () => void = () => undefined;
    const uploadFn = vi.fn<ArtifactUploadFn>((_host, _file, _fields, onProgress) => {
      progress = onProgress ?? progress;
      return new Promise((resolve) => {
        finish = () => resolve(artifact);
      });
    });
    const onUploaded = vi.fn();
    renderWithProviders(<ArtifactUpload hostId="h1" onUploaded={onUploaded} uploadFn={uploadFn} />);
    await pickFile(2 * 1024 * 1024);
    fireEvent.click(screen.getByTestId('artifact-upload-button'));
    expect(uploadFn.mock.calls[0][2]).toEqual({ kind: 'log', description: undefined });
    progress({ loaded: 512 * 1024, total: 2 * 1024 * 1024 });
    await screen.findByText('512 KB of 2.0 MB sent (25%)');
    expect(screen.getByTestId('artifact-progress')).toHaveAttribute('aria-valuenow', '25');
    progress({ loaded: 2 * 1024 * 1024, total: 2 * 1024 * 1024 });
    await screen.findByText('2.0 MB of 2.0 MB sent (100%) — storing and hashing…');
    finish();
    await screen.findByText(/Uploaded dump.bin · sha256 abababababab/);
    expect(onUploaded).toHaveBeenCalledWith(artifact);
  });

  it('cancels an upload in flight', async () => {
    const uploadFn = vi.fn<ArtifactUploadFn>(
      (_h, _f, _x, _p, signal) =>
        new Promise((_resolve, reject) =>
          signal?.addEventListener('abort', () => reject(new ApiError({ kind: 'aborted' }))),
        ),
    );
    renderWithProviders(<ArtifactUpload hostId="h1" onUploaded={() => undefined} uploadFn={uploadFn} />);
    await pickFile(10);
    fireEvent.click(screen.getByTestId('artifact-upload-button'));
    fireEvent.click(await screen.findByTestId('artifact-cancel'));
    await screen.findByText('Upload cancelled.');
    await waitFor(() => expect(screen.getByTestId('artifact-upload-button')).toBeInTheDocument());
  });
});
