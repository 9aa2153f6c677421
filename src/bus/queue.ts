/**
 * A bounded queue of domain events for one asynchronous consumer (a sink, a remote server), fed synchronously by
 * the bus and drained at the consumer's pace.
 *
 * Overflow policy, declared per topic (see {@link OverflowPolicy}):
 * - `conflate` (books, tickers, summaries, consolidated books, health): below capacity every event is queued in
 *   order. At capacity a new event is merged into the latest pending event of the same key instead of being queued
 *   (books: snapshot + deltas → snapshot, deltas → one delta; others: the newer value replaces the older), so the
 *   consumer ends up with the same state with fewer events. An event with no pending peer is still queued: the
 *   queue then holds at most one extra event per key.
 * - `drop` (trades): at capacity the new event is dropped and counted.
 * - `disconnect` (account events): at capacity the queue closes itself with an overflow error; the consumer must
 *   resynchronize from durable state (the database outbox) rather than lose events silently. The events it still
 *   held, the one that overflowed and any offered until the consumer closes it are counted in `dropped`.
 *
 * Book levels are merged by numeric price (as the book engine keys them), so venue strings that spell one price
 * differently (`"100.0"`, `"100.00"`) still replace each other; the newer venue strings are kept.
 *
 * Counters (`depth`, `dropped`, `conflated`) are read by the metrics bridge; nothing is logged per event.
 */
import type { BookDeltaMsg, BookSnapshotMsg, DomainEvent, DomainEvents, Level, Topic } from '../core/events.ts';
import { parseDecimal } from '../core/decimal.ts';

/** What happens when a consumer's queue is full. */
export type OverflowPolicy = 'conflate' | 'drop' | 'disconnect';

/** Default policy of each topic: state-like topics conflate, event-like topics drop. */
export const DEFAULT_POLICIES: Readonly<Record<Topic, OverflowPolicy>> = {
  book_snapshot: 'conflate',
  book_delta: 'conflate',
  book_reset: 'conflate',
  ticker: 'conflate',
  summary: 'conflate',
  consolidated_book: 'conflate',
  health: 'conflate',
  venue_status: 'conflate',
  oracle_price: 'conflate',
  trade: 'drop',
  arbitrage: 'drop',
};

/** Options of {@link EventQueue}. */
export interface EventQueueOptions {
  /** Consumer name (metrics label `sink`). */
  readonly name: string;
  /** Events held before the overflow policy applies (default 10000). */
  readonly capacity?: number;
  /** Policy per topic (defaults: {@link DEFAULT_POLICIES}). */
  readonly policies?: Partial<Record<Topic, OverflowPolicy>>;
}

/** Counters of one queue. */
export interface QueueCounters {
  /** Events accepted (queued or merged). */
  enqueued: number;
  /**
   * Events lost, per topic: dropped under the `drop` policy (or `conflate` with no conflation key, e.g.
   * `oracle_price`), and under `disconnect` the overflowing event, the pending ones discarded with it and those
   * offered afterwards until the consumer closes the queue.
   */
  dropped: Partial<Record<Topic, number>>;
  /** Events merged into a pending one under the `conflate` policy, per topic. */
  conflated: Partial<Record<Topic, number>>;
}

/** Error raised (to the reader) when a `disconnect` topic overflowed. */
export class QueueOverflowError extends Error {
  constructor(readonly queue: string, readonly topic: Topic, readonly capacity: number) {
    super(`queue "${queue}" overflowed on "${topic}" (capacity ${capacity}): consumer disconnected`);
    this.name = 'QueueOverflowError';
  }
}

/** Conflation key of an event: one per book / instrument / summary key; undefined = never conflated. */
export function conflationKey(ev: DomainEvent): string | undefined {
  switch (ev.kind) {
    case 'book_snapshot':
    case 'book_delta':
    case 'book_reset':
      return `book|${ev.instrument.venue}|${ev.instrument.key}`;
    case 'ticker':
      return `ticker|${ev.instrument.venue}|${ev.instrument.key}`;
    case 'summary':
    case 'consolidated_book':
      return `${ev.kind}|${ev.symbol}`;
    case 'health':
      return 'health';
    case 'venue_status':
      return `venue_status|${ev.venue}|${ev.connId}`;
    case 'oracle_price':
      return undefined; // batches carry different feeds: merged only by replacement when all ids match (not done)
    default:
      return undefined;
  }
}

