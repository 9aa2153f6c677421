/**
 * Crypto.com Exchange market data (venue id `crypto-com`, recording header `CRYPTO.COM`), spot and USD perpetuals.
 *
 * Two API generations behind one connector (see `wire.ts`):
 * - **v1** (live default): `wss://stream.crypto.com/exchange/v1/market`, instruments from
 *   `GET /exchange/v1/public/get-instruments`, books `book.{inst}.{10|50}` as `SNAPSHOT_AND_UPDATE`;
 * - **v2** (legacy; the 2021 recording): `wss://stream.crypto.com/v2/market`, instruments from
 *   `GET /v2/public/get-instruments`, books `book.{inst}.{depth}` that push the whole top-N book every time.
 * The generation is the one the venue (or the simulator) serves: `loadInstruments` asks v1 first and falls back to
 * v2 only when the v1 endpoint answers 404; each instrument remembers its generation, and `plan()` connects to the
 * matching path. One book rule serves both: `{snapshot: 'stream', sequence: 'linked'}` — v1 deltas chain `pu` → `u`,
 * and v2 pushes are snapshots, which replace the book whatever the sequence.
 *
 * Docs: https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html and
 * https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-book-instrument-name-depth
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
import { CRYPTO_COM, cryptoComKeyOf, decodeCryptoCom, newCryptoComSession, type CryptoComSession } from './decode.ts';
import { CRYPTO_COM_DOCS, type CryptoComApi, type CryptoComInstrumentV1, type CryptoComInstrumentV2 } from './wire.ts';
import { parseJsonObject } from '../decode-util.ts';

/** Paths of each API generation (relative to `wsBase` / `restBase`). */
export const CRYPTO_COM_PATHS: Readonly<Record<CryptoComApi, { readonly ws: string; readonly instruments: string }>> = {
  v1: { ws: '/exchange/v1/market', instruments: '/exchange/v1/public/get-instruments' },
  v2: { ws: '/v2/market', instruments: '/v2/public/get-instruments' },
};
/** Book depths each generation serves (v1 doc: 10 or 50; v2: 10 or 150, 150 as recorded). */
export const CRYPTO_COM_BOOK_DEPTHS: Readonly<Record<CryptoComApi, readonly number[]>> = { v1: [10, 50], v2: [10, 150] };
/** Depth subscribed when a subscription does not say. */
export const CRYPTO_COM_DEFAULT_DEPTH = 50;
/**
 * Most channels per market-data connection: beyond it the venue answers 40107 EXCEED_MAX_SUBSCRIPTIONS. 400 is the
 * figure quoted from the docs by a third-party client (skip-mev/connect); the official table lists the code only.
 */
export const CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION = 400;
/** v1 `book_update_frequency` (ms) for `SNAPSHOT_AND_UPDATE`: 10 (default) or 100; 100 trades latency for load. */
export const CRYPTO_COM_BOOK_UPDATE_FREQUENCY_MS = 100;
/** The server sends `public/heartbeat` every 30 s; two missed heartbeats (plus slack) mark the connection stale. */
export const CRYPTO_COM_STALE_AFTER_MS = 65_000;

/** An instrument that remembers which API generation listed it (and so which stream serves it). */
export interface CryptoComInstrument extends Instrument {
  readonly api: CryptoComApi;
}

/** The API generation of an instrument: `v2` when it was listed by the v2 endpoint, else `v1`. */
export function cryptoComApiOf(i: Instrument): CryptoComApi {
  return (i as Partial<CryptoComInstrument>).api === 'v2' ? 'v2' : 'v1';
}

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** Smallest depth of the generation ≥ `depth` (capped at its largest); missing/invalid → the default rounded up. */
export function cryptoComBookDepth(api: CryptoComApi, depth: number | undefined): number {
  const offered = CRYPTO_COM_BOOK_DEPTHS[api];
  const d = depth !== undefined && depth > 0 && Number.isFinite(depth) ? depth : CRYPTO_COM_DEFAULT_DEPTH;
  for (const o of offered) if (d <= o) return o;
  return offered[offered.length - 1];
}

