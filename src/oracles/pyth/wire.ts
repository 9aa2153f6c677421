/**
 * Pyth Hermes wire shapes (v2 REST + SSE, and the WebSocket messages), and the defaults.
 *
 * Sources: https://docs.pyth.network/price-feeds/how-pyth-works/hermes (endpoints, limits),
 * https://docs.pyth.network/price-feeds/fetch-price-updates (the SSE stream and its event format),
 * https://hermes.pyth.network/docs (the OpenAPI reference). Shapes of the WebSocket `/ws` messages are those of the
 * open-source Hermes server (pyth-crosschain `apps/hermes`).
 */

/** Public Hermes instance. */
export const DEFAULT_HERMES_BASE = 'https://hermes.pyth.network';
/** The streaming path (Server-Sent Events). */
export const HERMES_STREAM_PATH = '/v2/updates/price/stream';
/** Latest price updates (REST). */
export const HERMES_LATEST_PATH = '/v2/updates/price/latest';
/** The feed catalog (REST). */
export const HERMES_FEEDS_PATH = '/v2/price_feeds';
/** Default SSE URL (`--pyth-sse-url` overrides it). */
export const DEFAULT_PYTH_SSE_URL = `${DEFAULT_HERMES_BASE}${HERMES_STREAM_PATH}`;

/** REST base of a Hermes stream URL: the URL without `/v2/updates/price/stream` (and without its query). */
export function hermesBaseOf(sseUrl: string): string {
  const u = new URL(sseUrl);
  const path = u.pathname.endsWith(HERMES_STREAM_PATH) ? u.pathname.slice(0, -HERMES_STREAM_PATH.length) : '';
  return `${u.origin}${path}`;
}

/**
 * The stream URL for `ids`: `sseUrl` plus `ids[]` (64 hex, no `0x`) for each, `parsed=true`, `encoding=hex`,
 * `ignore_invalid_price_ids=true`.
 */
export function streamUrl(sseUrl: string, ids: Iterable<string>): string {
  const u = new URL(sseUrl);
  for (const id of ids) u.searchParams.append('ids[]', id.startsWith('0x') ? id.slice(2) : id);
  u.searchParams.set('parsed', 'true');
  u.searchParams.set('encoding', 'hex');
  u.searchParams.set('ignore_invalid_price_ids', 'true');
  return u.toString();
}

/** Wormhole chain id of Pythnet, the `emitter_chain` of Hermes WS `metadata`. */
export const PYTHNET_CHAIN_ID = 26;

/**
 * Feeds streamed by default (stable Pyth price feed ids, https://pyth.network/developers/price-feed-ids) with the
 * catalog attributes used when the catalog could not be fetched yet.
 */
export const DEFAULT_PYTH_FEEDS: readonly { readonly id: string; readonly attributes: Readonly<Record<string, string>> }[] = [
  {
    id: '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
    attributes: { asset_type: 'Crypto', base: 'BTC', quote_currency: 'USD', symbol: 'Crypto.BTC/USD', display_symbol: 'BTC/USD', generic_symbol: 'BTCUSD' },
  },
  {
    id: '0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace',
    attributes: { asset_type: 'Crypto', base: 'ETH', quote_currency: 'USD', symbol: 'Crypto.ETH/USD', display_symbol: 'ETH/USD', generic_symbol: 'ETHUSD' },
  },
  {
    id: '0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d',
    attributes: { asset_type: 'Crypto', base: 'SOL', quote_currency: 'USD', symbol: 'Crypto.SOL/USD', display_symbol: 'SOL/USD', generic_symbol: 'SOLUSD' },
  },
];

/** Asset types Hermes filters `/v2/price_feeds` by (`asset_type`), lower case. */
export const HERMES_ASSET_TYPES = ['crypto', 'fx', 'equity', 'metal', 'rates', 'crypto_redemption_rate'] as const;

/**
 * A price with its confidence interval: `price` (signed) and `conf` (unsigned) are integers as strings, the real
 * values are `x × 10^expo`; `publish_time` is Unix seconds.
 */
export interface HermesRpcPrice {
  price: string;
  conf: string;
  expo: number;
  publish_time: number;
}

/** v2 metadata of a parsed update (every field may be null / absent). Times in Unix seconds. */
export interface HermesParsedMetadata {
  slot?: number | null;
  proof_available_time?: number | null;
  prev_publish_time?: number | null;
}

/** One entry of `parsed[]`. `id` is 64 hex digits without `0x`. */
export interface HermesParsedPriceUpdate {
  id: string;
  price: HermesRpcPrice;
  ema_price: HermesRpcPrice;
  metadata: HermesParsedMetadata;
}

/** The binary update (the accumulator update data to submit on chain), one string per update blob. */
export interface HermesBinaryUpdate {
  encoding: 'hex' | 'base64';
  data: string[];
}

/** Body of `GET /v2/updates/price/latest` and the `data` of each SSE event. `parsed` only when `parsed=true`. */
export interface HermesPriceUpdate {
  binary: HermesBinaryUpdate;
  parsed?: HermesParsedPriceUpdate[];
}

/**
 * One `GET /v2/price_feeds` entry: `id` (64 hex, no `0x`) and string attributes such as `symbol`
 * (`Crypto.BTC/USD`), `asset_type` (`Crypto`), `base`, `quote_currency`, `display_symbol`, `generic_symbol`,
 * `description`. Hermes filters: `query` = case-insensitive substring of `symbol`, `asset_type` = case-insensitive
 * equality.
 */
export interface HermesPriceFeedMetadata {
  id: string;
  attributes: Record<string, string>;
}

// ───────── WebSocket (`wss://hermes.pyth.network/ws`) ─────────

/** Client → server. `verbose` adds `metadata`, `binary` adds `vaa` to each `price_update`. */
export interface HermesWsSubscribe {
  type: 'subscribe';
  ids: string[];
  verbose?: boolean;
  binary?: boolean;
  allow_out_of_order?: boolean;
  ignore_invalid_price_ids?: boolean;
}
export interface HermesWsUnsubscribe {
  type: 'unsubscribe';
  ids: string[];
}
export type HermesWsClientMessage = HermesWsSubscribe | HermesWsUnsubscribe;

/** Server → client: the answer to every client message. */
export type HermesWsResponse = { type: 'response'; status: 'success' } | { type: 'response'; status: 'error'; error: string };

/** WS `metadata` (verbose): times in Unix seconds. */
export interface HermesWsMetadata {
  slot: number | null;
  emitter_chain: number;
  price_service_receive_time: number | null;
  prev_publish_time: number | null;
}

/** Server → client: one feed's new price. */
export interface HermesWsPriceUpdate {
  type: 'price_update';
  price_feed: {
    id: string;
    price: HermesRpcPrice;
    ema_price: HermesRpcPrice;
    metadata?: HermesWsMetadata;
    vaa?: string;
  };
}
