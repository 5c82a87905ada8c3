import { internalTokensUsedMigration } from '@opsdesk/platform';
import { deadLetterResolutionsMigration, inboxFailuresMigration, messagingTablesMigration } from '@opsdesk/messaging';
import { InitInventory1732700000000 } from './1732700000000-init-inventory';
import { InventoryIsoStable1732900000000 } from './1732900000000-iso-stable';
import { InventoryAnalyzeHosts1733300000000 } from './1733300000000-analyze-hosts';
import { InventoryAccessTemplates1764600000000 } from './1764600000000-access-templates';
import { InventoryHostListIndexes1764800000000 } from './1764800000000-host-list-indexes';

/** In order. Never edit a migration that has shipped: add a new one. */
export const inventoryMigrations = [
  messagingTablesMigration('inventory', 1732500000000),
  InitInventory1732700000000,
  InventoryIsoStable1732900000000,
  InventoryAnalyzeHosts1733300000000,
  inboxFailuresMigration('inventory', 1734500000000),
  InventoryAccessTemplates1764600000000,
  deadLetterResolutionsMigration('inventory', 1764700000000),
  InventoryHostListIndexes1764800000000,
  internalTokensUsedMigration('inventory', 1764900000000),
];
