/**
 * KuCoin spot public market data (venue id `kucoin`).
 *
 * - Instruments: REST `GET /api/v1/symbols`, `baseCurrency`/`quoteCurrency` (so the legacy wire symbol
 *   `BCHSV-USDT` is `BSV/USDT`) (https://www.kucoin.com/docs/rest/spot-trading/market-data/get-symbols-list).
 * - Connection: every connect first gets a token, `POST /api/v1/bullet-public`, and connects to
 *   `<instanceServers[0].endpoint>?token=…&connectId=…`; the client pings `{"id","type":"ping"}` every
 *   `pingInterval` ms (https://www.kucoin.com/docs-new/websocket-api/base-info/introduction).
 * - Topics `/market/level2:{syms}`, `/market/ticker:{syms}`, `/market/match:{syms}`: ≤ 100 symbols per subscribe
 *   request, ≤ 300 topics per connection (https://github.com/Kucoin/kucoin-python-sdk/issues/32, quoting the docs).
 * - Books: level-2 increments + a REST snapshot aligned by sequence, each change carrying its own sequence
 *   (https://www.kucoin.com/docs-new/3470068w0).
 */
import type { Channel } from '../../core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../core/instruments.ts';
import { TributaryError, errorMessage } from '../../core/errors.ts';
import type {
  BookSnapshot,
  ConnectionPlan,
  Connector,
  Http,
  RecordedSubscription,
  ReplayHooks,
  Subscription,
  VenueCapabilities,
  VenueEndpoints,
} from '../connector.ts';
import { KUCOIN, decodeKucoin, kucoinSeq, newKucoinSession, type KucoinSession } from './decode.ts';
import { KUCOIN_DOCS, type KucoinSymbolInfo } from './wire.ts';
import { levelsOk, parseJsonObject } from '../decode-util.ts';

/** Most symbols one subscribe request may name (error 509 "exceed max subscription count limitation of 100 per time"). */
export const KUCOIN_MAX_TOPICS_PER_REQUEST = 100;
/** Most topics (channel × symbol) one connection may hold ("Subscription limit for each connection: 300 topics"). */
export const KUCOIN_MAX_TOPICS_PER_CONNECTION = 300;
/** Ping interval (ms) used until the bullet answer says otherwise (the documented example: 18000). */
export const KUCOIN_DEFAULT_PING_INTERVAL_MS = 18_000;
/** Ping timeout (ms) used until the bullet answer says otherwise (the documented example: 10000). */
export const KUCOIN_DEFAULT_PING_TIMEOUT_MS = 10_000;
/**
 * Nominal book depth. `/market/level2` is the full book; the depth only matters for the public `level2_100`
 * fallback snapshot (100 levels per side).
 */
export const KUCOIN_DEFAULT_DEPTH = 100;
/** REST `code` of a successful answer. */
const OK = '200000';
/** The opening ping: its `pong` (or the `welcome`) tells the decoder the connection is usable. */
export const KUCOIN_OPENING_PING = '{"id":"0","type":"ping"}';

/** Where REST book snapshots come from. */
export type KucoinSnapshotSource =
  /** `GET /api/v3/market/orderbook/level2` (full book), falling back to `level2_100` once the venue asks for an API key. */
  | 'auto'
  /** Always the full book (needs an API key on current KuCoin; the 2021 recording fetched it without one). */
  | 'full'
  /** Always the public top-100 book `GET /api/v1/market/orderbook/level2_100` (levels deeper than 100 stay unseen until they change). */
  | 'top100';

export interface KucoinConnectorOptions {
  /** Default `auto`. */
  readonly snapshot?: KucoinSnapshotSource;
}

const CHANNEL_PREFIX: Readonly<Record<Channel, string>> = {
  book: '/market/level2',
  ticker: '/market/ticker',
  trades: '/market/match',
};

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

function pingFrame(): string {
  return `{"id":"${Date.now()}","type":"ping"}`;
}

/** One (channel prefix, symbol) topic and the subscriptions it serves. */
interface Topic {
  readonly prefix: string;
  readonly symbol: string;
  readonly subs: Subscription[];
}

