/**
 * Coinbase Advanced Trade market-data WebSocket and REST frame shapes, as documented (and as seen in the
 * recording). These are the *expected* shapes: the decoder checks every field it reads, because venue input
 * is never trusted.
 *
 * Docs:
 * - overview, subscribe, JWT: https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview
 * - channels (heartbeats, level2, ticker, market_trades, …): https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
 * - level2 schema: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2
 * - market_trades schema: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/market-trades
 * - rate limits: https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits
 * - products: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/list-public-products
 *
 * Not typed here: client requests (built by `connector.ts`) `{"type":"subscribe"|"unsubscribe","product_ids":[...],
 * "channel":"level2","jwt"?}`, one channel per message, `jwt` only when authenticating (a CDP-key JWT valid for
 * 2 minutes); `heartbeats` events `{"current_time","heartbeat_counter"}` (once per second; only the channel is
 * read); the REST products body `{"products":[CoinbaseProduct…],"num_products"?,"pagination"?}` (read by
 * `connector.ts`).
 */

/** Official documentation pages the connector implements. */
export const COINBASE_DOCS = {
  overview: 'https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview',
  channels: 'https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels',
  level2: 'https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2',
  marketTrades: 'https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/market-trades',
  rateLimits: 'https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits',
  products: 'https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/list-public-products',
  /** Coinbase Exchange: "The side of a trade indicates the maker order side" (same matching engine; see README). */
  exchangeTradeSide: 'https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-product-trades',
} as const;

/** Channel names a client subscribes to (one per subscribe message). */
export type CoinbaseChannel = 'level2' | 'ticker' | 'market_trades' | 'heartbeats';

/**
 * Envelope of every server message. `channel` is the *received* channel name (`l2_data` for `level2`),
 * `timestamp` RFC 3339 with nanoseconds, `sequence_num` counts every message on the connection (from 0).
 */
export interface CoinbaseEnvelope<E> {
  readonly channel: string;
  readonly client_id?: string;
  readonly timestamp: string;
  readonly sequence_num: number;
  readonly events: E[];
}

/** One level change of `l2_data`: `new_quantity` is the absolute size at `price_level` ("0" removes it). */
export interface CoinbaseL2Update {
  readonly side: 'bid' | 'offer';
  /** RFC 3339. */
  readonly event_time: string;
  /** Price, quote currency. */
  readonly price_level: string;
  /** Size, base units (absolute, not a delta). */
  readonly new_quantity: string;
}

/** `l2_data` event: `snapshot` (the full book, right after subscribing) or `update`. */
export interface CoinbaseL2Event {
  readonly type: 'snapshot' | 'update';
  readonly product_id: string;
  readonly updates: CoinbaseL2Update[];
}

/** One ticker of a `ticker` event (fields the connector reads; more are sent). */
export interface CoinbaseTicker {
  readonly type: 'ticker';
  readonly product_id: string;
  /** Last trade price, quote currency. */
  readonly price: string;
  /** 24h volume, base units. */
  readonly volume_24_h: string;
  readonly best_bid: string;
  readonly best_bid_quantity: string;
  readonly best_ask: string;
  readonly best_ask_quantity: string;
}

/** `ticker` event: one snapshot per product after subscribing, then updates on every match. */
export interface CoinbaseTickerEvent {
  readonly type: 'snapshot' | 'update';
  readonly tickers: CoinbaseTicker[];
}

/**
 * One trade of `market_trades`. `side` is the **maker** order's side (evidence in the README): a `SELL` is a
 * trade where a buyer took a resting sell order.
 */
export interface CoinbaseTrade {
  readonly product_id: string;
  readonly trade_id: string;
  /** Quote currency. */
  readonly price: string;
  /** Base units. */
  readonly size: string;
  /** RFC 3339. */
  readonly time: string;
  readonly side: 'BUY' | 'SELL';
}

/** `market_trades` event: a `snapshot` of recent trades per product after subscribing, then `update`s (newest first). */
export interface CoinbaseMarketTradesEvent {
  readonly type: 'snapshot' | 'update';
  readonly trades: CoinbaseTrade[];
}

/** `subscriptions` event: every active channel and its products after each (un)subscribe. */
export interface CoinbaseSubscriptionsEvent {
  readonly subscriptions: Record<string, string[]>;
}

/** Error frame: `{"type":"error","message":"..."}` (no envelope); some errors name the problem in `reason` instead. */
export interface CoinbaseErrorFrame {
  readonly type: 'error';
  readonly message: string;
  readonly reason?: string;
}

/** One product of `GET /api/v3/brokerage/market/products` (fields the connector reads). */
export interface CoinbaseProduct {
  /** `BASE-QUOTE`, e.g. `BTC-USD`. */
  readonly product_id: string;
  readonly base_currency_id: string;
  readonly quote_currency_id: string;
  /** `SPOT` or `FUTURE`. */
  readonly product_type?: string;
  /** `online`, `delisted`, … */
  readonly status?: string;
  readonly trading_disabled?: boolean;
  /** Quote currency increment (tick size). */
  readonly quote_increment?: string;
  readonly price_increment?: string;
  /** Base currency increment (lot size). */
  readonly base_increment?: string;
  /**
   * Product whose market data this one shares on the public channels (`BTC-USDC` → `BTC-USD`): "-USDC
   * products are only available on the user channel; other channels return the same data as -USD".
   */
  readonly alias?: string;
  readonly alias_to?: string[];
}
