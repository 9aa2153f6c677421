/**
 * The L2 book engine: one price-ordered book per (venue, instrument), absolute sizes.
 *
 * Each side keeps parallel arrays sorted best-first: numeric prices (for ordering, parsed once per level
 * change) and the venue's price and size strings (for output and checksums, never recomputed).
 * Lookups are binary searches; inserts and deletes shift the arrays, which for the depths venues send
 * (≤ a few thousand levels) is cheaper than any tree.
 */
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

/** One side of a book, best level at index 0. */
export class BookSide {
  /** Numeric prices, best first. */
  readonly px: number[] = [];
  /** Venue price strings, parallel to `px`. */
  readonly pxs: string[] = [];
  /** Venue size strings, parallel to `px`. */
  readonly szs: string[] = [];

  /** @param descending true for bids (highest first), false for asks (lowest first). */
  constructor(readonly descending: boolean) {}

  get length(): number {
    return this.px.length;
  }

  clear(): void {
    this.px.length = 0;
    this.pxs.length = 0;
    this.szs.length = 0;
  }

  /**
   * Index of `p`, or `-(insertion point) - 1` when absent. Binary search on the best-first order.
   */
  find(p: number): number {
    const a = this.px;
    let lo = 0;
    let hi = a.length - 1;
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

  /**
   * Sets one level to an absolute size; a size that parses to 0 deletes it (deleting an absent level is a no-op).
   * Returns false (and leaves the side unchanged) when the price or size is not a finite number.
   */
  set(priceStr: string, sizeStr: string): boolean {
    const p = +priceStr;
    const s = +sizeStr;
    if (!(p === p && s === s) || p === Infinity || p === -Infinity || s < 0) return false; // NaN/∞/negative
    const i = this.find(p);
    if (s === 0) {
      if (i >= 0) this.removeAt(i);
      return true;
    }
    if (i >= 0) {
      this.pxs[i] = priceStr;
      this.szs[i] = sizeStr;
      return true;
    }
    this.insertAt(-i - 1, p, priceStr, sizeStr);
    return true;
  }

  // Manual shifts: Array#splice allocates a result array per call, which shows on the hot path.
  private removeAt(i: number): void {
    const px = this.px;
    const pxs = this.pxs;
    const szs = this.szs;
    const n = px.length - 1;
    for (let j = i; j < n; j++) {
      px[j] = px[j + 1];
      pxs[j] = pxs[j + 1];
      szs[j] = szs[j + 1];
    }
    px.length = n;
    pxs.length = n;
    szs.length = n;
  }

  private insertAt(at: number, p: number, priceStr: string, sizeStr: string): void {
    const px = this.px;
    const pxs = this.pxs;
    const szs = this.szs;
    let j = px.length;
    px.push(p);
    pxs.push(priceStr);
    szs.push(sizeStr);
    for (; j > at; j--) {
      px[j] = px[j - 1];
      pxs[j] = pxs[j - 1];
      szs[j] = szs[j - 1];
    }
    px[at] = p;
    pxs[at] = priceStr;
    szs[at] = sizeStr;
  }

  /** Keeps only the best `n` levels. */
  truncate(n: number): void {
    if (this.px.length > n) {
      this.px.length = n;
      this.pxs.length = n;
      this.szs.length = n;
    }
  }

  /** Best `n` levels (all when `n` is omitted) as `[price, size]` string pairs. */
  top(n = Infinity): PriceSize[] {
    const k = Math.min(n, this.px.length);
    const out = new Array<PriceSize>(k);
    for (let i = 0; i < k; i++) out[i] = [this.pxs[i], this.szs[i]];
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
    this.bids.clear();
    this.asks.clear();
    this.applyLevels(bids, asks);
  }

  /** Applies absolute levels to each side (size 0 deletes). */
  applyLevels(bids: readonly Level[], asks: readonly Level[]): void {
    for (let i = 0; i < bids.length; i++) {
      const l = bids[i];
      if (!this.bids.set(l[0], l[1])) this.badLevels++;
    }
    for (let i = 0; i < asks.length; i++) {
      const l = asks[i];
      if (!this.asks.set(l[0], l[1])) this.badLevels++;
    }
  }

  /** True when best bid ≥ best ask. */
  isCrossed(): boolean {
    return this.bids.length > 0 && this.asks.length > 0 && this.bids.px[0] >= this.asks.px[0];
  }

  /** Empties the book and marks it invalid. */
  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.valid = false;
    this.seq = undefined;
  }
}
