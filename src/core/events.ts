/**
 * The normalized market-data model: what every venue decoder produces and every later stage consumes.
 *
 * Conventions (all events):
 * - prices are in quote currency, sizes in base units (contracts for inverse products, as the venue sends),
 *   both kept as the venue's decimal strings so output and checksums reproduce the venue exactly;
 * - `ts` is venue time and `recvTs` local receive time, both in ms since the Unix epoch
 *   (replay sets `recvTs` from the recording);
 * - events are immutable once decoded: later stages never mutate them or the arrays they hold.
 */

/** Lower-case venue id, e.g. `bybit`, `binance`. */
export type VenueId = string;

/** One price level as the venue sent it: `[price, size, ...venue extras]`, decimal strings. Size is absolute. */
export type Level = readonly [price: string, size: string, ...rest: unknown[]];

/** Market data channels a client can subscribe to. */
export type Channel = 'book' | 'trades' | 'ticker';
export const CHANNELS: readonly Channel[] = ['book', 'trades', 'ticker'];

/**
 * Full L2 book from the venue (in-stream or REST). Replaces the local book.
 * `seq` is the venue's book sequence after this snapshot (Bybit `u`, Binance `lastUpdateId`), if it has one.
 */
export interface BookSnapshotEvent {
  readonly type: 'book_snapshot';
  readonly venue: VenueId;
  /** Instrument key unique within the venue (see {@link Instrument.key}). */
  readonly key: string;
  /** Bids, best (highest) first as sent by the venue; order is not relied upon. */
  readonly bids: readonly Level[];
  /** Asks, best (lowest) first as sent by the venue; order is not relied upon. */
  readonly asks: readonly Level[];
  readonly seq: number | undefined;
  readonly ts: number;
  readonly recvTs: number;
}

/**
 * Incremental L2 change: absolute sizes, size "0" deletes the level.
 * Sequence fields follow the venue's book-sync kind:
 * - `contiguous`: the delta covers `[firstSeq, lastSeq]` and must start at previous `lastSeq + 1`;
 * - `linked`: `prevSeq` must equal the previous message's `lastSeq`;
 * - `none`: `lastSeq` only orders deltas against a REST snapshot (e.g. a microtimestamp).
 */
export interface BookDeltaEvent {
  readonly type: 'book_delta';
  readonly venue: VenueId;
  readonly key: string;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly prevSeq?: number;
  /** Venue checksum of the book after this delta, when the venue publishes one. */
  readonly checksum?: number;
  readonly ts: number;
  readonly recvTs: number;
}

/** One public trade. `side` is the taker's side. */
export interface TradeEvent {
  readonly type: 'trade';
  readonly venue: VenueId;
  readonly key: string;
  readonly price: string;
  readonly size: string;
  readonly side: 'buy' | 'sell';
  readonly tradeId: string;
  readonly ts: number;
  readonly recvTs: number;
}

/**
 * Ticker / BBO. Fields a venue did not send in this message are `undefined`
 * (for merged delta tickers such as Bybit linear, the decoder's session merges before emitting).
 */
export interface TickerEvent {
  readonly type: 'ticker';
  readonly venue: VenueId;
  readonly key: string;
  readonly bidPrice?: string;
  readonly bidSize?: string;
  readonly askPrice?: string;
  readonly askSize?: string;
  readonly last?: string;
  /** 24h base volume, when sent. */
  readonly volume24h?: string;
  readonly ts: number;
  readonly recvTs: number;
}

/** Everything a decoder emits. */
export type NormalizedEvent = BookSnapshotEvent | BookDeltaEvent | TradeEvent | TickerEvent;
