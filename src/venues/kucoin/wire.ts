/**
 * KuCoin spot public WebSocket and REST frame shapes, as documented (and as seen in the 2021 recording).
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 *
 * Prices are in quote currency and sizes in base units, decimal strings. Venue sequences are 64-bit integers
 * that stay below 2^53 (safe as JS numbers).
 *
 * Not typed here (read by `connector.ts` only), REST bodies, all in the envelope `{"code","msg"?,"data"}` (`code`
 * `"200000"` on success):
 * - `POST /api/v1/bullet-public`: `{"token", "instanceServers":[{"endpoint","encrypt"?,"protocol"?,"pingInterval",
 *   "pingTimeout"}]}` (token valid 24 h; ping interval / timeout in ms);
 * - `GET /api/v3/market/orderbook/level2` / `level2_100`: `{"sequence" (string), "time" (ms), "bids":[[price, size]…],
 *   "asks":[…]}`.
 */

/** Official documentation pages the connector implements. */
export const KUCOIN_DOCS = {
  /** Token, welcome, ping/pong, subscribe/ack (current doc site). */
  introduction: 'https://www.kucoin.com/docs-new/websocket-api/base-info/introduction',
  /** `POST /api/v1/bullet-public`. */
  publicToken: 'https://www.kucoin.com/docs-new/websocket-api/base-info/get-public-token-spot-margin',
  /** `/market/level2:{symbol}` increments and the local book procedure. */
  level2: 'https://www.kucoin.com/docs-new/3470068w0',
  /** `/market/match:{symbol}`. */
  match: 'https://www.kucoin.com/docs-new/3470072w0',
  /** `/market/ticker:{symbol}`. */
  ticker: 'https://www.kucoin.com/docs-new/3470063w0',
  /** `GET /api/v3/market/orderbook/level2` (full book; "requires the General permission", i.e. an API key). */
  fullOrderBook: 'https://www.kucoin.com/docs/rest/spot-trading/market-data/get-full-order-book-aggregated-',
  /** `GET /api/v1/market/orderbook/level2_20|level2_100` (public partial book). */
  partOrderBook: 'https://www.kucoin.com/docs/rest/spot-trading/market-data/get-part-order-book-aggregated-',
  /** `GET /api/v1/symbols`. */
  symbols: 'https://www.kucoin.com/docs/rest/spot-trading/market-data/get-symbols-list',
  /** Topic limits (100 per subscribe, 300 per connection), quoted from the old docs by a KuCoin SDK maintainer. */
  limits: 'https://github.com/Kucoin/kucoin-python-sdk/issues/32',
} as const;

/** `[price, size, sequence]` of a level-2 change: decimal strings; `sequence` is the change's own sequence. */
type KucoinChange = [price: string, size: string, sequence: string];

/**
 * Data of `/market/level2:{symbol}` (subject `trade.l2update`). The message covers sequences
 * `[sequenceStart, sequenceEnd]`; each change carries its own sequence. Price `"0"` is a sequence-only change
 * (no book change); size `"0"` removes the level. `time` (ms) is present in newer messages only.
 */
export interface KucoinL2Update {
  readonly sequenceStart: number;
  readonly sequenceEnd: number;
  readonly symbol: string;
  readonly changes: { readonly asks: KucoinChange[]; readonly bids: KucoinChange[] };
  readonly time?: number;
}

/** Data of `/market/ticker:{symbol}` (subject `trade.ticker`): last trade and best bid/ask. `time` in ms. */
export interface KucoinTicker {
  readonly sequence: string;
  /** Last traded price. */
  readonly price: string;
  /** Last traded size. */
  readonly size: string;
  readonly bestBid: string;
  readonly bestBidSize: string;
  readonly bestAsk: string;
  readonly bestAskSize: string;
  readonly time: number;
}

/** Data of `/market/match:{symbol}` (subject `trade.l3match`). `side` is the taker's side; `time` in **nanoseconds** (string). */
export interface KucoinMatch {
  readonly symbol: string;
  readonly sequence: string;
  readonly side: 'buy' | 'sell';
  readonly size: string;
  readonly price: string;
  readonly tradeId: string;
  readonly takerOrderId: string;
  readonly makerOrderId: string;
  readonly time: string;
  readonly type: 'match';
}

/** Every data frame: `{"type":"message","topic","subject","data"}`. */
export interface KucoinMessage<D> {
  readonly type: 'message';
  readonly topic: string;
  readonly subject: string;
  readonly data: D;
}

/**
 * Connection-level frames: `welcome` (id = our connectId) once the connection is usable, `ack` (id echoes the
 * request id as a string), `pong` (id echoes the ping id), `error` (`code` e.g. 401 token invalid, 404 topic not
 * found, 509 subscription/permit limits; `data` is the message text).
 */
export interface KucoinControl {
  readonly id?: string;
  readonly type: 'welcome' | 'ack' | 'pong' | 'error';
  readonly code?: number | string;
  readonly data?: string;
  /** Some errors carry their text here instead of in `data`. */
  readonly msg?: string;
}

/** A client request: subscribe/unsubscribe (`topic` = `/market/level2:SYM1,SYM2`, ≤ 100 symbols) or ping. */
export interface KucoinRequest {
  readonly id: number | string;
  readonly type: 'subscribe' | 'unsubscribe' | 'ping';
  readonly topic?: string;
  readonly privateChannel?: boolean;
  readonly response?: boolean;
}

/** One entry of `GET /api/v1/symbols` (fields the connector reads). */
export interface KucoinSymbolInfo {
  /** Wire symbol, e.g. `BTC-USDT`, legacy `BCHSV-USDT`. */
  readonly symbol: string;
  /** Base currency code, e.g. `BSV` for `BCHSV-USDT`. */
  readonly baseCurrency: string;
  readonly quoteCurrency: string;
  /** Price tick, quote currency. */
  readonly priceIncrement?: string;
  /** Size step, base units. */
  readonly baseIncrement?: string;
  readonly enableTrading?: boolean;
}
