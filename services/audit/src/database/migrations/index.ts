import { internalTokensUsedMigration } from '@opsdesk/platform';
import { deadLetterResolutionsMigration, inboxFailuresMigration, messagingTablesMigration } from '@opsdesk/messaging';
import { InitAudit1733000000000 } from './1733000000000-init-audit';
import { CheckpointAlg1764547200000 } from './1764547200000-checkpoint-alg';

/** In order. Never edit a migration that has shipped: add a new one. */
export const auditMigrations = [
  messagingTablesMigration('audit', 1732500000000),
  InitAudit1733000000000,
  inboxFailuresMigration('audit', 1734500000000),
  CheckpointAlg1764547200000,
  deadLetterResolutionsMigration('audit', 1764700000000),
  internalTokensUsedMigration('audit', 1764900000000),
];
