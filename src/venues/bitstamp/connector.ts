/**
 * Bitstamp spot market data (venue id `bitstamp`), WebSocket API v2.
 *
 * - Instruments: REST `GET /api/v2/trading-pairs-info/` (`name` `BTC/USD`, `url_symbol` `btcusd`).
 * - Stream: `wss://ws.bitstamp.net`, `{"event":"bts:subscribe","data":{"channel":…}}` per channel,
 *   `diff_order_book_{pair}` (book) and `live_trades_{pair}` (trades) (https://www.bitstamp.net/websocket/v2/).
 * - Books: diffs on top of the REST snapshot `GET /api/v2/order_book/{pair}/`, aligned by `microtimestamp`
 *   (rule `{snapshot: 'rest', sequence: 'none'}`). No sequence, no checksum: gaps are undetectable; every
 *   reconnect (including the venue's `bts:request_reconnect`) rebuilds the books from REST.
 * - No ticker channel exists; this connector offers `book` and `trades` only (see README).
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
import { BITSTAMP, DIFF_PREFIX, TRADES_PREFIX, decodeBitstamp, newBitstampSession, parseMicros, type BitstampSession } from './decode.ts';
import { BITSTAMP_DOCS, type BitstampPairInfo } from './wire.ts';
import { levelsOk, parseJsonObject } from '../decode-util.ts';

/**
 * Most channels on one connection (our choice: Bitstamp documents no per-connection limit, see README). Keeps
 * the number of books rebuilt by one reconnect bounded.
 */
export const BITSTAMP_MAX_CHANNELS_PER_CONNECTION = 100;
/** Application heartbeat interval, ms (`{"event":"bts:heartbeat"}`; the server answers). */
export const BITSTAMP_HEARTBEAT_INTERVAL_MS = 15_000;
/** No frame for this long (ms) marks a connection stale (heartbeat answers count). */
export const BITSTAMP_STALE_AFTER_MS = 45_000;

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades'],
  transport: 'ws',
  bookSync: { snapshot: 'rest', sequence: 'none', source: BITSTAMP_DOCS.websocket },
  /** The REST snapshot and the diff stream are the full book: there is no depth option. */
  defaultDepth: Number.POSITIVE_INFINITY,
  maxSubscriptionsPerConnection: BITSTAMP_MAX_CHANNELS_PER_CONNECTION,
  subscriptionLimitSource: `${BITSTAMP_DOCS.websocket} (no per-connection limit documented: 100 channels is ours)`,
};

const HEARTBEAT_FRAME = JSON.stringify({ event: 'bts:heartbeat' });

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/**
 * The Bitstamp channel of one subscription: `diff_order_book_{pair}` or `live_trades_{pair}`.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for a channel Bitstamp does not serve here (`ticker`).
 */
export function bitstampChannel(sub: Subscription): string {
  const pair = sub.instrument.venueSymbol;
  switch (sub.channel) {
    case 'book':
      return DIFF_PREFIX + pair;
    case 'trades':
      return TRADES_PREFIX + pair;
    default:
      throw new TributaryError('INSTRUMENT_UNKNOWN', `bitstamp: channel ${sub.channel} is not served`, { key: sub.instrument.key, channel: sub.channel });
  }
}

/** A subscribe or unsubscribe request for one channel. */
export function bitstampRequest(event: 'bts:subscribe' | 'bts:unsubscribe', channel: string): string {
  return JSON.stringify({ event, data: { channel } });
}

/**
 * Splits subscriptions into connections `spot-0`, `spot-1`, … of at most
 * {@link BITSTAMP_MAX_CHANNELS_PER_CONNECTION} channels, one subscribe request per channel (all book channels
 * first, then trades, in order). Duplicate channels are subscribed once. Pure.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for a non-spot instrument or an unsupported channel.
 */
export function planBitstamp(subs: readonly Subscription[], endpoints: VenueEndpoints, maxChannels = BITSTAMP_MAX_CHANNELS_PER_CONNECTION): ConnectionPlan[] {
  const byChannel = new Map<string, Subscription[]>();
  const ordered = [...subs.filter((s) => s.channel === 'book'), ...subs.filter((s) => s.channel !== 'book')];
  for (const sub of ordered) {
    if (sub.instrument.type !== 'spot') {
      throw new TributaryError('INSTRUMENT_UNKNOWN', `bitstamp: only spot is served, not ${sub.instrument.key}`, { key: sub.instrument.key });
    }
    const ch = bitstampChannel(sub);
    const list = byChannel.get(ch);
    if (list) list.push(sub);
    else byChannel.set(ch, [sub]);
  }
  const channels = [...byChannel.keys()];
  const url = trimSlash(endpoints.wsBase) + '/';
  const plans: ConnectionPlan[] = [];
  for (let i = 0, n = 0; i < channels.length; i += maxChannels, n++) {
    const chunk = channels.slice(i, i + maxChannels);
    const subscriptions: Subscription[] = [];
    for (const c of chunk) subscriptions.push(...byChannel.get(c)!);
    plans.push({
      id: `spot-${n}`,
      url,
      subscriptions,
      subscribeFrames: chunk.map((c) => bitstampRequest('bts:subscribe', c)),
      heartbeat: { kind: 'app', intervalMs: BITSTAMP_HEARTBEAT_INTERVAL_MS, frame: () => HEARTBEAT_FRAME },
      staleAfterMs: BITSTAMP_STALE_AFTER_MS,
    });
  }
  return plans;
}

