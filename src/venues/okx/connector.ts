/**
 * OKX v5 public market data (venue id `okx`): spot, perpetual swaps and dated futures (linear and inverse).
 *
 * - Instruments: REST `GET /api/v5/public/instruments?instType=SPOT|SWAP|FUTURES`
 *   (https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments): key `{type}:{instId}`
 *   (`spot:BTC-USDT`, `linear:BTC-USDT-SWAP`, `inverse:BTC-USD-220527`).
 * - Streams: `wss://ws.okx.com:8443/ws/v5/public`, args `{channel, instId}`; keep-alive: the text `ping` every 20 s,
 *   answered by `pong` (https://www.okx.com/docs-v5/en/#overview-websocket).
 * - Books: snapshot in-stream then increments linked by `prevSeqId` → `seqId`, CRC32 checksum of the top 25
 *   (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel). Resync = send the
 *   subscribe again, which makes OKX push a fresh snapshot.
 * - Limits: fewer than 30 depth channels per connection; 480 subscribe / unsubscribe / login operations per hour per
 *   connection (one request = one operation, whatever its number of args).
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
import { okxChecksumMatches } from './checksum.ts';
import { OKX, decodeOkx, newOkxSession, okxErrorCode, okxMarketOfInstId, type OkxSession } from './decode.ts';
import { OKX_BOOK_CHANNEL_DEPTH, OKX_DOCS, type OkxArg, type OkxBookChannel, type OkxInstrumentInfo } from './wire.ts';
import { parseJsonObject } from '../decode-util.ts';

/** Depth channels per connection: OKX recommends fewer than 30. */
export const OKX_MAX_BOOK_CHANNELS_PER_CONNECTION = 29;
/** Args (channels of any kind) per connection (ours: bounds the subscribe burst and the per-socket load). */
export const OKX_MAX_ARGS_PER_CONNECTION = 150;
/** Args per subscribe request (ours). One request costs one of the 480 operations per hour, whatever its size. */
export const OKX_MAX_ARGS_PER_REQUEST = 50;
/** Keep-alive `ping` interval, ms: OKX drops a connection after 30 s without data. */
export const OKX_PING_INTERVAL_MS = 20_000;
/** No frame (data or `pong`) for this long (ms) marks a connection stale. */
export const OKX_STALE_AFTER_MS = 45_000;
/** Depth when a subscription does not say: the 400-level `books` channel. */
export const OKX_DEFAULT_DEPTH = 400;
/** Instrument types loaded. */
export const OKX_INST_TYPES = ['SPOT', 'SWAP', 'FUTURES'] as const;

const CAPABILITIES: VenueCapabilities = {
  channels: ['book', 'trades', 'ticker'],
  transport: 'ws',
  bookSync: { snapshot: 'stream', sequence: 'linked', source: OKX_DOCS.orderBook },
  defaultDepth: OKX_DEFAULT_DEPTH,
  maxSubscriptionsPerConnection: OKX_MAX_ARGS_PER_CONNECTION,
  subscriptionLimitSource: `${OKX_DOCS.websocket} (fewer than 30 depth channels per connection, enforced by plan(); 150 args is ours)`,
};

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

/**
 * Book channel for a requested depth (levels per side): 1 → `bbo-tbt`, ≤ 5 → `books5`, otherwise the 400-level
 * `books` (the login-only tick-by-tick channels are never chosen). Missing/invalid → `books`.
 */
export function okxBookChannel(depth: number | undefined): OkxBookChannel {
  if (depth === undefined || !(depth > 0)) return 'books';
  if (depth <= 1) return 'bbo-tbt';
  if (depth <= 5) return 'books5';
  return 'books';
}

/** The arg of one subscription: `{channel: books|books5|bbo-tbt|trades|tickers, instId}`. */
export function okxArg(sub: Subscription): { channel: string; instId: string } {
  const instId = sub.instrument.venueSymbol;
  switch (sub.channel) {
    case 'book':
      return { channel: okxBookChannel(sub.depth), instId };
    case 'trades':
      return { channel: 'trades', instId };
    case 'ticker':
      return { channel: 'tickers', instId };
  }
}

/** A subscribe / unsubscribe request. */
export function okxRequestFrame(op: 'subscribe' | 'unsubscribe', args: readonly { channel: string; instId: string }[]): string {
  return JSON.stringify({ op, args });
}

/**
 * Run-time `{"op":"subscribe"|"unsubscribe","args":[{channel,instId}]}` requests for `subs` on an open connection, at
 * most 50 args each (each request costs one of the connection's 480 operations per hour). OKX acknowledges every arg
 * (`{"event":"subscribe","arg"}`) and starts a book with its snapshot. Source: https://www.okx.com/docs-v5/en/#overview-websocket-subscribe
 * and …/#overview-websocket-unsubscribe.
 */
