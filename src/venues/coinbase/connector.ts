/**
 * Coinbase Advanced Trade market data (venue id `coinbase`).
 *
 * - Instruments: REST `GET /api/v3/brokerage/market/products` (public, no auth), `SPOT` products only
 *   (https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/list-public-products).
 * - Stream: `wss://advanced-trade-ws.coinbase.com`, one channel per subscribe message (`level2`,
 *   `market_trades`, `ticker`, plus `heartbeats` to keep the connection open), sent right after connect
 *   (https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview).
 * - Books: `level2` sends a snapshot then absolute updates; there is no per-book sequence and no checksum, only
 *   the connection-wide `sequence_num` the decoder checks. A gap rebuilds every book of the connection by
 *   unsubscribing and resubscribing `level2` (a subscribe is answered with a fresh snapshot).
 * - Optional JWT authentication: pass a `jwt` provider to {@link createCoinbaseConnector}; a fresh token is put
 *   into every subscribe request (tokens expire after 2 minutes).
 */
import type { Channel } from '../../core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../core/instruments.ts';
import { TributaryError, errorMessage } from '../../core/errors.ts';
import type {
  ConnectionPlan,
  Connector,
  Http,
  RecordedSubscription,
  ReplayHooks,
  Subscription,
  VenueCapabilities,
  VenueEndpoints,
} from '../connector.ts';
import { COINBASE, decodeCoinbase, newCoinbaseSession, type CoinbaseSession } from './decode.ts';
import { COINBASE_DOCS, type CoinbaseChannel, type CoinbaseProduct } from './wire.ts';
import { isStringArray, parseJsonObject } from '../decode-util.ts';

/**
 * Most `level2` products on one connection (our choice, not a venue limit). A connection-sequence gap rebuilds
 * every book of the connection with one unsubscribe + one subscribe per book, and unauthenticated client
 * messages are limited to 8 per second per IP (https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits):
 * 4 books keep that burst at 8 messages, and keep the snapshot load and the blast radius of a gap small.
 */
export const COINBASE_MAX_BOOKS_PER_CONNECTION = 4;
/** Most products (any channel) on one connection (our choice, not a venue limit). */
export const COINBASE_MAX_PRODUCTS_PER_CONNECTION = 50;
/**
 * Connection `spot-k` waits `k` × this many ms before each connect attempt, so the venue's connections open at
 * most one per second with ≤ 4 subscribe messages each: under the documented 8 connections/s and
 * 8 unauthenticated messages/s per IP.
 */
export const COINBASE_CONNECT_SPACING_MS = 1000;
/** No frame for this long (ms) marks a connection stale; `heartbeats` arrive every second. */
export const COINBASE_STALE_AFTER_MS = 30_000;

/** Channel name Coinbase uses for each of our channels. */
export const COINBASE_CHANNEL: Readonly<Record<Channel, CoinbaseChannel>> = { book: 'level2', trades: 'market_trades', ticker: 'ticker' };
const CHANNEL_ORDER: readonly Channel[] = ['book', 'trades', 'ticker'];

/**
 * A Coinbase instrument: an {@link Instrument} plus the product whose public market data it shares (`alias`,
 * e.g. `BTC-USDC` → `BTC-USD`), so the decoder can map frames carrying the alias's id back to it.
 */
export type CoinbaseInstrument = Instrument & { readonly alias?: string };

/** Options of {@link createCoinbaseConnector}. */
export interface CoinbaseConnectorOptions {
  /**
   * Returns a fresh CDP-key JWT (ES256, no request method/path, valid 2 minutes) to authenticate subscribe
   * requests. Called before every connect attempt and for every resubscribe. Without it, the public channels
   * are used unauthenticated. Key handling (signing) is the caller's; see README.
   */
  readonly jwt?: () => string;
  /** Overrides {@link COINBASE_MAX_BOOKS_PER_CONNECTION}. */
  readonly maxBooksPerConnection?: number;
  /** Overrides {@link COINBASE_MAX_PRODUCTS_PER_CONNECTION}. */
  readonly maxProductsPerConnection?: number;
  /** Overrides {@link COINBASE_CONNECT_SPACING_MS} (0 disables the spacing). */
  readonly connectSpacingMs?: number;
}

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'stream', sequence: 'none', source: COINBASE_DOCS.level2 },
  /** `level2` is always the full book: there is no depth option. */
  defaultDepth: Number.POSITIVE_INFINITY,
};

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** A subscribe or unsubscribe request for one channel, keys in the documented order (`jwt` last, when given). */
export function coinbaseRequest(type: 'subscribe' | 'unsubscribe', channel: CoinbaseChannel, productIds: readonly string[], jwt?: string): string {
  return jwt === undefined
    ? JSON.stringify({ type, product_ids: productIds, channel })
    : JSON.stringify({ type, product_ids: productIds, channel, jwt });
}

