/**
 * The sync stage: turns a venue's book snapshots and deltas into correct L2 books, by the venue's
 * {@link BookSyncRule}. It owns the books (venue code never keeps them).
 *
 * Sequence rules, per delta, against the book's sequence `seq` after the last applied message:
 * - `contiguous` (delta covers `[firstSeq, lastSeq]`): `lastSeq <= seq` → stale, skipped;
 *   `firstSeq > seq + 1` → gap; otherwise applied (so the first delta after a REST snapshot must
 *   satisfy `firstSeq <= seq + 1 <= lastSeq`, Binance's rule; for one-number venues such as Bybit
 *   `firstSeq == lastSeq == u` this is `u == seq + 1`).
 * - `linked`: `prevSeq` must equal `seq` (an empty heartbeat update with `prevSeq == lastSeq == seq` is fine).
 * - `none`: no continuity; `lastSeq` only orders deltas against the book (a delta with `lastSeq <= seq`, e.g.
 *   older than a REST snapshot, is stale and skipped).
 *
 * Every rebuild of a book (a snapshot loaded after a reset) starts a new `epoch`; the bus events carry it, plus the
 * whole book on `book_snapshot` and the changed levels (with depth-truncation deletions) on `book_delta`, so any
 * consumer can rebuild the book from the events alone.
 *
 * A gap, checksum failure or crossed book invalidates only that instrument's book: a `book_reset` is
 * published, the book is not published again until it is rebuilt, and the runner is asked to resync
 * just that instrument (resubscribe for stream snapshots, REST fetch for rest snapshots).
 * Deltas that arrive while a REST snapshot is awaited are buffered (bounded).
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level } from '../core/events.ts';
import type { Instrument } from '../core/instruments.ts';
import type { BookView } from '../core/book-view.ts';
import type { BookSnapshot, BookSyncRule } from '../venues/connector.ts';
import type { Bus } from '../bus/bus.ts';
import { L2Book } from './book.ts';

/** Why a book is rebuilt. */
export type ResyncReason = 'initial' | 'gap' | 'checksum' | 'crossed' | 'venue' | 'snapshot_stale' | 'disconnected' | 'buffer_overflow';

/** Verifies a venue checksum against the book after a delta was applied. */
export type ChecksumFn = (book: BookView, expected: number) => boolean;

export interface SyncOptions {
  /** Max deltas buffered per instrument while a REST snapshot is awaited (default 20000). */
  readonly maxBuffered?: number;
  /** Book depth kept when the rule truncates (default: unlimited). */
  readonly depthFor?: (key: string) => number | undefined;
  readonly checksum?: ChecksumFn;
  /** Asks the runner to rebuild one instrument (resubscribe or fetch a REST snapshot). */
  readonly requestResync: (instrument: Instrument, reason: ResyncReason) => void;
  /** Local clock (ms) for reset events. */
  readonly now?: () => number;
}

type State = 'await_snapshot' | 'live';

interface Entry {
  readonly instrument: Instrument;
  readonly book: L2Book;
  state: State;
  /** Deltas buffered while awaiting a REST snapshot. */
  buffer: BookDeltaEvent[];
  /** A resync request is outstanding (avoid asking twice). */
  pending: boolean;
}

/** Counters over all books of one venue, beyond the per-book stats. */
export interface SyncCounters {
  /** Deltas skipped as older than the book. */
  stale: number;
  /** Deltas dropped because the book awaited its (stream) snapshot. */
  awaitingSnapshot: number;
  /** Events for instruments not subscribed / not known. */
  unknownInstrument: number;
  /** Buffered deltas dropped because the buffer was full. */
  bufferOverflow: number;
}

/** Levels whose own sequence (third element) is greater than `seq`. */
function newerLevels(levels: readonly Level[], seq: number): Level[] {
  return levels.filter((l) => Number(l[2]) > seq);
}

