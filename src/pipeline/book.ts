/**
 * The L2 book engine: one price-ordered book per (venue, instrument), absolute sizes.
 *
 * Each side keeps parallel arrays sorted best-first: numeric prices (for ordering, parsed once per level
 * change) and the venue's level arrays holding its price and size strings (for output and checksums, never
 * recomputed).
 * Lookups are binary searches; inserts and deletes shift the arrays, which for the depths venues send
 * (≤ a few thousand levels) is cheaper than any tree.
 */
import { parseDecimal } from '../core/decimal.ts';
import type { Level } from '../core/events.ts';

/** `[price, size]` as venue decimal strings. */
export type PriceSize = [price: string, size: string];

/** Counters kept per book. */
export interface BookStats {
  deltas: number;
  snapshots: number;
  gaps: number;
  resyncs: number;
  checksumsOk: number;
  checksumFailures: number;
}

/**
 * One side of a book. Internally the arrays are stored worst-first, so the best level is the *last* element:
 * most book activity is near the top of the book, and inserting or deleting there moves few elements.
 * Two parallel arrays: numeric prices (parsed once per level change, for ordering only) and the venue's own
 * level arrays (`[price, size, ...]`, shared, never copied or mutated). Public accessors index best-first.
 */
export class BookSide {
  /** Numeric prices, worst first (internal order). */
  private readonly px: number[] = [];
  /** Venue level arrays, parallel to `px`. */
  private readonly lv: Level[] = [];

  /** @param descending true for bids (best = highest), false for asks (best = lowest). */
  constructor(readonly descending: boolean) {}

  get length(): number {
    return this.px.length;
  }

  clear(): void {
    this.px.length = 0;
    this.lv.length = 0;
  }

  /** Internal index of `p`, or `-(insertion point) - 1` when absent (binary search, worst-first order). */
  private find(p: number): number {
    const a = this.px;
    let lo = 0;
    let hi = a.length - 1;
    if (this.descending) {
      // bids stored ascending
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = a[mid];
        if (v < p) lo = mid + 1;
        else if (v > p) hi = mid - 1;
        else return mid;
      }
    } else {
      // asks stored descending
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = a[mid];
        if (v > p) lo = mid + 1;
        else if (v < p) hi = mid - 1;
        else return mid;
      }
    }
    return -lo - 1;
  }

  /** Sets one level from price and size strings (see {@link setLevel}). */
  set(priceStr: string, sizeStr: string): boolean {
    return this.setLevel([priceStr, sizeStr]);
  }

  /**
   * Sets one level to an absolute size; a size that parses to 0 deletes it (deleting an absent level is a no-op).
   * The venue array is kept as is. Returns false (side unchanged) when price or size is not a finite number ≥ 0.
   */
  setLevel(l: Level): boolean {
    const p = parseDecimal(l[0]);
    if (!(p - p === 0)) return false; // NaN or ±Infinity
    const sizeStr = l[1];
    const c = sizeStr.charCodeAt(0);
    // Fast path: a size starting with 1-9 is a positive number; only parse the rest ("0", "0.5", bad input).
    let zero = false;
    if (!(c >= 49 && c <= 57)) {
      const s = parseDecimal(sizeStr);
      if (!(s >= 0) || s === Infinity) return false;
      zero = s === 0;
    }
    const i = this.find(p);
    if (zero) {
      if (i >= 0) this.removeAt(i);
      return true;
    }
    if (i >= 0) {
      this.lv[i] = l;
      return true;
    }
    this.insertAt(-i - 1, p, l);
    return true;
  }

  // Manual shifts: Array#splice allocates a result array per call, which shows on the hot path.
  private removeAt(i: number): void {
    const px = this.px;
    const lv = this.lv;
    const n = px.length - 1;
    for (let j = i; j < n; j++) {
      px[j] = px[j + 1];
      lv[j] = lv[j + 1];
    }
    px.length = n;
    lv.length = n;
  }

  private insertAt(at: number, p: number, l: Level): void {
    const px = this.px;
    const lv = this.lv;
    let j = px.length;
    px.push(p);
    lv.push(l);
    for (; j > at; j--) {
      px[j] = px[j - 1];
      lv[j] = lv[j - 1];
    }
    px[at] = p;
    lv[at] = l;
  }

  /**
   * Replaces the side with `levels` (any order; zero sizes skipped; for a repeated price the later level wins).
   * Sorts once instead of inserting level by level. Returns how many levels were rejected as not numeric.
   */
  load(levels: readonly Level[]): number {
    const tmp: { p: number; l: Level; i: number }[] = [];
    let bad = 0;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i];
      const p = parseDecimal(l[0]);
      const s = parseDecimal(l[1]);
      if (!(p - p === 0) || !(s >= 0) || s === Infinity) {
        bad++;
        continue;
      }
      if (s > 0) tmp.push({ p, l, i });
    }
    // Worst first: bids ascending, asks descending; equal prices by arrival so the later one wins below.
    const dir = this.descending ? 1 : -1;
    tmp.sort((a, b) => (a.p - b.p) * dir || a.i - b.i);
    const px = this.px;
    const lv = this.lv;
    px.length = 0;
    lv.length = 0;
    for (const t of tmp) {
      if (px.length > 0 && px[px.length - 1] === t.p) {
        lv[lv.length - 1] = t.l;
        continue;
      }
      px.push(t.p);
      lv.push(t.l);
    }
    return bad;
  }

  /** Keeps only the best `n` levels. */
  truncate(n: number): void {
    const len = this.px.length;
    if (len > n) {
      const cut = len - n;
      this.px.splice(0, cut);
      this.lv.splice(0, cut);
    }
  }

  /** Numeric price of level `i` (0 = best), for ordering and comparisons only. */
  priceNum(i: number): number {
    return this.px[this.px.length - 1 - i];
  }

  /** Venue level array of level `i` (0 = best). */
  level(i: number): Level {
    return this.lv[this.lv.length - 1 - i];
  }

  /** Venue price string of level `i` (0 = best). */
  price(i: number): string {
    return this.level(i)[0];
  }

  /** Venue size string of level `i` (0 = best). */
  size(i: number): string {
    return this.level(i)[1];
  }

  /** Best `n` levels (all when `n` is omitted) as `[price, size]` string pairs, best first. */
  top(n = Infinity): PriceSize[] {
    const len = this.lv.length;
    const k = Math.min(n, len);
    const out = new Array<PriceSize>(k);
    for (let i = 0; i < k; i++) {
      const l = this.lv[len - 1 - i];
      out[i] = [l[0], l[1]];
    }
    return out;
  }
}

