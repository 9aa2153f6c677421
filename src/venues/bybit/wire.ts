/**
 * Bybit v5 public WebSocket and REST frame shapes, as documented (and as seen in the recordings).
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 *
 * Docs:
 * - connect, ping/pong, subscribe acks, limits: https://bybit-exchange.github.io/docs/v5/ws/connect
 * - orderbook: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
 * - trades: https://bybit-exchange.github.io/docs/v5/websocket/public/trade
 * - tickers: https://bybit-exchange.github.io/docs/v5/websocket/public/ticker
 * - instruments: https://bybit-exchange.github.io/docs/v5/market/instrument
 *
 * Not typed here (built or read by `connector.ts` only): client requests `{"req_id"?, "op": "subscribe" |
 * "unsubscribe" | "ping", "args"?: [topic…]}`, and the REST envelope of `GET /v5/market/instruments-info`
 * `{"retCode","retMsg","result":{"category","list":[BybitInstrumentInfo…],"nextPageCursor"?}}` (`retCode` 0 = success;
 * `nextPageCursor` empty or absent on the last page).
 */

/** Official documentation pages the connector implements. */
export const BYBIT_DOCS = {
  connect: 'https://bybit-exchange.github.io/docs/v5/ws/connect',
  orderbook: 'https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook',
  trade: 'https://bybit-exchange.github.io/docs/v5/websocket/public/trade',
  ticker: 'https://bybit-exchange.github.io/docs/v5/websocket/public/ticker',
  instruments: 'https://bybit-exchange.github.io/docs/v5/market/instrument',
} as const;

/** Bybit public categories this connector serves (one WebSocket path each: `/v5/public/{market}`). */
export type BybitMarket = 'spot' | 'linear';
export const BYBIT_MARKETS: readonly BybitMarket[] = ['spot', 'linear'];

/** `[price, size]`: price in quote currency, size in base units (contracts = base units on linear), decimal strings. */
export type BybitLevel = [price: string, size: string];

/**
 * `orderbook.{depth}.{symbol}`. `type` snapshot replaces the book, delta changes it (size "0" deletes).
 * `u` is the per-topic update id (+1 per message, `u=1` means service restart), `seq` the cross sequence.
 */
export interface BybitOrderbookFrame {
  readonly topic: string;
  readonly type: 'snapshot' | 'delta';
  /** System time the frame was generated, ms. */
  readonly ts: number;
  readonly data: {
    readonly s: string;
    /** Bids, best (highest) first. */
    readonly b: BybitLevel[];
    /** Asks, best (lowest) first. */
    readonly a: BybitLevel[];
    readonly u: number;
    readonly seq?: number;
  };
  /** Matching-engine time, ms. */
  readonly cts?: number;
}

/** One element of a `publicTrade.{symbol}` frame. `S` is the taker side. */
export interface BybitTrade {
  /** Trade time, ms. */
  readonly T: number;
  readonly s: string;
  readonly S: 'Buy' | 'Sell';
  /** Size, base units. */
  readonly v: string;
  /** Price, quote currency. */
  readonly p: string;
  readonly L?: string;
  /** Trade id (UUID on derivatives, numeric string on spot). */
  readonly i: string;
  readonly BT?: boolean;
  readonly RPI?: boolean;
  readonly seq?: number;
}

/** `publicTrade.{symbol}`: always `type: "snapshot"`, carries new trades only. */
export interface BybitTradeFrame {
  readonly topic: string;
  readonly type: 'snapshot';
  readonly ts: number;
  readonly data: BybitTrade[];
}

/** The ticker fields the connector reads (many more are sent). Linear deltas omit unchanged fields. */
export interface BybitTickerData {
  readonly symbol: string;
  readonly lastPrice?: string;
  readonly bid1Price?: string;
  readonly bid1Size?: string;
  readonly ask1Price?: string;
  readonly ask1Size?: string;
  /** 24h volume, base units. */
  readonly volume24h?: string;
}

/** `tickers.{symbol}`: linear sends one snapshot then deltas; spot sends snapshots only. */
export interface BybitTickerFrame {
  readonly topic: string;
  readonly type: 'snapshot' | 'delta';
  readonly ts: number;
  readonly cs?: number;
  readonly data: BybitTickerData;
}

/**
 * Reply to a client operation. Public subscribe ack: `{"success":true,"ret_msg":"","conn_id","req_id","op":"subscribe"}`
 * (spot: `ret_msg` is `"subscribe"`); public pong: `op` `"ping"` with `ret_msg` `"pong"`; private pong: `op` `"pong"`.
 */
export interface BybitOpReply {
  readonly success?: boolean;
  readonly ret_msg?: string;
  readonly conn_id?: string;
  readonly req_id?: string;
  readonly op: string;
  readonly args?: string[];
}

/** One entry of `GET /v5/market/instruments-info` `result.list` (fields the connector reads). */
export interface BybitInstrumentInfo {
  readonly symbol: string;
  readonly baseCoin: string;
  readonly quoteCoin: string;
  /** Linear/inverse only. */
  readonly settleCoin?: string;
  /** Linear: `LinearPerpetual` | `LinearFutures`. Absent on spot. */
  readonly contractType?: string;
  readonly status?: string;
  /** Delivery time of dated futures, ms as a string; `"0"` for perpetuals. */
  readonly deliveryTime?: string;
  readonly priceFilter?: { readonly tickSize?: string };
  /** Spot: `basePrecision`; linear: `qtyStep`. */
  readonly lotSizeFilter?: { readonly basePrecision?: string; readonly qtyStep?: string };
}
