import { internalTokensUsedMigration } from '@opsdesk/platform';
import { deadLetterResolutionsMigration, inboxFailuresMigration, messagingTablesMigration } from '@opsdesk/messaging';
import { InitArtifacts1733100000000 } from './1733100000000-init-artifacts';
import { ArtifactsBinaryKind1764600000000 } from './1764600000000-binary-kind';

/** In order. Never edit a migration that has shipped: add a new one. */
export const artifactsMigrations = [
  messagingTablesMigration('artifacts', 1733000000000),
  InitArtifacts1733100000000,
  inboxFailuresMigration('artifacts', 1734500000000),
  ArtifactsBinaryKind1764600000000,
  deadLetterResolutionsMigration('artifacts', 1764700000000),
  internalTokensUsedMigration('artifacts', 1764900000000),
];