/** Read-only view of a book, as handed to later stages and the server. */
export interface BookView {
  readonly venue: string;
  readonly key: string;
  readonly symbol: string;
  readonly venueSymbol: string;
  /** False while the book is being (re)built or after a detected gap / checksum failure. */
  readonly valid: boolean;
  /** Venue sequence after the last applied message, if the venue has one. */
  readonly seq: number | undefined;
  /** Venue time (ms) of the last applied message. */
  readonly ts: number;
  /** Receive time (ms) of the last applied message. */
  readonly recvTs: number;
  readonly bids: BookSide;
  readonly asks: BookSide;
  readonly stats: Readonly<BookStats>;
}

/** A mutable L2 book. Only the sync stage mutates it. */
export class L2Book implements BookView {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  valid = false;
  seq: number | undefined = undefined;
  ts = 0;
  recvTs = 0;
  readonly stats: BookStats = { deltas: 0, snapshots: 0, gaps: 0, resyncs: 0, checksumsOk: 0, checksumFailures: 0 };
  /** Levels that could not be parsed, dropped and counted. */
  badLevels = 0;

  constructor(
    readonly venue: string,
    readonly key: string,
    readonly symbol: string,
    readonly venueSymbol: string,
  ) {}

  /** Replaces both sides with the snapshot levels (any order). */
  loadSnapshot(bids: readonly Level[], asks: readonly Level[]): void {
    this.badLevels += this.bids.load(bids) + this.asks.load(asks);
  }

  /** Applies absolute levels to each side (size 0 deletes). */
  applyLevels(bids: readonly Level[], asks: readonly Level[]): void {
    const b = this.bids;
    const a = this.asks;
    for (let i = 0; i < bids.length; i++) if (!b.setLevel(bids[i])) this.badLevels++;
    for (let i = 0; i < asks.length; i++) if (!a.setLevel(asks[i])) this.badLevels++;
  }

  /** True when best bid ≥ best ask. */
  isCrossed(): boolean {
    return this.bids.length > 0 && this.asks.length > 0 && this.bids.priceNum(0) >= this.asks.priceNum(0);
  }

  /** Empties the book and marks it invalid. */
  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.valid = false;
    this.seq = undefined;
  }
}
