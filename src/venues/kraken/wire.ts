/**
 * Kraken spot WebSocket (v1 and v2) and REST frame shapes, as documented and as seen in the recordings.
 * These are the *expected* shapes: the decoder checks every field it reads, because venue input is never trusted.
 *
 * v1 (`wss://ws.kraken.com`, frozen, as recorded): data frames are arrays `[channelID, payload…, channelName, pair]`,
 * every decimal (timestamps included) a string. v2 (`wss://ws.kraken.com/v2`, current): JSON objects
 * `{channel, type, data: [...]}`, decimals as JSON numbers, symbols `BTC/USD` instead of `XBT/USD`.
 *
 * Not typed here (built or read by `connector.ts` only): client requests, v1
 * `{"event":"subscribe"|"unsubscribe","reqid"?,"pair":[wsname…],"subscription":{"name","depth"?}}` or
 * `{"event":"ping","reqid"}`, v2 `{"method":"subscribe"|"unsubscribe"|"ping","params"?:{channel,symbol[],depth?,
 * snapshot?},"req_id"?}`; the REST envelope `{"error":[…],"result":{pairKey: KrakenAssetPair}}` of `AssetPairs`.
 */

/** Official documentation pages the connector implements. */
export const KRAKEN_DOCS = {
  /** Endpoints, v1 vs v2 differences. */
  websocket: 'https://docs.kraken.com/exchange/api-reference/spot-websocket',
  /** v1 book maintenance and checksum (top 10, `.` and leading zeros removed, CRC32 unsigned). */
  bookChecksumV1: 'https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1',
  /** v2 book maintenance and checksum (same algorithm; numbers formatted at the instrument precision). */
  bookChecksumV2: 'https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2',
  /** v1 subscriptionStatus (subscribed / unsubscribed / error). */
  subscriptionStatusV1: 'https://docs.kraken.com/exchange/api-reference/spot-websocket-v1/subscriptionstatus',
  /** v2 instrument channel (price_precision / qty_precision). */
  instrumentV2: 'https://docs.kraken.com/exchange/api-reference/unified-ws/instrument',
  /** REST `GET /0/public/AssetPairs`. */
  assetPairs: 'https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs',
  /** Reconnection, heartbeats. */
  reconnection: 'https://docs.kraken.com/exchange/guides/websockets/reconnection',
} as const;

/** The two wire protocols. The connection URL decides: a path ending in `/v2` speaks v2, anything else v1. */
export type KrakenProtocol = 'v1' | 'v2';

// ───────────────────────────── v1 ─────────────────────────────

/**
 * One v1 book level: `[price, volume, timestamp]` or `[price, volume, timestamp, "r"]` (`r` = republished because
 * it came back into the subscribed depth). Price in quote currency, volume in base units, timestamp in seconds
 * with microseconds, all decimal strings.
 */
type KrakenV1Level = [price: string, volume: string, timestamp: string, flag?: 'r'];

/** v1 book snapshot payload (`[id, {as, bs}, "book-N", pair]`): asks best (lowest) first, bids best (highest) first. */
export interface KrakenV1BookSnapshot {
  readonly as: KrakenV1Level[];
  readonly bs: KrakenV1Level[];
}

/**
 * v1 book update payload. `[id, {a}, "book-N", pair]`, `[id, {b}, …]` or, when both sides change,
 * `[id, {a}, {b}, "book-N", pair]`. The checksum `c` (unsigned CRC32 as a decimal string) sits in the last dict.
 */
export interface KrakenV1BookUpdate {
  readonly a?: KrakenV1Level[];
  readonly b?: KrakenV1Level[];
  readonly c?: string;
}

/** One v1 trade: `[price, volume, time (s), side "b"|"s" (taker), orderType "m"|"l", misc]`. No trade id. */
export type KrakenV1Trade = [price: string, volume: string, time: string, side: 'b' | 's', orderType: 'm' | 'l', misc: string];

