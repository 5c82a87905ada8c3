import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One stored content (content-addressed by SHA-256), shared by every artifact with identical bytes. */
@Entity({ name: 'blobs' })
export class Blob {
  @PrimaryColumn('text') sha256!: string;
  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } }) size!: number;
  @Column('int', { name: 'ref_count' }) refCount!: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  /** set when verification found the file on disk differs from sha256; cleared when an upload re-supplies it */
  @Column('timestamptz', { name: 'corrupt_at', nullable: true }) corruptAt!: Date | null;
}