/**
 * Applies `delta` levels to a map of numeric price → level, in order, as the book engine does: size "0" deletes
 * (or, with `keepDeletes`, is kept as the level's latest change), a level whose price is not a finite number or whose
 * size is not a finite number ≥ 0 is ignored.
 */
function applyToMap(m: Map<number, Level>, levels: readonly Level[], keepDeletes = false): void {
  for (const l of levels) {
    const p = parseDecimal(l[0]);
    const s = parseDecimal(l[1]);
    if (!Number.isFinite(p) || !(s >= 0) || s === Infinity) continue;
    if (s === 0 && !keepDeletes) m.delete(p);
    else m.set(p, l);
  }
}

/** Map of numeric price → level of a whole side (a snapshot's levels). */
function sideMap(levels: readonly Level[]): Map<number, Level> {
  const m = new Map<number, Level>();
  applyToMap(m, levels);
  return m;
}

/** Levels of a map, best first. */
function sorted(m: Map<number, Level>, descending: boolean): Level[] {
  const keys = [...m.keys()].sort((a, b) => (descending ? b - a : a - b));
  return keys.map((k) => m.get(k)!);
}

/**
 * Merges a newer book event into an older pending one of the same book. Returns the merged event, or the newer one
 * when they cannot be merged (a different epoch, a reset or a snapshot: the newer one is then the whole truth).
 */
export function mergeBookEvents(
  older: DomainEvents['book_snapshot' | 'book_delta' | 'book_reset'],
  newer: DomainEvents['book_snapshot' | 'book_delta' | 'book_reset'],
): DomainEvents['book_snapshot' | 'book_delta' | 'book_reset'] {
  if (newer.kind !== 'book_delta' || older.kind === 'book_reset' || older.epoch !== newer.epoch) return newer;
  if (older.kind === 'book_snapshot') {
    const bids = sideMap(older.bids);
    const asks = sideMap(older.asks);
    applyToMap(bids, newer.bids);
    applyToMap(asks, newer.asks);
    const merged: BookSnapshotMsg = { ...older, seq: newer.seq, ts: newer.ts, recvTs: newer.recvTs, bids: sorted(bids, true), asks: sorted(asks, false) };
    return merged;
  }
  // Delta + delta: the last valid change of each price wins (absolute sizes, deletions kept), by numeric price.
  const bids = new Map<number, Level>();
  const asks = new Map<number, Level>();
  applyToMap(bids, older.bids, true);
  applyToMap(bids, newer.bids, true);
  applyToMap(asks, older.asks, true);
  applyToMap(asks, newer.asks, true);
  const merged: BookDeltaMsg = { ...newer, bids: [...bids.values()], asks: [...asks.values()] };
  return merged;
}

interface Slot {
  ev: DomainEvent;
  key: string | undefined;
}

/**
 * The queue. `push` is called synchronously by the bus (never blocks, never throws); the consumer reads with
 * {@link EventQueue.next} or `for await`.
 */
export class EventQueue implements AsyncIterable<DomainEvent> {
  readonly name: string;
  readonly capacity: number;
  readonly counters: QueueCounters = { enqueued: 0, dropped: {}, conflated: {} };
  private readonly policies: Readonly<Record<Topic, OverflowPolicy>>;
  private items: (Slot | undefined)[] = [];
  private head = 0;
  /** Conflation key → index (in `items`) of the latest pending event with that key. */
  private readonly latest = new Map<string, number>();
  /** Readers waiting in {@link EventQueue.next} (oldest first); only while the queue is empty. */
  private waiters: { resolve: (r: IteratorResult<DomainEvent>) => void; reject: (e: Error) => void }[] = [];
  private closedWith: Error | null | undefined;