/**
 * v1 ticker payload (fields the connector reads): `a`/`b` = `[price, wholeLotVolume (integer), lotVolume]` best ask /
 * bid, `c` = `[price, lotVolume]` last trade, `v` = `[today, last24h]` volume (base units).
 */
export interface KrakenV1Ticker {
  readonly a: [price: string, wholeLotVolume: number | string, lotVolume: string];
  readonly b: [price: string, wholeLotVolume: number | string, lotVolume: string];
  readonly c?: [price: string, lotVolume: string];
  readonly v?: [today: string, last24h: string];
}

/** v1 event frames (objects): `systemStatus`, `subscriptionStatus`, `heartbeat`, `pong`, `error`. */
export interface KrakenV1Event {
  readonly event: 'systemStatus' | 'subscriptionStatus' | 'heartbeat' | 'pong' | 'error' | string;
  /** subscriptionStatus: `subscribed` | `unsubscribed` | `error`; systemStatus: `online` | `maintenance` | … */
  readonly status?: string;
  readonly channelName?: string;
  readonly pair?: string;
  readonly errorMessage?: string;
  readonly reqid?: number;
  readonly subscription?: { readonly name: string; readonly depth?: number };
}

// ───────────────────────────── v2 ─────────────────────────────

/** One v2 book level. JSON numbers: price in quote currency, qty in base units. */
export interface KrakenV2Level {
  readonly price: number;
  readonly qty: number;
}

/** v2 `book` data element. `checksum` is the unsigned CRC32 of the top 10 after applying this message. */
export interface KrakenV2Book {
  readonly symbol: string;
  readonly bids: KrakenV2Level[];
  readonly asks: KrakenV2Level[];
  readonly checksum: number;
  /** RFC 3339; absent on snapshots in some documented examples. */
  readonly timestamp?: string;
}

/** v2 `trade` data element; `side` is the taker side, `trade_id` a sequential integer. */
export interface KrakenV2Trade {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly price: number;
  readonly qty: number;
  readonly ord_type?: string;
  readonly trade_id: number;
  readonly timestamp: string;
}

/** v2 `ticker` data element (fields the connector reads). */
export interface KrakenV2Ticker {
  readonly symbol: string;
  readonly bid: number;
  readonly bid_qty: number;
  readonly ask: number;
  readonly ask_qty: number;
  readonly last?: number;
  /** 24 h volume, base units. */
  readonly volume?: number;
  readonly timestamp?: string;
}

/** v2 channel message. */
export interface KrakenV2Message<T> {
  readonly channel: string;
  readonly type?: 'snapshot' | 'update';
  readonly data?: T[];
}

/**
 * v2 method response: `{"method","result"?,"success","error"?,"req_id"?,"time_in","time_out"}`; a failed subscribe
 * also names the `symbol` it was about.
 */
export interface KrakenV2Response {
  readonly method: string;
  readonly success?: boolean;
  readonly error?: string;
  readonly req_id?: number;
  readonly symbol?: string;
  readonly result?: { readonly channel?: string; readonly symbol?: string; readonly depth?: number; readonly snapshot?: boolean };
}

/** An error reply without `event`, `channel` or `method`: `{"error": "..."}` or `{"Error": "..."}`. */
export interface KrakenBareError {
  readonly error?: string;
  readonly Error?: string;
}

// ───────────────────────────── REST ─────────────────────────────

/** One entry of `GET /0/public/AssetPairs` `result` (fields the connector reads). Dark-pool pairs (`….d`) have no `wsname`. */
export interface KrakenAssetPair {
  readonly altname?: string;
  /** WebSocket v1 name, e.g. `XBT/USD`. */
  readonly wsname?: string;
  readonly base?: string;
  readonly quote?: string;
  /** Price decimals (= v2 `price_precision`). */
  readonly pair_decimals?: number;
  /** Volume decimals (= v2 `qty_precision`). */
  readonly lot_decimals?: number;
  /** Minimum price increment (newer responses only). */
  readonly tick_size?: string;
  /** `online`, `cancel_only`, … (newer responses only). */
  readonly status?: string;
}
