/**
 * Binance spot market data (venue id `binance`).
 *
 * - Instruments: REST `GET /api/v3/exchangeInfo` (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information).
 * - Streams: combined streams named in the URL, `/stream?streams=<sym>@depth@100ms/<sym>@bookTicker/<sym>@aggTrade`,
 *   at most 1024 per connection; the server pings, the transport pongs
 *   (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams).
 * - Books: diff stream + REST snapshot `GET /api/v3/depth`, `[U, u]` contiguous
 *   (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly).
 */
import type { Channel } from '../../core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../core/instruments.ts';
import { TributaryError } from '../../core/errors.ts';
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
import { BINANCE, decodeBinance, newBinanceSession, type BinanceSession } from './decode.ts';
import { BINANCE_DOCS, type BinanceSymbolInfo } from './wire.ts';
import { isStringArray, levelsOk, parseJsonObject } from '../decode-util.ts';

/** Most streams one connection may carry (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams). */
export const BINANCE_MAX_STREAMS_PER_CONNECTION = 1024;
/** Protocol ping interval we send, ms (the server also pings us; the transport answers those). */
export const BINANCE_PING_INTERVAL_MS = 30_000;
/** No frame for this long (ms) marks a connection stale. */
export const BINANCE_STALE_AFTER_MS = 60_000;
/** REST snapshot depth used when not told otherwise (levels per side). */
export const BINANCE_DEFAULT_DEPTH = 1000;
/** REST depth `limit` bounds (levels per side). */
export const BINANCE_MIN_DEPTH = 5;
export const BINANCE_MAX_DEPTH = 5000;

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'rest', sequence: 'contiguous', source: BINANCE_DOCS.localBook },
  defaultDepth: BINANCE_DEFAULT_DEPTH,
  maxSubscriptionsPerConnection: BINANCE_MAX_STREAMS_PER_CONNECTION,
  subscriptionLimitSource: BINANCE_DOCS.streams,
};

/** Request ids of run-time SUBSCRIBE / UNSUBSCRIBE requests (Binance echoes them in `{"result":null,"id"}`). */
let nextRequestId = 1;

/**
 * A run-time `{"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[streams],"id":n}` on an open combined-stream connection
 * (answered `{"result":null,"id":n}`). All streams go in one request: Binance counts every incoming message against
 * its 5 messages per second per connection. Source: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 * ("Live Subscribing/Unsubscribing to streams").
 */
export function binanceRequestFrame(method: 'SUBSCRIBE' | 'UNSUBSCRIBE', subs: readonly Subscription[]): string[] {
  const streams = [...new Set(subs.map(binanceStream))];
  return streams.length === 0 ? [] : [JSON.stringify({ method, params: streams, id: nextRequestId++ })];
}

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** Stream name of one subscription: `<sym>@depth@100ms`, `<sym>@bookTicker` or `<sym>@aggTrade` (symbol lower-cased). */
export function binanceStream(sub: Subscription): string {
  const sym = sub.instrument.venueSymbol.toLowerCase();
  switch (sub.channel) {
    case 'book':
      return `${sym}@depth@100ms`;
    case 'ticker':
      return `${sym}@bookTicker`;
    case 'trades':
      return `${sym}@aggTrade`;
  }
}

/**
 * Splits subscriptions into combined-stream connections (`spot-0`, `spot-1`, …), at most 1024 streams each,
 * streams named in the URL so no subscribe frames are sent. Duplicate streams are requested once. Pure.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for a non-spot instrument.
 */
export function planBinance(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const byStream = new Map<string, Subscription[]>();
  for (const sub of subs) {
    if (sub.instrument.type !== 'spot') {
      throw new TributaryError('INSTRUMENT_UNKNOWN', `binance: only spot is served, not ${sub.instrument.key}`, { key: sub.instrument.key });
    }
    const stream = binanceStream(sub);
    const list = byStream.get(stream);
    if (list) list.push(sub);
    else byStream.set(stream, [sub]);
  }
  const streams = [...byStream.keys()];
  const base = trimSlash(endpoints.wsBase);
  const plans: ConnectionPlan[] = [];
  for (let i = 0, n = 0; i < streams.length; i += BINANCE_MAX_STREAMS_PER_CONNECTION, n++) {
    const chunk = streams.slice(i, i + BINANCE_MAX_STREAMS_PER_CONNECTION);
    const subscriptions: Subscription[] = [];
    for (const s of chunk) subscriptions.push(...(byStream.get(s) ?? []));
    plans.push({
      id: `spot-${n}`,
      url: `${base}/stream?streams=${chunk.join('/')}`,
      subscriptions,
      subscribeFrames: [],
      heartbeat: { kind: 'ws-ping', intervalMs: BINANCE_PING_INTERVAL_MS },
      staleAfterMs: BINANCE_STALE_AFTER_MS,
    });
  }
  return plans;
}

