import { deadLetterResolutionsMigration, inboxFailuresMigration, messagingTablesMigration } from '@opsdesk/messaging';
import { InitAuth1732600000000 } from './1732600000000-init-auth';
import { EdgeSecurity1764600000000 } from './1764600000000-edge-security';

/** In order. Never edit a migration that has shipped: add a new one. */
export const authMigrations = [messagingTablesMigration('auth', 1732500000000), InitAuth1732600000000, inboxFailuresMigration('auth', 1734500000000), EdgeSecurity1764600000000, deadLetterResolutionsMigration('auth', 1764700000000)];