export function okxRequestFrames(op: 'subscribe' | 'unsubscribe', subs: readonly Subscription[]): string[] {
  const seen = new Set<string>();
  const args: { channel: string; instId: string }[] = [];
  for (const s of subs) {
    const a = okxArg(s);
    const id = `${a.channel}:${a.instId}`;
    if (seen.has(id)) continue;
    seen.add(id);
    args.push(a);
  }
  const frames: string[] = [];
  for (let j = 0; j < args.length; j += OKX_MAX_ARGS_PER_REQUEST) frames.push(okxRequestFrame(op, args.slice(j, j + OKX_MAX_ARGS_PER_REQUEST)));
  return frames;
}

interface PendingConn {
  readonly args: { channel: string; instId: string }[];
  readonly subs: Subscription[];
  books: number;
}

/**
 * Splits subscriptions into connections `public-0`, `public-1`, … on `/ws/v5/public`: at most 29 book channels and
 * 150 args per connection, subscribe requests of at most 50 args (so opening a connection costs ≤ 3 of its 480
 * hourly operations). Duplicate args are subscribed once. Pure.
 */
export function planOkx(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const byArg = new Map<string, { arg: { channel: string; instId: string }; subs: Subscription[] }>();
  for (const sub of subs) {
    const arg = okxArg(sub);
    const id = `${arg.channel}:${arg.instId}`;
    const e = byArg.get(id);
    if (e) e.subs.push(sub);
    else byArg.set(id, { arg, subs: [sub] });
  }
  const conns: PendingConn[] = [];
  let cur: PendingConn | undefined;
  for (const { arg, subs: s } of byArg.values()) {
    const isBook = arg.channel in OKX_BOOK_CHANNEL_DEPTH;
    if (!cur || cur.args.length >= OKX_MAX_ARGS_PER_CONNECTION || (isBook && cur.books >= OKX_MAX_BOOK_CHANNELS_PER_CONNECTION)) {
      cur = { args: [], subs: [], books: 0 };
      conns.push(cur);
    }
    cur.args.push(arg);
    cur.subs.push(...s);
    if (isBook) cur.books++;
  }
  const url = `${trimSlash(endpoints.wsBase)}/ws/v5/public`;
  return conns.map((c, i) => {
    const frames: string[] = [];
    for (let j = 0; j < c.args.length; j += OKX_MAX_ARGS_PER_REQUEST) frames.push(okxRequestFrame('subscribe', c.args.slice(j, j + OKX_MAX_ARGS_PER_REQUEST)));
    return {
      id: `public-${i}`,
      url,
      subscriptions: c.subs,
      subscribeFrames: frames,
      heartbeat: { kind: 'app', intervalMs: OKX_PING_INTERVAL_MS, frame: () => 'ping' },
      staleAfterMs: OKX_STALE_AFTER_MS,
    };
  });
}

/** `YYMMDD` (UTC) of a ms timestamp. */
function yymmdd(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => (n < 10 ? '0' : '') + n;
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate());
}

function nonEmpty(s: unknown): s is string {
  return typeof s === 'string' && s !== '';
}

/**
 * Maps one instruments entry to an {@link Instrument}, or `undefined` when it cannot be (options, missing fields).
 * SPOT `BTC-USDT` → `spot:BTC-USDT`, `BTC/USDT` (`baseCcy`/`quoteCcy`); SWAP `BTC-USDT-SWAP` (ctType linear) →
 * `linear:BTC-USDT-SWAP`, `BTC/USDT:USDT`; inverse `BTC-USD-SWAP` → `inverse:BTC-USD-SWAP`, `BTC/USD:BTC`; FUTURES
 * `BTC-USD-220527` → `BTC/USD:BTC-220527` (date from the instId, else `expTime`). Base/quote of derivatives from
 * `instFamily` / `uly` (`BTC-USD`), settle from `settleCcy`. Tick size `tickSz` (quote currency), lot size `lotSz`
 * (contracts for derivatives, base currency for spot).
 */