interface PendingConn {
  readonly products: Map<string, Set<Channel>>;
  readonly subs: Subscription[];
  books: number;
}

function buildPlan(index: number, conn: PendingConn, endpoints: VenueEndpoints): ConnectionPlan {
  const frames: string[] = [];
  const all = [...conn.products.keys()];
  // Heartbeats first: they keep every other subscription of the connection open.
  frames.push(coinbaseRequest('subscribe', 'heartbeats', all));
  for (const ch of CHANNEL_ORDER) {
    const ids = all.filter((p) => conn.products.get(p)!.has(ch));
    if (ids.length > 0) frames.push(coinbaseRequest('subscribe', COINBASE_CHANNEL[ch], ids));
  }
  return {
    id: `spot-${index}`,
    url: trimSlash(endpoints.wsBase),
    subscriptions: conn.subs,
    subscribeFrames: frames,
    heartbeat: { kind: 'none' },
    staleAfterMs: COINBASE_STALE_AFTER_MS,
  };
}

/**
 * Splits subscriptions into connections `spot-0`, `spot-1`, …: products in order of first appearance, at most
 * `maxBooks` products with a `book` subscription and `maxProducts` products per connection; all channels of a
 * product stay on one connection. Each connection subscribes `heartbeats`, then `level2`, `market_trades`,
 * `ticker` (one message per channel, only channels in use). Pure.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for a non-spot instrument.
 */
export function planCoinbase(
  subs: readonly Subscription[],
  endpoints: VenueEndpoints,
  maxBooks = COINBASE_MAX_BOOKS_PER_CONNECTION,
  maxProducts = COINBASE_MAX_PRODUCTS_PER_CONNECTION,
): ConnectionPlan[] {
  const byProduct = new Map<string, Subscription[]>();
  for (const sub of subs) {
    if (sub.instrument.type !== 'spot') {
      throw new TributaryError('INSTRUMENT_UNKNOWN', `coinbase: only spot is served, not ${sub.instrument.key}`, { key: sub.instrument.key });
    }
    const id = sub.instrument.venueSymbol;
    const list = byProduct.get(id);
    if (list) list.push(sub);
    else byProduct.set(id, [sub]);
  }
  const plans: ConnectionPlan[] = [];
  let conn: PendingConn | undefined;
  for (const [id, psubs] of byProduct) {
    const channels = new Set(psubs.map((s) => s.channel));
    const book = channels.has('book') ? 1 : 0;
    if (conn && (conn.products.size >= maxProducts || conn.books + book > maxBooks)) {
      plans.push(buildPlan(plans.length, conn, endpoints));
      conn = undefined;
    }
    conn ??= { products: new Map(), subs: [], books: 0 };
    conn.products.set(id, channels);
    conn.subs.push(...psubs);
    conn.books += book;
  }
  if (conn) plans.push(buildPlan(plans.length, conn, endpoints));
  return plans;
}

/** The plan with `jwt` added to every subscribe request (frames are our own JSON, re-serialized in key order). */
function withJwt(plan: ConnectionPlan, jwt: string): ConnectionPlan {
  const frames = plan.subscribeFrames.map((f) => {
    const o = JSON.parse(f) as { type: 'subscribe' | 'unsubscribe'; product_ids: string[]; channel: CoinbaseChannel };
    return coinbaseRequest(o.type, o.channel, o.product_ids, jwt);
  });
  return { ...plan, subscribeFrames: frames };
}