/**
 * Maps one exchangeInfo symbol to an {@link Instrument} (`spot:NKNUSDT`, `NKN/USDT`), or `undefined` when fields
 * are missing. Every listed status is kept (`TRADING`, `BREAK`, …). Tick size from `PRICE_FILTER.tickSize`
 * (quote currency), lot size from `LOT_SIZE.stepSize` (base units).
 */
export function binanceInstrument(info: BinanceSymbolInfo): Instrument | undefined {
  if (info === null || typeof info !== 'object') return undefined;
  const { symbol, baseAsset, quoteAsset } = info;
  if (typeof symbol !== 'string' || typeof baseAsset !== 'string' || typeof quoteAsset !== 'string' || !symbol || !baseAsset || !quoteAsset) {
    return undefined;
  }
  let tickSize: string | undefined;
  let lotSize: string | undefined;
  if (Array.isArray(info.filters)) {
    for (const f of info.filters) {
      if (f?.filterType === 'PRICE_FILTER' && typeof f.tickSize === 'string') tickSize = f.tickSize;
      else if (f?.filterType === 'LOT_SIZE' && typeof f.stepSize === 'string') lotSize = f.stepSize;
    }
  }
  return {
    venue: BINANCE,
    key: instrumentKey('spot', symbol),
    venueSymbol: symbol,
    symbol: canonicalSymbol(baseAsset, quoteAsset, 'spot'),
    base: baseAsset.toUpperCase(),
    quote: quoteAsset.toUpperCase(),
    type: 'spot',
    tickSize,
    lotSize,
  };
}

function parseJson(body: string, what: string, url: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', `binance: ${what} is not JSON`, { url }, { cause: e });
  }
}

/** A 200 body that is a Binance error object (`{"code","msg"}`) → TributaryError. */
function bodyError(o: unknown, url: string): TributaryError | undefined {
  const r = o as { code?: unknown; msg?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.code !== 'number') return undefined;
  const code = r.code === -1003 || r.code === 429 || r.code === 418 ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED';
  return new TributaryError(code, `binance error ${r.code}: ${String(r.msg)}`, { url, code: r.code, msg: r.msg });
}

/**
 * Loads all listed spot symbols from `exchangeInfo`.
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED`, `PROTOCOL_MALFORMED`.
 */
export async function loadBinanceInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const url = `${trimSlash(endpoints.restBase)}/api/v3/exchangeInfo`;
  const o = parseJson(await http.get(url), 'exchangeInfo', url);
  const symbols = (o as { symbols?: unknown } | null)?.symbols;
  if (!Array.isArray(symbols)) throw bodyError(o, url) ?? new TributaryError('PROTOCOL_MALFORMED', 'binance: exchangeInfo lacks symbols', { url });
  const out: Instrument[] = [];
  for (const s of symbols) {
    const i = binanceInstrument(s as BinanceSymbolInfo);
    if (i) out.push(i);
  }
  return out;
}

/** REST depth `limit` for a requested depth: clamped to 5…5000 levels; missing/invalid → 1000. */
export function binanceDepthLimit(depth: number | undefined): number {
  if (depth === undefined || !(depth > 0) || !Number.isFinite(depth)) return BINANCE_DEFAULT_DEPTH;
  return Math.min(BINANCE_MAX_DEPTH, Math.max(BINANCE_MIN_DEPTH, Math.ceil(depth)));
}

/**
 * Fetches a REST book snapshot: `GET {restBase}/api/v3/depth?symbol=SYM&limit=N`. Returns the venue's level arrays
 * (price quote currency, size base units), `seq` = `lastUpdateId`, `ts` = local time now (ms; the endpoint gives no time).
 * Source: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints#order-book
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED`, `PROTOCOL_MALFORMED`.
 */
