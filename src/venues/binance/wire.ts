/**
 * Binance spot market-stream and REST shapes, as documented (and as seen in the recordings).
 * Expected shapes only: the decoder checks every field it reads.
 *
 * Not typed here (built or read by `connector.ts` only): control requests `{"method":"SUBSCRIBE"|"UNSUBSCRIBE"|
 * "LIST_SUBSCRIPTIONS"|"SET_PROPERTY"|"GET_PROPERTY","params"?:[...],"id"}`, and the REST `exchangeInfo` envelope
 * `{"symbols":[BinanceSymbolInfo…]}`.
 *
 * Docs:
 * - streams, combined wrapper, limits, SUBSCRIBE replies, error messages, serverShutdown:
 *   https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 * - local order book rule:
 *   https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly
 * - REST depth: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints#order-book
 * - REST exchangeInfo: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information
 */

/** Official documentation pages the connector implements. */
export const BINANCE_DOCS = {
  streams: 'https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams',
  localBook: 'https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly',
  depth: 'https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints#order-book',
  exchangeInfo: 'https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information',
} as const;

/** `[price, qty]`: price in quote currency, quantity in base units, decimal strings. */
type BinanceLevel = [price: string, qty: string];

/** Combined-stream wrapper (`/stream?streams=…`): `{"stream":"<name>","data":<payload>}`. */
export interface BinanceCombined<T> {
  readonly stream: string;
  readonly data: T;
}

/** `<sym>@depth` / `<sym>@depth@100ms`: diff depth covering update ids `[U, u]`; quantities absolute, "0" deletes. */
export interface BinanceDepthUpdate {
  readonly e: 'depthUpdate';
  /** Event time, ms. */
  readonly E: number;
  readonly s: string;
  readonly U: number;
  readonly u: number;
  readonly b: BinanceLevel[];
  readonly a: BinanceLevel[];
}

/** `<sym>@bookTicker`: best bid/ask. No event type and (historically) no event time. */
export interface BinanceBookTicker {
  readonly u: number;
  readonly s: string;
  /** Best bid price. */
  readonly b: string;
  /** Best bid quantity. */
  readonly B: string;
  /** Best ask price. */
  readonly a: string;
  /** Best ask quantity. */
  readonly A: string;
  readonly E?: number;
}

/** `<sym>@aggTrade`. `m` = buyer is the maker (so the taker sold). */
export interface BinanceAggTrade {
  readonly e: 'aggTrade';
  readonly E: number;
  readonly s: string;
  readonly a: number;
  readonly p: string;
  readonly q: string;
  readonly f: number;
  readonly l: number;
  /** Trade time, ms. */
  readonly T: number;
  readonly m: boolean;
  readonly M?: boolean;
}

/** `<sym>@trade`. `m` = buyer is the maker. */
export interface BinanceTrade {
  readonly e: 'trade';
  readonly E: number;
  readonly s: string;
  readonly t: number;
  readonly p: string;
  readonly q: string;
  readonly T: number;
  readonly m: boolean;
  readonly M?: boolean;
}

/** Reply to SUBSCRIBE / UNSUBSCRIBE (`result: null`), LIST_SUBSCRIPTIONS / GET_PROPERTY (a value). */
export interface BinanceResult {
  readonly result: unknown;
  readonly id: number | string | null;
}

/** Error reply to a control message: `{"code": n, "msg": "...", "id"?}`. */
export interface BinanceErrorReply {
  readonly code: number;
  readonly msg: string;
  readonly id?: number | string | null;
}

/** WebSocket API error reply: `{"id", "status": 4xx, "error": {"code": n, "msg": "..."}}`. */
export interface BinanceWsApiError {
  readonly id?: number | string | null;
  readonly status?: number;
  readonly error: { readonly code: number; readonly msg: string };
}

/** Sent before a server goes down: `{"e":"serverShutdown","E":ms}` (WS API wraps it as `{"event":{...}}`). */
export interface BinanceServerShutdown {
  readonly e: 'serverShutdown';
  readonly E: number;
}

/** The WebSocket API's wrapper of server events: `{"event":{"e":"serverShutdown","E":ms}}`. */
export interface BinanceWsApiEvent {
  readonly event: BinanceServerShutdown;
}

/**
 * REST `GET /api/v3/depth`: top of book up to `limit` levels per side. The partial book depth streams
 * (`<sym>@depth<levels>[@100ms]`) push the same shape (the decoder ignores them).
 */
export interface BinanceDepthSnapshot {
  readonly lastUpdateId: number;
  readonly bids: BinanceLevel[];
  readonly asks: BinanceLevel[];
}

/** One filter of an exchangeInfo symbol (fields the connector reads). */
interface BinanceSymbolFilter {
  readonly filterType: string;
  /** PRICE_FILTER: minimum price increment, quote currency. */
  readonly tickSize?: string;
  /** LOT_SIZE: minimum quantity increment, base units. */
  readonly stepSize?: string;
}

/** One symbol of REST `GET /api/v3/exchangeInfo`. */
export interface BinanceSymbolInfo {
  readonly symbol: string;
  /** `TRADING`, `BREAK`, … */
  readonly status: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly filters?: BinanceSymbolFilter[];
}
