/**
 * The REST snapshot queue of one venue (venues whose book snapshots come over REST): resync requests of the sync stage
 * become snapshot fetches, one at a time (a burst of resyncs never floods the venue), within the venue's REST request
 * budget (token bucket), instruments clients watch first. A failed fetch is retried with backoff while the book still
 * awaits a snapshot; a snapshot older than the buffered deltas (`snapshot_stale`) is fetched again, with backoff.
 * Used by {@link VenueRunner} (`ingest.ts`), which owns the timers.
 */
import { errorMessage, type ErrorCode, type TributaryError } from '../core/errors.ts';
import type { Instrument } from '../core/instruments.ts';
import { TokenBucket } from '../transport/rate-limit.ts';
import type { Connector, Http, VenueEndpoints } from '../venues/connector.ts';
import type { IngestCounters, IngestLogger } from './ingest.ts';
import type { BookSync, ResyncReason } from './sync.ts';

/** After a connection opens, books of REST-snapshot venues still without any delta get their snapshot anyway (ms). */
export const QUIET_BOOK_GRACE_MS = 2000;

/** What the snapshot queue needs from its venue runner. */
export interface SnapshotQueueOptions {
  readonly connector: Connector;
  readonly endpoints: VenueEndpoints;
  readonly http: Http;
  readonly sync: BookSync;
  readonly log: IngestLogger;
  /** The runner's counters (`snapshotRequests`, `snapshotFailures` are counted here). */
  readonly counters: IngestCounters;
  /** Book depth kept per instrument key (the fetch asks for it; the venue's default depth otherwise). */
  readonly depthByKey: ReadonlyMap<string, number>;
  /** REST request budget (token bucket); unlimited when absent. */
  readonly rateLimit?: { requestsPerSecond: number; burstSize: number };
  /** Instruments clients watch: fetched first. */
  readonly isWatched?: (key: string) => boolean;
  /** Called when a fetch had to wait for the request budget. */
  readonly onBudgetWait?: () => void;
  /** Counts an error by code. */
  readonly count: (code: ErrorCode) => void;
  /** Retry delay (ms) for retry `attempt` (1-based). */
  readonly backoff: (attempt: number) => number;
  /** Runs `fn` after `delayMs` unless the runner stopped meanwhile. */
  readonly later: (delayMs: number, fn: () => void) => void;
  /** True once the runner stopped. */
  readonly isStopped: () => boolean;
}

/** Queued REST snapshot fetches of one venue. See the module comment. */
export class SnapshotQueue {
  private readonly queue: { instrument: Instrument; attempt: number }[] = [];
  private readonly queued = new Set<string>();
  private busy = false;
  private readonly bucket: TokenBucket | undefined;
  private budgetWaiting = false;
  /** Consecutive stale REST snapshots per instrument (backoff on refetch). */
  private readonly staleAttempts = new Map<string, number>();

  constructor(private readonly o: SnapshotQueueOptions) {
    this.bucket = o.rateLimit ? new TokenBucket(o.rateLimit.requestsPerSecond, o.rateLimit.burstSize) : undefined;
  }

  /** A resync request of the sync stage: fetch the snapshot (again, with backoff, when the last one was stale). */
  resync(instrument: Instrument, reason: ResyncReason): void {
    if (reason === 'snapshot_stale') {
      // The snapshot was older than the buffered deltas: fetch again, with backoff (never a tight loop).
      const n = (this.staleAttempts.get(instrument.key) ?? 0) + 1;
      this.staleAttempts.set(instrument.key, n);
      this.o.later(this.o.backoff(n), () => {
        if (this.o.sync.awaiting(instrument.key)) this.enqueue(instrument, n);
      });
    } else {
      this.enqueue(instrument);
    }
  }

  /** Drops an instrument no longer tracked: its queued fetch and its stale count. */
  forget(key: string): void {
    this.staleAttempts.delete(key);
    if (this.queued.delete(key)) {
      const j = this.queue.findIndex((q) => q.instrument.key === key);
      if (j >= 0) this.queue.splice(j, 1);
    }
  }

  private enqueue(instrument: Instrument, attempt = 0): void {
    if (this.queued.has(instrument.key)) return;
    this.queued.add(instrument.key);
    this.queue.push({ instrument, attempt });
    this.pump();
  }

  /** Fetches queued REST snapshots one at a time (a burst of resyncs never floods the venue). */
  private pump(): void {
    if (this.busy || this.budgetWaiting || this.o.isStopped() || this.queue.length === 0) return;
    if (this.bucket) {
      const wait = this.bucket.take();
      if (wait > 0) {
        this.budgetWaiting = true;
        this.o.onBudgetWait?.();
        this.o.later(wait, () => {
          this.budgetWaiting = false;
          this.pump();
        });
        return;
      }
    }
    // Instruments clients watch go first.
    const isWatched = this.o.isWatched;
    const watched = isWatched ? this.queue.findIndex((j) => isWatched(j.instrument.key)) : -1;
    const job = this.queue.splice(watched > 0 ? watched : 0, 1)[0];
    this.busy = true;
    const { instrument } = job;
    const { connector, sync } = this.o;
    const fetchSnapshot = connector.bookSnapshot;
    if (!fetchSnapshot) {
      this.busy = false;
      this.queued.delete(instrument.key);
      return;
    }
    this.o.counters.snapshotRequests++;
    const depth = this.o.depthByKey.get(instrument.key) ?? connector.capabilities.defaultDepth;
    fetchSnapshot
      .call(connector, instrument, depth, this.o.http, this.o.endpoints)
      .then((snap) => {
        this.queued.delete(instrument.key);
        if (!this.o.isStopped() && sync.onRestSnapshot(instrument.key, snap)) this.staleAttempts.delete(instrument.key);
      })
      .catch((e: unknown) => {
        this.queued.delete(instrument.key);
        this.o.counters.snapshotFailures++;
        this.o.count((e as TributaryError).code ?? 'HTTP_ERROR');
        sync.snapshotFailed(instrument.key);
        const delay = this.o.backoff(job.attempt + 1);
        this.o.log.warn({ symbol: instrument.symbol, err: errorMessage(e), delayMs: delay }, 'snapshot fetch failed; retrying');
        this.o.later(delay, () => {
          if (sync.awaiting(instrument.key)) this.enqueue(instrument, job.attempt + 1);
        });
      })
      .finally(() => {
        this.busy = false;
        this.pump();
      });
  }
}
