/**
 * Kraken spot market data (venue id `kraken`), WebSocket v2 live by default, v1 for recorded traffic.
 *
 * - Instruments: REST `GET /0/public/AssetPairs` (https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs):
 *   key `spot:{wsname}` (`spot:XBT/USD`), canonical `BTC/USD` (XBT → BTC, XDG → DOGE), tick / lot size from
 *   `pair_decimals` / `lot_decimals`.
 * - Protocol: decided by the WebSocket URL — a `wsBase` whose path ends in `/v2` (the default
 *   `wss://ws.kraken.com/v2`) speaks v2, any other (`wss://ws.kraken.com`, the simulator's `/kraken`) v1, which is
 *   what the recorded connections used (https://docs.kraken.com/exchange/api-reference/spot-websocket).
 * - Books: snapshot in-stream, no sequence numbers, CRC32 checksum of the top 10 after every update (v2: also on the
 *   snapshot); each side is cut to the subscribed depth after every message. Resync = unsubscribe + subscribe of that
 *   pair's book (https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1, …/book-checksum-v2).
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
import { krakenChecksumMatches } from './checksum.ts';
import {
  KRAKEN,
  decimalsOf,
  decodeKraken,
  krakenCommonAsset,
  krakenErrorCode,
  krakenV2Symbol,
  krakenWsName,
  newKrakenSession,
  type KrakenSession,
} from './decode.ts';
import { KRAKEN_DOCS, type KrakenAssetPair, type KrakenProtocol } from './wire.ts';
import { isObject, isStringArray } from '../decode-util.ts';

/** Book depths Kraken serves (v1 and v2). */
export const KRAKEN_BOOK_DEPTHS: readonly number[] = [10, 25, 100, 500, 1000];
/** Depth subscribed when a subscription does not say (levels per side). */
export const KRAKEN_DEFAULT_DEPTH = 100;
/**
 * Subscriptions per connection. Kraken documents no fixed number (its message-rate limit is dynamic); this keeps
 * the burst of subscribe requests on open small and the per-socket book load bounded.
 */
export const KRAKEN_MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** Symbols per subscribe request (ours; keeps each request small). */
export const KRAKEN_MAX_SYMBOLS_PER_REQUEST = 50;
/** Application ping interval, ms (the server closes connections idle for about a minute). */
export const KRAKEN_PING_INTERVAL_MS = 20_000;
/** No frame for this long (ms) marks a connection stale (the server heartbeats about once a second when subscribed). */
export const KRAKEN_STALE_AFTER_MS = 45_000;

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'stream', sequence: 'none', truncateToDepth: true, source: KRAKEN_DOCS.bookChecksumV1 },
  defaultDepth: KRAKEN_DEFAULT_DEPTH,
  maxSubscriptionsPerConnection: KRAKEN_MAX_SUBSCRIPTIONS_PER_CONNECTION,
  subscriptionLimitSource: `${KRAKEN_DOCS.websocket} (no per-connection count documented; the message rate limit is dynamic: 100 is ours)`,
};

/**
 * A subscription as planned: annotated with the protocol of the connection it is planned on, so that
 * {@link krakenConnector}`.resubscribeFrames` (which only receives the subscription) speaks the right protocol.
 */
export interface KrakenPlannedSubscription extends Subscription {
  readonly protocol: KrakenProtocol;
}

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/** Protocol of a WebSocket URL: path ending in `/v2` → `v2`, anything else (or an unparsable URL) → `v1`. */
export function krakenProtocolOf(url: string): KrakenProtocol {
  try {
    return trimSlash(new URL(url).pathname).endsWith('/v2') ? 'v2' : 'v1';
  } catch {
    return 'v1';
  }
}

/** Smallest Kraken book depth ≥ `depth` (10, 25, 100, 500, 1000; capped at 1000). Missing/invalid → 100. */
export function krakenBookDepth(depth: number | undefined): number {
  if (depth === undefined || !(depth > 0)) return KRAKEN_DEFAULT_DEPTH;
  for (const d of KRAKEN_BOOK_DEPTHS) if (depth <= d) return d;
  return KRAKEN_BOOK_DEPTHS[KRAKEN_BOOK_DEPTHS.length - 1];
}

/** Wire channel name of a channel (v1 and v2 use the same names). */
function wireChannel(channel: Channel): 'book' | 'trade' | 'ticker' {
  return channel === 'trades' ? 'trade' : channel;
}

/** Wire symbol of an instrument on a protocol: v1 `wsname` (`XBT/USD`), v2 common name (`BTC/USD`). */
export function krakenWireSymbol(instrument: Instrument, protocol: KrakenProtocol): string {
  return protocol === 'v1' ? instrument.venueSymbol : krakenV2Symbol(instrument.venueSymbol);
}

