import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ArtifactKind, ArtifactView } from '@opsdesk/contracts';

@Entity({ name: 'artifacts' })
export class Artifact {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'host_id' }) hostId!: string;
  @Column('text', { name: 'original_name' }) originalName!: string;
  @Column('text') filename!: string;
  @Column('text') kind!: ArtifactKind;
  @Column('text', { nullable: true }) description!: string | null;
  // bigint comes back from pg as a string (it can exceed 2^53); sizes here stay far below that
  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } }) size!: number;
  @Column('text') sha256!: string;
  @Column('text', { name: 'content_type' }) contentType!: string;
  @Column('uuid', { name: 'uploaded_by' }) uploadedBy!: string;
  @Column('text', { name: 'uploaded_by_email', nullable: true }) uploadedByEmail!: string | null;
  @Column('timestamptz', { name: 'uploaded_at' }) uploadedAt!: Date;
  @Column('timestamptz', { name: 'last_verified_at', nullable: true }) lastVerifiedAt!: Date | null;
  @Column('boolean', { name: 'last_verify_ok', nullable: true }) lastVerifyOk!: boolean | null;
}

export function toArtifactView(a: Artifact): ArtifactView {
  return {
    id: a.id,
    host_id: a.hostId,
    original_name: a.originalName,
    filename: a.filename,
    kind: a.kind,
    description: a.description,
    size: Number(a.size),
    sha256: a.sha256,
    content_type: a.contentType,
    uploaded_by: a.uploadedBy,
    uploaded_by_email: a.uploadedByEmail,
    uploaded_at: a.uploadedAt.toISOString(),
    last_verified_at: a.lastVerifiedAt ? a.lastVerifiedAt.toISOString() : null,
    last_verify_ok: a.lastVerifyOk,
  };
}
