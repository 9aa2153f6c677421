/**
 * The detect stage: cross-venue arbitrage on one consolidated instrument.
 *
 * For each symbol and each ordered pair of different venues (A, B) whose books are included by the
 * consolidator (connected, valid, fresh): buy on A at its best ask, sell on B at its best bid.
 *   gross bps = (bidB − askA) / askA × 10 000
 *   net bps   = gross − takerFee(A) − takerFee(B)          (fees in bps, per venue, `defaultFeeBps` otherwise)
 * An opportunity is reported when `bidB > askA` and `net ≥ minNetEdgeBps`, and the two books' venue times differ by at
 * most `maxLegSkewMs` (the consolidator's `maxQuoteAgeMs` by default): prices seen at different moments are no
 * arbitrage. `legSkewMs` on a report is that difference (absent when a book has no venue time, `ts` ≤ 0; such a pair
 * is not skew-checked).
 *
 * Volume: `volume` is the size executable at the two top prices, `min(askA size, bidB size)` (base units).
 * `depthVolume` walks deeper: it matches A's asks (ascending) against B's bids (descending) level by level
 * and keeps adding the matched size while the marginal pair (that ask level, that bid level) still has
 * `net ≥ minNetEdgeBps` (at most `maxWalkLevels` levels per side). It is an upper bound of what a sweep
 * could take at a non-negative net edge per unit; the reported prices stay the top prices.
 *
 * De-duplication, per (symbol, buyVenue, sellVenue):
 * - first seen → reported with a new `id` (revision 0);
 * - still present on later checks → not reported again while its net edge stays within
 *   `materialChangeBps` (default 1 bp) of the last reported one; a larger change is re-reported with the same
 *   `id` and `revision + 1` (consumers upsert by id);
 * - absent on a check (edge gone, a leg excluded / stale / invalid / disconnected, the legs' venue times too far
 *   apart) → closed (close listeners are told); if it comes back it is a new opportunity with a new `id`.
 *
 * Same-venue pairs are skipped, also under quote equivalence (where one venue may hold e.g. BTC/USDT and
 * BTC/USDC in one key): that is a conversion trade, not a cross-venue arbitrage.
 */
import { parseDecimal } from '../core/decimal.ts';
import type { VenueBookRef } from './consolidate.ts';

export type { ArbitrageOpportunity } from '../core/events.ts';
import type { ArbitrageOpportunity } from '../core/events.ts';


/** Where the detector reads books: the {@link Consolidator} fits. */
export interface ArbitrageSource {
  /** Keys to check on `checkAll()`. */
  symbols(): string[];
  /** Included (connected, valid, fresh) venue books of a key, read synchronously. */
  venueBooks(symbol: string): readonly VenueBookRef[];
  /** Optional change hook: when present (and `autoCheck` is on) the detector checks the keys it reports. */
  onUpdate?(listener: (symbols: readonly string[]) => void): () => void;
  /** The source's freshness bound (ms), the default of {@link ArbitrageDetectorOptions.maxLegSkewMs}. */
  readonly maxQuoteAgeMs?: number;
}

export interface ArbitrageDetectorOptions {
  /**
   * The consolidator (or any {@link ArbitrageSource}), or a function giving the included venue books of a
   * symbol. A function source must return only fresh books; the detector re-checks `book.valid` only, and
   * `checkAll()` then covers the symbols checked before.
   */
  readonly source: ArbitrageSource | ((symbol: string) => readonly VenueBookRef[]);
  /** Taker fee per venue, bps (e.g. `{binance: 10, bybit: 10}`). */
  readonly fees?: Readonly<Record<string, number>>;
  /** Taker fee of venues not in `fees`, bps (default 10). */
  readonly defaultFeeBps?: number;
  /** Minimum net edge to report, bps (default 0). */
  readonly minNetEdgeBps?: number;
  /** Net-edge change (bps) that re-reports a persisting opportunity (default 1). */
  readonly materialChangeBps?: number;
  /** Reports kept for `recent()` (default 1000). */
  readonly recentLimit?: number;
  /** Levels per side walked for `depthVolume` (default 50). */
  readonly maxWalkLevels?: number;
  /** Check the keys the source reports through `onUpdate` (default true). */
  readonly autoCheck?: boolean;
  /**
   * Largest venue-time difference (ms) between the two legs' books for a pair to be reported (default: the source's
   * `maxQuoteAgeMs`, else 10000).
   */
  readonly maxLegSkewMs?: number;
  /** Clock, ms since epoch (default `Date.now`); the pipeline passes its data clock (`clock.ts`). */
  readonly now?: () => number;
}

/** Listener of new and materially changed opportunities. */
export type OpportunityListener = (o: ArbitrageOpportunity) => void;