export function okxInstrument(info: OkxInstrumentInfo): Instrument | undefined {
  if (info === null || typeof info !== 'object' || !nonEmpty(info.instId)) return undefined;
  const { instId, instType } = info;
  const tickSize = nonEmpty(info.tickSz) ? info.tickSz : undefined;
  const lotSize = nonEmpty(info.lotSz) ? info.lotSz : undefined;
  if (instType === 'SPOT') {
    if (!nonEmpty(info.baseCcy) || !nonEmpty(info.quoteCcy)) return undefined;
    return {
      venue: OKX,
      key: instrumentKey('spot', instId),
      venueSymbol: instId,
      symbol: canonicalSymbol(info.baseCcy, info.quoteCcy, 'spot'),
      base: info.baseCcy.toUpperCase(),
      quote: info.quoteCcy.toUpperCase(),
      type: 'spot',
      tickSize,
      lotSize,
    };
  }
  if (instType !== 'SWAP' && instType !== 'FUTURES') return undefined;
  const type = info.ctType === 'linear' ? 'linear' : info.ctType === 'inverse' ? 'inverse' : undefined;
  const family = nonEmpty(info.instFamily) ? info.instFamily : nonEmpty(info.uly) ? info.uly : undefined;
  if (!type || !family || !nonEmpty(info.settleCcy)) return undefined;
  const dash = family.indexOf('-');
  if (dash <= 0 || dash === family.length - 1) return undefined;
  const base = family.slice(0, dash);
  const quote = family.slice(dash + 1);
  let symbol = canonicalSymbol(base, quote, type, info.settleCcy);
  if (instType === 'FUTURES') {
    const last = instId.slice(instId.lastIndexOf('-') + 1);
    const exp = Number(info.expTime);
    if (/^\d{6}$/.test(last)) symbol += '-' + last;
    else if (exp > 0) symbol += '-' + yymmdd(exp);
    else return undefined;
  }
  return {
    venue: OKX,
    key: instrumentKey(type, instId),
    venueSymbol: instId,
    symbol,
    base: base.toUpperCase(),
    quote: quote.toUpperCase(),
    settle: info.settleCcy.toUpperCase(),
    type,
    tickSize,
    lotSize,
  };
}

/**
 * Loads SPOT, SWAP and FUTURES instruments (one request each; the endpoint is not paginated).
 * @throws TributaryError `HTTP_ERROR` / `VENUE_RATE_LIMITED` (from `http` or code 50011), `VENUE_REJECTED`
 *         (`code` ≠ `"0"`), `PROTOCOL_MALFORMED`.
 */
export async function loadOkxInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]> {
  const base = trimSlash(endpoints.restBase);
  const out: Instrument[] = [];
  for (const t of OKX_INST_TYPES) {
    const url = `${base}/api/v5/public/instruments?instType=${t}`;
    const body = await http.get(url);
    let o: unknown;
    try {
      o = JSON.parse(body);
    } catch (e) {
      throw new TributaryError('PROTOCOL_MALFORMED', 'okx: instruments is not JSON', { url }, { cause: e });
    }
    const r = o as { code?: unknown; msg?: unknown; data?: unknown } | null;
    if (r === null || typeof r !== 'object' || (typeof r.code !== 'string' && typeof r.code !== 'number')) {
      throw new TributaryError('PROTOCOL_MALFORMED', 'okx: instruments lacks code', { url });
    }
    const code = String(r.code);
    if (code !== '0') throw new TributaryError(okxErrorCode(code), `okx: instruments error ${code}: ${String(r.msg)}`, { url, code, msg: r.msg });
    if (!Array.isArray(r.data)) throw new TributaryError('PROTOCOL_MALFORMED', 'okx: instruments lacks data', { url });
    for (const info of r.data) {
      const i = okxInstrument(info as OkxInstrumentInfo);
      if (i) out.push(i);
    }
  }
  return out;
}

function argsOf(v: unknown): OkxArg[] | undefined {
  if (!Array.isArray(v)) return undefined;
  for (const a of v) if (a === null || typeof a !== 'object' || typeof (a as OkxArg).channel !== 'string') return undefined;
  return v as OkxArg[];
}

/** Replay topic of an arg: `{channel}:{instId}` (`books:BTC-USDT`). */
function topicOf(a: OkxArg): string {
  return `${a.channel}:${a.instId ?? ''}`;
}

/** A recorded arg as a subscription reference (books* → book with the channel's depth), or undefined. */
function recordedOf(a: OkxArg): RecordedSubscription | undefined {
  const instId = a.instId;
  if (typeof instId !== 'string') return undefined;
  const market = okxMarketOfInstId(instId);
  if (!market) return undefined;
  let channel: Channel;
  let depth: number | undefined;
  if (a.channel in OKX_BOOK_CHANNEL_DEPTH) {
    channel = 'book';
    depth = OKX_BOOK_CHANNEL_DEPTH[a.channel as OkxBookChannel];
  } else if (a.channel === 'trades' || a.channel === 'trades-all') {
    channel = 'trades';
  } else if (a.channel === 'tickers') {
    channel = 'ticker';
  } else {
    return undefined;
  }
  return depth === undefined ? { market, venueSymbol: instId, channel } : { market, venueSymbol: instId, channel, depth };
}

