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

import type { BookSideView, BookStats, BookView, PriceSize } from '../core/book-view.ts';

export type { BookSideView, BookStats, BookView, PriceSize };

/**
 * One side of a book, best first. Sorted numeric prices live in a `Float64Array` and, in parallel, an
 * `Int32Array` of slots into a pool of the venue's own level arrays (`[price, size, ...]`, shared, never copied
 * or mutated). A size update is a binary search and one store; an insert or delete moves the two typed arrays
 * with a native memmove (plain arrays of objects cannot be moved that cheaply). Prices are parsed once per
 * level change, for ordering only; output always uses the venue's strings.
 */
export class BookSide implements BookSideView {
  private px = new Float64Array(64);
  private slot = new Int32Array(64);
  private n = 0;
  /** Level pool indexed by slot; freed slots are reused. */
  private readonly pool: (Level | undefined)[] = [];
  private readonly free: number[] = [];

  /** @param descending true for bids (best = highest), false for asks (best = lowest). */
  constructor(readonly descending: boolean) {}

  get length(): number {
    return this.n;
  }

  clear(): void {
    this.n = 0;
    this.pool.length = 0;
    this.free.length = 0;
  }

  /** Index of `p` in best-first order, or `-(insertion point) - 1` when absent (binary search). */
  private find(p: number): number {
    const a = this.px;
    let lo = 0;
    let hi = this.n - 1;
    if (this.descending) {
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = a[mid];
        if (v > p) lo = mid + 1;
        else if (v < p) hi = mid - 1;
        else return mid;
      }
    } else {
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = a[mid];
        if (v < p) lo = mid + 1;
        else if (v > p) hi = mid - 1;
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
    if (!(c >= 49 && c <= 57)) {
      const s = parseDecimal(sizeStr);
      if (!(s >= 0) || s === Infinity) return false;
      if (s === 0) {
        const i = this.find(p);
        if (i >= 0) this.removeAt(i);
        return true;
      }
    }
    const i = this.find(p);
    if (i >= 0) this.pool[this.slot[i]] = l;
    else this.insertAt(-i - 1, p, l);
    return true;
  }

  private removeAt(i: number): void {
    const s = this.slot[i];
    this.pool[s] = undefined;
    this.free.push(s);
    this.px.copyWithin(i, i + 1, this.n);
    this.slot.copyWithin(i, i + 1, this.n);
    this.n--;
  }

  private insertAt(at: number, p: number, l: Level): void {
    if (this.n === this.px.length) this.grow(this.n * 2);
    let s = this.free.pop();
    if (s === undefined) {
      s = this.pool.length;
      this.pool.push(l);
    } else {
      this.pool[s] = l;
    }
    this.px.copyWithin(at + 1, at, this.n);
    this.slot.copyWithin(at + 1, at, this.n);
    this.px[at] = p;
    this.slot[at] = s;
    this.n++;
  }

  private grow(capacity: number): void {
    const px = new Float64Array(capacity);
    const slot = new Int32Array(capacity);
    px.set(this.px.subarray(0, this.n));
    slot.set(this.slot.subarray(0, this.n));
    this.px = px;
    this.slot = slot;
  }

  /**
   * Replaces the side with `levels` (any order; zero sizes skipped; for a repeated price the later level wins).
   * Returns how many levels were rejected as not numeric.
   */
  load(levels: readonly Level[]): number {
    this.clear();
    const m = levels.length;
    if (this.px.length < m) this.grow(Math.max(64, m * 2));
    // Venues send snapshots sorted best first: fill directly while that holds (strictly, sizes > 0).
    const desc = this.descending;
    let n = 0;
    let i = 0;
    for (; i < m; i++) {
      const l = levels[i];
      const p = parseDecimal(l[0]);
      const c = l[1].charCodeAt(0);
      if (!(p - p === 0) || !(c >= 49 && c <= 57)) break; // bad price, or a size that needs a closer look
      if (n > 0 && (desc ? p >= this.px[n - 1] : p <= this.px[n - 1])) break; // not strictly best-first
      this.px[n] = p;
      this.slot[n] = n;
      this.pool.push(l);
      n++;
    }
    this.n = n;
    if (i === m) return 0;
    return this.loadSlow(levels);
  }

  /** General snapshot load: any order, zero sizes skipped, a later level at a repeated price wins. */
  private loadSlow(levels: readonly Level[]): number {
    this.clear();
    let bad = 0;
    const tmp: { p: number; l: Level; i: number }[] = [];
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i];
      const p = parseDecimal(l[0]);
      const s = parseDecimal(l[1]);
      if (!(p - p === 0) || !(s >= 0) || s === Infinity) {
        bad++;
        continue;
      }
      tmp.push({ p, l, i });
    }
    const dir = this.descending ? -1 : 1;
    tmp.sort((a, b) => (a.p - b.p) * dir || a.i - b.i);
    if (this.px.length < tmp.length) this.grow(Math.max(64, tmp.length * 2));
    let n = 0;
    for (let k = 0; k < tmp.length; k++) {
      const t = tmp[k];
      if (k + 1 < tmp.length && tmp[k + 1].p === t.p) continue; // a later level at the same price wins
      if (parseDecimal(t.l[1]) === 0) continue;
      this.px[n] = t.p;
      this.slot[n] = this.pool.length;
      this.pool.push(t.l);
      n++;
    }
    this.n = n;
    return bad;
  }

  /** Keeps only the best `n` levels; with `removed`, appends a `[price, "0"]` deletion for each level cut. */
  truncate(n: number, removed?: Level[]): void {
    if (this.n <= n) return;
    for (let i = n; i < this.n; i++) {
      const s = this.slot[i];
      if (removed !== undefined) removed.push([this.pool[s]![0], '0']);
      this.pool[s] = undefined;
      this.free.push(s);
    }
    this.n = n;
  }

  /** Numeric price of level `i` (0 = best), for ordering and comparisons only. */
  priceNum(i: number): number {
    return this.px[i];
  }

  /** Venue level array of level `i` (0 = best). */
  level(i: number): Level {
    return this.pool[this.slot[i]]!;
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
    const k = Math.min(n, this.n);
    const out = new Array<PriceSize>(k);
    for (let i = 0; i < k; i++) {
      const l = this.pool[this.slot[i]]!;
      out[i] = [l[0], l[1]];
    }
    return out;
  }
}

/** A mutable L2 book. Only the sync stage mutates it. */
export class L2Book implements BookView {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  valid = false;
  epoch = 0;
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
