/**
 * Bitstamp WebSocket API v2 and REST frame shapes, as documented (and as seen in the recording).
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 *
 * Docs:
 * - WebSocket v2 (subscribe, channels, shapes, forced reconnection, heartbeat, errors): https://www.bitstamp.net/websocket/v2/
 * - REST order book: https://www.bitstamp.net/api/#tag/Order-book
 * - REST trading pairs info: https://www.bitstamp.net/api/#tag/Market-info
 *
 * Not typed here (built or read by `connector.ts` only): client requests `{"event":"bts:subscribe"|"bts:unsubscribe",
 * "data":{"channel"}}` and `{"event":"bts:heartbeat"}`; the REST order book `GET /api/v2/order_book/{pair}/`
 * `{"timestamp","microtimestamp","bids":[[price, amount]…],"asks":[…]}` (timestamps as decimal strings).
 */

/** Official documentation pages the connector implements. */
export const BITSTAMP_DOCS = {
  websocket: 'https://www.bitstamp.net/websocket/v2/',
  orderBook: 'https://www.bitstamp.net/api/#tag/Order-book',
  pairsInfo: 'https://www.bitstamp.net/api/#tag/Market-info',
} as const;

/** `[price, amount]`: price in quote currency, amount in base units, decimal strings. */
type BitstampLevel = [price: string, amount: string];

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
 * is going to maintenance: reconnect within seconds); `bts:error` is {@link BitstampErrorFrame}. Private channels
 * (`live_orders_*`: `order_created` / `order_changed` / `order_deleted`) are recognised by event and channel only.
 */
export interface BitstampControlFrame {
  readonly event: string;
  readonly channel: string;
  readonly data: unknown;
}

/** `bts:error`: `data` names the problem, e.g. `{"code": null, "message": "Incorrect JSON format."}` (4009: auth). */
export interface BitstampErrorFrame {
  readonly event: 'bts:error';
  readonly channel: string;
  readonly data: { readonly code: number | string | null; readonly message: string };
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