/**
 * The depth kept for a requested depth, before the generation is known (the connector's `bookDepth`, also the
 * truncation depth): the smallest depth either generation serves that is ≥ the request (10, 50, 150; capped at 150).
 * `plan()` then rounds it to what the connection's generation serves (v1 → 10/50, v2 → 10/150), which is never
 * below the request unless the request exceeds the generation's maximum.
 */
export function cryptoComKeptDepth(requested: number | undefined): number {
  const d = requested !== undefined && requested > 0 && Number.isFinite(requested) ? requested : CRYPTO_COM_DEFAULT_DEPTH;
  for (const o of [10, 50, 150]) if (d <= o) return o;
  return 150;
}

/** The channel name of one subscription: `book.{inst}.{depth}`, `trade.{inst}` or `ticker.{inst}`. */
export function cryptoComChannel(sub: Subscription): string {
  const name = sub.instrument.venueSymbol;
  switch (sub.channel) {
    case 'book':
      return `book.${name}.${cryptoComBookDepth(cryptoComApiOf(sub.instrument), sub.depth)}`;
    case 'trades':
      return `trade.${name}`;
    case 'ticker':
      return `ticker.${name}`;
  }
}

/** A subscribe request (without `nonce`: {@link prepareCryptoComConnection} stamps it). v1 books ask for snapshot + deltas. */
function subscribeRequest(api: CryptoComApi, id: number, channels: readonly string[]): string {
  const book = api === 'v1' && channels.some((c) => c.startsWith('book.'));
  const params = book
    ? { channels, book_subscription_type: 'SNAPSHOT_AND_UPDATE', book_update_frequency: CRYPTO_COM_BOOK_UPDATE_FREQUENCY_MS }
    : { channels };
  return JSON.stringify({ id, method: 'subscribe', params });
}

/**
 * Splits subscriptions into connections: per API generation (`v1-0`, `v1-1`, … / `v2-0`), ≤ 400 channels each,
 * duplicates subscribed once, and **one** subscribe request per connection (the venue pro-rates its 100 requests/s
 * by the calendar second the connection opened in, so fewer requests right after connecting is safer). Pure.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for an instrument that is neither spot nor linear.
 */
export function planCryptoCom(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const groups = new Map<CryptoComApi, Map<string, Subscription[]>>();
  for (const sub of subs) {
    if (sub.instrument.type !== 'spot' && sub.instrument.type !== 'linear') {
      throw new TributaryError('INSTRUMENT_UNKNOWN', `crypto-com: market type ${sub.instrument.type} of ${sub.instrument.key} is not served`, { key: sub.instrument.key });
    }
    const api = cryptoComApiOf(sub.instrument);
    let g = groups.get(api);
    if (!g) groups.set(api, (g = new Map()));
    const ch = cryptoComChannel(sub);
    const list = g.get(ch);
    if (list) list.push(sub);
    else g.set(ch, [sub]);
  }
  const base = trimSlash(endpoints.wsBase);
  const plans: ConnectionPlan[] = [];
  for (const [api, channels] of groups) {
    const names = [...channels.keys()];
    for (let i = 0, n = 0; i < names.length; i += CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION, n++) {
      const chunk = names.slice(i, i + CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION);
      const subscriptions: Subscription[] = [];
      for (const c of chunk) subscriptions.push(...(channels.get(c) ?? []));
      plans.push({
        id: `${api}-${n}`,
        url: base + CRYPTO_COM_PATHS[api].ws,
        subscriptions,
        subscribeFrames: [subscribeRequest(api, 1, chunk)],
        heartbeat: { kind: 'none' },
        staleAfterMs: CRYPTO_COM_STALE_AFTER_MS,
      });
    }
  }
  return plans;
}

/** Last run-time request id handed out (ids are ms timestamps, bumped to stay unique). */
let lastRequestId = 0;

/**
 * Run-time `{"id","method":"subscribe"|"unsubscribe","params":{"channels":[…]},"nonce"}` for `subs` on an open connection
 * (one request per API generation of the instruments; v1 book subscribes ask for `SNAPSHOT_AND_UPDATE` again, whose
 * first push is the snapshot). Acknowledged `{"id","code":0,"method"}`. Sources: CRYPTO_COM_DOCS.subscribe
 * (https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-market-data-client-commands-market-data-subscribe-request)
 * and the common reference's `unsubscribe` (https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html).
 */
