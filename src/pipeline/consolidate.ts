/**
 * The consolidate stage: one consolidated book per canonical instrument across venues.
 *
 * For each consolidation key (the canonical symbol, see {@link consolidationKey}) it keeps references to the
 * venues' live books (it never mutates them) and, on demand, k-way merges the included venues' sides into
 * one best-first list where every level keeps its venue: equal prices on two venues stay two levels, ordered
 * by venue id. From the merge come the NBBO (best bid / best ask across venues), the spread (absolute and in
 * bps of the mid) and the mid.
 * These pure computations (and the consolidation key, and summary equality) are `merge.ts`; this module keeps the
 * members, the dirty keys and the throttled summaries.
 *
 * Inclusion: a venue's book is included when the venue is connected, the book is valid (not resyncing), its last
 * update was received at most `maxQuoteAgeMs` ago (`now() − book.recvTs`, on the pipeline's data clock: the
 * recording's time in replay, see `clock.ts`) and its venue time does not lag the freshest of those books' venue
 * time by more than `maxQuoteAgeMs` (else `lagging`: a venue whose clock or feed is behind, or a recording made at
 * another time, is not merged with fresher data). Excluded venues are listed with the reason and come back by
 * themselves once good again. `venueSkewMs` reports the venue-time spread of the books merged (books without a
 * venue time, `ts` ≤ 0, take no part in the lag test nor the skew).
 *
 * A crossed consolidated book (one venue's bid above another venue's ask) is legitimate across venues (an
 * arbitrage): it is reported as is, with a negative spread and `crossed: true`.
 *
 * Oracle: when an oracle (Pyth) prices the key's instrument (`oracleInstrument` maps a feed to `BASE/QUOTE`, which
 * maps to a key like any canonical symbol, so Pyth `BTC/USD` meets `BTC/USDT` under a `USDT = USD` group), the book
 * carries `oracle` with the mid's deviation from it in bps; a new oracle price marks the key dirty.
 *
 * Hot path: a bus `book_snapshot` / `book_delta` / `book_reset` event only marks its key dirty (two map lookups). The merge runs
 * on the throttle timer (summaries) or on demand (`getBook`). Summaries are emitted on change, at most one
 * per key per `summaryIntervalMs`: the first change after a quiet interval goes out on the next timer turn,
 * later changes within the interval are coalesced and the latest state goes out when the interval ends, so
 * a final update is never lost. A key is also recomputed when one of its included books reaches
 * `maxQuoteAgeMs`, so a venue that falls silent is dropped without waiting for another event.
 */
import { subscriptionIterable, type PushIterable } from '../core/async-iter.ts';
import type { Instrument } from '../core/instruments.ts';
import type { BookView } from '../core/book-view.ts';
import type { OraclePrice } from '../core/events.ts';
import type { Bus } from '../bus/bus.ts';

export type { ExclusionReason, ConsolidatedLevel, Nbbo, Spread, ExcludedVenue, OracleRef, ConsolidatedBook } from '../core/events.ts';
import type { ExclusionReason, ExcludedVenue, ConsolidatedBook } from '../core/events.ts';
import { buildGroups, consolidatedBook, consolidationKey, sameSummary, type MergeMember } from './merge.ts';

export { consolidationKey } from './merge.ts';

/** The summary stream item: a {@link ConsolidatedBook} `maxPriceLevels` deep. */
export type Summary = ConsolidatedBook;

/** One included venue book of a key, as handed to the arbitrage detector (read-only; never mutate). */
export interface VenueBookRef {
  readonly venue: string;
  /** The venue instrument's canonical symbol (differs from the key under quote equivalence). */
  readonly symbol: string;
  readonly book: BookView;
}

