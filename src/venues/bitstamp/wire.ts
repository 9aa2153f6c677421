/**
 * Bitstamp WebSocket API v2 and REST frame shapes, as documented (and as seen in the recording).
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 *
 * Docs:
 * - WebSocket v2 (subscribe, channels, shapes, forced reconnection, heartbeat, errors): https://www.bitstamp.net/websocket/v2/
 * - REST order book: https://www.bitstamp.net/api/#tag/Order-book
 * - REST trading pairs info: https://www.bitstamp.net/api/#tag/Market-info
 */

/** Official documentation pages the connector implements. */
export const BITSTAMP_DOCS = {
  websocket: 'https://www.bitstamp.net/websocket/v2/',
  orderBook: 'https://www.bitstamp.net/api/#tag/Order-book',
  pairsInfo: 'https://www.bitstamp.net/api/#tag/Market-info',
} as const;

/** A client request: `{"event":"bts:subscribe"|"bts:unsubscribe","data":{"channel":...}}` or `{"event":"bts:heartbeat"}`. */
export interface BitstampRequest {
  readonly event: 'bts:subscribe' | 'bts:unsubscribe' | 'bts:heartbeat';
  readonly data?: { readonly channel: string; readonly auth?: string };
}

/** `[price, amount]`: price in quote currency, amount in base units, decimal strings. */
export type BitstampLevel = [price: string, amount: string];

/**
 * `diff_order_book_{pair}`, event `data`: changed levels of the whole book (amount "0" deletes). No sequence
 * number, no checksum: `microtimestamp` (µs since epoch, decimal string) orders a diff against the REST snapshot.
 */
export interface BitstampDiffFrame {
  readonly event: 'data';
  readonly channel: string;
  readonly data: {
    /** Seconds since epoch, decimal string. */
    readonly timestamp: string;
    /** Microseconds since epoch, decimal string. */
    readonly microtimestamp: string;
    readonly bids: BitstampLevel[];
    readonly asks: BitstampLevel[];
  };
}

/** `live_trades_{pair}`, event `trade`. `type` is the taker side: 0 buy, 1 sell. */
export interface BitstampTradeFrame {
  readonly event: 'trade';
  readonly channel: string;
  readonly data: {
    readonly id: number;
    readonly timestamp: string;
    readonly microtimestamp: string;
    /** Base units (number; `amount_str` is the exact string). */
    readonly amount: number;
    readonly amount_str: string;
    /** Quote currency (number; `price_str` is the exact string). */
    readonly price: number;
    readonly price_str: string;
    readonly type: 0 | 1;
    readonly buy_order_id: number;
    readonly sell_order_id: number;
  };
}

/**
 * Connection-level events: `bts:subscription_succeeded` / `bts:unsubscription_succeeded` (`data: {}`),
 * `bts:heartbeat` (`data: {"status":"success"}`), `bts:request_reconnect` (`channel: ""`, `data: ""`, the server
 * is going to maintenance: reconnect within seconds), `bts:error` (`data: {"code", "message"}`).
 */
export interface BitstampControlFrame {
  readonly event: string;
  readonly channel: string;
  readonly data: unknown;
}

/** REST `GET /api/v2/order_book/{pair}/`: the full book, timestamps as decimal strings. */
export interface BitstampOrderBook {
  readonly timestamp: string;
  readonly microtimestamp: string;
  readonly bids: BitstampLevel[];
  readonly asks: BitstampLevel[];
}

/** One entry of REST `GET /api/v2/trading-pairs-info/`. */
export interface BitstampPairInfo {
  /** `BTC/USD`. */
  readonly name: string;
  /** `btcusd`: the symbol used in channel names and REST paths. */
  readonly url_symbol: string;
  /** `Enabled` / `Disabled`. */
  readonly trading?: string;
  /** Decimals of the base amount (lot size = 10^-base_decimals). */
  readonly base_decimals?: number;
  /** Decimals of the price (tick size = 10^-counter_decimals). */
  readonly counter_decimals?: number;
  readonly description?: string;
}
