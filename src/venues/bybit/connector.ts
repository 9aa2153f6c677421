/**
 * Bybit v5 public market data (venue id `bybit`), categories `spot` and `linear`.
 *
 * - Instruments: REST `GET /v5/market/instruments-info` per category, cursor-paginated
 *   (https://bybit-exchange.github.io/docs/v5/market/instrument).
 * - Streams: one WebSocket per category at `/v5/public/{category}`, topics `orderbook.{depth}.{SYM}`,
 *   `publicTrade.{SYM}`, `tickers.{SYM}`; app-level ping every 20 s (https://bybit-exchange.github.io/docs/v5/ws/connect).
 * - Books: snapshot in-stream, then deltas with `u` +1 per message; resync = unsubscribe + subscribe
 *   (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook).
 */
import type { Channel } from '../../core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../core/instruments.ts';
import { TributaryError } from '../../core/errors.ts';
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
import { BYBIT, decodeBybit, newBybitSession, type BybitSession } from './decode.ts';
import { BYBIT_DOCS, BYBIT_MARKETS, type BybitInstrumentInfo, type BybitMarket } from './wire.ts';
import { isStringArray, parseJsonObject } from '../decode-util.ts';

/** Order book depths Bybit serves on spot and linear (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook). */
export const BYBIT_BOOK_DEPTHS: readonly number[] = [1, 50, 200, 1000];
/** Depth subscribed when a subscription does not say. */
export const BYBIT_DEFAULT_DEPTH = 200;
/** Characters all `args` of one public connection may total (https://bybit-exchange.github.io/docs/v5/ws/connect). */
export const BYBIT_ARGS_CHAR_LIMIT = 21_000;
/** Most args per subscribe request, per category (spot: 10; no limit documented for linear). */
export const BYBIT_MAX_ARGS_PER_REQUEST: Readonly<Record<BybitMarket, number>> = { spot: 10, linear: Infinity };
/** Application ping interval recommended by Bybit, ms. */
export const BYBIT_PING_INTERVAL_MS = 20_000;
/** No frame for this long (ms) marks a connection stale. */
export const BYBIT_STALE_AFTER_MS = 60_000;
/** Pages of instruments-info followed at most per category (guards against a cursor loop). */
const MAX_PAGES = 100;

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'stream', sequence: 'contiguous', source: BYBIT_DOCS.orderbook },
  defaultDepth: BYBIT_DEFAULT_DEPTH,
  maxSubscriptionsPerConnection: 1000,
  subscriptionLimitSource:
    `${BYBIT_DOCS.connect} (spot/linear: no topic count is documented; the rule is ${BYBIT_ARGS_CHAR_LIMIT} characters of args per connection, ` +
    'enforced by plan(); 1000 topics is our cap)',
};

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

function isMarket(s: string | undefined): s is BybitMarket {
  return s === 'spot' || s === 'linear';
}

/** The category of a Bybit public WebSocket URL (`…/v5/public/linear` → `linear`), or undefined. */
export function bybitMarketFromUrl(url: string): BybitMarket | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const last = trimSlash(path).split('/').pop();
  return isMarket(last) ? last : undefined;
}

/** Smallest Bybit book depth ≥ `depth` (1, 50, 200, 1000; capped at 1000). Missing/invalid → 200. */
export function bybitBookDepth(depth: number | undefined): number {
  if (depth === undefined || !(depth > 0)) return BYBIT_DEFAULT_DEPTH;
  for (const d of BYBIT_BOOK_DEPTHS) if (depth <= d) return d;
  return BYBIT_BOOK_DEPTHS[BYBIT_BOOK_DEPTHS.length - 1];
}

/** The Bybit topic of one subscription: `orderbook.{depth}.{SYM}`, `publicTrade.{SYM}` or `tickers.{SYM}`. */
export function bybitTopic(sub: Subscription): string {
  const sym = sub.instrument.venueSymbol;
  switch (sub.channel) {
    case 'book':
      return `orderbook.${bybitBookDepth(sub.depth)}.${sym}`;
    case 'trades':
      return `publicTrade.${sym}`;
    case 'ticker':
      return `tickers.${sym}`;
  }
}

function marketOfSub(sub: Subscription): BybitMarket {
  const t = sub.instrument.type;
  if (!isMarket(t)) {
    throw new TributaryError('INSTRUMENT_UNKNOWN', `bybit: market type ${t} of ${sub.instrument.key} is not served`, { key: sub.instrument.key });
  }
  return t;
}

function subscribeFrame(op: 'subscribe' | 'unsubscribe', args: readonly string[], reqId: string): string {
  return JSON.stringify({ req_id: reqId, op, args });
}

