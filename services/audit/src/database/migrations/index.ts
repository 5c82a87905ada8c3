import { inboxFailuresMigration, messagingTablesMigration } from '@opsdesk/messaging';
import { AUDIT_WRITER_ROLE, InitAudit1733000000000 } from './1733000000000-init-audit';

/** In order. Never edit a migration that has shipped: add a new one. */
export const auditMigrations = [messagingTablesMigration('audit', 1732500000000), InitAudit1733000000000, inboxFailuresMigration('audit', 1734500000000, AUDIT_WRITER_ROLE)];