/**
 * One subscribe / unsubscribe request for `symbols` of one channel (and depth, for books). `reqId` (an integer Kraken
 * echoes in its answer) is included when given.
 */
export function krakenRequestFrame(
  protocol: KrakenProtocol,
  op: 'subscribe' | 'unsubscribe',
  channel: Channel,
  symbols: readonly string[],
  depth?: number,
  reqId?: number,
): string {
  const name = wireChannel(channel);
  if (protocol === 'v1') {
    const subscription = name === 'book' ? { name, depth } : { name };
    return JSON.stringify(reqId === undefined ? { event: op, pair: symbols, subscription } : { event: op, reqid: reqId, pair: symbols, subscription });
  }
  const params: Record<string, unknown> = { channel: name, symbol: symbols };
  if (name === 'book') params.depth = depth;
  // Trades: no snapshot of past trades (they would be re-emitted as new); ticker: update on every best bid/offer change.
  if (op === 'subscribe') {
    if (name === 'trade') params.snapshot = false;
    if (name === 'book') params.snapshot = true;
    if (name === 'ticker') params.event_trigger = 'bbo';
  }
  return JSON.stringify(reqId === undefined ? { method: op, params } : { method: op, params, req_id: reqId });
}

/** Application ping frames with increasing request ids (one counter per connection plan). */
function pingFrame(protocol: KrakenProtocol): () => string {
  let n = 0;
  return protocol === 'v1' ? () => `{"event":"ping","reqid":${++n}}` : () => `{"method":"ping","req_id":${++n}}`;
}

/**
 * Splits subscriptions into connections (`spot-0`, `spot-1`, …) of at most 100 subscriptions, all on `wsBase` as
 * given; the protocol follows the URL ({@link krakenProtocolOf}). Per connection, one subscribe request per
 * (channel, depth) and at most 50 symbols each; book depths are rounded up to a Kraken depth. Planned subscriptions
 * carry their protocol ({@link KrakenPlannedSubscription}). Request ids count from 1 per connection. Pure.
 * @throws TributaryError `INSTRUMENT_UNKNOWN` for a non-spot instrument.
 */
export function planKraken(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const url = trimSlash(endpoints.wsBase);
  const protocol = krakenProtocolOf(url);
  const seen = new Set<string>();
  const unique: KrakenPlannedSubscription[] = [];
  for (const sub of subs) {
    if (sub.instrument.type !== 'spot') {
      throw new TributaryError('INSTRUMENT_UNKNOWN', `kraken: only spot is served, not ${sub.instrument.key}`, { key: sub.instrument.key });
    }
    const id = `${sub.instrument.key}|${sub.channel}`;
    if (seen.has(id)) continue;
    seen.add(id);
    unique.push({ ...sub, protocol });
  }
  const plans: ConnectionPlan[] = [];
  for (let i = 0, n = 0; i < unique.length; i += KRAKEN_MAX_SUBSCRIPTIONS_PER_CONNECTION, n++) {
    const chunk = unique.slice(i, i + KRAKEN_MAX_SUBSCRIPTIONS_PER_CONNECTION);
    const groups = new Map<string, { channel: Channel; depth: number | undefined; symbols: string[] }>();
    for (const s of chunk) {
      const depth = s.channel === 'book' ? krakenBookDepth(s.depth) : undefined;
      const g = `${s.channel}|${depth ?? ''}`;
      let e = groups.get(g);
      if (!e) groups.set(g, (e = { channel: s.channel, depth, symbols: [] }));
      e.symbols.push(krakenWireSymbol(s.instrument, protocol));
    }
    const frames: string[] = [];
    for (const g of groups.values()) {
      for (let j = 0; j < g.symbols.length; j += KRAKEN_MAX_SYMBOLS_PER_REQUEST) {
        frames.push(krakenRequestFrame(protocol, 'subscribe', g.channel, g.symbols.slice(j, j + KRAKEN_MAX_SYMBOLS_PER_REQUEST), g.depth, frames.length + 1));
      }
    }
    plans.push({
      id: `spot-${n}`,
      url,
      subscriptions: chunk,
      subscribeFrames: frames,
      heartbeat: { kind: 'app', intervalMs: KRAKEN_PING_INTERVAL_MS, frame: pingFrame(protocol) },
      staleAfterMs: KRAKEN_STALE_AFTER_MS,
    });
  }
  return plans;
}