export interface ConsolidatorOptions {
  readonly bus: Bus;
  /** The book read model: the live book of one venue instrument (by instrument key), owned by the sync stage. */
  readonly book: (venue: string, key: string) => BookView | undefined;
  /** Depth of summaries and the default depth of `getBook` (levels per side; default 20). */
  readonly maxPriceLevels?: number;
  /** At most one summary per key per this many ms (default 1000). */
  readonly summaryIntervalMs?: number;
  /**
   * A book whose last update was received longer ago than this (ms) is excluded as `stale`, one whose venue time lags
   * the freshest included book's by more than this as `lagging` (default 10000).
   */
  readonly maxQuoteAgeMs?: number;
  /**
   * Quote-currency equivalence groups, e.g. `[["USD","USDT","USDC"]]` (off when absent or empty). Spot
   * instruments quoted in a group's currency consolidate under `BASE/<first of group>`.
   */
  readonly quoteGroups?: readonly (readonly string[])[];
  /** Whether the venue's connection(s) are up (e.g. `VenueRunner.connected`). */
  readonly isVenueConnected: (venue: string) => boolean;
  /** Venues whose books take part (default: all). Books of other venues are ignored here. */
  readonly venues?: readonly string[];
  /**
   * Clock, ms since epoch (default `Date.now`): the pipeline passes its data clock (`DataClock`, `clock.ts`), so freshness is
   * judged on the time of the data (the recording's in replay), and `timestamp` is that time.
   */
  readonly now?: () => number;
  /**
   * Per-venue clock (ms) that a venue's book `recvTs` is judged against for `maxQuoteAgeMs` (default: `now`). Replay
   * of recordings made at different times gives each venue its own recording clock.
   */
  readonly venueNow?: (venue: string) => number;
  /**
   * Canonical instrument (`BTC/USD`) an oracle feed prices, or undefined (bus `oracle_price` updates of such feeds
   * are ignored). Without it no oracle is attached.
   */
  readonly oracleInstrument?: (source: string, feedId: string) => string | undefined;
}

/** One venue book of a key (merged as a {@link MergeMember}). */
interface Member extends MergeMember {
  readonly key: string;
  book: BookView;
  readonly state: KeyState;
}

interface KeyState {
  readonly key: string;
  /** Quote-group key: levels and exclusions carry the instrument symbol, output has `quoteEquivalence`. */
  readonly group: readonly string[] | undefined;
  /** Sorted by venue, then symbol (the tie order of equal prices). */
  members: Member[];
  dirty: boolean;
  /** Local time (ms) of the last emitted summary (-Infinity before the first). */
  lastEmitAt: number;
  lastEmitted: Summary | undefined;
  /** Local time (ms) at which an included book becomes stale (Infinity when none). */
  staleAt: number;
}

/** Listener of summaries. */
export type SummaryListener = (s: Summary) => void;

/** Consolidated books across venues, with a throttled summary stream. See the module comment. */
export class Consolidator implements AsyncIterable<Summary> {
  /** Levels per side in summaries and the default `getBook` depth. */
  readonly maxPriceLevels: number;
  readonly summaryIntervalMs: number;
  readonly maxQuoteAgeMs: number;
  /** Listener exceptions caught (a throwing listener never stops the others). */
  listenerErrors = 0;
  private readonly groups: Map<string, readonly string[]>;
  private readonly now: () => number;
  private readonly venueNow: ((venue: string) => number) | undefined;
  private readonly isVenueConnected: (venue: string) => boolean;
  private readonly venueFilter: ReadonlySet<string> | undefined;
  /** venue → instrument key → member. */
  private readonly members = new Map<string, Map<string, Member>>();
  private readonly keys = new Map<string, KeyState>();
  private readonly dirty = new Set<KeyState>();
  private readonly listeners: SummaryListener[] = [];
  private readonly updateListeners: ((keys: readonly string[]) => void)[] = [];
  private readonly unsubs: (() => void)[] = [];
  /** Open `stream()` iterators (ended by `close()`). */
  private readonly streams = new Set<PushIterable<Summary>>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  /** Earliest `staleAt` over all keys (a lower bound; Infinity when none). */
  private nextStaleAt = Infinity;
  private closed = false;
  private readonly bookOf: (venue: string, key: string) => BookView | undefined;
  /** Consolidation key → latest oracle price of its instrument. */
  private readonly oracles = new Map<string, OraclePrice>();