interface Candidate {
  readonly buy: VenueBookRef;
  readonly sell: VenueBookRef;
  readonly grossBps: number;
  readonly buyFeeBps: number;
  readonly sellFeeBps: number;
  readonly netBps: number;
  readonly volume: number;
  readonly depthVolume: number;
  /** |venue time of buy − venue time of sell| (ms), undefined when one has none. */
  readonly legSkewMs: number | undefined;
}

const round12 = (x: number): number => Number(x.toPrecision(12));

/** Detects cross-venue arbitrage. See the module comment. */
export class ArbitrageDetector {
  readonly defaultFeeBps: number;
  readonly minNetEdgeBps: number;
  readonly materialChangeBps: number;
  readonly maxLegSkewMs: number;
  /** Listener exceptions caught. */
  listenerErrors = 0;
  private readonly fees: Readonly<Record<string, number>>;
  private readonly recentLimit: number;
  private readonly maxWalkLevels: number;
  private readonly now: () => number;
  private readonly books: (symbol: string) => readonly VenueBookRef[];
  private readonly listSymbols: (() => string[]) | undefined;
  /** symbol → `buy\u0000sell` → last reported. */
  private readonly active = new Map<string, Map<string, ArbitrageOpportunity>>();
  /** Ring of recent reports, oldest first. */
  private readonly recentList: ArbitrageOpportunity[] = [];
  private readonly listeners: OpportunityListener[] = [];
  private readonly closeListeners: OpportunityListener[] = [];
  private readonly unsub: (() => void) | undefined;
  private seq = 0;
  /** Symbols checked so far (function source only: what `checkAll()` covers). */
  private readonly checked = new Set<string>();
  private readonly idPrefix: string;

  constructor(opts: ArbitrageDetectorOptions) {
    this.fees = opts.fees ?? {};
    this.defaultFeeBps = opts.defaultFeeBps ?? 10;
    this.minNetEdgeBps = opts.minNetEdgeBps ?? 0;
    this.materialChangeBps = opts.materialChangeBps ?? 1;
    this.recentLimit = opts.recentLimit ?? 1000;
    this.maxWalkLevels = opts.maxWalkLevels ?? 50;
    this.now = opts.now ?? Date.now;
    this.idPrefix = this.now().toString(36);
    const src = opts.source;
    this.maxLegSkewMs = opts.maxLegSkewMs ?? (typeof src === 'function' ? undefined : src.maxQuoteAgeMs) ?? 10000;
    if (typeof src === 'function') {
      this.books = src;
      this.listSymbols = undefined;
    } else {
      this.books = (s) => src.venueBooks(s);
      this.listSymbols = () => src.symbols();
      if (opts.autoCheck !== false && src.onUpdate) {
        this.unsub = src.onUpdate((symbols) => {
          for (const s of symbols) this.check(s);
        });
      }
    }
  }

  /** Taker fee of `venue`, bps. */
  feeBps(venue: string): number {
    return this.fees[venue] ?? this.defaultFeeBps;
  }

  /** Profitable pairs of one symbol right now (no side effects). */
  private scan(symbol: string): Map<string, Candidate> {
    const refs = this.books(symbol).filter((r) => r.book.valid);
    const found = new Map<string, Candidate>();
    for (const buy of refs) {
      const asks = buy.book.asks;
      if (asks.length === 0) continue;
      const ask = asks.priceNum(0);
      if (!(ask > 0)) continue;
      const buyFeeBps = this.feeBps(buy.venue);
      const buyTs = buy.book.ts;
      for (const sell of refs) {
        if (sell.venue === buy.venue) continue;
        const sellTs = sell.book.ts;
        const legSkewMs = buyTs > 0 && sellTs > 0 ? Math.abs(buyTs - sellTs) : undefined;
        if (legSkewMs !== undefined && legSkewMs > this.maxLegSkewMs) continue;
        const bids = sell.book.bids;
        if (bids.length === 0) continue;
        const bid = bids.priceNum(0);
        if (!(bid > ask)) continue;
        const sellFeeBps = this.feeBps(sell.venue);
        const grossBps = ((bid - ask) / ask) * 10000;
        const netBps = grossBps - buyFeeBps - sellFeeBps;
        if (netBps < this.minNetEdgeBps) continue;
        const volume = Math.min(parseDecimal(asks.size(0)), parseDecimal(bids.size(0)));
        found.set(`${buy.venue}\u0000${buy.symbol}\u0000${sell.venue}\u0000${sell.symbol}`, {
          buy,
          sell,
          grossBps,
          buyFeeBps,
          sellFeeBps,
          netBps,
          volume,
          depthVolume: this.walk(buy, sell, buyFeeBps + sellFeeBps),
          legSkewMs,
        });
      }
    }
    return found;
  }

