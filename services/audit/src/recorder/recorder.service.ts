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

  // Whatever is already delivered (up to 500) is appended in one transaction, one chain-head lock and one
  // multi-row INSERT, in stream order.
  @EventHandler({ filter: '>', name: 'recorder', transactionBatch: 500, batch: true })
  async record(items: Array<{ event: EventEnvelope; meta: DeliveryMeta }>, manager: EntityManager): Promise<void> {
    await this.chain.appendMany(manager, items.map(({ event, meta }) => recordInputFromEvent(event, meta?.headers)));
  }
}