/**
 * Run-time subscribe / unsubscribe requests for `subs` on an open connection of `plan`, in the protocol of its URL:
 * one request per (channel, depth), at most 50 symbols each, books at their Kraken depth. v1
 * `{"event":"subscribe"|"unsubscribe","pair":[…],"subscription":{"name","depth"?}}` (answered per pair with
 * `subscriptionStatus`; a book subscribe with its snapshot), v2 `{"method":"subscribe"|"unsubscribe","params":{…}}`.
 * Sources: https://docs.kraken.com/exchange/api-reference/spot-websocket-v1/subscribe, …/spot-websocket-v1/unsubscribe,
 * https://docs.kraken.com/exchange/api-reference/spot-websocket (v2).
 */
export function krakenRequestFrames(op: 'subscribe' | 'unsubscribe', subs: readonly Subscription[], plan: ConnectionPlan): string[] {
  const protocol = krakenProtocolOf(plan.url);
  const groups = new Map<string, { channel: Channel; depth: number | undefined; symbols: string[] }>();
  for (const s of subs) {
    const depth = s.channel === 'book' ? krakenBookDepth(s.depth) : undefined;
    const g = `${s.channel}|${depth ?? ''}`;
    let e = groups.get(g);
    if (!e) groups.set(g, (e = { channel: s.channel, depth, symbols: [] }));
    const sym = krakenWireSymbol(s.instrument, protocol);
    if (!e.symbols.includes(sym)) e.symbols.push(sym);
  }
  const frames: string[] = [];
  for (const g of groups.values()) {
    for (let j = 0; j < g.symbols.length; j += KRAKEN_MAX_SYMBOLS_PER_REQUEST) {
      frames.push(krakenRequestFrame(protocol, op, g.channel, g.symbols.slice(j, j + KRAKEN_MAX_SYMBOLS_PER_REQUEST), g.depth));
    }
  }
  return frames;
}

/** `"0.1"` for 1 decimal, `"1"` for 0: the step of a number of decimal places. */
function stepOf(decimals: number): string {
  return decimals <= 0 ? '1' : `0.${'0'.repeat(decimals - 1)}1`;
}

/**
 * Maps one AssetPairs entry to an {@link Instrument}, or `undefined` when it has no `wsname` (dark-pool `….d`
 * pairs) or is malformed. Key `spot:{wsname}`, venue symbol = `wsname` (`XBT/USD`), canonical `BTC/USD`.
 * Tick size: `tick_size` when it has `pair_decimals` decimals, else 10^−pair_decimals (quote currency); lot size
 * 10^−lot_decimals (base units). Those decimal counts are the precisions v2 numbers are formatted with.
 */
export function krakenInstrument(pair: KrakenAssetPair): Instrument | undefined {
  if (pair === null || typeof pair !== 'object') return undefined;
  const ws = pair.wsname;
  if (typeof ws !== 'string') return undefined;
  const slash = ws.indexOf('/');
  if (slash <= 0 || slash === ws.length - 1 || ws.indexOf('/', slash + 1) >= 0) return undefined;
  const base = krakenCommonAsset(ws.slice(0, slash));
  const quote = krakenCommonAsset(ws.slice(slash + 1));
  const pd = pair.pair_decimals;
  const ld = pair.lot_decimals;
  let tickSize: string | undefined;
  if (Number.isInteger(pd) && (pd as number) >= 0) {
    tickSize = typeof pair.tick_size === 'string' && decimalsOf(pair.tick_size) === pd ? pair.tick_size : stepOf(pd as number);
  }
  const lotSize = Number.isInteger(ld) && (ld as number) >= 0 ? stepOf(ld as number) : undefined;
  return {
    venue: KRAKEN,
    key: instrumentKey('spot', ws),
    venueSymbol: ws,
    symbol: canonicalSymbol(base, quote, 'spot'),
    base: base.toUpperCase(),
    quote: quote.toUpperCase(),
    type: 'spot',
    tickSize,
    lotSize,
  };
}

/**
 * Loads spot pairs from `GET {restBase}/0/public/AssetPairs`.
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http` or an `EAPI:Rate limit` error),
 *         `VENUE_REJECTED` (non-empty `error`), `PROTOCOL_MALFORMED`.
 */