/** `10^-decimals` as a decimal string (`2` → `0.01`, `0` → `1`), or undefined. */
function step(decimals: unknown): string | undefined {
  if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > 30) return undefined;
  return decimals === 0 ? '1' : `0.${'0'.repeat(decimals - 1)}1`;
}

/**
 * Maps one trading-pairs-info entry to an {@link Instrument}: `name` `BTC/USD` → base/quote and canonical
 * symbol `BTC/USD`, `url_symbol` `btcusd` → venue symbol and key `spot:btcusd`. Tick size `10^-counter_decimals`
 * (quote currency), lot size `10^-base_decimals` (base units). Every listed pair is kept (`trading` Enabled or
 * Disabled: disabled pairs still have books). `undefined` for incomplete entries.
 */
export function bitstampInstrument(p: BitstampPairInfo): Instrument | undefined {
  if (p === null || typeof p !== 'object') return undefined;
  const { name, url_symbol: sym } = p;
  if (typeof name !== 'string' || typeof sym !== 'string' || !sym) return undefined;
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return undefined;
  const base = name.slice(0, slash);
  const quote = name.slice(slash + 1);
  return {
    venue: BITSTAMP,
    key: instrumentKey('spot', sym),
    venueSymbol: sym,
    symbol: canonicalSymbol(base, quote, 'spot'),
    base: base.toUpperCase(),
    quote: quote.toUpperCase(),
    type: 'spot',
    tickSize: step(p.counter_decimals),
    lotSize: step(p.base_decimals),
  };
}

function parseJson(body: string, what: string, url: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', `bitstamp: ${what} is not JSON`, { url }, { cause: e });
  }
}

/** A REST error body (`{"status":"error","reason",…}` or `{"code","message"}`) → typed error. */
function bodyError(o: unknown, url: string): TributaryError | undefined {
  const r = o as { status?: unknown; reason?: unknown; code?: unknown; message?: unknown; errors?: unknown } | null;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return undefined;
  if (r.status !== 'error' && r.code === undefined && r.errors === undefined) return undefined;
  const reason = JSON.stringify(r.reason ?? r.message ?? r.errors ?? '');
  const code = /rate|too many/i.test(reason) || String(r.code ?? '').startsWith('400.002') ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED';
  return new TributaryError(code, `bitstamp error: ${reason}`, { url, code: r.code, reason: r.reason ?? r.message });
}

/**
 * Loads all listed pairs from `GET {restBase}/api/v2/trading-pairs-info/`.
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED`, `PROTOCOL_MALFORMED`.
 */
export async function loadBitstampInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const url = `${trimSlash(endpoints.restBase)}/api/v2/trading-pairs-info/`;
  const o = parseJson(await http.get(url), 'trading-pairs-info', url);
  if (!Array.isArray(o)) throw bodyError(o, url) ?? new TributaryError('PROTOCOL_MALFORMED', 'bitstamp: trading-pairs-info is not a list', { url });
  const out: Instrument[] = [];
  for (const p of o) {
    const i = bitstampInstrument(p as BitstampPairInfo);
    if (i) out.push(i);
  }
  return out;
}

/**
 * Fetches the full REST book `GET {restBase}/api/v2/order_book/{pair}/`: venue level arrays, `seq` = the
 * snapshot's `microtimestamp` (µs; diffs with µs ≤ it are already in it), `ts` = microtimestamp in ms.
 * `depth` is ignored (the endpoint has no depth parameter; diffs cover the whole book).
 * Source: https://www.bitstamp.net/api/#tag/Order-book
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http`), `VENUE_REJECTED`, `PROTOCOL_MALFORMED`.
 */
export async function bitstampBookSnapshot(instrument: Instrument, _depth: number, http: Http, endpoints: VenueEndpoints): Promise<BookSnapshot> {
  const url = `${trimSlash(endpoints.restBase)}/api/v2/order_book/${encodeURIComponent(instrument.venueSymbol)}/`;
  const o = parseJson(await http.get(url), 'order_book', url);
  const r = o as { microtimestamp?: unknown; bids?: unknown; asks?: unknown } | null;
  const us = r !== null && typeof r === 'object' ? parseMicros(r.microtimestamp) : NaN;
  if (us !== us || !levelsOk(r!.bids) || !levelsOk(r!.asks)) {
    throw bodyError(o, url) ?? new TributaryError('PROTOCOL_MALFORMED', 'bitstamp: order_book lacks microtimestamp, bids or asks', { url });
  }
  return { bids: r!.bids, asks: r!.asks, seq: us, ts: Math.floor(us / 1000) };
}