  /** Size matched between A's asks and B's bids while each marginal pair keeps `net ≥ minNetEdgeBps`. */
  private walk(buy: VenueBookRef, sell: VenueBookRef, feesBps: number): number {
    const asks = buy.book.asks;
    const bids = sell.book.bids;
    const na = Math.min(asks.length, this.maxWalkLevels);
    const nb = Math.min(bids.length, this.maxWalkLevels);
    let i = 0;
    let j = 0;
    let remA = na > 0 ? parseDecimal(asks.size(0)) : 0;
    let remB = nb > 0 ? parseDecimal(bids.size(0)) : 0;
    let total = 0;
    while (i < na && j < nb) {
      const a = asks.priceNum(i);
      const b = bids.priceNum(j);
      if (!(b > a) || ((b - a) / a) * 10000 - feesBps < this.minNetEdgeBps) break;
      const q = Math.min(remA, remB);
      total += q;
      remA -= q;
      remB -= q;
      if (remA <= 0 && ++i < na) remA = parseDecimal(asks.size(i));
      if (remB <= 0 && ++j < nb) remB = parseDecimal(bids.size(j));
    }
    return round12(total);
  }

  /**
   * Checks one symbol (a consolidation key): reports new and materially changed opportunities to the
   * listeners and the recent list, closes vanished ones. Returns the opportunities active after the check
   * (as last reported).
   */
  check(symbol: string): ArbitrageOpportunity[] {
    if (this.listSymbols === undefined) this.checked.add(symbol);
    const found = this.scan(symbol);
    let act = this.active.get(symbol);
    if (act === undefined) {
      if (found.size === 0) return [];
      act = new Map();
      this.active.set(symbol, act);
    }
    const now = this.now();
    for (const [k, prev] of act) {
      if (found.has(k)) continue;
      act.delete(k);
      this.notify(this.closeListeners, prev);
    }
    for (const [k, c] of found) {
      const prev = act.get(k);
      if (prev !== undefined && Math.abs(c.netBps - prev.profitBps) < this.materialChangeBps) continue;
      const o: ArbitrageOpportunity = {
        id: prev?.id ?? `arb-${this.idPrefix}-${++this.seq}`,
        revision: prev ? prev.revision + 1 : 0,
        symbol,
        buyVenue: c.buy.venue,
        sellVenue: c.sell.venue,
        buySymbol: c.buy.symbol,
        sellSymbol: c.sell.symbol,
        buyPrice: c.buy.book.asks.price(0),
        sellPrice: c.sell.book.bids.price(0),
        grossBps: round12(c.grossBps),
        buyFeeBps: c.buyFeeBps,
        sellFeeBps: c.sellFeeBps,
        profitBps: round12(c.netBps),
        volume: c.volume,
        depthVolume: c.depthVolume,
        timestamp: now,
        firstSeenAt: prev?.firstSeenAt ?? now,
        ...(c.legSkewMs !== undefined ? { legSkewMs: c.legSkewMs } : {}),
      };
      act.set(k, o);
      this.recentList.push(o);
      if (this.recentList.length > this.recentLimit) this.recentList.splice(0, this.recentList.length - this.recentLimit);
      this.notify(this.listeners, o);
    }
    if (act.size === 0) {
      this.active.delete(symbol);
      return [];
    }
    return [...act.values()];
  }

  /** Checks every symbol of the source (object source) or every symbol checked before (function source). */
  checkAll(): ArbitrageOpportunity[] {
    const symbols = this.listSymbols ? this.listSymbols() : [...this.checked];
    const out: ArbitrageOpportunity[] = [];
    for (const s of symbols) out.push(...this.check(s));
    return out;
  }

  /** Opportunities currently open (as last reported), of one symbol or all. */
  current(symbol?: string): ArbitrageOpportunity[] {
    if (symbol !== undefined) return [...(this.active.get(symbol)?.values() ?? [])];
    const out: ArbitrageOpportunity[] = [];
    for (const m of this.active.values()) out.push(...m.values());
    return out;
  }

  /** The most recent reports (new and material changes), newest first, at most `limit` (default 100). */
  recent(limit = 100): ArbitrageOpportunity[] {
    const n = Math.max(0, Math.min(limit, this.recentList.length));
    return this.recentList.slice(this.recentList.length - n).reverse();
  }

  /**
   * Calls `onReport` for every new or materially changed opportunity and, if given, `onClose` (with the last
   * report) when one disappears. Returns the unsubscribe function.
   */
  subscribe(onReport: OpportunityListener, onClose?: OpportunityListener): () => void {
    this.listeners.push(onReport);
    if (onClose) this.closeListeners.push(onClose);
    return () => {
      const i = this.listeners.indexOf(onReport);
      if (i >= 0) this.listeners.splice(i, 1);
      if (onClose) {
        const j = this.closeListeners.indexOf(onClose);
        if (j >= 0) this.closeListeners.splice(j, 1);
      }
    };
  }

  private notify(list: readonly OpportunityListener[], o: ArbitrageOpportunity): void {
    for (const l of list.slice()) {
      try {
        l(o);
      } catch {
        this.listenerErrors++;
      }
    }
  }

  /** Detaches from the source's update hook. */
  close(): void {
    this.unsub?.();
  }
}