  constructor(opts: ConsolidatorOptions) {
    this.maxPriceLevels = opts.maxPriceLevels ?? 20;
    this.summaryIntervalMs = opts.summaryIntervalMs ?? 1000;
    this.maxQuoteAgeMs = opts.maxQuoteAgeMs ?? 10000;
    this.groups = buildGroups(opts.quoteGroups);
    this.now = opts.now ?? Date.now;
    this.venueNow = opts.venueNow;
    this.isVenueConnected = opts.isVenueConnected;
    this.bookOf = opts.book;
    this.venueFilter = opts.venues ? new Set(opts.venues) : undefined;
    const bus = opts.bus;
    this.unsubs.push(
      bus.on('book_snapshot', (u) => this.onBook(u.instrument)),
      bus.on('book_delta', (u) => this.onBook(u.instrument)),
      bus.on('book_reset', (r) => {
        const m = this.members.get(r.instrument.venue)?.get(r.instrument.key);
        if (m) this.markDirty(m.state);
      }),
      bus.on('venue_status', (s) => this.recheck(s.venue)),
    );
    const oracleInstrument = opts.oracleInstrument;
    if (oracleInstrument) {
      this.unsubs.push(
        bus.on('oracle_price', (batch) => {
          for (const u of batch.updates) {
            const inst = oracleInstrument(u.source, u.id);
            if (inst === undefined) continue;
            const key = consolidationKey(inst, this.groups);
            this.oracles.set(key, u);
            const st = this.keys.get(key);
            if (st) this.markDirty(st);
          }
        }),
      );
    }
  }

  /** Hot path: remember the book (first time only) and mark its key dirty. */
  private onBook(instrument: Instrument): void {
    let byKey = this.members.get(instrument.venue);
    if (byKey === undefined) {
      if (this.venueFilter !== undefined && !this.venueFilter.has(instrument.venue)) return;
      byKey = new Map();
      this.members.set(instrument.venue, byKey);
    }
    let m = byKey.get(instrument.key);
    const book = this.bookOf(instrument.venue, instrument.key);
    if (book === undefined) return;
    if (m === undefined) {
      m = this.addMember(instrument, book);
      byKey.set(instrument.key, m);
    } else if (m.book !== book) {
      m.book = book; // the book was dropped and tracked again (on-demand subscriptions)
    }
    const s = m.state;
    if (!s.dirty) this.markDirty(s);
  }

