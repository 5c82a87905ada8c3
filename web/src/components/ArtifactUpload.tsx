import { Button, Card, Group, Progress, Select, Stack, Text, TextInput } from '@mantine/core';
import { Dropzone } from '@mantine/dropzone';
import { ArtifactKinds, type ArtifactView } from '@opsdesk/contracts';
import { IconCloudUpload, IconFile, IconX } from '@tabler/icons-react';
import { useRef, useState } from 'react';
import { ApiError, artifactsApi, type UploadProgress } from '../api';
import { formatBytes } from './format';
import { ErrorAlert } from './states';

export type ArtifactUploadFn = typeof artifactsApi.upload;

/**
 * Drag-and-drop (or pick) a file, choose its kind, upload with a real progress bar (bytes sent / total from
 * XMLHttpRequest upload events) and a cancel button. The server computes the SHA-256 on the way in.
 */
export function ArtifactUpload({
  hostId,
  onUploaded,
  uploadFn = artifactsApi.upload,
}: {
  hostId: string;
  onUploaded: (a: ArtifactView) => void;
  uploadFn?: ArtifactUploadFn;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [kind, setKind] = useState<string>('log');
  const [description, setDescription] = useState('');
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  async function start() {
    if (!file) return;
    setUploading(true);
    setError(null);
    setNotice(null);
    setProgress({ loaded: 0, total: file.size });
    abort.current = new AbortController();
    try {
      const a = await uploadFn(
        hostId,
        file,
        { kind, description: description.trim() || undefined },
        setProgress,
        abort.current.signal,
      );
      setFile(null);
      setDescription('');
      setNotice(`Uploaded ${a.original_name} · sha256 ${a.sha256.slice(0, 12)}…`);
      onUploaded(a);
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'aborted') setNotice('Upload cancelled.');
      else setError(err);
    } finally {
      setUploading(false);
    }
  }

  const pct =
    progress && progress.total ? Math.min(100, Math.round((progress.loaded / progress.total) * 100)) : 0;
  return (
    <Card data-testid="artifact-upload">
      <Stack gap="sm">
        <Dropzone
          onDrop={(files) => {
            setFile(files[0] ?? null);
            setProgress(null);
            setNotice(null);
          }}
          multiple={false}
          disabled={uploading}
          p="lg"
          data-testid="artifact-dropzone"
        >
          <Group justify="center" gap="md" mih={70} style={{ pointerEvents: 'none' }}>
            <Dropzone.Accept>
              <IconCloudUpload size={36} color="var(--mantine-color-indigo-6)" />
            </Dropzone.Accept>
            <Dropzone.Reject>
              <IconX size={36} color="var(--mantine-color-red-6)" />
            </Dropzone.Reject>
            <Dropzone.Idle>
              {file ? (
                <IconFile size={36} />
              ) : (
                <IconCloudUpload size={36} color="var(--mantine-color-dimmed)" />
              )}
            </Dropzone.Idle>
            <Stack gap={2}>
              <Text fw={500} data-testid="artifact-file-name">
                {file ? file.name : 'Drop a file here or click to choose'}
              </Text>
              <Text size="xs" c="dimmed">
                {file ? formatBytes(file.size) : 'Logs, configs, crash dumps, support bundles'}
              </Text>
            </Stack>
          </Group>
        </Dropzone>
        <Group grow align="flex-end">
          <Select
            label="Kind"
            data={ArtifactKinds.map((k) => ({ value: k, label: k.replace('_', ' ') }))}
            value={kind}
            onChange={(v) => setKind(v ?? 'log')}
            allowDeselect={false}
            disabled={uploading}
            data-testid="artifact-kind"
          />
          <TextInput
            label="Description"
            placeholder="optional"
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            disabled={uploading}
          />
        </Group>
        {progress && (uploading || pct === 100) && (
          <Stack gap={4}>
            <Progress
              value={pct}
              size="lg"
              striped={uploading}
              animated={uploading}
              aria-label="Upload progress"
              aria-valuenow={pct}
              data-testid="artifact-progress"
            />
            <Text size="xs" c="dimmed" data-testid="artifact-progress-text">
              {formatBytes(progress.loaded)} of {formatBytes(progress.total)} sent ({pct}%)
              {uploading && pct === 100 ? ' — storing and hashing…' : ''}
            </Text>
          </Stack>
        )}
        {notice && (
          <Text
            size="sm"
            c={notice.startsWith('Uploaded') ? 'green' : 'dimmed'}
            data-testid="artifact-notice"
          >
            {notice}
          </Text>
        )}
        {error != null && <ErrorAlert error={error} title="Upload failed" />}
        <Group justify="flex-end">
          {uploading ? (
            <Button
              variant="default"
              color="red"
              onClick={() => abort.current?.abort()}
              data-testid="artifact-cancel"
            >
              Cancel upload
            </Button>
          ) : (
            <Button
              onClick={() => void start()}
              disabled={!file}
              leftSection={<IconCloudUpload size={16} />}
              data-testid="artifact-upload-button"
            >
              Upload
            </Button>
          )}
        </Group>
      </Stack>
    </Card>
  );
}
