/**
 * Read-only views of one L2 book, as the pipeline's read model hands them to later stages, venue checksums and the
 * servers. The mutable book (`pipeline/book.ts`) implements them; only the sync stage mutates it.
 */
import type { Level } from './events.ts';

/** `[price, size]` as venue decimal strings (price in quote currency, size in base units). */
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

/** One side of a book, best first (index 0 = best bid or best ask). */
export interface BookSideView {
  readonly length: number;
  /** Numeric price of level `i`, for ordering and comparisons only (never fed back into a venue price). */
  priceNum(i: number): number;
  /** The venue's level array of level `i` (`[price, size, ...extras]`). */
  level(i: number): Level;
  /** Venue price string of level `i`. */
  price(i: number): string;
  /** Venue size string of level `i`. */
  size(i: number): string;
  /** Best `n` levels (all when omitted) as fresh `[price, size]` pairs. */
  top(n?: number): PriceSize[];
}

/** Read-only view of a book. */
export interface BookView {
  readonly venue: string;
  readonly key: string;
  readonly symbol: string;
  readonly venueSymbol: string;
  /** False while the book is being (re)built or after a detected gap / checksum failure. */
  readonly valid: boolean;
  /** Rebuild counter: 0 before the first snapshot, +1 each time the book is (re)built from a snapshot. */
  readonly epoch: number;
  /** Venue sequence after the last applied message, if the venue has one. */
  readonly seq: number | undefined;
  /** Venue time (ms) of the last applied message. */
  readonly ts: number;
  /** Receive time (ms) of the last applied message. */
  readonly recvTs: number;
  readonly bids: BookSideView;
  readonly asks: BookSideView;
  readonly stats: Readonly<BookStats>;
}