/**
 * Maps one product to a {@link CoinbaseInstrument} (`spot:BTC-USD`, `BTC/USD` from `base_currency_id` /
 * `quote_currency_id`), or `undefined` for non-spot, delisted or incomplete entries. Tick size from
 * `price_increment` (else `quote_increment`, quote currency), lot size from `base_increment` (base units).
 */
export function coinbaseInstrument(p: CoinbaseProduct): CoinbaseInstrument | undefined {
  if (p === null || typeof p !== 'object') return undefined;
  const { product_id: id, base_currency_id: base, quote_currency_id: quote } = p;
  if (typeof id !== 'string' || typeof base !== 'string' || typeof quote !== 'string' || !id || !base || !quote) return undefined;
  if (p.product_type !== undefined && p.product_type !== 'SPOT') return undefined;
  if (p.status === 'delisted') return undefined;
  const tick = typeof p.price_increment === 'string' && p.price_increment ? p.price_increment : typeof p.quote_increment === 'string' ? p.quote_increment : undefined;
  const inst: CoinbaseInstrument = {
    venue: COINBASE,
    key: instrumentKey('spot', id),
    venueSymbol: id,
    symbol: canonicalSymbol(base, quote, 'spot'),
    base: base.toUpperCase(),
    quote: quote.toUpperCase(),
    type: 'spot',
    tickSize: tick,
    lotSize: typeof p.base_increment === 'string' ? p.base_increment : undefined,
  };
  return typeof p.alias === 'string' && p.alias !== '' && p.alias !== id ? { ...inst, alias: p.alias } : inst;
}

/** A REST error body (`{"error","message"}`) → typed error. */
function bodyError(o: unknown, url: string): TributaryError | undefined {
  const r = o as { error?: unknown; message?: unknown; error_response?: { error?: unknown; message?: unknown } } | null;
  if (r === null || typeof r !== 'object') return undefined;
  const err = typeof r.error === 'string' ? r.error : undefined;
  if (err === undefined) return undefined;
  const text = `${err} ${typeof r.message === 'string' ? r.message : ''}`.toUpperCase();
  const code = text.includes('RATE') ? 'VENUE_RATE_LIMITED' : text.includes('UNAUTHENTICATED') || text.includes('PERMISSION') ? 'VENUE_AUTH' : 'VENUE_REJECTED';
  return new TributaryError(code, `coinbase error ${err}: ${String(r.message ?? '')}`, { url, error: err, message: r.message });
}

/**
 * Loads the spot products from `GET {restBase}/api/v3/brokerage/market/products` (one request: the endpoint
 * returns every product; the recorded answer had 920 with `has_next: false`).
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED` / `VENUE_AUTH`
 *         (error body), `PROTOCOL_MALFORMED`.
 */
export async function loadCoinbaseInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const url = `${trimSlash(endpoints.restBase)}/api/v3/brokerage/market/products`;
  const body = await http.get(url);
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', 'coinbase: products is not JSON', { url }, { cause: e });
  }
  const products = (o as { products?: unknown } | null)?.products;
  if (!Array.isArray(products)) throw bodyError(o, url) ?? new TributaryError('PROTOCOL_MALFORMED', 'coinbase: products body lacks products', { url });
  const out: Instrument[] = [];
  for (const p of products) {
    const i = coinbaseInstrument(p as CoinbaseProduct);
    if (i) out.push(i);
  }
  return out;
}

// ---- replay hooks ------------------------------------------------------------------------------------

/**
 * Topic of connection-level frames (`subscriptions`, `heartbeats`, `candles`, …): every client subscription
 * includes it, so the simulator replays them and `sequence_num` stays contiguous for a client that subscribes
 * to what was recorded.
 */
export const COINBASE_CONNECTION_TOPIC = '*';

const CHANNEL_OF: Readonly<Record<string, Channel>> = { level2: 'book', market_trades: 'trades', ticker: 'ticker' };
const MARKET_CHANNELS = new Set(['level2', 'market_trades', 'ticker', 'ticker_batch', 'candles', 'level2_batch']);

