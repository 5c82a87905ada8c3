import type { NewEvent } from '@opsdesk/contracts';

export interface AggregatorOptions {
  /** length of one aggregation window */
  windowMs: number;
  /** distinct (type, source IP, route, reason) keys tracked at once; beyond it the source IP is folded to '*' */
  maxKeys: number;
  now?: () => number;
}

interface Entry {
  /** the first event of the window, reused (with a count) for the summary */
  first: NewEvent;
  windowStart: number;
  /** events after the first one in this window, not yet reported */
  suppressed: number;
}

/**
 * Audit-flood protection for the gateway's own security events (gateway.request.denied, gateway.rate.limited):
 * the first event of a (type, source IP, route, reason) in a window is emitted at once (so a single denial is
 * recorded with its request id, as before); the repeats of that window become one summary event with a `count`
 * when the window closes. A flood therefore writes at most two records per key and window, not one per request.
 * The number of keys is bounded: past `maxKeys`, new sources share one key per (type, route, reason) with ip '*'.
 */
export class SecurityEventAggregator {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(
    private readonly emit: (event: NewEvent) => void,
    private readonly opts: AggregatorOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  report(event: NewEvent, reason: string): void {
    const ip = event.actor?.ip ?? '-';
    const route = event.subject?.entity_id ?? '-';
    let key = `${event.type}|${ip}|${route}|${reason}`;
    if (!this.entries.has(key) && this.entries.size >= this.opts.maxKeys) key = `${event.type}|*|${route}|${reason}`;
    const t = this.now();
    const entry = this.entries.get(key);
    if (entry && t - entry.windowStart < this.opts.windowMs) {
      entry.suppressed++;
      return;
    }
    if (entry) this.flushEntry(key, entry);
    this.entries.set(key, { first: event, windowStart: t, suppressed: 0 });
    this.emit(event);
  }

  /** Emits the summaries of windows that have closed (all of them when `all`), and forgets idle keys. */
  flush(all = false): void {
    const t = this.now();
    for (const [key, entry] of this.entries) {
      if (all || t - entry.windowStart >= this.opts.windowMs) {
        this.flushEntry(key, entry);
        this.entries.delete(key);
      }
    }
  }

  private flushEntry(key: string, entry: Entry): void {
    if (entry.suppressed === 0) return;
    const folded = key.split('|')[1] === '*';
    const { first } = entry;
    this.emit({
      ...first,
      // the summary is about many requests: no single request id, and a folded key has no single source
      request_id: null,
      actor: folded ? null : first.actor,
      data: {
        ...first.data,
        aggregated: true,
        count: entry.suppressed,
        window_start: new Date(entry.windowStart).toISOString(),
        window_end: new Date(Math.min(this.now(), entry.windowStart + this.opts.windowMs)).toISOString(),
        ...(folded ? { sources: 'many' } : {}),
      },
    });
  }
}
