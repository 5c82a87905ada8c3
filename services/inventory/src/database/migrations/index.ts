import { messagingTablesMigration } from '@opsdesk/messaging';
import { InitInventory1732700000000 } from './1732700000000-init-inventory';

/** In order. Never edit a migration that has shipped: add a new one. */
export const inventoryMigrations = [messagingTablesMigration('inventory', 1732500000000), InitInventory1732700000000];