function topicsOf(subs: readonly Subscription[]): Topic[] {
  const byKey = new Map<string, Topic>();
  for (const sub of subs) {
    if (sub.instrument.type !== 'spot') {
      throw new TributaryError('INSTRUMENT_UNKNOWN', `kucoin: only spot is served, not ${sub.instrument.key}`, { key: sub.instrument.key });
    }
    const prefix = CHANNEL_PREFIX[sub.channel];
    const id = `${prefix}:${sub.instrument.venueSymbol}`;
    const t = byKey.get(id);
    if (t) t.subs.push(sub);
    else byKey.set(id, { prefix, symbol: sub.instrument.venueSymbol, subs: [sub] });
  }
  return [...byKey.values()];
}

/**
 * The subscribe frames of one connection's subscriptions: per channel, `{"id":n,"type":"subscribe","topic":
 * "/market/level2:A,B,…","privateChannel":false,"response":true}` with ≤ 100 symbols each, ids 1, 2, … in order.
 * Deterministic in the subscriptions' order (the plan and the session compute the same frames).
 */
export function kucoinSubscribeFrames(subs: readonly Subscription[]): string[] {
  const byPrefix = new Map<string, string[]>();
  for (const t of topicsOf(subs)) {
    const list = byPrefix.get(t.prefix);
    if (list) list.push(t.symbol);
    else byPrefix.set(t.prefix, [t.symbol]);
  }
  const frames: string[] = [];
  let id = 0;
  for (const [prefix, syms] of byPrefix) {
    for (let i = 0; i < syms.length; i += KUCOIN_MAX_TOPICS_PER_REQUEST) {
      const topic = `${prefix}:${syms.slice(i, i + KUCOIN_MAX_TOPICS_PER_REQUEST).join(',')}`;
      frames.push(JSON.stringify({ id: ++id, type: 'subscribe', topic, privateChannel: false, response: true }));
    }
  }
  return frames;
}

/** Counter of run-time request ids (`add-1`, `remove-2`, …): never equal to a plan's ids (1, 2, …) nor the opening ping's `0`. */
let nextRequestId = 1;

/**
 * Run-time `{"id","type":"subscribe"|"unsubscribe","topic":"/market/level2:A,B","privateChannel":false,"response":true}`
 * requests for `subs` (per channel, ≤ 100 symbols each; each acknowledged `{"id","type":"ack"}`). Sources:
 * https://www.kucoin.com/docs-new/websocket-api/base-info/introduction and
 * https://www.kucoin.com/docs/websocket/basic-info/unsubscribe/introduction
 */
export function kucoinRequestFrames(type: 'subscribe' | 'unsubscribe', subs: readonly Subscription[]): string[] {
  const byPrefix = new Map<string, string[]>();
  for (const t of topicsOf(subs)) {
    const list = byPrefix.get(t.prefix);
    if (list) list.push(t.symbol);
    else byPrefix.set(t.prefix, [t.symbol]);
  }
  const frames: string[] = [];
  const tag = type === 'subscribe' ? 'add' : 'remove';
  for (const [prefix, syms] of byPrefix) {
    for (let i = 0; i < syms.length; i += KUCOIN_MAX_TOPICS_PER_REQUEST) {
      const topic = `${prefix}:${syms.slice(i, i + KUCOIN_MAX_TOPICS_PER_REQUEST).join(',')}`;
      frames.push(JSON.stringify({ id: `${tag}-${nextRequestId++}`, type, topic, privateChannel: false, response: true }));
    }
  }
  return frames;
}

/**
 * Records run-time subscription changes in a session: added symbols map to their keys, request ids name their topic
 * (acks and errors), and before the connection is usable (no `welcome` / opening `pong` yet) the requests are queued
 * behind the connection's own subscribe frames, which the decoder sends once it is: nothing is sent now then.
 */
export function kucoinUpdateSession(session: KucoinSession, op: 'add' | 'remove', subs: readonly Subscription[], frames: readonly string[]): readonly string[] {
  if (op === 'add') for (const s of subs) session.keys.set(s.instrument.venueSymbol, s.instrument.key);
  for (const f of frames) {
    const o = JSON.parse(f) as { id?: unknown; topic?: unknown };
    if (typeof o.id === 'string' && typeof o.topic === 'string') session.topicsById.set(o.id, o.topic);
  }
  if (session.subscribed) return frames;
  (session as { subscribeFrames: readonly string[] }).subscribeFrames = [...session.subscribeFrames, ...frames];
  return [];
}

