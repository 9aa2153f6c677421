/**
 * Crypto.com Exchange market-data WebSocket and REST shapes, two API generations:
 * - **v1** (current, "Exchange API v1"): `wss://stream.crypto.com/exchange/v1/market`, REST
 *   `https://api.crypto.com/exchange/v1/public/get-instruments`; decimals are **strings**; books are a snapshot
 *   (`book`) then deltas (`book.update`) chained by `pu` → `u`.
 * - **v2** (legacy, as recorded in 2021): `wss://stream.crypto.com/v2/market`, REST
 *   `https://api.crypto.com/v2/public/get-instruments`; decimals are JSON **numbers**; every book push is a full
 *   top-N snapshot with no sequence.
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 */

/** Official documentation pages the connector implements (v1; v2 pages are no longer published). */
export const CRYPTO_COM_DOCS = {
  /** Endpoints, request/response format, reason codes, the 1-second wait after connecting. */
  common: 'https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#common-api-reference',
  /** `book.{instrument_name}.{depth}`: snapshot / `book.update`, `u`/`pu`, depths 10 and 50. */
  book: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-book-instrument-name-depth',
  /** `trade.{instrument_name}`. */
  trade: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-trade-instrument-name',
  /** `ticker.{instrument_name}`. */
  ticker: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-ticker-instrument-name',
  /** `public/heartbeat` (server) → `public/respond-heartbeat` (client, same id). */
  heartbeat: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-market-data-client-commands-heartbeat-request',
  /** `subscribe` on the market-data server. */
  subscribe: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-market-data-client-commands-market-data-subscribe-request',
  /** `public/get-instruments` (v1: `symbol`, `inst_type`, `base_ccy`, `quote_ccy`, `price_tick_size`, `qty_tick_size`). */
  instruments: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/rest/public-get-instruments',
} as const;

/** API generation of a connection or instrument list. */
export type CryptoComApi = 'v1' | 'v2';

/** A decimal as sent: a string in v1, a JSON number in v2. */
type CryptoComDecimal = string | number;

/** `[price, quantity, numOrders]`: price in quote currency, quantity in base units (contracts for perpetuals). */
export type CryptoComLevel = [price: CryptoComDecimal, qty: CryptoComDecimal, numOrders: CryptoComDecimal];

/** `book` item: a full top-N book. `u` (v1 only) is the book sequence; `t` publish time, `tt` last update time (ms). */
export interface CryptoComBookSnapshot {
  readonly bids: CryptoComLevel[];
  readonly asks: CryptoComLevel[];
  readonly t: number | string;
  readonly tt?: number | string;
  readonly u?: number | string;
}

/**
 * `book.update` item (v1, `SNAPSHOT_AND_UPDATE`): absolute quantities, `"0"` deletes. Apply only when `pu` equals
 * the previous message's `u`; an empty `update` (no changes for 5 s) still advances `u`. `cs` appears in one
 * third-party capture and in no official table (UNCONFIRMED; ignored).
 */
export interface CryptoComBookUpdate {
  readonly update: { readonly bids: CryptoComLevel[]; readonly asks: CryptoComLevel[] };
  readonly t: number | string;
  readonly tt?: number | string;
  readonly u: number | string;
  readonly pu: number | string;
  readonly cs?: number;
}

/**
 * `trade` item. `s` is the taker side (`BUY`/`SELL`), `d` the trade id (v1 string; v2 a JSON number above 2^53, so
 * the decoder reads its digits from the frame text), `t` trade time (ms), `i` instrument. The first push after
 * subscribing is a snapshot of recent trades (v1 doc: 50; 100 in the v2 recording), newest first.
 */
export interface CryptoComTrade {
  readonly d: string | number;
  readonly t: number;
  readonly p: CryptoComDecimal;
  readonly q: CryptoComDecimal;
  readonly s: 'BUY' | 'SELL';
  readonly i: string;
  readonly dataTime?: number;
}

/**
 * `ticker` item: `b`/`bs` best bid price/size, `k`/`ks` best ask price/size (`bs`/`ks` v1 only), `a` last price,
 * `v` 24 h volume (base units), `vv` 24 h volume value (USD, v1), `h`/`l` 24 h high/low, `c` 24 h change, `t` ms.
 * Fields may be null when the side is empty.
 */
export interface CryptoComTicker {
  readonly i: string;
  readonly b?: CryptoComDecimal | null;
  readonly bs?: CryptoComDecimal | null;
  readonly k?: CryptoComDecimal | null;
  readonly ks?: CryptoComDecimal | null;
  readonly a?: CryptoComDecimal | null;
  readonly v?: CryptoComDecimal | null;
  readonly vv?: CryptoComDecimal | null;
  readonly h?: CryptoComDecimal | null;
  readonly l?: CryptoComDecimal | null;
  readonly c?: CryptoComDecimal | null;
  readonly t: number;
}

/** A channel push: `{"id"?, "method":"subscribe", "code":0, "result":{instrument_name, subscription, channel, depth?, data}}`. */
export interface CryptoComPush<D> {
  readonly id?: number;
  readonly method: 'subscribe';
  readonly code: number | string;
  readonly result: {
    readonly instrument_name: string;
    readonly subscription: string;
    readonly channel: string;
    readonly depth?: number;
    readonly data: D[];
  };
}

/**
 * Any response: `code` 0 (number or string) for success; otherwise `message` names the reason (e.g. `TOO_MANY_REQUESTS`).
 * Also the server's heartbeat `{"id":N,"method":"public/heartbeat"}` (answered with `public/respond-heartbeat`, same id).
 */
export interface CryptoComResponse {
  readonly id?: number | string;
  readonly method: string;
  readonly code?: number | string;
  readonly message?: string;
  readonly original?: string;
}

/** A client request (`subscribe`, `unsubscribe`, `public/respond-heartbeat`). */
export interface CryptoComRequest {
  readonly id: number;
  readonly method: string;
  readonly params?: {
    readonly channels: string[];
    readonly book_subscription_type?: 'SNAPSHOT' | 'SNAPSHOT_AND_UPDATE';
    readonly book_update_frequency?: 10 | 100 | 500;
  };
  readonly nonce?: number;
}

/** v1 `public/get-instruments` `result.data[]` (fields the connector reads). */
export interface CryptoComInstrumentV1 {
  readonly symbol: string;
  /** `CCY_PAIR` (spot), `PERPETUAL_SWAP`, `FUTURE`, … */
  readonly inst_type: string;
  readonly base_ccy: string;
  readonly quote_ccy: string;
  readonly price_tick_size?: string;
  readonly qty_tick_size?: string;
  readonly tradable?: boolean;
}

/** v2 `public/get-instruments` `result.instruments[]` (spot only). */
export interface CryptoComInstrumentV2 {
  readonly instrument_name: string;
  readonly base_currency: string;
  readonly quote_currency: string;
  /** Decimals of the price: tick = 10^-price_decimals. */
  readonly price_decimals?: number;
  readonly quantity_decimals?: number;
}