export async function binanceBookSnapshot(instrument: Instrument, depth: number, http: Http, endpoints: VenueEndpoints): Promise<BookSnapshot> {
  const url = `${trimSlash(endpoints.restBase)}/api/v3/depth?symbol=${encodeURIComponent(instrument.venueSymbol)}&limit=${binanceDepthLimit(depth)}`;
  const o = parseJson(await http.get(url), 'depth', url);
  const r = o as { lastUpdateId?: unknown; bids?: unknown; asks?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.lastUpdateId !== 'number' || !levelsOk(r.bids) || !levelsOk(r.asks)) {
    throw bodyError(o, url) ?? new TributaryError('PROTOCOL_MALFORMED', 'binance: depth lacks lastUpdateId, bids or asks', { url });
  }
  return { bids: r.bids, asks: r.asks, seq: r.lastUpdateId, ts: Date.now() };
}

/** A stream name as a subscription reference (`nknusdt@depth@100ms` → book of `NKNUSDT`), or undefined. */
function recordedOf(stream: string): RecordedSubscription | undefined {
  const at = stream.indexOf('@');
  if (at <= 0) return undefined;
  const kind = stream.slice(at + 1);
  let channel: Channel;
  if (kind === 'depth' || kind.startsWith('depth@')) channel = 'book';
  else if (kind === 'bookTicker') channel = 'ticker';
  else if (kind === 'aggTrade' || kind === 'trade') channel = 'trades';
  else return undefined;
  return { market: 'spot', venueSymbol: stream.slice(0, at).toUpperCase(), channel };
}

function streamsOfUrl(url: URL): string[] {
  const s = url.searchParams.get('streams');
  return s ? s.split('/').filter((x) => x !== '') : [];
}

/** Simulator / replay knowledge of Binance: streams in the URL or SUBSCRIBE frames, `stream` in every wrapped frame. */
export const binanceReplay: ReplayHooks = {
  topicsFromUrl: streamsOfUrl,

  onClientFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg) return {};
    const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : null;
    const reply = JSON.stringify({ result: null, id });
    if ((msg.method === 'SUBSCRIBE' || msg.method === 'UNSUBSCRIBE') && isStringArray(msg.params)) {
      return msg.method === 'SUBSCRIBE' ? { subscribe: msg.params, replies: [reply] } : { unsubscribe: msg.params, replies: [reply] };
    }
    return {};
  },

  topicOfFrame(data) {
    const msg = parseJsonObject(data);
    return msg && typeof msg.stream === 'string' ? msg.stream : null;
  },

  recordedSubscriptions(addr, sends) {
    const active = new Map<string, RecordedSubscription>();
    const add = (stream: string): void => {
      const rs = recordedOf(stream);
      if (rs) active.set(stream, rs);
    };
    try {
      streamsOfUrl(new URL(addr)).forEach(add);
    } catch {
      // not a URL: only the sends can tell
    }
    for (const send of sends) {
      const msg = parseJsonObject(send);
      if (!msg || !isStringArray(msg.params)) continue;
      if (msg.method === 'SUBSCRIBE') msg.params.forEach(add);
      else if (msg.method === 'UNSUBSCRIBE') for (const s of msg.params) active.delete(s);
    }
    return [...active.values()];
  },
};

/** The Binance spot connector. */
export const binanceConnector: Connector<BinanceSession> = {
  bookDepth: binanceDepthLimit,
  venue: BINANCE,
  capabilities: CAPABILITIES,
  defaultEndpoints: { wsBase: 'wss://stream.binance.com:9443', restBase: 'https://api.binance.com' },
  loadInstruments: loadBinanceInstruments,
  plan: planBinance,

  newSession(plan) {
    return newBinanceSession(plan.subscriptions.map((s) => [s.instrument.venueSymbol, s.instrument.key] as const));
  },

  decode: decodeBinance,
  bookSnapshot: binanceBookSnapshot,

  /** `SUBSCRIBE` the subscriptions' streams on the open connection (the URL's streams stay). */
  subscribeFrames: (subs) => binanceRequestFrame('SUBSCRIBE', subs),
  /** `UNSUBSCRIBE` the subscriptions' streams (URL streams can be unsubscribed too). */
  unsubscribeFrames: (subs) => binanceRequestFrame('UNSUBSCRIBE', subs),
  /** Frames name the symbol (`s`): map the added symbols to their keys. */
  updateSession(session, op, subs, frames) {
    if (op === 'add') for (const s of subs) session.keys.set(s.instrument.venueSymbol, s.instrument.key);
    return frames;
  },

  replay: binanceReplay,
};