export function cryptoComRequestFrames(method: 'subscribe' | 'unsubscribe', subs: readonly Subscription[]): string[] {
  const byApi = new Map<CryptoComApi, string[]>();
  for (const s of subs) {
    const api = cryptoComApiOf(s.instrument);
    const ch = cryptoComChannel(s);
    const list = byApi.get(api);
    if (!list) byApi.set(api, [ch]);
    else if (!list.includes(ch)) list.push(ch);
  }
  const frames: string[] = [];
  for (const [api, channels] of byApi) {
    const nonce = Date.now();
    const id = (lastRequestId = Math.max(nonce, lastRequestId + 1));
    const request = method === 'subscribe' ? (JSON.parse(subscribeRequest(api, id, channels)) as object) : { id, method, params: { channels } };
    frames.push(JSON.stringify({ ...request, nonce }));
  }
  return frames;
}

/** Stamps `nonce` (ms now) into the plan's requests, as the v1 request format asks. Source: CRYPTO_COM_DOCS.common. */
export async function prepareCryptoComConnection(plan: ConnectionPlan): Promise<ConnectionPlan> {
  const nonce = Date.now();
  const subscribeFrames = plan.subscribeFrames.map((f) => {
    try {
      return JSON.stringify({ ...(JSON.parse(f) as object), nonce });
    } catch {
      return f;
    }
  });
  return { ...plan, subscribeFrames };
}

/** `10^-decimals` as a decimal string (`3` → `0.001`, `0` → `1`); undefined for a non-integer. */
function tickOfDecimals(n: unknown): string | undefined {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 30) return undefined;
  return n === 0 ? '1' : `0.${'0'.repeat(n - 1)}1`;
}

/**
 * A v1 instrument (`CCY_PAIR` → spot `BTC/USDT`, key `spot:BTC_USDT`; `PERPETUAL_SWAP` → linear `BTC/USD:USD`, key
 * `linear:BTCUSD-PERP`, settled in the quote currency); other types (dated futures, options) → undefined.
 * Tick size `price_tick_size` (quote currency), lot size `qty_tick_size` (base units / contracts).
 */
export function cryptoComInstrumentV1(info: CryptoComInstrumentV1): CryptoComInstrument | undefined {
  if (info === null || typeof info !== 'object') return undefined;
  const { symbol, inst_type: type, base_ccy: base, quote_ccy: quote } = info;
  if (typeof symbol !== 'string' || typeof base !== 'string' || typeof quote !== 'string' || !symbol || !base || !quote) return undefined;
  const tickSize = typeof info.price_tick_size === 'string' ? info.price_tick_size : undefined;
  const lotSize = typeof info.qty_tick_size === 'string' ? info.qty_tick_size : undefined;
  if (type === 'CCY_PAIR') {
    return {
      venue: CRYPTO_COM, key: instrumentKey('spot', symbol), venueSymbol: symbol, symbol: canonicalSymbol(base, quote, 'spot'),
      base: base.toUpperCase(), quote: quote.toUpperCase(), type: 'spot', tickSize, lotSize, api: 'v1',
    };
  }
  if (type === 'PERPETUAL_SWAP') {
    const settle = quote.toUpperCase();
    return {
      venue: CRYPTO_COM, key: instrumentKey('linear', symbol), venueSymbol: symbol, symbol: canonicalSymbol(base, quote, 'linear', settle),
      base: base.toUpperCase(), quote: quote.toUpperCase(), settle, type: 'linear', tickSize, lotSize, api: 'v1',
    };
  }
  return undefined;
}

/** A v2 instrument (spot only): `MATIC_USDT` → `MATIC/USDT`; tick/lot from `price_decimals`/`quantity_decimals`. */
export function cryptoComInstrumentV2(info: CryptoComInstrumentV2): CryptoComInstrument | undefined {
  if (info === null || typeof info !== 'object') return undefined;
  const { instrument_name: name, base_currency: base, quote_currency: quote } = info;
  if (typeof name !== 'string' || typeof base !== 'string' || typeof quote !== 'string' || !name || !base || !quote) return undefined;
  return {
    venue: CRYPTO_COM, key: instrumentKey('spot', name), venueSymbol: name, symbol: canonicalSymbol(base, quote, 'spot'),
    base: base.toUpperCase(), quote: quote.toUpperCase(), type: 'spot',
    tickSize: tickOfDecimals(info.price_decimals), lotSize: tickOfDecimals(info.quantity_decimals), api: 'v2',
  };
}

