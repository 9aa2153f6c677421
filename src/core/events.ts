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

import type { Instrument } from './instruments.ts';

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

// ═════════════════════════════ domain events (the bus) ═════════════════════════════
//
// Everything the pipeline publishes is one of the values below: plain, self-contained, serializable data (a JSON
// round trip yields an equal value). Nothing live (no book object, no callback) travels on the bus. Consumers that
// need more than an event (the whole current book, the latest ticker) read the pipeline's read models.
// Field names are camelCase inside the process; the client encoder (`server/encode.ts`) writes snake_case.

/**
 * Book identity carried by every book event: the instrument (plain data) and the book's `epoch`, which changes every
 * time the book is rebuilt (a new snapshot after a reset, gap, checksum failure or reconnect). A consumer that sees a
 * new epoch must drop what it holds and start from that epoch's `book_snapshot`; deltas of an old epoch never follow.
 */
export interface BookRef {
  readonly instrument: Instrument;
  /** Rebuild counter of this book (1 for the first snapshot, +1 per rebuild). */
  readonly epoch: number;
}

/** Levels and position of a book event: `seq` (null when the venue has none), venue `ts` and `recvTs` (ms). */
export interface BookLevelsMsg extends BookRef {
  readonly seq: number | null;
  readonly ts: number;
  readonly recvTs: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

/**
 * The whole book after a (re)build: every level we keep, best first, `[price, size]` venue strings (price in quote
 * currency, size in base units). `seq`, `ts`, `recvTs` are those of the last message applied.
 */
export interface BookSnapshotMsg extends BookLevelsMsg {
  readonly kind: 'book_snapshot';
}

/**
 * Changed levels of one applied venue delta, in application order, absolute sizes, `"0"` deletes. Levels the book
 * dropped because it keeps a fixed depth are included as deletions, so snapshot + deltas always rebuilds the book
 * exactly. `seq`, `ts`, `recvTs` after this delta.
 */
export interface BookDeltaMsg extends BookLevelsMsg {
  readonly kind: 'book_delta';
}

/**
 * The book stopped being valid (gap, checksum, crossed, disconnected, venue request) and is being rebuilt: drop it.
 * `epoch` is the epoch that ended; `ts` is local time (ms; the recording's clock in replay).
 */
export interface BookResetMsg extends BookRef {
  readonly kind: 'book_reset';
  readonly reason: string;
  readonly ts: number;
}

/** One public trade (taker `side`), with its instrument. */
export interface TradeMsg {
  readonly kind: 'trade';
  readonly instrument: Instrument;
  readonly price: string;
  readonly size: string;
  readonly side: 'buy' | 'sell';
  readonly tradeId: string;
  readonly ts: number;
  readonly recvTs: number;
}

/** Ticker / BBO: fields the venue did not send are null. */
export interface TickerMsg {
  readonly kind: 'ticker';
  readonly instrument: Instrument;
  readonly bidPrice: string | null;
  readonly bidSize: string | null;
  readonly askPrice: string | null;
  readonly askSize: string | null;
  readonly last: string | null;
  readonly volume24h: string | null;
  readonly ts: number;
  readonly recvTs: number;
}

/** Lifecycle of one venue connection; `ts` local time (ms). */
export interface VenueStatusMsg {
  readonly kind: 'venue_status';
  readonly venue: VenueId;
  readonly connId: string;
  readonly state: 'connecting' | 'open' | 'closed' | 'reconnecting';
  readonly detail: string | null;
  readonly ts: number;
}

/** A consolidated book across venues, computed on demand or on change (see {@link ConsolidatedBook}). */
export interface ConsolidatedBookMsg extends ConsolidatedBook {
  readonly kind: 'consolidated_book';
}

/** The throttled summary of one consolidation key (a {@link ConsolidatedBook} `max_price_levels` deep). */
export interface SummaryMsg extends ConsolidatedBook {
  readonly kind: 'summary';
}

/** One fee-adjusted arbitrage report (see {@link ArbitrageOpportunity}). */
export interface ArbitrageMsg extends ArbitrageOpportunity {
  readonly kind: 'arbitrage';
}

/** Every venue's health, refreshed periodically; `ts` local time (ms). */
export interface HealthMsg {
  readonly kind: 'health';
  readonly venues: readonly VenueHealthReport[];
  readonly ts: number;
}

/**
 * One upstream oracle event: the prices it carried that were accepted (new for their feed; duplicates and out-of-order
 * ones are dropped before), and its binary payload (null when not kept). `recvTs` local receive time (ms).
 */
export interface OraclePriceMsg {
  readonly kind: 'oracle_price';
  readonly source: string;
  readonly updates: readonly OraclePrice[];
  readonly binary: OracleBinary | null;
  readonly recvTs: number;
}

/** Topic → event of the bus: one topic per event kind (the topic name is the event's `kind`). */
export interface DomainEvents {
  book_snapshot: BookSnapshotMsg;
  book_delta: BookDeltaMsg;
  book_reset: BookResetMsg;
  trade: TradeMsg;
  ticker: TickerMsg;
  venue_status: VenueStatusMsg;
  consolidated_book: ConsolidatedBookMsg;
  summary: SummaryMsg;
  arbitrage: ArbitrageMsg;
  health: HealthMsg;
  oracle_price: OraclePriceMsg;
}

/** A bus topic. */
export type Topic = keyof DomainEvents;
/** Any domain event. */
export type DomainEvent = DomainEvents[Topic];
/** Every topic, in a fixed order. */
export const TOPICS: readonly Topic[] = [
  'book_snapshot', 'book_delta', 'book_reset', 'trade', 'ticker', 'venue_status',
  'consolidated_book', 'summary', 'arbitrage', 'health', 'oracle_price',
];

// ───────────────────────────── values carried by the derived events ─────────────────────────────

/**
 * Why a venue's book is left out of a consolidated book: `invalid` (resyncing), `disconnected`, `stale` (last update
 * received longer ago than `max_quote_age_ms`), `lagging` (its venue time is more than `max_quote_age_ms` behind the
 * freshest included book's venue time).
 */
export type ExclusionReason = 'invalid' | 'disconnected' | 'stale' | 'lagging';

/**
 * One level of a consolidated side: the venue's own price and size strings (quote currency per base unit;
 * base units), and the venue it rests on. `symbol` (the venue instrument's canonical symbol) is present only
 * for quote-equivalence keys, where one venue may contribute several instruments (e.g. BTC/USDT and BTC/USDC).
 */
export interface ConsolidatedLevel {
  readonly price: string;
  readonly size: string;
  readonly venue: string;
  readonly symbol?: string;
}

/** Best bid and best ask across the included venues; a side is absent when no included venue has a level there. */
export interface Nbbo {
  readonly bid?: ConsolidatedLevel;
  readonly ask?: ConsolidatedLevel;
}

/** Spread of the NBBO: `abs = ask − bid` (quote currency), `bps = abs / mid × 10 000`. Negative when crossed. */
export interface Spread {
  readonly abs: number;
  readonly bps: number;
}

/** A venue left out, and why (`symbol` as in {@link ConsolidatedLevel}). */
export interface ExcludedVenue {
  readonly venue: string;
  readonly reason: ExclusionReason;
  readonly symbol?: string;
}

/**
 * The oracle price of a key's instrument: `price` / `confidence` in quote currency (Pyth's integer × 10^expo),
 * `publishTime` in ms since the epoch, `deviationBps` = (mid − price) / price × 10 000 (null without a mid).
 */
export interface OracleRef {
  readonly source: string;
  readonly feedId: string;
  readonly price: number;
  readonly confidence: number;
  readonly publishTime: number;
  readonly deviationBps: number | null;
  /** True when the oracle price is stale (its publish time stopped advancing); the deviation is then indicative only. */
  readonly stale?: boolean;
}

/**
 * A consolidated book:
 * - `symbol`: the consolidation key (canonical symbol, or the quote-group key such as `BTC/USD`);
 * - `bids` / `asks`: merged levels, best first, each with its venue (ties: by venue id, then symbol);
 * - `nbbo`, `spread` (null unless both sides exist), `mid` (`(bid + ask) / 2`, null unless both sides exist);
 * - `crossed`: the best bid is above the best ask (across venues);
 * - `venues`: venues included (sorted); `excluded`: venues left out with the reason;
 * - `quoteEquivalence`: only on quote-group keys, the quotes of the included instruments that were merged
 *   (in group order, e.g. `["USD","USDT"]`);
 * - `oracle`: only when an oracle prices the instrument (see {@link OracleRef});
 * - `timestamp`: local time (ms since epoch) the view was computed.
 * Computed numbers (`spread`, `mid`) are rounded to 12 significant digits to drop float noise.
 */
export interface ConsolidatedBook {
  readonly symbol: string;
  readonly bids: readonly ConsolidatedLevel[];
  readonly asks: readonly ConsolidatedLevel[];
  readonly nbbo: Nbbo;
  readonly spread: Spread | null;
  readonly mid: number | null;
  readonly crossed: boolean;
  readonly venues: readonly string[];
  readonly excluded: readonly ExcludedVenue[];
  readonly quoteEquivalence?: readonly string[];
  readonly oracle?: OracleRef;
  /**
   * Venue-time skew between the included books (ms): freshest venue time − oldest venue time of the books merged.
   * Absent when fewer than two books are included.
   */
  readonly venueSkewMs?: number;
  readonly timestamp: number;
}

/**
 * One arbitrage opportunity:
 * - `id`: stable while the opportunity persists; `revision`: 0 on first report, +1 per material change;
 * - `symbol`: the consolidation key; `buySymbol` / `sellSymbol`: the legs' canonical symbols (differ from
 *   `symbol` only under quote equivalence);
 * - `buyPrice` (A's best ask) and `sellPrice` (B's best bid): venue strings, quote currency;
 * - `grossBps`, `buyFeeBps`, `sellFeeBps`, `profitBps` (= gross − fees, net): bps;
 * - `volume`: size executable at the two top prices; `depthVolume`: see the module comment (base units);
 * - `timestamp`: local time (ms) of this report; `firstSeenAt`: local time (ms) the opportunity appeared.
 */
export interface ArbitrageOpportunity {
  readonly id: string;
  readonly revision: number;
  readonly symbol: string;
  readonly buyVenue: string;
  readonly sellVenue: string;
  readonly buySymbol: string;
  readonly sellSymbol: string;
  readonly buyPrice: string;
  readonly sellPrice: string;
  readonly grossBps: number;
  readonly buyFeeBps: number;
  readonly sellFeeBps: number;
  readonly profitBps: number;
  readonly volume: number;
  readonly depthVolume: number;
  readonly timestamp: number;
  readonly firstSeenAt: number;
  /** Venue-time difference between the two legs' books (ms), when both have a venue time. */
  readonly legSkewMs?: number;
}
/**
 * Health of one venue:
 * `lastUpdate` local receive time (ms since epoch) of the last update, null if none; `updatesPerSecond`
 * updates/s over the last refresh interval; `latencyMs` mean receive time − venue time (ms), null if unknown;
 * `errorCount`, `reconnects`, `gaps` counts since start; `connected`; `books` tracked and valid.
 */
export interface VenueHealthReport {
  readonly venue: string;
  readonly healthy: boolean;
  readonly lastUpdate: number | null;
  readonly errorMessage: string | null;
  readonly updatesPerSecond: number;
  readonly latencyMs: number | null;
  readonly errorCount: number;
  readonly reconnects: number;
  readonly gaps: number;
  readonly connected: boolean;
  readonly books: { readonly total: number; readonly valid: number };
}
/**
 * One oracle price as decoded (Pyth Hermes `parsed[]` entry, https://docs.pyth.network/price-feeds/how-pyth-works/hermes).
 * Integers stay the strings received; the real value is `integer × 10^expo` (quote currency per unit of base).
 */
export interface OraclePrice {
  /** Source name, e.g. `pyth`. */
  readonly source: string;
  /** Canonical feed id (`0x` + 64 lowercase hex). */
  readonly id: string;
  /** Signed integer string. */
  readonly price: string;
  /** Unsigned integer string: the confidence interval (± around `price`). */
  readonly conf: string;
  readonly expo: number;
  /** Unix time (seconds) the aggregate was published. */
  readonly publishTime: number;
  /** `price` × 10^`expo` and `conf` × 10^`expo` as numbers (correctly rounded from the decimal). */
  readonly priceNum: number;
  readonly confNum: number;
  /** The EMA price (≈ 1 h window): integer strings, exponent, publish time (s). */
  readonly emaPrice: string;
  readonly emaConf: string;
  readonly emaExpo: number;
  readonly emaPublishTime: number;
  /** Metadata when sent: Pythnet slot, when Hermes had the proof (s), the previous aggregate's publish time (s). */
  readonly slot: number | null;
  readonly proofAvailableTime: number | null;
  readonly prevPublishTime: number | null;
  /** Local receive time (ms). */
  readonly recvTs: number;
  /** The source's own symbol (`Crypto.BTC/USD`), null while unknown. */
  readonly symbol: string | null;
  /** The canonical instrument it prices (`BTC/USD`), null when none. */
  readonly instrument: string | null;
  /** `stale` once the source's publish time stopped advancing for longer than its staleness bound. */
  readonly status: 'trading' | 'stale';
}

/** The binary payload of an oracle update as received (Pyth: the accumulator update, for on-chain use). */
export interface OracleBinary {
  readonly encoding: 'hex' | 'base64';
  readonly data: readonly string[];
}



/**
 * The publishing side of the bus, as sources below the pipeline see it (an oracle source publishes its prices through
 * it without depending on the bus module). `has` lets a producer skip building events nobody listens to.
 */
export interface EventPublisher {
  publish<K extends Topic>(topic: K, ev: DomainEvents[K]): void;
  has(topic: Topic): boolean;
}