  constructor(o: EventQueueOptions) {
    this.name = o.name;
    this.capacity = o.capacity ?? 10000;
    this.policies = { ...DEFAULT_POLICIES, ...o.policies };
  }

  /** Events waiting to be read. */
  get depth(): number {
    return this.items.length - this.head;
  }

  /** True once closed (by the consumer, or by a `disconnect` overflow). */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** The {@link QueueOverflowError} that closed the queue, if a `disconnect` topic overflowed (for `drain` readers). */
  get error(): Error | undefined {
    return this.closedWith instanceof Error ? this.closedWith : undefined;
  }

  /** Offers one event (bus side). */
  push(ev: DomainEvent): void {
    const topic = ev.kind;
    if (this.closedWith !== undefined) {
      // Overflowed and not yet detached by its consumer: what it misses is counted, never silently lost.
      if (this.closedWith !== null) this.counters.dropped[topic] = (this.counters.dropped[topic] ?? 0) + 1;
      return;
    }
    if (this.waiters.length > 0) {
      // A reader waits, so nothing is pending: hand the event over directly.
      this.counters.enqueued++;
      this.waiters.shift()!.resolve({ value: ev, done: false });
      return;
    }
    const policy = this.policies[topic];
    const key = policy === 'conflate' ? conflationKey(ev) : undefined;
    if (this.depth >= this.capacity) {
      if (policy === 'drop' || (policy === 'conflate' && key === undefined)) {
        this.counters.dropped[topic] = (this.counters.dropped[topic] ?? 0) + 1;
        return;
      }
      if (policy === 'disconnect') {
        this.counters.dropped[topic] = (this.counters.dropped[topic] ?? 0) + 1;
        this.fail(new QueueOverflowError(this.name, topic, this.capacity));
        return;
      }
      const at = this.latest.get(key!);
      if (at !== undefined) {
        const slot = this.items[at]!;
        slot.ev = ev.kind === 'book_snapshot' || ev.kind === 'book_delta' || ev.kind === 'book_reset'
          ? mergeBookEvents(slot.ev as BookSnapshotMsg | BookDeltaMsg, ev)
          : ev;
        this.counters.conflated[topic] = (this.counters.conflated[topic] ?? 0) + 1;
        this.counters.enqueued++;
        return;
      }
    }
    if (key !== undefined) this.latest.set(key, this.items.length);
    this.items.push({ ev, key });
    this.counters.enqueued++;
  }

  /** The next event; resolves `done` once closed and drained; rejects after a `disconnect` overflow. */
  next(): Promise<IteratorResult<DomainEvent>> {
    if (this.depth > 0) return Promise.resolve({ value: this.shift(), done: false });
    if (this.closedWith instanceof Error) return Promise.reject(this.closedWith);
    if (this.closedWith === null) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  /** Takes every pending event at once (batching consumers), oldest first. */
  drain(max = Infinity): DomainEvent[] {
    const out: DomainEvent[] = [];
    while (this.depth > 0 && out.length < max) out.push(this.shift());
    return out;
  }

  private shift(): DomainEvent {
    const slot = this.items[this.head]!;
    this.items[this.head] = undefined;
    if (slot.key !== undefined && this.latest.get(slot.key) === this.head) this.latest.delete(slot.key);
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      this.latest.clear();
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      for (const [k, i] of this.latest) this.latest.set(k, i - this.head);
      this.head = 0;
    }
    return slot.ev;
  }

  /** Closes with an overflow error: pending events are discarded (counted as dropped), readers get `e`. */
  private fail(e: Error): void {
    this.closedWith = e;
    for (let i = this.head; i < this.items.length; i++) {
      const t = this.items[i]!.ev.kind;
      this.counters.dropped[t] = (this.counters.dropped[t] ?? 0) + 1;
    }
    this.items = [];
    this.head = 0;
    this.latest.clear();
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.reject(e);
  }

  /** Closes the queue: pending events can still be read, then the iterator ends. Idempotent. */
  close(): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = null;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<DomainEvent> {
    return { next: () => this.next() };
  }
}