/**
 * Splits subscriptions into connections (`spot-0`, `spot-1`, …) of ≤ 300 topics each (a topic is one channel of
 * one symbol), in subscription order. Pure. The URL is a placeholder (`wsBase/`): `prepareConnection` replaces it
 * with the token URL; `subscribeFrames` is only the opening ping (the decoder subscribes once the connection is
 * usable, see {@link kucoinSubscribeFrames}). Heartbeat and stale timeout are the documented defaults until the
 * bullet answer gives the server's.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for a non-spot instrument.
 */
export function planKucoin(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const topics = topicsOf(subs);
  const plans: ConnectionPlan[] = [];
  for (let i = 0, n = 0; i < topics.length; i += KUCOIN_MAX_TOPICS_PER_CONNECTION, n++) {
    const chunk = topics.slice(i, i + KUCOIN_MAX_TOPICS_PER_CONNECTION);
    const subscriptions: Subscription[] = [];
    for (const t of chunk) subscriptions.push(...t.subs);
    plans.push({
      id: `spot-${n}`,
      url: `${trimSlash(endpoints.wsBase)}/`,
      subscriptions,
      subscribeFrames: [KUCOIN_OPENING_PING],
      heartbeat: { kind: 'app', intervalMs: KUCOIN_DEFAULT_PING_INTERVAL_MS, frame: pingFrame },
      staleAfterMs: KUCOIN_DEFAULT_PING_INTERVAL_MS + KUCOIN_DEFAULT_PING_TIMEOUT_MS,
    });
  }
  return plans;
}

function parseJson(body: string, what: string, url: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', `kucoin: ${what} is not JSON`, { url }, { cause: e });
  }
}

/** REST `code` → error: 400001–400007 (API key / signature) → `VENUE_AUTH`, 429000 → `VENUE_RATE_LIMITED`, else `VENUE_REJECTED`. */
function restError(code: string, msg: unknown, url: string): TributaryError {
  const n = Number(code);
  const kind = n >= 400001 && n <= 400007 ? 'VENUE_AUTH' : n === 429000 ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED';
  return new TributaryError(kind, `kucoin error ${code}: ${String(msg ?? '')}`, { url, code, msg });
}

/** The `data` of a REST envelope. @throws TributaryError `PROTOCOL_MALFORMED` / the {@link restError} of a non-OK code. */
function restData(body: string, what: string, url: string): unknown {
  const o = parseJson(body, what, url) as { code?: unknown; msg?: unknown; data?: unknown } | null;
  if (o === null || typeof o !== 'object' || typeof o.code !== 'string') {
    throw new TributaryError('PROTOCOL_MALFORMED', `kucoin: ${what} lacks code`, { url });
  }
  if (o.code !== OK) throw restError(o.code, o.msg, url);
  return o.data;
}

/**
 * Maps one `/api/v1/symbols` entry to an {@link Instrument} (`spot:BCHSV-USDT`, `BSV/USDT`), or `undefined` when
 * fields are missing. The canonical symbol uses the venue's own `baseCurrency`/`quoteCurrency` (upper-cased), so
 * renamed assets follow KuCoin's codes: `BCHSV-USDT` → `BSV/USDT`, `WAX-BTC` → `WAXP/BTC`, `LYXE-USDT` (base
 * `LYXe`) → `LYXE/USDT`. Tick size = `priceIncrement` (quote currency), lot size = `baseIncrement` (base units).
 * Every listed symbol is kept, tradable or not.
 */