interface PendingConn {
  readonly topics: string[];
  readonly subs: Subscription[];
  chars: number;
}

function buildPlan(market: BybitMarket, index: number, conn: PendingConn, endpoints: VenueEndpoints): ConnectionPlan {
  const id = `${market}-${index}`;
  const per = BYBIT_MAX_ARGS_PER_REQUEST[market];
  const frames: string[] = [];
  for (let i = 0, j = 0; i < conn.topics.length; i += per, j++) {
    frames.push(subscribeFrame('subscribe', conn.topics.slice(i, i + per), `${id}:${j}`));
  }
  let n = 0;
  return {
    id,
    url: `${trimSlash(endpoints.wsBase)}/v5/public/${market}`,
    subscriptions: conn.subs,
    subscribeFrames: frames,
    heartbeat: { kind: 'app', intervalMs: BYBIT_PING_INTERVAL_MS, frame: () => `{"req_id":"${++n}","op":"ping"}` },
    staleAfterMs: BYBIT_STALE_AFTER_MS,
  };
}

/**
 * Splits subscriptions into connections: one per category (`spot-0`, `linear-0`, …), more when the args of a
 * connection would exceed 21,000 characters (each topic counted with its JSON quotes and comma). Spot subscribe
 * requests carry at most 10 args. Duplicate topics are subscribed once. Pure.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for an instrument whose market type is not spot or linear.
 */
export function planBybit(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const groups = new Map<BybitMarket, Map<string, Subscription[]>>();
  for (const sub of subs) {
    const market = marketOfSub(sub);
    let g = groups.get(market);
    if (!g) groups.set(market, (g = new Map()));
    const topic = bybitTopic(sub);
    const list = g.get(topic);
    if (list) list.push(sub);
    else g.set(topic, [sub]);
  }
  const plans: ConnectionPlan[] = [];
  for (const [market, topics] of groups) {
    let index = 0;
    let conn: PendingConn | undefined;
    for (const [topic, tsubs] of topics) {
      const cost = topic.length + 3;
      if (conn && conn.chars + cost > BYBIT_ARGS_CHAR_LIMIT) {
        plans.push(buildPlan(market, index++, conn, endpoints));
        conn = undefined;
      }
      conn ??= { topics: [], subs: [], chars: 0 };
      conn.topics.push(topic);
      conn.subs.push(...tsubs);
      conn.chars += cost;
    }
    if (conn) plans.push(buildPlan(market, index, conn, endpoints));
  }
  return plans;
}

/** `YYMMDD` (UTC) of a ms timestamp, as ccxt uses for dated futures. */
function yymmdd(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => (n < 10 ? '0' : '') + n;
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate());
}

/**
 * Maps one instruments-info entry to an {@link Instrument}, or `undefined` when it cannot be (missing fields,
 * unknown contract type). Spot → `BTC/USDT`, lot size `basePrecision`; linear perpetual → `BTC/USDT:USDT`
 * (settle coin), lot size `qtyStep`; linear dated future → `BTC/USDT:USDT-YYMMDD` from `deliveryTime` (UTC).
 * Tick size from `priceFilter.tickSize` (quote currency); lot size in base units.
 * Source: https://bybit-exchange.github.io/docs/v5/market/instrument
 */
export function bybitInstrument(market: BybitMarket, info: BybitInstrumentInfo): Instrument | undefined {
  if (info === null || typeof info !== 'object') return undefined;
  const { symbol, baseCoin, quoteCoin } = info;
  if (typeof symbol !== 'string' || typeof baseCoin !== 'string' || typeof quoteCoin !== 'string' || !symbol || !baseCoin || !quoteCoin) {
    return undefined;
  }
  const tickSize = typeof info.priceFilter?.tickSize === 'string' ? info.priceFilter.tickSize : undefined;
  if (market === 'spot') {
    const lot = info.lotSizeFilter?.basePrecision;
    return {
      venue: BYBIT,
      key: instrumentKey('spot', symbol),
      venueSymbol: symbol,
      symbol: canonicalSymbol(baseCoin, quoteCoin, 'spot'),
      base: baseCoin.toUpperCase(),
      quote: quoteCoin.toUpperCase(),
      type: 'spot',
      tickSize,
      lotSize: typeof lot === 'string' ? lot : undefined,
    };
  }
  const settle = (typeof info.settleCoin === 'string' && info.settleCoin ? info.settleCoin : quoteCoin).toUpperCase();
  let canonical = canonicalSymbol(baseCoin, quoteCoin, 'linear', settle);
  if (info.contractType === 'LinearFutures') {
    const delivery = Number(info.deliveryTime);
    if (!(delivery > 0)) return undefined;
    canonical += '-' + yymmdd(delivery);
  } else if (info.contractType !== 'LinearPerpetual') {
    return undefined;
  }
  const lot = info.lotSizeFilter?.qtyStep;
  return {
    venue: BYBIT,
    key: instrumentKey('linear', symbol),
    venueSymbol: symbol,
    symbol: canonical,
    base: baseCoin.toUpperCase(),
    quote: quoteCoin.toUpperCase(),
    settle,
    type: 'linear',
    tickSize,
    lotSize: typeof lot === 'string' ? lot : undefined,
  };
}

