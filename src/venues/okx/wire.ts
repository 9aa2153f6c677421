/**
 * OKX v5 public WebSocket and REST frame shapes, as documented and as seen in the recording.
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 *
 * Docs (one page, anchors):
 * - connect, ping/pong, limits: https://www.okx.com/docs-v5/en/#overview-websocket
 * - order book channels, sequence and checksum: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
 * - trades: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel
 * - tickers: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-tickers-channel
 * - instruments: https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments
 * - error codes: https://www.okx.com/docs-v5/en/#error-code-websocket-public
 *
 * Not typed here (built or read by `connector.ts` only): client requests `{"id"?, "op": "subscribe" | "unsubscribe",
 * "args": [OkxArg…]}` (keep-alive is the text `ping`), and the REST envelope `{"code":"0","msg":"","data":
 * [OkxInstrumentInfo…]}` of `GET /api/v5/public/instruments` (`code` ≠ `"0"` is an error).
 */

/** Official documentation pages the connector implements. */
export const OKX_DOCS = {
  websocket: 'https://www.okx.com/docs-v5/en/#overview-websocket',
  orderBook: 'https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel',
  trades: 'https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel',
  tickers: 'https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-tickers-channel',
  instruments: 'https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments',
  errors: 'https://www.okx.com/docs-v5/en/#error-code-websocket-public',
} as const;

/**
 * Order book channels. `books` (400 levels, 100 ms), `books-l2-tbt` (400, tick by tick) and `books50-l2-tbt` (50, tick
 * by tick) send a snapshot then increments (`action`); `books5` (5 levels) and `bbo-tbt` (1 level) send a full snapshot
 * on every push (no `action`). The two `-l2-tbt` channels need login and a VIP tier in the current docs.
 */
export type OkxBookChannel = 'books' | 'books5' | 'bbo-tbt' | 'books-l2-tbt' | 'books50-l2-tbt';

/** Levels per side of each book channel. */
export const OKX_BOOK_CHANNEL_DEPTH: Readonly<Record<OkxBookChannel, number>> = {
  books: 400,
  books5: 5,
  'bbo-tbt': 1,
  'books-l2-tbt': 400,
  'books50-l2-tbt': 50,
};

/**
 * One book level: `[price, size, "0", numOrders]`. Price in quote currency; size in contracts for derivatives and in
 * base currency for spot; the third element is deprecated (always `"0"`). Decimal strings.
 */
type OkxLevel = [price: string, size: string, liquidated: string, orders: string];

/** `arg` of every push and ack: the subscription it belongs to. */
export interface OkxArg {
  readonly channel: string;
  readonly instId?: string;
  readonly instType?: string;
  readonly instFamily?: string;
}

/**
 * One book push element. `checksum`: signed CRC32 of the top 25 interleaved levels after applying this message
 * (deprecated in the newest docs: fixed at 0). `seqId` / `prevSeqId` (absent in the 2022 recording): a snapshot has
 * `prevSeqId = -1`; an update's `prevSeqId` equals the previous message's `seqId`; an empty update with
 * `seqId == prevSeqId` is a heartbeat; after maintenance `seqId` may restart lower.
 */
export interface OkxBookData {
  /** Asks, best (lowest) first. */
  readonly asks: OkxLevel[];
  /** Bids, best (highest) first. */
  readonly bids: OkxLevel[];
  /** Book time, ms since the epoch, as a decimal string. */
  readonly ts: string;
  readonly checksum?: number;
  readonly seqId?: number;
  readonly prevSeqId?: number;
  readonly instId?: string;
}

/** A book push: `action` `snapshot` | `update` on incremental channels, absent on `books5` / `bbo-tbt`. */
export interface OkxBookPush {
  readonly arg: OkxArg;
  readonly action?: 'snapshot' | 'update';
  readonly data: OkxBookData[];
}

/** One `trades` element; `side` is the taker side. Size in contracts (derivatives) or base currency (spot). */
export interface OkxTrade {
  readonly instId: string;
  readonly tradeId: string;
  readonly px: string;
  readonly sz: string;
  readonly side: 'buy' | 'sell';
  /** Trade time, ms, decimal string. */
  readonly ts: string;
  /** Trades aggregated into this one (newer docs). */
  readonly count?: string;
}

/**
 * One `tickers` element (fields the connector reads). `vol24h`: contracts for derivatives, base currency for spot;
 * `volCcy24h`: base currency for derivatives, quote currency for spot. Empty strings when there is no value.
 */
export interface OkxTicker {
  readonly instType: 'SPOT' | 'SWAP' | 'FUTURES' | 'OPTION' | string;
  readonly instId: string;
  readonly last: string;
  readonly lastSz?: string;
  readonly askPx: string;
  readonly askSz: string;
  readonly bidPx: string;
  readonly bidSz: string;
  readonly vol24h?: string;
  readonly volCcy24h?: string;
  readonly ts: string;
}

/** A data push of the non-book channels the connector reads. */
export interface OkxPush<T> {
  readonly arg: OkxArg;
  readonly data: T[];
}

/**
 * Event frames: `subscribe` / `unsubscribe` acks (`{"event":"subscribe","arg":{…},"connId"}`), `error`
 * (`{"event":"error","code":"60012","msg":"…","connId"}`), `notice` (`code` `64008`: the connection will be closed
 * for a service upgrade), `login`, `channel-conn-count`.
 */
export interface OkxEvent {
  readonly event: string;
  readonly arg?: OkxArg;
  readonly code?: string;
  readonly msg?: string;
  readonly connId?: string;
  readonly id?: string;
}

/** One entry of `GET /api/v5/public/instruments` `data` (fields the connector reads). */
export interface OkxInstrumentInfo {
  readonly instType: 'SPOT' | 'SWAP' | 'FUTURES' | 'OPTION' | string;
  readonly instId: string;
  /** Spot only. */
  readonly baseCcy?: string;
  readonly quoteCcy?: string;
  /** Derivatives: `linear` | `inverse`. */
  readonly ctType?: string;
  readonly settleCcy?: string;
  /** Derivatives: underlying `BTC-USD` (older) / instrument family (newer). */
  readonly uly?: string;
  readonly instFamily?: string;
  /** Futures expiry, ms, decimal string. */
  readonly expTime?: string;
  readonly tickSz?: string;
  readonly lotSz?: string;
  readonly state?: string;
}