/** Book sync for one venue. */
export class BookSync {
  private readonly entries = new Map<string, Entry>();
  readonly counters: SyncCounters = { stale: 0, awaitingSnapshot: 0, unknownInstrument: 0, bufferOverflow: 0 };
  private readonly maxBuffered: number;
  private readonly now: () => number;

  constructor(
    readonly venue: string,
    readonly rule: BookSyncRule,
    private readonly bus: Bus,
    private readonly opts: SyncOptions,
  ) {
    this.maxBuffered = opts.maxBuffered ?? 20000;
    this.now = opts.now ?? Date.now;
  }

  /** Starts tracking a book for `instrument` (idempotent). Events for untracked instruments are counted and dropped. */
  track(instrument: Instrument): L2Book {
    let e = this.entries.get(instrument.key);
    if (!e) {
      e = {
        instrument,
        book: new L2Book(this.venue, instrument.key, instrument.symbol, instrument.venueSymbol),
        state: 'await_snapshot',
        buffer: [],
        pending: false,
      };
      this.entries.set(instrument.key, e);
    }
    return e.book;
  }

  /**
   * Stops tracking a book (the subscription was removed). A book that was valid gets one last `book_reset` (reason
   * `unsubscribed`) so consumers drop it; afterwards nothing is published for it: its events are counted as
   * `unknownInstrument` and dropped, snapshots and invalidations for it are ignored. Returns false when not tracked.
   */
  untrack(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    const wasValid = e.book.valid;
    e.book.reset();
    e.buffer = [];
    e.pending = false;
    if (wasValid) this.publishReset(e, 'unsubscribed');
    return true;
  }

  /** The book for an instrument key, if tracked. */
  book(key: string): L2Book | undefined {
    return this.entries.get(key)?.book;
  }

  /** All tracked books. */
  books(): L2Book[] {
    return [...this.entries.values()].map((e) => e.book);
  }

  /** Tracked instruments. */
  instruments(): Instrument[] {
    return [...this.entries.values()].map((e) => e.instrument);
  }

  /** Feeds one decoded book event. */
  onEvent(ev: BookSnapshotEvent | BookDeltaEvent): void {
    const e = this.entries.get(ev.key);
    if (e === undefined) {
      this.counters.unknownInstrument++;
      return;
    }
    if (ev.type === 'book_delta') this.onDelta(e, ev);
    else this.onStreamSnapshot(e, ev);
  }

  /** Replaces the book with a snapshot (stream or REST): levels, sequence, times; clears the buffer and request. */
  private load(e: Entry, bids: readonly Level[], asks: readonly Level[], seq: number | undefined, ts: number, recvTs: number): void {
    const b = e.book;
    b.loadSnapshot(bids, asks);
    b.seq = seq;
    b.ts = ts;
    b.recvTs = recvTs;
    b.stats.snapshots++;
    b.epoch++;
    e.buffer = [];
    e.pending = false;
    this.truncate(e);
  }

  /**
   * Applies one delta's levels (by default all of them), moves the sequence and times, truncates and verifies the
   * venue checksum when there is one. Returns false when the checksum failed (the book is then reset and resyncing).
   */
  private applyDelta(e: Entry, d: BookDeltaEvent, bids: readonly Level[] = d.bids, asks: readonly Level[] = d.asks): boolean {
    const b = e.book;
    b.applyLevels(bids, asks);
    b.seq = d.lastSeq;
    b.ts = d.ts;
    b.recvTs = d.recvTs;
    b.stats.deltas++;
    this.truncate(e, this.cut);
    if (d.checksum !== undefined && this.opts.checksum) {
      if (!this.opts.checksum(b, d.checksum)) {
        b.stats.checksumFailures++;
        this.fail(e, 'checksum');
        return false;
      }
      b.stats.checksumsOk++;
    }
    return true;
  }

  private onStreamSnapshot(e: Entry, ev: BookSnapshotEvent): void {
    const b = e.book;
    this.load(e, ev.bids, ev.asks, ev.seq, ev.ts, ev.recvTs);
    if (b.isCrossed()) {
      this.fail(e, 'crossed');
      return;
    }
    e.state = 'live';
    b.valid = true;
    this.publishSnapshot(e);
  }