/** Parses one instruments-info page. @throws TributaryError `PROTOCOL_MALFORMED`, `VENUE_REJECTED` (retCode ≠ 0). */
function parseInstrumentsPage(body: string, url: string): { list: unknown[]; next: string | undefined } {
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', `bybit: instruments-info is not JSON`, { url }, { cause: e });
  }
  const r = o as { retCode?: unknown; retMsg?: unknown; result?: { list?: unknown; nextPageCursor?: unknown } } | null;
  if (r === null || typeof r !== 'object' || typeof r.retCode !== 'number') {
    throw new TributaryError('PROTOCOL_MALFORMED', `bybit: instruments-info lacks retCode`, { url });
  }
  if (r.retCode !== 0) {
    throw new TributaryError('VENUE_REJECTED', `bybit: instruments-info retCode ${r.retCode}: ${String(r.retMsg)}`, {
      url,
      retCode: r.retCode,
      retMsg: r.retMsg,
    });
  }
  const list = r.result?.list;
  if (!Array.isArray(list)) throw new TributaryError('PROTOCOL_MALFORMED', `bybit: instruments-info lacks result.list`, { url });
  const next = r.result?.nextPageCursor;
  return { list, next: typeof next === 'string' && next !== '' ? next : undefined };
}

/**
 * Loads spot and linear instruments (`status=Trading`, 1000 per page, following `nextPageCursor`).
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED` (retCode ≠ 0),
 *         `PROTOCOL_MALFORMED`.
 */
export async function loadBybitInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const base = trimSlash(endpoints.restBase);
  const out: Instrument[] = [];
  for (const market of BYBIT_MARKETS) {
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let url = `${base}/v5/market/instruments-info?category=${market}&status=Trading&limit=1000`;
      if (cursor !== undefined) url += `&cursor=${encodeURIComponent(cursor)}`;
      const { list, next } = parseInstrumentsPage(await http.get(url), url);
      for (const info of list) {
        const i = bybitInstrument(market, info as BybitInstrumentInfo);
        if (i) out.push(i);
      }
      if (next === undefined || seen.has(next)) break;
      seen.add(next);
      cursor = next;
    }
  }
  return out;
}

/** A recorded topic as a subscription reference (`orderbook.200.BTCUSDT` → book depth 200), or undefined. */
function recordedOf(market: BybitMarket, topic: string): RecordedSubscription | undefined {
  const parts = topic.split('.');
  let channel: Channel;
  let depth: number | undefined;
  if (parts[0] === 'orderbook' && parts.length === 3) {
    channel = 'book';
    depth = Number(parts[1]);
    if (!Number.isInteger(depth) || depth <= 0) return undefined;
  } else if (parts[0] === 'publicTrade' && parts.length === 2) {
    channel = 'trades';
  } else if (parts[0] === 'tickers' && parts.length === 2) {
    channel = 'ticker';
  } else {
    return undefined;
  }
  const venueSymbol = parts[parts.length - 1];
  if (!venueSymbol) return undefined;
  return depth === undefined ? { market, venueSymbol, channel } : { market, venueSymbol, channel, depth };
}