export async function loadKrakenInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const url = `${trimSlash(endpoints.restBase)}/0/public/AssetPairs`;
  const body = await http.get(url);
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch (e) {
    throw new TributaryError('PROTOCOL_MALFORMED', 'kraken: AssetPairs is not JSON', { url }, { cause: e });
  }
  const r = o as { error?: unknown; result?: unknown } | null;
  if (r === null || typeof r !== 'object') throw new TributaryError('PROTOCOL_MALFORMED', 'kraken: AssetPairs is not an object', { url });
  if (Array.isArray(r.error) && r.error.length > 0) {
    const text = r.error.map(String).join('; ');
    throw new TributaryError(krakenErrorCode(text), `kraken: AssetPairs error: ${text}`, { url, error: r.error });
  }
  if (r.result === null || typeof r.result !== 'object' || Array.isArray(r.result)) {
    throw new TributaryError('PROTOCOL_MALFORMED', 'kraken: AssetPairs lacks result', { url });
  }
  const out: Instrument[] = [];
  const seen = new Set<string>();
  for (const p of Object.values(r.result as Record<string, KrakenAssetPair>)) {
    const i = krakenInstrument(p);
    if (i && !seen.has(i.key)) {
      seen.add(i.key);
      out.push(i);
    }
  }
  return out;
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Replay topic of a channel and a v1 pair / v2 symbol: `book:XBT/USD`, `trade:BTC/USD`, `ticker:…`. */
function topic(channel: string, symbol: string): string {
  return `${channel}:${symbol}`;
}

/** Our channel of a Kraken channel name (`book-1000` and `book` → book), or undefined for channels we do not use. */
function channelOf(name: string): Channel | undefined {
  if (name === 'book' || name.startsWith('book-')) return 'book';
  if (name === 'trade') return 'trades';
  if (name === 'ticker') return 'ticker';
  return undefined;
}

/** A client request (v1 or v2) as `{op, channel, symbols, depth, reqId}`, or undefined when it is not one. */
function parseRequest(data: string): { protocol: KrakenProtocol; op: string; channel: string; symbols: string[]; depth?: number; reqId: unknown } | undefined {
  const msg = parseJson(data);
  if (!isObject(msg)) return undefined;
  if (typeof msg.event === 'string') {
    const s = isObject(msg.subscription) ? msg.subscription : {};
    return {
      protocol: 'v1',
      op: msg.event,
      channel: typeof s.name === 'string' ? s.name : '',
      symbols: isStringArray(msg.pair) ? msg.pair : [],
      depth: typeof s.depth === 'number' ? s.depth : undefined,
      reqId: msg.reqid,
    };
  }
  if (typeof msg.method === 'string') {
    const p = isObject(msg.params) ? msg.params : {};
    return {
      protocol: 'v2',
      op: msg.method,
      channel: typeof p.channel === 'string' ? p.channel : '',
      symbols: isStringArray(p.symbol) ? p.symbol : [],
      depth: typeof p.depth === 'number' ? p.depth : undefined,
      reqId: msg.req_id,
    };
  }
  return undefined;
}

/**
 * Simulator / replay knowledge of Kraken. Topics are `{channel}:{symbol}` with the channel's base name (`book`,
 * `trade`, `ticker`, `spread`, `ohlc`) and the wire symbol of the protocol (v1 `XBT/USD`, v2 `BTC/USD`).
 */