  /** Publishes the whole book as a `book_snapshot` (only when someone listens). */
  private publishSnapshot(e: Entry): void {
    if (!this.bus.has('book_snapshot')) return;
    const b = e.book;
    this.bus.publish('book_snapshot', {
      kind: 'book_snapshot', instrument: e.instrument, epoch: b.epoch, seq: b.seq ?? null, ts: b.ts, recvTs: b.recvTs, bids: b.bids.top(), asks: b.asks.top(),
    });
  }

  /** Publishes a `book_reset` for the epoch that ended. */
  private publishReset(e: Entry, reason: string): void {
    this.bus.publish('book_reset', { kind: 'book_reset', instrument: e.instrument, epoch: e.book.epoch, reason, ts: this.now() });
  }

  private onDelta(e: Entry, ev: BookDeltaEvent): void {
    if (e.state !== 'live') {
      if (this.rule.snapshot === 'rest') {
        if (e.buffer.length >= this.maxBuffered) {
          e.buffer.shift();
          this.counters.bufferOverflow++;
        }
        e.buffer.push(ev);
        if (!e.pending) {
          e.pending = true;
          this.opts.requestResync(e.instrument, 'initial');
        }
      } else {
        this.counters.awaitingSnapshot++;
      }
      return;
    }
    const b = e.book;
    const verdict = this.check(b.seq, ev);
    if (verdict === 'stale') {
      this.counters.stale++;
      return;
    }
    if (verdict === 'gap') {
      b.stats.gaps++;
      this.fail(e, 'gap', ev);
      return;
    }
    this.apply(e, ev);
  }

  /** Sequence verdict of one delta against the book sequence. */
  private check(seq: number | undefined, ev: BookDeltaEvent): 'apply' | 'stale' | 'gap' {
    switch (this.rule.sequence) {
      case 'contiguous':
        if (seq === undefined) return 'apply';
        if (ev.lastSeq <= seq) return 'stale';
        if (ev.firstSeq > seq + 1) return 'gap';
        return 'apply';
      case 'linked':
        if (seq === undefined) return 'apply';
        if (ev.prevSeq === seq) return 'apply';
        if (ev.lastSeq <= seq && ev.prevSeq !== undefined && ev.prevSeq < seq) return 'stale';
        return 'gap';
      case 'none':
        // No continuity to check, but a delta older than the book (e.g. a diff that arrives after a newer REST
        // snapshot) must not revert it.
        return seq !== undefined && ev.lastSeq <= seq ? 'stale' : 'apply';
    }
  }

  private apply(e: Entry, ev: BookDeltaEvent): void {
    const b = e.book;
    const cut = this.cut;
    cut.bids.length = 0;
    cut.asks.length = 0;
    if (!this.applyDelta(e, ev)) return;
    if (b.isCrossed()) {
      this.fail(e, 'crossed');
      return;
    }
    if (e.state === 'live' && this.bus.has('book_delta')) {
      this.bus.publish('book_delta', {
        kind: 'book_delta',
        instrument: e.instrument,
        epoch: b.epoch,
        seq: b.seq ?? null,
        ts: b.ts,
        recvTs: b.recvTs,
        bids: cut.bids.length === 0 ? ev.bids : [...ev.bids, ...cut.bids],
        asks: cut.asks.length === 0 ? ev.asks : [...ev.asks, ...cut.asks],
      });
    }
  }

  /** Levels cut by depth truncation while applying the current delta (reused; copied into the event when non-empty). */
  private readonly cut: { bids: Level[]; asks: Level[] } = { bids: [], asks: [] };

  private truncate(e: Entry, cut?: { bids: Level[]; asks: Level[] }): void {
    if (!this.rule.truncateToDepth) return;
    const d = this.opts.depthFor?.(e.instrument.key);
    if (d !== undefined) {
      e.book.bids.truncate(d, cut?.bids);
      e.book.asks.truncate(d, cut?.asks);
    }
  }