export function kucoinInstrument(info: KucoinSymbolInfo): Instrument | undefined {
  if (info === null || typeof info !== 'object') return undefined;
  const { symbol, baseCurrency, quoteCurrency } = info;
  if (typeof symbol !== 'string' || typeof baseCurrency !== 'string' || typeof quoteCurrency !== 'string' || !symbol || !baseCurrency || !quoteCurrency) {
    return undefined;
  }
  return {
    venue: KUCOIN,
    key: instrumentKey('spot', symbol),
    venueSymbol: symbol,
    symbol: canonicalSymbol(baseCurrency, quoteCurrency, 'spot'),
    base: baseCurrency.toUpperCase(),
    quote: quoteCurrency.toUpperCase(),
    type: 'spot',
    tickSize: typeof info.priceIncrement === 'string' ? info.priceIncrement : undefined,
    lotSize: typeof info.baseIncrement === 'string' ? info.baseIncrement : undefined,
  };
}

/**
 * Loads all listed spot symbols: `GET {restBase}/api/v1/symbols`.
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED` / `VENUE_AUTH` (code ≠ 200000),
 *         `PROTOCOL_MALFORMED`.
 */
export async function loadKucoinInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const url = `${trimSlash(endpoints.restBase)}/api/v1/symbols`;
  const data = restData(await http.get(url), 'symbols', url);
  if (!Array.isArray(data)) throw new TributaryError('PROTOCOL_MALFORMED', 'kucoin: symbols lacks a data list', { url });
  const out: Instrument[] = [];
  for (const s of data) {
    const i = kucoinInstrument(s as KucoinSymbolInfo);
    if (i) out.push(i);
  }
  return out;
}

/** Parses an order-book answer. @throws TributaryError. */
function parseBook(body: string, url: string): BookSnapshot {
  const d = restData(body, 'order book', url) as { sequence?: unknown; time?: unknown; bids?: unknown; asks?: unknown } | null;
  const seq = d === null || typeof d !== 'object' ? undefined : kucoinSeq(d.sequence);
  if (d === null || typeof d !== 'object' || seq === undefined || !levelsOk(d.bids) || !levelsOk(d.asks)) {
    throw new TributaryError('PROTOCOL_MALFORMED', 'kucoin: order book lacks sequence, bids or asks', { url });
  }
  return { bids: d.bids, asks: d.asks, seq, ts: typeof d.time === 'number' ? d.time : Date.now() };
}

/** True for errors meaning "this endpoint needs an API key": HTTP 401/403, or REST codes 400001–400007. */
function isAuthFailure(e: unknown): boolean {
  if (!(e instanceof TributaryError)) return false;
  if (e.code === 'VENUE_AUTH') return true;
  const status = e.context?.status;
  return e.code === 'HTTP_ERROR' && (status === 401 || status === 403);
}

/**
 * REST book snapshot for one symbol. `full`: `GET /api/v3/market/orderbook/level2?symbol=` (the recorded path);
 * `top100`: `GET /api/v1/market/orderbook/level2_100?symbol=`. Levels `[price, size]` (quote currency, base units),
 * `seq` = `sequence`, `ts` = `time` (ms). `depth` is not a parameter of either endpoint.
 * Sources: https://www.kucoin.com/docs/rest/spot-trading/market-data/get-full-order-book-aggregated- and
 * https://www.kucoin.com/docs/rest/spot-trading/market-data/get-part-order-book-aggregated-
 * @throws TributaryError `HTTP_ERROR`, `VENUE_RATE_LIMITED`, `VENUE_AUTH`, `VENUE_REJECTED`, `PROTOCOL_MALFORMED`.
 */
export async function kucoinBookSnapshot(instrument: Instrument, source: 'full' | 'top100', http: Http, endpoints: VenueEndpoints): Promise<BookSnapshot> {
  const sym = encodeURIComponent(instrument.venueSymbol);
  const base = trimSlash(endpoints.restBase);
  const url = source === 'full' ? `${base}/api/v3/market/orderbook/level2?symbol=${sym}` : `${base}/api/v1/market/orderbook/level2_100?symbol=${sym}`;
  return parseBook(await http.get(url), url);
}

/**
 * Gets a connection token (`POST {restBase}/api/v1/bullet-public`, body `{}`) and returns the plan to connect
 * with: URL `<endpoint>?token=<token>&connectId=<plan id>-<ms>`, app ping every `pingInterval`, stale after
 * `pingInterval + pingTimeout`. Source: https://www.kucoin.com/docs-new/websocket-api/base-info/get-public-token-spot-margin
 * @throws TributaryError `CONFIG_INVALID` (the HTTP client cannot POST), `HTTP_ERROR`, `VENUE_REJECTED`,
 *         `VENUE_RATE_LIMITED`, `PROTOCOL_MALFORMED`.
 */