/** The `result` of a REST answer. @throws TributaryError `PROTOCOL_MALFORMED`, or the typed error of a non-zero code. */
function restResult(body: string, url: string): Record<string, unknown> {
  let o: { code?: unknown; message?: unknown; result?: unknown } | null;
  try {
    o = JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', 'crypto-com: get-instruments is not JSON', { url }, { cause: e });
  }
  if (o === null || typeof o !== 'object') throw new TributaryError('PROTOCOL_MALFORMED', 'crypto-com: get-instruments is not an object', { url });
  const code = Number(o.code ?? 0);
  if (code !== 0) {
    const kind = code === 42901 || code === 10006 ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED';
    throw new TributaryError(kind, `crypto-com get-instruments error ${String(o.code)}: ${String(o.message ?? '')}`, { url, code: o.code, reason: o.message });
  }
  if (o.result === null || typeof o.result !== 'object') throw new TributaryError('PROTOCOL_MALFORMED', 'crypto-com: get-instruments lacks result', { url });
  return o.result as Record<string, unknown>;
}

function isNotFound(e: unknown): boolean {
  return e instanceof TributaryError && e.code === 'HTTP_ERROR' && e.context?.status === 404;
}

/**
 * Loads instruments: v1 `GET {restBase}/exchange/v1/public/get-instruments` (`result.data`, spot + perpetuals); when
 * that path answers 404 (a v2-only server, e.g. the simulator playing the 2021 recording), v2
 * `GET {restBase}/v2/public/get-instruments` (`result.instruments`, spot). Instruments carry their generation.
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED`, `PROTOCOL_MALFORMED`.
 */
export async function loadCryptoComInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const base = trimSlash(endpoints.restBase);
  const v1 = base + CRYPTO_COM_PATHS.v1.instruments;
  let body: string | undefined;
  try {
    body = await http.get(v1);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const out: Instrument[] = [];
  if (body !== undefined) {
    const list = restResult(body, v1).data;
    if (!Array.isArray(list)) throw new TributaryError('PROTOCOL_MALFORMED', 'crypto-com: v1 get-instruments lacks result.data', { url: v1 });
    for (const x of list) {
      const i = cryptoComInstrumentV1(x as CryptoComInstrumentV1);
      if (i) out.push(i);
    }
    return out;
  }
  const v2 = base + CRYPTO_COM_PATHS.v2.instruments;
  const list = restResult(await http.get(v2), v2).instruments;
  if (!Array.isArray(list)) throw new TributaryError('PROTOCOL_MALFORMED', 'crypto-com: v2 get-instruments lacks result.instruments', { url: v2 });
  for (const x of list) {
    const i = cryptoComInstrumentV2(x as CryptoComInstrumentV2);
    if (i) out.push(i);
  }
  return out;
}

function channelsOf(msg: Record<string, unknown>): string[] | undefined {
  const params = msg.params as { channels?: unknown } | undefined;
  const ch = params?.channels;
  return Array.isArray(ch) && ch.every((c) => typeof c === 'string') ? (ch as string[]) : undefined;
}

/** A channel name as a subscription reference (`book.MATIC_USDT.150` → book depth 150), or undefined. */
function recordedOf(channel: string): RecordedSubscription | undefined {
  const parts = channel.split('.');
  let ch: Channel;
  let depth: number | undefined;
  if (parts[0] === 'book' && (parts.length === 2 || parts.length === 3)) {
    ch = 'book';
    if (parts.length === 3) {
      depth = Number(parts[2]);
      if (!Number.isInteger(depth) || depth <= 0) return undefined;
    }
  } else if (parts[0] === 'trade' && parts.length === 2) {
    ch = 'trades';
  } else if (parts[0] === 'ticker' && parts.length === 2) {
    ch = 'ticker';
  } else {
    return undefined;
  }
  const venueSymbol = parts[1];
  if (!venueSymbol) return undefined;
  const market = cryptoComKeyOf(venueSymbol).split(':')[0];
  return depth === undefined ? { market, venueSymbol, channel: ch } : { market, venueSymbol, channel: ch, depth };
}

