import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventEnvelope } from '@opsdesk/contracts';
import { EventHandler, type DeliveryMeta } from '@opsdesk/messaging';
import { ChainService, recordInputFromEvent } from '../chain/chain.service';

/**
 * The durable consumer of every event (`<prefix>.>`). It runs inside the InboxConsumer's transaction:
 * the inbox row, the record and the chain head commit together, so a crash before the ack only causes
 * a redelivery that the inbox (and UNIQUE(event_id)) turns into a no-op. Malformed messages never reach
 * here: the consumer dead-letters and terminates them.
 */
@Injectable()
export class RecorderService {
  constructor(private readonly chain: ChainService) {}

  // Batches share one transaction and one chain-head lock: the chain is appended in stream order either way.
  @EventHandler({ filter: '>', name: 'recorder', transactionBatch: 200 })
  async record(event: EventEnvelope, manager: EntityManager, meta: DeliveryMeta): Promise<void> {
    await this.chain.append(manager, recordInputFromEvent(event, meta?.headers));
  }
}