export async function prepareKucoinConnection(plan: ConnectionPlan, http: Http, endpoints: VenueEndpoints): Promise<ConnectionPlan> {
  if (!http.post) throw new TributaryError('CONFIG_INVALID', 'kucoin: the HTTP client cannot POST (needed for the bullet-public token)');
  const url = `${trimSlash(endpoints.restBase)}/api/v1/bullet-public`;
  const d = restData(await http.post(url, '{}'), 'bullet-public', url) as { token?: unknown; instanceServers?: unknown } | null;
  const server = d !== null && typeof d === 'object' && Array.isArray(d.instanceServers) ? (d.instanceServers[0] as Record<string, unknown> | undefined) : undefined;
  if (d === null || typeof d !== 'object' || typeof d.token !== 'string' || !d.token || !server || typeof server.endpoint !== 'string') {
    throw new TributaryError('PROTOCOL_MALFORMED', 'kucoin: bullet-public lacks token or instanceServers[0].endpoint', { url });
  }
  const interval = typeof server.pingInterval === 'number' && server.pingInterval > 0 ? server.pingInterval : KUCOIN_DEFAULT_PING_INTERVAL_MS;
  const timeout = typeof server.pingTimeout === 'number' && server.pingTimeout > 0 ? server.pingTimeout : KUCOIN_DEFAULT_PING_TIMEOUT_MS;
  const endpoint = server.endpoint;
  const connectId = `${plan.id}-${Date.now()}`;
  const wsUrl = `${endpoint}${endpoint.includes('?') ? '&' : '?'}token=${encodeURIComponent(d.token)}&connectId=${encodeURIComponent(connectId)}`;
  return { ...plan, url: wsUrl, heartbeat: { kind: 'app', intervalMs: interval, frame: pingFrame }, staleAfterMs: interval + timeout };
}

/** `/market/level2:A,B` → `['/market/level2:A', '/market/level2:B']` (the per-symbol topics data frames carry). */
function splitTopic(topic: string): string[] {
  const colon = topic.indexOf(':');
  if (colon <= 0) return [topic];
  const prefix = topic.slice(0, colon + 1);
  return topic
    .slice(colon + 1)
    .split(',')
    .filter((s) => s !== '')
    .map((s) => prefix + s);
}

const CHANNEL_OF_PREFIX: Readonly<Record<string, Channel>> = {
  '/market/level2': 'book',
  '/market/ticker': 'ticker',
  '/market/match': 'trades',
};