/** Product id a data frame is about (first event), or undefined. */
function productOfFrame(msg: Record<string, unknown>): string | undefined {
  const e = Array.isArray(msg.events) ? (msg.events[0] as Record<string, unknown> | undefined) : undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.product_id === 'string') return e.product_id;
  for (const k of ['trades', 'tickers']) {
    const list = e[k];
    if (Array.isArray(list) && list.length > 0 && typeof (list[0] as { product_id?: unknown }).product_id === 'string') {
      return (list[0] as { product_id: string }).product_id;
    }
  }
  return undefined;
}

/** Simulator / replay knowledge of Coinbase: one channel per subscribe frame, topics `{channel}:{product}`. */
export const coinbaseReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  onClientFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg || (msg.type !== 'subscribe' && msg.type !== 'unsubscribe')) return {};
    const channel = msg.channel;
    if (typeof channel !== 'string') return { replies: [JSON.stringify({ type: 'error', message: 'failure to subscribe' })] };
    if (channel === 'heartbeats') return msg.type === 'subscribe' ? { subscribe: [COINBASE_CONNECTION_TOPIC] } : {};
    if (!MARKET_CHANNELS.has(channel) || !isStringArray(msg.product_ids) || msg.product_ids.length === 0) {
      return { replies: [JSON.stringify({ type: 'error', message: 'failure to subscribe' })] };
    }
    const topics = msg.product_ids.map((p) => `${channel}:${p}`);
    // No synthesized acks: the recorded `subscriptions` messages (connection topic) keep their sequence numbers.
    return msg.type === 'subscribe' ? { subscribe: [...topics, COINBASE_CONNECTION_TOPIC] } : { unsubscribe: topics };
  },

  /** Renumbers `sequence_num` per client socket, so a client that subscribed to part of the recording sees no gap. */
  rewriteFrame(data, nth) {
    return data.replace(/"sequence_num":\d+/, `"sequence_num":${nth}`);
  },

  topicOfFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg || typeof msg.channel !== 'string') return null; // error frames: answers, not stream
    const ch = msg.channel === 'l2_data' ? 'level2' : msg.channel;
    if (ch === 'level2' || ch === 'market_trades' || ch === 'ticker') {
      const p = productOfFrame(msg);
      if (p !== undefined) return `${ch}:${p}`;
    }
    return COINBASE_CONNECTION_TOPIC;
  },

  recordedSubscriptions(_addr, sends) {
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const msg = parseJsonObject(send);
      if (!msg || typeof msg.channel !== 'string' || !isStringArray(msg.product_ids)) continue;
      const channel = CHANNEL_OF[msg.channel];
      if (channel === undefined) continue;
      for (const p of msg.product_ids) {
        const id = `${msg.channel}:${p}`;
        if (msg.type === 'subscribe') active.set(id, { market: 'spot', venueSymbol: p, channel });
        else if (msg.type === 'unsubscribe') active.delete(id);
      }
    }
    return [...active.values()];
  },
};

/**
 * Run-time `{"type":"subscribe"|"unsubscribe","product_ids":[...],"channel"}` requests for `subs` on an open
 * connection, one per channel in use (`level2`, `market_trades`, `ticker`; the connection's `heartbeats` stay), with a
 * `jwt` when given. A `level2` subscribe is answered with the product's snapshot. Sources:
 * https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview (one message per channel;
 * unsubscribe) and …/websocket-rate-limits (8 unauthenticated messages per second per IP).
 */
export function coinbaseRequestFrames(type: 'subscribe' | 'unsubscribe', subs: readonly Subscription[], jwt?: string): string[] {
  const frames: string[] = [];
  for (const ch of CHANNEL_ORDER) {
    const ids = [...new Set(subs.filter((s) => s.channel === ch).map((s) => s.instrument.venueSymbol))];
    if (ids.length > 0) frames.push(coinbaseRequest(type, COINBASE_CHANNEL[ch], ids, jwt));
  }
  return frames;
}

/** Milliseconds connection `spot-k` waits before connecting (`k` × spacing; other ids 0). */
function spacingOf(planId: string, spacingMs: number): number {
  const m = /^spot-(\d+)$/.exec(planId);
  return m && spacingMs > 0 ? Number(m[1]) * spacingMs : 0;
}

/**
 * Builds a Coinbase connector. The default export {@link coinbaseConnector} uses no JWT and the default limits;
 * pass `jwt` to authenticate subscriptions with a CDP API key.
 */