  /** Invalidates one book, tells clients, and asks for a resync. */
  private fail(e: Entry, reason: ResyncReason, carry?: BookDeltaEvent): void {
    const wasValid = e.book.valid;
    e.book.reset();
    e.state = 'await_snapshot';
    e.buffer = carry && this.rule.snapshot === 'rest' ? [carry] : [];
    e.book.stats.resyncs++;
    if (wasValid) this.publishReset(e, reason);
    e.pending = true;
    this.opts.requestResync(e.instrument, reason);
  }

  /**
   * Applies a REST snapshot to an instrument awaiting one: drops buffered deltas the snapshot already
   * contains, checks the first remaining delta continues it, then applies the rest.
   * Returns false (and asks for another snapshot) when the snapshot is older than the buffered deltas.
   */
  onRestSnapshot(key: string, snap: BookSnapshot): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    const buffered = e.buffer.filter((d) => d.lastSeq > snap.seq);
    if (this.rule.sequence === 'contiguous' && buffered.length > 0 && buffered[0].firstSeq > snap.seq + 1) {
      // Snapshot is older than the first delta we hold: events between them are missing.
      e.buffer = buffered;
      e.book.stats.resyncs++;
      e.pending = true;
      this.opts.requestResync(e.instrument, 'snapshot_stale');
      return false;
    }
    const b = e.book;
    this.load(e, snap.bids, snap.asks, snap.seq, snap.ts, snap.ts);
    e.state = 'live';
    b.valid = true;
    // Apply the buffer through the normal rule without publishing each delta; publish one snapshot after.
    for (const d of buffered) {
      const v = this.check(b.seq, d);
      if (v === 'stale') {
        this.counters.stale++;
        continue;
      }
      if (v === 'gap') {
        b.stats.gaps++;
        this.fail(e, 'gap', d);
        return false;
      }
      // A delta straddling the snapshot (levelSequence venues): only its levels newer than the snapshot apply.
      const ok =
        this.rule.levelSequence && d.firstSeq <= snap.seq
          ? this.applyDelta(e, d, newerLevels(d.bids, snap.seq), newerLevels(d.asks, snap.seq))
          : this.applyDelta(e, d);
      if (!ok) return false;
    }
    if (b.isCrossed()) {
      this.fail(e, 'crossed');
      return false;
    }
    this.publishSnapshot(e);
    return true;
  }

  /**
   * Asks for the REST snapshot of a book that awaits one and has none requested yet (a quiet instrument whose
   * first delta has not arrived). Returns true when a request was made.
   */
  requestSnapshot(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || e.state !== 'await_snapshot' || e.pending || this.rule.snapshot !== 'rest') return false;
    e.pending = true;
    this.opts.requestResync(e.instrument, 'initial');
    return true;
  }

  /** A snapshot request failed: allow the next delta (or the runner's retry) to ask again. */
  snapshotFailed(key: string): void {
    const e = this.entries.get(key);
    if (e) e.pending = false;
  }

  /** True while an instrument waits for its snapshot. */
  awaiting(key: string): boolean {
    return this.entries.get(key)?.state === 'await_snapshot';
  }

  /**
   * Invalidates books from outside (connection lost, venue asked for a resync). Publishes `book_reset` for
   * books that were valid. With `request`, also asks for a resync (venue-signalled resync on a live connection).
   */
  invalidate(keys: Iterable<string>, reason: ResyncReason, request = false): void {
    for (const k of keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      const wasValid = e.book.valid;
      e.book.reset();
      e.state = 'await_snapshot';
      e.buffer = [];
      e.pending = false;
      if (wasValid) this.publishReset(e, reason);
      if (request) {
        e.book.stats.resyncs++;
        e.pending = true;
        this.opts.requestResync(e.instrument, reason);
      }
    }
  }
}