/** Simulator / replay knowledge of KuCoin: subscribe requests in frames, one `topic` per data frame. */
export const kucoinReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  /** subscribe/unsubscribe → per-symbol topics + `{"id","type":"ack"}`; ping → `{"id","type":"pong"}`. */
  onClientFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg) return {};
    const id = typeof msg.id === 'string' || typeof msg.id === 'number' ? String(msg.id) : '';
    if (msg.type === 'ping') return { replies: [JSON.stringify({ id, type: 'pong' })] };
    if ((msg.type === 'subscribe' || msg.type === 'unsubscribe') && typeof msg.topic === 'string') {
      const topics = splitTopic(msg.topic);
      const ack = JSON.stringify({ id, type: 'ack' });
      return msg.type === 'subscribe' ? { subscribe: topics, replies: [ack] } : { unsubscribe: topics, replies: [ack] };
    }
    return {};
  },

  /** Data frames: their `topic`; welcome/ack/pong/error: null. */
  topicOfFrame(data) {
    const msg = parseJsonObject(data);
    return msg && msg.type === 'message' && typeof msg.topic === 'string' ? msg.topic : null;
  },

  /** `/market/level2` → book, `/market/ticker` → ticker, `/market/match` → trades (spot); other topics skipped. */
  recordedSubscriptions(_addr, sends) {
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const msg = parseJsonObject(send);
      if (!msg || (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') || typeof msg.topic !== 'string') continue;
      for (const topic of splitTopic(msg.topic)) {
        if (msg.type === 'unsubscribe') {
          active.delete(topic);
          continue;
        }
        const colon = topic.indexOf(':');
        const channel = CHANNEL_OF_PREFIX[topic.slice(0, colon)];
        const venueSymbol = topic.slice(colon + 1);
        if (channel && venueSymbol) active.set(topic, { market: 'spot', venueSymbol, channel });
      }
    }
    return [...active.values()];
  },

  /**
   * `POST /api/v1/bullet-public`: the recording holds no token answer (its address carries the placeholder
   * `token=TOKEN`), so answer one whose endpoint is the simulator's recorded path `/endpoint`.
   */
  synthesizeHttp(method, pathAndQuery, wsBase) {
    if (method !== 'POST' || !pathAndQuery.startsWith('/api/v1/bullet-public')) return undefined;
    return JSON.stringify({
      code: OK,
      data: {
        token: 'simulated',
        instanceServers: [
          { endpoint: `${trimSlash(wsBase)}/endpoint`, encrypt: false, protocol: 'websocket', pingInterval: KUCOIN_DEFAULT_PING_INTERVAL_MS, pingTimeout: KUCOIN_DEFAULT_PING_TIMEOUT_MS },
        ],
      },
    });
  },
};

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'rest', sequence: 'contiguous', levelSequence: true, source: KUCOIN_DOCS.level2 },
  defaultDepth: KUCOIN_DEFAULT_DEPTH,
  maxSubscriptionsPerConnection: KUCOIN_MAX_TOPICS_PER_CONNECTION,
  subscriptionLimitSource: 'https://github.com/Kucoin/kucoin-python-sdk/issues/32 (quoting the KuCoin docs: 300 topics per connection; UNCONFIRMED against the current page)',
};

/**
 * A KuCoin connector. With `snapshot: 'auto'` (default) the connector fetches the full book and, the first time the
 * venue answers that the endpoint needs an API key, switches to the public top-100 book for the rest of its life.
 */
export function createKucoinConnector(opts: KucoinConnectorOptions = {}): Connector<KucoinSession> {
  const mode = opts.snapshot ?? 'auto';
  let fullNeedsKey = false;
  return {
    venue: KUCOIN,
    capabilities: CAPABILITIES,
    defaultEndpoints: { wsBase: 'wss://ws-api-spot.kucoin.com', restBase: 'https://api.kucoin.com' },
    loadInstruments: loadKucoinInstruments,
    plan: planKucoin,
    prepareConnection: prepareKucoinConnection,

    newSession(plan) {
      return newKucoinSession(
        kucoinSubscribeFrames(plan.subscriptions),
        plan.subscriptions.map((s) => [s.instrument.venueSymbol, s.instrument.key] as const),
      );
    },

    decode: decodeKucoin,

    subscribeFrames: (subs) => kucoinRequestFrames('subscribe', subs),
    unsubscribeFrames: (subs) => kucoinRequestFrames('unsubscribe', subs),
    updateSession: kucoinUpdateSession,

    async bookSnapshot(instrument, _depth, http, endpoints) {
      if (mode === 'top100' || (mode === 'auto' && fullNeedsKey)) return kucoinBookSnapshot(instrument, 'top100', http, endpoints);
      try {
        return await kucoinBookSnapshot(instrument, 'full', http, endpoints);
      } catch (e) {
        if (mode !== 'auto' || !isAuthFailure(e)) throw e;
        fullNeedsKey = true;
        try {
          return await kucoinBookSnapshot(instrument, 'top100', http, endpoints);
        } catch (e2) {
          throw new TributaryError(
            e2 instanceof TributaryError ? e2.code : 'HTTP_ERROR',
            `kucoin: full book needs an API key (${errorMessage(e)}); top-100 fallback failed: ${errorMessage(e2)}`,
            { symbol: instrument.venueSymbol },
            { cause: e2 },
          );
        }
      }
    },

    replay: kucoinReplay,
  };
}

/** The registered KuCoin connector (`snapshot: 'auto'`). */
export const kucoinConnector: Connector<KucoinSession> = createKucoinConnector();