export function createCoinbaseConnector(opts: CoinbaseConnectorOptions = {}): Connector<CoinbaseSession> {
  const maxBooks = opts.maxBooksPerConnection ?? COINBASE_MAX_BOOKS_PER_CONNECTION;
  const maxProducts = opts.maxProductsPerConnection ?? COINBASE_MAX_PRODUCTS_PER_CONNECTION;
  const spacing = opts.connectSpacingMs ?? COINBASE_CONNECT_SPACING_MS;
  const jwt = opts.jwt;
  /** A fresh JWT, or undefined (no provider, or it threw: public channels go unauthenticated). */
  const token = (): string | undefined => {
    if (!jwt) return undefined;
    try {
      return jwt();
    } catch {
      return undefined;
    }
  };
  return {
    venue: COINBASE,
    capabilities: {
      ...CAPABILITIES,
      // Ours: Coinbase documents no per-connection limit (only 8 unauthenticated messages/s per IP); `plan()` also keeps
      // ≤ maxBooks `level2` products per connection.
      maxSubscriptionsPerConnection: maxProducts * CHANNEL_ORDER.length,
      subscriptionLimitSource: `${COINBASE_DOCS.rateLimits} (no per-connection limit documented: ${maxProducts} products and ${maxBooks} books per connection are ours)`,
    },
    defaultEndpoints: { wsBase: 'wss://advanced-trade-ws.coinbase.com', restBase: 'https://api.coinbase.com' },
    loadInstruments: loadCoinbaseInstruments,
    plan: (subs, endpoints) => planCoinbase(subs, endpoints, maxBooks, maxProducts),

    /**
     * Before every connect attempt: waits the connection's spacing (`spot-k` → k s), then adds a fresh JWT to
     * the subscribe requests when a provider is configured.
     * @throws TributaryError `VENUE_AUTH` when the JWT provider throws.
     */
    async prepareConnection(plan) {
      const wait = spacingOf(plan.id, spacing);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!jwt) return plan;
      let token: string;
      try {
        token = jwt();
      } catch (e) {
        throw new TributaryError('VENUE_AUTH', `coinbase: JWT provider failed: ${errorMessage(e)}`, { venue: COINBASE }, { cause: e });
      }
      return withJwt(plan, token);
    },

    newSession(plan) {
      const pairs: [string, string][] = [];
      for (const s of plan.subscriptions) pairs.push([s.instrument.venueSymbol, s.instrument.key]);
      for (const s of plan.subscriptions) {
        const alias = (s.instrument as CoinbaseInstrument).alias;
        if (alias !== undefined) pairs.push([alias, s.instrument.key]);
      }
      return newCoinbaseSession(pairs);
    },

    decode: decodeCoinbase,

    /**
     * Unsubscribe then subscribe the product's `level2`: the subscribe is answered with a fresh snapshot
     * (https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2). With a JWT provider the
     * requests carry a fresh token; if it throws they go unauthenticated (public channel).
     */
    resubscribeFrames(sub) {
      const t = token();
      const ids = [sub.instrument.venueSymbol];
      return [coinbaseRequest('unsubscribe', 'level2', ids, t), coinbaseRequest('subscribe', 'level2', ids, t)];
    },

    subscribeFrames: (subs) => coinbaseRequestFrames('subscribe', subs, token()),
    unsubscribeFrames: (subs) => coinbaseRequestFrames('unsubscribe', subs, token()),
    /** Frames carry the product id (or its alias, e.g. `BTC-USD` for `BTC-USDC`): map the added ones to their keys. */
    updateSession(session, op, subs, frames) {
      if (op !== 'add') return frames;
      for (const s of subs) if (!session.keys.has(s.instrument.venueSymbol)) session.keys.set(s.instrument.venueSymbol, s.instrument.key);
      for (const s of subs) {
        const alias = (s.instrument as CoinbaseInstrument).alias;
        if (alias !== undefined && !session.keys.has(alias)) session.keys.set(alias, s.instrument.key);
      }
      return frames;
    },

    replay: coinbaseReplay,
  };
}

/** The Coinbase Advanced Trade connector (unauthenticated public market data, default limits). */
export const coinbaseConnector: Connector<CoinbaseSession> = createCoinbaseConnector();