/** Simulator / replay knowledge of OKX: args in subscribe frames, `arg` in every push, text ping/pong. */
export const okxReplay: ReplayHooks = {
  topicsFromUrl(): string[] {
    return [];
  },

  /** `ping` → `pong`; subscribe / unsubscribe → topics plus one ack per arg; a bad request → `{"event":"error","code":"60012"}`. */
  onClientFrame(data) {
    if (data === 'ping') return { replies: ['pong'] };
    const msg = parseJsonObject(data);
    if (!msg || (msg.op !== 'subscribe' && msg.op !== 'unsubscribe')) {
      return msg ? { replies: [JSON.stringify({ event: 'error', code: '60012', msg: `Invalid request: ${data.slice(0, 100)}`, connId: 'sim' })] } : {};
    }
    const args = argsOf(msg.args);
    if (!args || args.length === 0) {
      return { replies: [JSON.stringify({ event: 'error', code: '60013', msg: 'Invalid args', connId: 'sim' })] };
    }
    const op = msg.op;
    const id = typeof msg.id === 'string' ? { id: msg.id } : {};
    const replies = args.map((a) => JSON.stringify({ ...id, event: op, arg: a, connId: 'sim' }));
    const topics = args.map(topicOf);
    return op === 'subscribe' ? { subscribe: topics, replies } : { unsubscribe: topics, replies };
  },

  /** The push's `{arg.channel}:{arg.instId}`; events and `pong` → null. */
  topicOfFrame(data) {
    if (data === 'pong') return null;
    const msg = parseJsonObject(data);
    if (!msg || typeof msg.event === 'string') return null;
    const arg = msg.arg as OkxArg | undefined;
    return arg !== null && typeof arg === 'object' && typeof arg.channel === 'string' ? topicOf(arg) : null;
  },

  /**
   * Subscriptions of a recorded public connection from its subscribe / unsubscribe frames (duplicates once, later
   * unsubscribes remove): `books` → book depth 400, `books5` → 5, `bbo-tbt` → 1, `books50-l2-tbt` → 50,
   * `books-l2-tbt` → 400; `trades` → trades; `tickers` → ticker. Market from the instId's shape.
   */
  recordedSubscriptions(addr, sends) {
    let path = '';
    try {
      path = new URL(addr).pathname;
    } catch {
      return [];
    }
    if (!/\/ws\/v5\/(public|business)\/?$/.test(path)) return [];
    const active = new Map<string, RecordedSubscription>();
    for (const send of sends) {
      const msg = parseJsonObject(send);
      const args = msg && (msg.op === 'subscribe' || msg.op === 'unsubscribe') ? argsOf(msg.args) : undefined;
      if (!msg || !args) continue;
      for (const a of args) {
        const rs = recordedOf(a);
        if (!rs) continue;
        const id = `${rs.channel}|${rs.venueSymbol}`;
        if (msg.op === 'unsubscribe') active.delete(id);
        else active.set(id, rs);
      }
    }
    return [...active.values()];
  },
};

/** The OKX v5 public connector (see the module doc). */
export const okxConnector: Connector<OkxSession> = {
  venue: OKX,
  capabilities: CAPABILITIES,
  defaultEndpoints: { wsBase: 'wss://ws.okx.com:8443', restBase: 'https://www.okx.com' },
  loadInstruments: loadOkxInstruments,
  plan: planOkx,

  newSession(plan) {
    return newOkxSession(plan.subscriptions.map((s) => [s.instrument.venueSymbol, s.instrument.key] as const));
  },

  decode: decodeOkx,

  /**
   * Sends the subscribe again (one operation of the 480 per hour): OKX answers a repeated subscribe with a fresh
   * snapshot, whose new `seqId` chain (or, without `seqId`, the session's new count) starts the book again.
   */
  resubscribeFrames(sub) {
    return [okxRequestFrame('subscribe', [okxArg(sub)])];
  },

  subscribeFrames: (subs) => okxRequestFrames('subscribe', subs),
  unsubscribeFrames: (subs) => okxRequestFrames('unsubscribe', subs),
  /** Pushes name the `instId`: map the added ones to their keys. */
  updateSession(session, op, subs, frames) {
    if (op === 'add') for (const s of subs) session.keys.set(s.instrument.venueSymbol, s.instrument.key);
    return frames;
  },

  /** Signed CRC32 of the top 25 bids and asks, interleaved (see `checksum.ts`). */
  checksum(book, expected) {
    return okxChecksumMatches(book, expected);
  },

  replay: okxReplay,
};