export const krakenReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  /** v1 / v2 subscribe, unsubscribe and ping → topics plus the venue's acknowledgements and pongs, in its shapes. */
  onClientFrame(data) {
    const r = parseRequest(data);
    if (!r) return {};
    const now = new Date().toISOString();
    if (r.op === 'ping') {
      return {
        replies: [r.protocol === 'v1' ? JSON.stringify({ event: 'pong', reqid: r.reqId }) : JSON.stringify({ method: 'pong', req_id: r.reqId, time_in: now, time_out: now })],
      };
    }
    if (r.op !== 'subscribe' && r.op !== 'unsubscribe') return {};
    if (r.channel === '' || r.symbols.length === 0) {
      const error = 'Malformed request';
      return {
        replies: [
          r.protocol === 'v1'
            ? JSON.stringify({ event: 'error', errorMessage: error, reqid: r.reqId })
            : JSON.stringify({ error, method: r.op, success: false, req_id: r.reqId, time_in: now, time_out: now }),
        ],
      };
    }
    const topics = r.symbols.map((s) => topic(r.channel, s));
    const status = r.op === 'subscribe' ? 'subscribed' : 'unsubscribed';
    const replies = r.symbols.map((s) =>
      r.protocol === 'v1'
        ? JSON.stringify({
            channelName: r.channel === 'book' ? `book-${r.depth ?? 10}` : r.channel,
            event: 'subscriptionStatus',
            pair: s,
            reqid: r.reqId,
            status,
            subscription: r.channel === 'book' ? { depth: r.depth ?? 10, name: r.channel } : { name: r.channel },
          })
        : JSON.stringify({
            method: r.op,
            result: r.channel === 'book' ? { channel: r.channel, depth: r.depth ?? 10, snapshot: true, symbol: s } : { channel: r.channel, symbol: s },
            success: true,
            req_id: r.reqId,
            time_in: now,
            time_out: now,
          }),
    );
    return r.op === 'subscribe' ? { subscribe: topics, replies } : { unsubscribe: topics, replies };
  },

  /** v1 arrays → `{base channel}:{pair}`; v2 channel messages → `{channel}:{data[0].symbol}`; control frames → null. */
  topicOfFrame(data) {
    const msg = parseJson(data);
    if (Array.isArray(msg)) {
      const n = msg.length;
      const name = msg[n - 2];
      const pair = msg[n - 1];
      if (n < 4 || typeof name !== 'string' || typeof pair !== 'string') return null;
      const dash = name.indexOf('-');
      return topic(dash > 0 ? name.slice(0, dash) : name, pair);
    }
    if (!isObject(msg) || typeof msg.channel !== 'string' || !Array.isArray(msg.data)) return null;
    const first: unknown = msg.data[0];
    return isObject(first) && typeof first.symbol === 'string' ? topic(msg.channel, first.symbol) : null;
  },

  /**
   * Book, trade and ticker subscriptions of a recorded connection, from its v1 or v2 subscribe / unsubscribe frames
   * (later unsubscribes remove). Market `spot`; venue symbol = v1 `wsname` (v2 symbols mapped back: `BTC` → `XBT`,
   * `DOGE` → `XDG`); book depth as subscribed (default 10, Kraken's).
   */
  recordedSubscriptions(_addr, sends) {
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const r = parseRequest(send);
      if (!r || (r.op !== 'subscribe' && r.op !== 'unsubscribe')) continue;
      const channel = channelOf(r.channel);
      if (!channel) continue;
      for (const s of r.symbols) {
        const venueSymbol = r.protocol === 'v2' ? krakenWsName(s) : s;
        const id = `${channel}|${venueSymbol}`;
        if (r.op === 'unsubscribe') {
          active.delete(id);
          continue;
        }
        active.set(id, channel === 'book' ? { market: 'spot', venueSymbol, channel, depth: r.depth ?? 10 } : { market: 'spot', venueSymbol, channel });
      }
    }
    return [...active.values()];
  },
};

/** The Kraken spot connector (see the module doc). */
export const krakenConnector: Connector<KrakenSession> = {
  bookDepth: krakenBookDepth,
  venue: KRAKEN,
  capabilities: CAPABILITIES,
  defaultEndpoints: { wsBase: 'wss://ws.kraken.com/v2', restBase: 'https://api.kraken.com' },
  loadInstruments: loadKrakenInstruments,
  plan: planKraken,

  /** Session of a connection: protocol from the plan URL, lookups from its subscriptions' instruments. */
  newSession(plan) {
    return newKrakenSession(
      krakenProtocolOf(plan.url),
      plan.subscriptions.map((s) => s.instrument),
    );
  },

  decode: decodeKraken,

  /**
   * Unsubscribe then subscribe the pair's book at its Kraken depth, in the protocol of the connection the
   * subscription was planned on (v2 when it was not planned by {@link planKraken}); Kraken answers with a snapshot.
   */
  resubscribeFrames(sub) {
    const protocol = (sub as Partial<KrakenPlannedSubscription>).protocol ?? 'v2';
    const symbol = krakenWireSymbol(sub.instrument, protocol);
    const depth = sub.channel === 'book' ? krakenBookDepth(sub.depth) : undefined;
    return [krakenRequestFrame(protocol, 'unsubscribe', sub.channel, [symbol], depth), krakenRequestFrame(protocol, 'subscribe', sub.channel, [symbol], depth)];
  },

  subscribeFrames: (subs, plan) => krakenRequestFrames('subscribe', subs, plan),
  unsubscribeFrames: (subs, plan) => krakenRequestFrames('unsubscribe', subs, plan),
  /** Added instruments join the session's v1 / v2 lookups (v2 with the precisions its checksum text is formatted at). */
  updateSession(session, op, subs, frames) {
    if (op !== 'add') return frames;
    const extra = newKrakenSession(session.protocol, subs.map((s) => s.instrument));
    for (const [k, v] of extra.v1) session.v1.set(k, v);
    for (const [k, v] of extra.v2) session.v2.set(k, v);
    return frames;
  },

  /** Unsigned CRC32 of the top 10 asks then bids (see `checksum.ts`). */
  checksum(book, expected) {
    return krakenChecksumMatches(book, expected);
  },

  replay: krakenReplay,
};