// ---- replay hooks ------------------------------------------------------------------------------------

/** Topic of connection-level venue frames (`bts:request_reconnect`): streamed to every subscribed client. */
export const BITSTAMP_CONNECTION_TOPIC = 'bts:connection';

function channelOfRequest(msg: Record<string, unknown>): string | undefined {
  const d = msg.data as { channel?: unknown } | null | undefined;
  return d !== null && typeof d === 'object' && typeof d.channel === 'string' && d.channel !== '' ? d.channel : undefined;
}

/** A channel as a subscription reference (`diff_order_book_btcusd` → book of `btcusd`), or undefined. */
function recordedOf(channel: string): RecordedSubscription | undefined {
  let c: Channel;
  let pair: string;
  if (channel.startsWith(DIFF_PREFIX)) {
    c = 'book';
    pair = channel.slice(DIFF_PREFIX.length);
  } else if (channel.startsWith(TRADES_PREFIX)) {
    c = 'trades';
    pair = channel.slice(TRADES_PREFIX.length);
  } else {
    return undefined;
  }
  return pair ? { market: 'spot', venueSymbol: pair, channel: c } : undefined;
}

/** Simulator / replay knowledge of Bitstamp: `bts:subscribe` frames, `channel` in every data frame. */
export const bitstampReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  onClientFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg) return { replies: [JSON.stringify({ event: 'bts:error', channel: '', data: { code: null, message: 'Incorrect JSON format.' } })] };
    if (msg.event === 'bts:heartbeat') return { replies: [JSON.stringify({ event: 'bts:heartbeat', channel: '', data: { status: 'success' } })] };
    if (msg.event !== 'bts:subscribe' && msg.event !== 'bts:unsubscribe') return {};
    const channel = channelOfRequest(msg);
    if (channel === undefined) return { replies: [JSON.stringify({ event: 'bts:error', channel: '', data: { code: null, message: 'Bad subscription string.' } })] };
    if (msg.event === 'bts:subscribe') {
      return { subscribe: [channel, BITSTAMP_CONNECTION_TOPIC], replies: [JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} })] };
    }
    return { unsubscribe: [channel], replies: [JSON.stringify({ event: 'bts:unsubscription_succeeded', channel, data: {} })] };
  },

  topicOfFrame(data) {
    const msg = parseJsonObject(data);
    if (!msg || typeof msg.event !== 'string') return null;
    if (msg.event === 'bts:request_reconnect') return BITSTAMP_CONNECTION_TOPIC;
    if (msg.event.startsWith('bts:')) return null; // acks, heartbeats, errors: answered by onClientFrame
    return typeof msg.channel === 'string' && msg.channel !== '' ? msg.channel : null;
  },

  recordedSubscriptions(_addr, sends) {
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const msg = parseJsonObject(send);
      if (!msg) continue;
      const channel = channelOfRequest(msg);
      if (channel === undefined) continue;
      if (msg.event === 'bts:subscribe') {
        const rs = recordedOf(channel);
        if (rs) active.set(channel, rs);
      } else if (msg.event === 'bts:unsubscribe') {
        active.delete(channel);
      }
    }
    return [...active.values()];
  },
};

/** The Bitstamp connector. */
export const bitstampConnector: Connector<BitstampSession> = {
  venue: BITSTAMP,
  capabilities: CAPABILITIES,
  defaultEndpoints: { wsBase: 'wss://ws.bitstamp.net', restBase: 'https://www.bitstamp.net' },
  loadInstruments: loadBitstampInstruments,
  plan: (subs, endpoints) => planBitstamp(subs, endpoints),

  newSession(plan) {
    const pairs: [string, string][] = [];
    for (const s of plan.subscriptions) {
      if (s.channel === 'book') pairs.push([DIFF_PREFIX + s.instrument.venueSymbol, s.instrument.key]);
      else if (s.channel === 'trades') pairs.push([TRADES_PREFIX + s.instrument.venueSymbol, s.instrument.key]);
    }
    return newBitstampSession(pairs);
  },

  decode: decodeBitstamp,
  bookSnapshot: bitstampBookSnapshot,

  /**
   * One `{"event":"bts:subscribe","data":{"channel"}}` per channel on the open connection (answered
   * `bts:subscription_succeeded`). Source: https://www.bitstamp.net/websocket/v2/
   */
  subscribeFrames: (subs) => [...new Set(subs.map(bitstampChannel))].map((c) => bitstampRequest('bts:subscribe', c)),
  /** One `{"event":"bts:unsubscribe","data":{"channel"}}` per channel (answered `bts:unsubscription_succeeded`). */
  unsubscribeFrames: (subs) => [...new Set(subs.map(bitstampChannel))].map((c) => bitstampRequest('bts:unsubscribe', c)),
  /** Frames carry their channel name: map the added channels to their keys. */
  updateSession(session, op, subs, frames) {
    if (op === 'add') for (const s of subs) session.keys.set(bitstampChannel(s), s.instrument.key);
    return frames;
  },

  replay: bitstampReplay,
};