/** Simulator / replay knowledge of Crypto.com: `subscribe` requests name channels; pushes carry `result.subscription`. */
export const cryptoComReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  /** subscribe/unsubscribe → channels + `{"id","code":0,"method"}`; `public/respond-heartbeat` needs no answer. */
  onClientFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg) return {};
    const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : 0;
    if (msg.method === 'subscribe' || msg.method === 'unsubscribe') {
      const channels = channelsOf(msg);
      if (!channels) return { replies: [JSON.stringify({ id, method: msg.method, code: 40003, message: 'INVALID_REQUEST' })] };
      const ack = JSON.stringify({ id, code: 0, method: msg.method });
      return msg.method === 'subscribe' ? { subscribe: channels, replies: [ack] } : { unsubscribe: channels, replies: [ack] };
    }
    return {};
  },

  /** Channel pushes: `result.subscription`; acks and heartbeats: null. */
  topicOfFrame(data) {
    const msg = parseJsonObject(data);
    const res = msg?.result as { subscription?: unknown } | undefined;
    return res && typeof res === 'object' && typeof res.subscription === 'string' ? res.subscription : null;
  },

  /** `book.{inst}.{d}` → book depth d, `trade.{inst}` → trades, `ticker.{inst}` → ticker; `-PERP` names are linear. */
  recordedSubscriptions(_addr, sends) {
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const msg = parseJsonObject(send);
      if (!msg || (msg.method !== 'subscribe' && msg.method !== 'unsubscribe')) continue;
      const channels = channelsOf(msg);
      if (!channels) continue;
      for (const c of channels) {
        if (msg.method === 'unsubscribe') {
          active.delete(c);
          continue;
        }
        const rs = recordedOf(c);
        if (rs) active.set(c, rs);
      }
    }
    return [...active.values()];
  },
};

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'stream', sequence: 'linked', truncateToDepth: true, source: CRYPTO_COM_DOCS.book },
  defaultDepth: CRYPTO_COM_DEFAULT_DEPTH,
  maxSubscriptionsPerConnection: CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION,
  subscriptionLimitSource: `${CRYPTO_COM_DOCS.common} (error 40107 EXCEED_MAX_SUBSCRIPTIONS; 400 as quoted by skip-mev/connect)`,
};

/** The Crypto.com connector. */
export const cryptoComConnector: Connector<CryptoComSession> = {
  venue: CRYPTO_COM,
  bookDepth: cryptoComKeptDepth,
  capabilities: CAPABILITIES,
  defaultEndpoints: { wsBase: 'wss://stream.crypto.com', restBase: 'https://api.crypto.com' },
  loadInstruments: loadCryptoComInstruments,
  plan: planCryptoCom,
  prepareConnection: prepareCryptoComConnection,

  newSession(plan) {
    return newCryptoComSession(
      plan.subscribeFrames,
      plan.subscriptions.map((s) => [s.instrument.venueSymbol, s.instrument.key] as const),
    );
  },

  decode: decodeCryptoCom,

  /**
   * Re-subscribes the book channel (no unsubscribe needed): the venue answers with a fresh snapshot. v1 asks for
   * snapshot + deltas again. Other channels need no resync (empty list).
   */
  resubscribeFrames(sub) {
    if (sub.channel !== 'book') return [];
    const api = cryptoComApiOf(sub.instrument);
    const now = Date.now();
    const request = JSON.parse(subscribeRequest(api, now, [cryptoComChannel(sub)])) as object;
    return [JSON.stringify({ ...request, nonce: now })];
  },

  subscribeFrames: (subs) => cryptoComRequestFrames('subscribe', subs),
  unsubscribeFrames: (subs) => cryptoComRequestFrames('unsubscribe', subs),
  /** Pushes name the instrument: map the added ones to their keys; subscribe requests join the rate-limit resend table. */
  updateSession(session, op, subs, frames) {
    if (op === 'add') {
      for (const s of subs) session.keys.set(s.instrument.venueSymbol, s.instrument.key);
      for (const f of frames) {
        const o = JSON.parse(f) as { id?: unknown };
        if (typeof o.id === 'number' || typeof o.id === 'string') session.requests.set(String(o.id), f);
      }
    }
    return frames;
  },

  replay: cryptoComReplay,
};