/** Simulator / replay knowledge of Bybit: subscribe ops in frames, `topic` in every data frame. */
export const bybitReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  onClientFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg) return {};
    const reqId = typeof msg.req_id === 'string' || typeof msg.req_id === 'number' ? msg.req_id : '';
    const op = msg.op;
    if (op === 'subscribe' || op === 'unsubscribe') {
      if (!isStringArray(msg.args)) {
        return { replies: [JSON.stringify({ success: false, ret_msg: 'Invalid args', conn_id: 'sim', req_id: reqId, op })] };
      }
      const reply = JSON.stringify({ success: true, ret_msg: '', conn_id: 'sim', req_id: reqId, op });
      return op === 'subscribe' ? { subscribe: msg.args, replies: [reply] } : { unsubscribe: msg.args, replies: [reply] };
    }
    if (op === 'ping') {
      return { replies: [JSON.stringify({ success: true, ret_msg: 'pong', conn_id: 'sim', req_id: reqId, op: 'ping' })] };
    }
    return {};
  },

  topicOfFrame(data) {
    const msg = parseJsonObject(data);
    return msg && typeof msg.topic === 'string' ? msg.topic : null;
  },

  recordedSubscriptions(addr, sends) {
    const market = bybitMarketFromUrl(addr);
    if (!market) return [];
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const msg = parseJsonObject(send);
      if (!msg || (msg.op !== 'subscribe' && msg.op !== 'unsubscribe') || !isStringArray(msg.args)) continue;
      for (const topic of msg.args) {
        if (msg.op === 'unsubscribe') {
          active.delete(topic);
          continue;
        }
        const rs = recordedOf(market, topic);
        if (rs) active.set(topic, rs);
      }
    }
    return [...active.values()];
  },
};

/**
 * Run-time `{"req_id","op":"subscribe"|"unsubscribe","args":[topics]}` requests for `subs` on an open connection of
 * `plan` (its category from the URL): spot requests carry at most 10 args. Bybit acknowledges each with
 * `{"success":true,"op",...}`; a subscribe is answered with the book snapshot. Source: https://bybit-exchange.github.io/docs/v5/ws/connect
 */
export function bybitRequestFrames(op: 'subscribe' | 'unsubscribe', subs: readonly Subscription[], plan: ConnectionPlan): string[] {
  const market = bybitMarketFromUrl(plan.url) ?? (subs.length > 0 ? marketOfSub(subs[0]) : 'linear');
  const topics = [...new Set(subs.map(bybitTopic))];
  const per = BYBIT_MAX_ARGS_PER_REQUEST[market];
  const frames: string[] = [];
  for (let i = 0; i < topics.length; i += per) {
    const args = topics.slice(i, i + per);
    frames.push(subscribeFrame(op, args, `${op === 'subscribe' ? 'add' : 'remove'}:${args[0]}`));
  }
  return frames;
}

/**
 * The Bybit connector. Sessions are per connection and know their category (from the plan URL path,
 * else the plan id prefix), so `spot:BTCUSDT` and `linear:BTCUSDT` never mix.
 */
export const bybitConnector: Connector<BybitSession> = {
  bookDepth: bybitBookDepth,
  venue: BYBIT,
  capabilities: CAPABILITIES,
  defaultEndpoints: { wsBase: 'wss://stream.bybit.com', restBase: 'https://api.bybit.com' },
  loadInstruments: loadBybitInstruments,
  plan: planBybit,

  newSession(plan) {
    const dash = plan.id.lastIndexOf('-');
    const fromId = dash > 0 ? plan.id.slice(0, dash) : undefined;
    const market = bybitMarketFromUrl(plan.url) ?? (isMarket(fromId) ? fromId : undefined);
    if (!market) {
      throw new TributaryError('CONFIG_INVALID', `bybit: cannot tell the market of connection ${plan.id} (${plan.url})`, { id: plan.id, url: plan.url });
    }
    const keys: [string, string][] = [];
    for (const sub of plan.subscriptions) {
      if (sub.instrument.type === market) keys.push([sub.instrument.venueSymbol, sub.instrument.key]);
    }
    return newBybitSession(market, keys);
  },

  decode: decodeBybit,

  /** Unsubscribe then subscribe the subscription's topic: Bybit answers a subscribe with a fresh snapshot. */
  resubscribeFrames(sub) {
    const topic = bybitTopic(sub);
    return [subscribeFrame('unsubscribe', [topic], `resync:${topic}`), subscribeFrame('subscribe', [topic], `resync:${topic}`)];
  },

  subscribeFrames: (subs, plan) => bybitRequestFrames('subscribe', subs, plan),
  unsubscribeFrames: (subs, plan) => bybitRequestFrames('unsubscribe', subs, plan),
  /**
   * Frames name the symbol (`data.s`): map the added symbols of the connection's category to their keys. A removed
   * ticker forgets its merged state (a new subscription starts from Bybit's ticker snapshot).
   */
  updateSession(session, op, subs, frames) {
    for (const s of subs) {
      if (s.instrument.type !== session.market) continue;
      if (op === 'add') session.keys.set(s.instrument.venueSymbol, s.instrument.key);
      else if (s.channel === 'ticker') session.tickers.delete(s.instrument.venueSymbol);
    }
    return frames;
  },

  replay: bybitReplay,
};