  private addMember(instrument: Instrument, book: BookView): Member {
    const quote = instrument.quote.toUpperCase();
    // Only spot instruments join a quote group; derivatives consolidate with identical symbols only.
    const group = instrument.type === 'spot' && !instrument.symbol.includes(':') ? this.groups.get(quote) : undefined;
    const key = group ? consolidationKey(instrument.symbol, this.groups) : instrument.symbol;
    let s = this.keys.get(key);
    if (s === undefined) {
      s = { key, group, members: [], dirty: false, lastEmitAt: -Infinity, lastEmitted: undefined, staleAt: Infinity };
      this.keys.set(key, s);
    }
    const m: Member = { venue: instrument.venue, key: instrument.key, symbol: instrument.symbol, quote, book, state: s };
    s.members.push(m);
    s.members.sort((a, b) => (a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return m;
  }

  private markDirty(s: KeyState): void {
    if (this.closed) return;
    if (!s.dirty) {
      s.dirty = true;
      this.dirty.add(s);
    }
    this.arm(s.lastEmitAt + this.summaryIntervalMs);
  }

  /** Makes sure the timer fires no later than `due` (local ms). */
  private arm(due: number): void {
    if (this.closed) return;
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    const delay = Math.max(0, due - this.now());
    this.timer = setTimeout(() => this.flush(), delay === Infinity ? 2 ** 31 - 1 : Math.min(delay, 2 ** 31 - 1));
    this.timer.unref?.();
  }

  /**
   * Marks keys dirty so they are recomputed (and emitted if changed) on the next timer turn: every key with a
   * book of `venue`, or every key. Call it when a venue's connectivity changes without a bus `venue_status`.
   */
  recheck(venue?: string): void {
    if (venue === undefined) {
      for (const s of this.keys.values()) this.markDirty(s);
      return;
    }
    const byKey = this.members.get(venue);
    if (!byKey) return;
    for (const m of byKey.values()) this.markDirty(m.state);
  }

  /** Timer turn: recompute due dirty keys (and keys whose included books went stale), emit changed summaries. */
  private flush(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    if (this.closed) return;
    const now = this.now();
    if (now >= this.nextStaleAt) {
      let next = Infinity;
      for (const s of this.keys.values()) {
        if (now >= s.staleAt) {
          s.staleAt = Infinity;
          if (!s.dirty) {
            s.dirty = true;
            this.dirty.add(s);
          }
        } else if (s.staleAt < next) {
          next = s.staleAt;
        }
      }
      this.nextStaleAt = next;
    }
    const recomputed: string[] = [];
    let nextDue = Infinity;
    for (const s of this.dirty) {
      const due = s.lastEmitAt + this.summaryIntervalMs;
      if (now < due) {
        if (due < nextDue) nextDue = due;
        continue;
      }
      this.dirty.delete(s);
      s.dirty = false;
      const summary = this.compute(s, this.maxPriceLevels, now);
      recomputed.push(s.key);
      if (s.staleAt < this.nextStaleAt) this.nextStaleAt = s.staleAt;
      if (s.lastEmitted === undefined || !sameSummary(s.lastEmitted, summary)) {
        s.lastEmitted = summary;
        s.lastEmitAt = now;
        for (const l of this.listeners.slice()) {
          try {
            l(summary);
          } catch {
            this.listenerErrors++;
          }
        }
      }
    }
    if (recomputed.length > 0) {
      for (const l of this.updateListeners.slice()) {
        try {
          l(recomputed);
        } catch {
          this.listenerErrors++;
        }
      }
    }
    const next = Math.min(nextDue, this.nextStaleAt);
    if (next < Infinity) this.arm(next);
  }

  /** Exclusion reason of one member at `now` on its own (lagging is judged against the others), or undefined. */
  private reason(m: Member, now: number): ExclusionReason | undefined {
    if (!this.isVenueConnected(m.venue)) return 'disconnected';
    if (!m.book.valid) return 'invalid';
    if ((this.venueNow ? this.venueNow(m.venue) : now) - m.book.recvTs > this.maxQuoteAgeMs) return 'stale';
    return undefined;
  }

  /**
   * Included members of a key at `now`, in member order (also refreshes the key's stale deadline): those with no
   * reason of their own, less those whose venue time lags the freshest one's by more than `maxQuoteAgeMs`.
   */
  private included(s: KeyState, now: number, excluded?: ExcludedVenue[]): Member[] {
    const reasons: (ExclusionReason | undefined)[] = [];
    let freshestTs = -Infinity;
    for (const m of s.members) {
      const r = this.reason(m, now);
      reasons.push(r);
      if (r === undefined && m.book.ts > 0 && m.book.ts > freshestTs) freshestTs = m.book.ts;
    }
    const inc: Member[] = [];
    let staleAt = Infinity;
    for (let i = 0; i < s.members.length; i++) {
      const m = s.members[i];
      let r = reasons[i];
      if (r === undefined && m.book.ts > 0 && freshestTs - m.book.ts > this.maxQuoteAgeMs) r = 'lagging';
      if (r === undefined) {
        inc.push(m);
        // When the book turns stale, on the shared clock (a venue clock may run ahead of or behind it).
        const t = m.book.recvTs + this.maxQuoteAgeMs + 1 + (this.venueNow ? now - this.venueNow(m.venue) : 0);
        if (t < staleAt) staleAt = t;
      } else if (excluded) {
        excluded.push(s.group ? { venue: m.venue, reason: r, symbol: m.symbol } : { venue: m.venue, reason: r });
      }
    }
    s.staleAt = staleAt;
    return inc;
  }

  /** The consolidated book of key `s` at `now`, `depth` levels per side (refreshes the key's stale deadline). */
  private compute(s: KeyState, depth: number, now: number): ConsolidatedBook {
    const excluded: ExcludedVenue[] = [];
    const inc = this.included(s, now, excluded);
    return consolidatedBook(s.key, s.group, inc, excluded, depth, this.oracles.get(s.key), now);
  }

  /** The consolidation key a canonical symbol maps to (`BTC/USDT` → `BTC/USD` under a USD group). */
  keyOf(symbol: string): string {
    return consolidationKey(symbol, this.groups);
  }

  /** Consolidation keys seen so far (a key appears with its first published book). */
  symbols(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * The consolidated book of `symbol` (a consolidation key or any member's canonical symbol), `depth`
   * levels per side (default `maxPriceLevels`), computed now; undefined when no venue ever published a
   * book for it.
   */
  getBook(symbol: string, depth?: number): ConsolidatedBook | undefined {
    const s = this.keys.get(this.keyOf(symbol));
    return s ? this.compute(s, depth ?? this.maxPriceLevels, this.now()) : undefined;
  }

  /** The current summary of `symbol` (`maxPriceLevels` deep, computed now), or undefined. */
  getSummary(symbol: string): Summary | undefined {
    return this.getBook(symbol, this.maxPriceLevels);
  }

  /** Current summaries of every key, computed now. */
  getAllSummaries(): Summary[] {
    const now = this.now();
    return [...this.keys.values()].map((s) => this.compute(s, this.maxPriceLevels, now));
  }

  /**
   * The books currently included for `symbol` (connected, valid, fresh, not lagging), sorted by venue then symbol.
   * Read-only references to the live books: read them synchronously, never keep or mutate them.
   */
  venueBooks(symbol: string): VenueBookRef[] {
    const s = this.keys.get(this.keyOf(symbol));
    if (!s) return [];
    return this.included(s, this.now()).map((m) => ({ venue: m.venue, symbol: m.symbol, book: m.book }));
  }

  /** Calls `listener` with every emitted summary. Returns the unsubscribe function. */
  subscribe(listener: SummaryListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Calls `listener` after each timer turn with the keys that were recomputed (changed or not), e.g. to run
   * the arbitrage detector on them. Returns the unsubscribe function.
   */
  onUpdate(listener: (symbols: readonly string[]) => void): () => void {
    this.updateListeners.push(listener);
    return () => {
      const i = this.updateListeners.indexOf(listener);
      if (i >= 0) this.updateListeners.splice(i, 1);
    };
  }

  /**
   * Summaries as an async iterator. Bounded: pending summaries are conflated per key (only the latest of a
   * key waits), so a slow consumer holds at most one summary per key. Ends on `signal` abort, `return()`
   * (e.g. `break` in `for await`) or {@link close}.
   */
  stream(signal?: AbortSignal): AsyncIterableIterator<Summary> {
    const it: PushIterable<Summary> = subscriptionIterable<Summary>((fn) => this.subscribe(fn), {
      key: (s) => s.symbol,
      signal,
      onEnd: () => this.streams.delete(it),
    });
    this.streams.add(it);
    return it;
  }

  /** Same as {@link stream} without a signal. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Summary> {
    return this.stream();
  }

  /** Detaches from the bus, stops the timer and ends open streams. */
  close(): void {
    this.closed = true;
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const it of [...this.streams]) it.close();
  }
}
