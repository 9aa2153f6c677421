/**
 * Crypto.com market-data decoder (Exchange API v1 and the legacy v2 stream): one frame text in, normalized events
 * plus a signal (and replies) out.
 *
 * Pure and synchronous apart from the per-connection {@link CryptoComSession}; never throws on venue input.
 * The two generations share the envelope (`{"method":"subscribe","code":0,"result":{instrument_name, subscription,
 * channel, data}}`), so one decoder serves both and tells them apart by the frame itself:
 * - v1 sends decimals as strings: level arrays are handed through untouched;
 * - v2 sends decimals as JSON numbers: they are turned into strings with `String(n)` (shortest round-trip form;
 *   plain notation for tiny/huge values). The venue's exact text (trailing zeros, e.g. `45.330`) is lost after
 *   `JSON.parse`, which is accepted for v2; trade ids are the exception: v2 ids exceed 2^53, so their digits are
 *   read from the frame text.
 *
 * Hot path: one `JSON.parse` per frame, dispatch on `result.channel`.
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level, TickerEvent, TradeEvent } from '../../core/events.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import { NO_EVENTS, isArray, isWireObject, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import type {
  CryptoComBookSnapshot,
  CryptoComBookUpdate,
  CryptoComLevel,
  CryptoComPush,
  CryptoComRequest,
  CryptoComResponse,
  CryptoComTicker,
  CryptoComTrade,
} from './wire.ts';

/** The `result` of a channel push carrying `D` items, fields unchecked. */
type PushResult<D> = Unchecked<CryptoComPush<D>['result']>;

/** Venue id (the recording header's `CRYPTO.COM`). */
export const CRYPTO_COM = 'crypto-com';

/** How many times a connection re-sends a subscribe request the venue rejected as `TOO_MANY_REQUESTS`. */
export const CRYPTO_COM_MAX_RESENDS = 3;

/**
 * Per-connection decoder state. A fresh one per connection, so a reconnect starts clean.
 * - `keys`: instrument name → instrument key (`spot:BTC_USDT`, `linear:BTCUSD-PERP`);
 * - `tradeSnapshotSkipped`: instruments whose first `trade` push (the venue's snapshot of recent trades) was skipped;
 * - `requests`: request id → request frame (this connection's subscribe requests), re-sent when rate limited;
 * - `resends`: how many re-sends happened.
 */
export interface CryptoComSession {
  readonly keys: Map<string, string>;
  readonly tradeSnapshotSkipped: Set<string>;
  readonly requests: Map<string, string>;
  resends: number;
}

/** The instrument key of a venue instrument name when the session has none: `-PERP` names are linear, others spot. */
export function cryptoComKeyOf(name: string): string {
  return (name.endsWith('-PERP') ? 'linear:' : 'spot:') + name;
}

/** New decoder state for one connection: its request frames (ids must be unique) and `[name, key]` pairs. */
export function newCryptoComSession(requestFrames: readonly string[] = [], keys?: Iterable<readonly [string, string]>): CryptoComSession {
  const map = new Map<string, string>();
  if (keys) for (const [name, key] of keys) map.set(name, key);
  const requests = new Map<string, string>();
  for (const f of requestFrames) {
    try {
      const o: unknown = JSON.parse(f);
      if (isWireObject<CryptoComRequest>(o) && (typeof o.id === 'number' || typeof o.id === 'string')) requests.set(String(o.id), f);
    } catch {
      // our own frames always parse
    }
  }
  return { keys: map, tradeSnapshotSkipped: new Set(), requests, resends: 0 };
}

function keyOf(session: CryptoComSession, name: string): string {
  let k = session.keys.get(name);
  if (k === undefined) {
    k = cryptoComKeyOf(name);
    session.keys.set(name, k);
  }
  return k;
}

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

function ignored(reason: string): Decoded {
  return constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'ignored', reason }) });
}

/** Channels we know and do not use. */
const IGNORED_CHANNELS: ReadonlyMap<string, Decoded> = new Map(
  ['candlestick', 'index', 'mark', 'settlement', 'funding', 'estimatedfunding'].map((c) => [c, ignored(c)] as const),
);
const TRADE_SNAPSHOT = ignored('trade_snapshot');
const TRADE_EMPTY = ignored('trade_empty');

/**
 * A JSON number as a plain decimal string: `String(n)` unless that uses an exponent (`1e-7` → `0.0000001`,
 * `1e+21` → `1000000000000000000000`).
 */
export function decimalText(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const exp = Number(s.slice(e + 1));
  if (exp < 0) {
    const dot = s.indexOf('.');
    const mantissaDecimals = dot < 0 || dot > e ? 0 : e - dot - 1;
    return n.toFixed(Math.min(100, mantissaDecimals - exp));
  }
  return BigInt(Math.round(n)).toString();
}

/** A decimal field: v1 string (empty → undefined), v2 number → text, absent/null → undefined; `null` when of another type. */
function dec(v: unknown): string | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return decimalText(v);
  return null;
}

/** A sequence or time: a safe integer number or a digit string; undefined otherwise. */
export function cryptoComInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string' && v.length > 0 && v.length <= 16) {
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    return Number(v);
  }
  return undefined;
}

/**
 * Book levels as {@link Level}s: string levels (v1) are passed through as they are; number levels (v2) are converted
 * to `[price text, qty text, numOrders]`. Undefined when not a list of `[price, qty, …]`.
 */
function levels(a: unknown): Level[] | undefined {
  if (!isArray(a)) return undefined;
  let numbers = false;
  for (let i = 0; i < a.length; i++) {
    const l = a[i];
    if (!isArray(l)) return undefined;
    const p = l[0];
    const q = l[1];
    if (typeof p === 'string' && typeof q === 'string') continue;
    if (typeof p === 'number' && typeof q === 'number' && Number.isFinite(p) && Number.isFinite(q)) {
      numbers = true;
      continue;
    }
    return undefined;
  }
  if (!numbers) return a as Level[]; // every element checked above: [price string, qty string, …]
  const out = new Array<Level>(a.length);
  for (let i = 0; i < a.length; i++) {
    const l = a[i] as Unchecked<CryptoComLevel>; // checked above: string or finite number price and qty
    const p = l[0];
    const q = l[1];
    out[i] = typeof p === 'number' ? [decimalText(p), decimalText(q as number), l[2]] : (l as Level);
  }
  return out;
}

/**
 * The digits of every `"<key>":<integer>` in `text`, in order (for JSON numbers beyond 2^53 that `JSON.parse`
 * rounds). Only integer tokens are read.
 */
export function rawIntegers(text: string, key: string): string[] {
  const needle = `"${key}":`;
  const out: string[] = [];
  let at = text.indexOf(needle);
  while (at >= 0) {
    let i = at + needle.length;
    while (text.charCodeAt(i) === 32) i++;
    const start = i;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      i++;
    }
    if (i > start) out.push(text.slice(start, i));
    at = text.indexOf(needle, i);
  }
  return out;
}

/**
 * `book` → one BookSnapshotEvent per data item (replaces the book): v1 snapshot with `seq` = `u`; v2 push (every
 * push is the whole top-N book, no sequence) with `seq` undefined. `ts` = `t` (ms).
 * Source: https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-book-instrument-name-depth
 */
function decodeBookSnapshot(res: PushResult<CryptoComBookSnapshot>, frame: InboundFrame, session: CryptoComSession): Decoded {
  const name = res.instrument_name;
  const data = res.data;
  if (typeof name !== 'string' || !isArray(data) || data.length === 0) return malformedFrame(CRYPTO_COM, 'book push lacks instrument_name or data', frame.data);
  const key = keyOf(session, name);
  const events = new Array<BookSnapshotEvent>(data.length);
  for (let j = 0; j < data.length; j++) {
    const el = data[j];
    if (el === null || typeof el !== 'object') return malformedFrame(CRYPTO_COM, 'book item is not an object', frame.data);
    const item: Unchecked<CryptoComBookSnapshot> = el;
    const bids = levels(item.bids);
    const asks = levels(item.asks);
    const seq = item.u === undefined ? undefined : cryptoComInt(item.u);
    if (bids === undefined || asks === undefined || (item.u !== undefined && seq === undefined)) return malformedFrame(CRYPTO_COM, 'book item lacks bids, asks or a valid u', frame.data);
    events[j] = { type: 'book_snapshot', venue: CRYPTO_COM, key, bids, asks, seq, ts: cryptoComInt(item.t) ?? frame.recvTs, recvTs: frame.recvTs };
  }
  return { events };
}

/**
 * `book.update` (v1 `SNAPSHOT_AND_UPDATE`) → BookDeltaEvent: `prevSeq` = `pu`, `firstSeq` = `lastSeq` = `u`
 * (linked rule: apply only when `pu` equals the last `u`). Empty updates are emitted too: they advance `u`.
 * `cs` is not read (no official checksum). `ts` = `t` (ms).
 * Source: https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-book-instrument-name-depth
 */
function decodeBookUpdate(res: PushResult<CryptoComBookUpdate>, frame: InboundFrame, session: CryptoComSession): Decoded {
  const name = res.instrument_name;
  const data = res.data;
  if (typeof name !== 'string' || !isArray(data) || data.length === 0) return malformedFrame(CRYPTO_COM, 'book.update push lacks instrument_name or data', frame.data);
  const key = keyOf(session, name);
  const events = new Array<BookDeltaEvent>(data.length);
  for (let j = 0; j < data.length; j++) {
    const el = data[j];
    const item: Unchecked<CryptoComBookUpdate> | undefined = el !== null && typeof el === 'object' ? el : undefined;
    const upd = item?.update;
    const u = cryptoComInt(item?.u);
    const pu = cryptoComInt(item?.pu);
    if (item === undefined || upd === null || typeof upd !== 'object' || u === undefined || pu === undefined) {
      return malformedFrame(CRYPTO_COM, 'book.update item lacks update, u or pu', frame.data);
    }
    const changes: Unchecked<CryptoComBookUpdate['update']> = upd;
    const bids = levels(changes.bids ?? []);
    const asks = levels(changes.asks ?? []);
    if (bids === undefined || asks === undefined) return malformedFrame(CRYPTO_COM, 'book.update levels are not [price, qty, n] lists', frame.data);
    events[j] = { type: 'book_delta', venue: CRYPTO_COM, key, bids, asks, firstSeq: u, lastSeq: u, prevSeq: pu, ts: cryptoComInt(item.t) ?? frame.recvTs, recvTs: frame.recvTs };
  }
  return { events };
}

/**
 * `trade` → one TradeEvent per trade, oldest first (the venue sends newest first): `s` is the taker side
 * (`BUY` → buy, `SELL` → sell), `d` the trade id, `p`/`q` price/size, `t` trade time (ms).
 * The first push per instrument on a connection is the venue's snapshot of recent (already past) trades: it is
 * skipped (signal `ignored`, reason `trade_snapshot`) so a reconnect never republishes old trades. An empty push is
 * `ignored` (`trade_empty`).
 * Source: https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-trade-instrument-name
 */
function decodeTrades(res: PushResult<CryptoComTrade>, frame: InboundFrame, session: CryptoComSession): Decoded {
  const name = res.instrument_name;
  const data = res.data;
  if (typeof name !== 'string' || !isArray(data)) return malformedFrame(CRYPTO_COM, 'trade push lacks instrument_name or data', frame.data);
  if (!session.tradeSnapshotSkipped.has(name)) {
    session.tradeSnapshotSkipped.add(name);
    return TRADE_SNAPSHOT;
  }
  const n = data.length;
  if (n === 0) return TRADE_EMPTY;
  let rawIds: string[] | undefined;
  const key = keyOf(session, name);
  const events = new Array<TradeEvent>(n);
  for (let j = 0; j < n; j++) {
    const el = data[j];
    if (el === null || typeof el !== 'object') return malformedFrame(CRYPTO_COM, 'trade item is not an object', frame.data);
    const t: Unchecked<CryptoComTrade> = el;
    const side = t.s === 'BUY' ? 'buy' : t.s === 'SELL' ? 'sell' : undefined;
    const price = dec(t.p);
    const size = dec(t.q);
    const ts = cryptoComInt(t.t);
    let id: string | undefined;
    if (typeof t.d === 'string' && t.d !== '') id = t.d;
    else if (typeof t.d === 'number' && Number.isInteger(t.d)) {
      rawIds ??= rawIntegers(frame.data, 'd');
      id = rawIds.length === n ? rawIds[j] : String(t.d);
    }
    if (side === undefined || typeof price !== 'string' || typeof size !== 'string' || ts === undefined || id === undefined) {
      return malformedFrame(CRYPTO_COM, 'trade item lacks d, t, p, q or s', frame.data);
    }
    events[n - 1 - j] = { type: 'trade', venue: CRYPTO_COM, key, price, size, side, tradeId: id, ts, recvTs: frame.recvTs };
  }
  return { events };
}

/**
 * `ticker` → TickerEvent per item: bid `b`/`bs`, ask `k`/`ks`, last `a`, 24 h volume `v` (base units); `ts` = `t`.
 * v2 has no `bs`/`ks` (sizes undefined). Source:
 * https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-ticker-instrument-name
 */
function decodeTicker(res: PushResult<CryptoComTicker>, frame: InboundFrame, session: CryptoComSession): Decoded {
  const name = res.instrument_name;
  const data = res.data;
  if (typeof name !== 'string' || !isArray(data) || data.length === 0) return malformedFrame(CRYPTO_COM, 'ticker push lacks instrument_name or data', frame.data);
  const key = keyOf(session, name);
  const events = new Array<TickerEvent>(data.length);
  for (let j = 0; j < data.length; j++) {
    const el = data[j];
    if (el === null || typeof el !== 'object') return malformedFrame(CRYPTO_COM, 'ticker item is not an object', frame.data);
    const d: Unchecked<CryptoComTicker> = el;
    const bidPrice = dec(d.b);
    const bidSize = dec(d.bs);
    const askPrice = dec(d.k);
    const askSize = dec(d.ks);
    const last = dec(d.a);
    const volume24h = dec(d.v);
    if (bidPrice === null || bidSize === null || askPrice === null || askSize === null || last === null || volume24h === null) {
      return malformedFrame(CRYPTO_COM, 'ticker field is not a decimal', frame.data);
    }
    events[j] = { type: 'ticker', venue: CRYPTO_COM, key, bidPrice, bidSize, askPrice, askSize, last, volume24h, ts: cryptoComInt(d.t) ?? frame.recvTs, recvTs: frame.recvTs };
  }
  return { events };
}

/** Reason codes meaning "not authenticated / not allowed" (v1 40101/40103/40104; v2 10002/10003/10005). */
const AUTH_CODES = new Set([40101, 40103, 40104, 10002, 10003, 10005]);
/** Reason codes meaning "too many requests" (v1 42901; v2 10006). */
const RATE_CODES = new Set([42901, 10006]);

/**
 * A response with a non-zero `code` → typed error (`VENUE_AUTH`, `VENUE_RATE_LIMITED`, else `VENUE_REJECTED`, e.g.
 * 40107 EXCEED_MAX_SUBSCRIPTIONS, 40003 INVALID_REQUEST). A rate-limited answer to one of this connection's
 * subscribe requests (likely right after connecting: limits are pro-rated by the calendar second the connection
 * opened in) re-sends that request, at most {@link CRYPTO_COM_MAX_RESENDS} times per connection.
 * Source: https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#response-and-reason-codes
 */
function venueError(msg: Unchecked<CryptoComResponse>, frame: InboundFrame, session: CryptoComSession): Decoded {
  const code = typeof msg.code === 'number' ? msg.code : Number(msg.code);
  const reason = typeof msg.message === 'string' ? msg.message : '';
  const method = typeof msg.method === 'string' ? msg.method : '';
  const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? String(msg.id) : undefined;
  const kind: ErrorCode = AUTH_CODES.has(code) ? 'VENUE_AUTH' : RATE_CODES.has(code) || reason === 'TOO_MANY_REQUESTS' ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED';
  const error = new TributaryError(kind, `crypto-com ${method || 'response'} error ${String(msg.code)}: ${reason}`, {
    venue: CRYPTO_COM,
    code: msg.code,
    reason,
    method,
    id,
    frame: frame.data.slice(0, 200),
  });
  const request = id === undefined ? undefined : session.requests.get(id);
  if (kind === 'VENUE_RATE_LIMITED' && method === 'subscribe' && request !== undefined && session.resends < CRYPTO_COM_MAX_RESENDS) {
    session.resends++;
    return { events: NO_EVENTS, replies: [request], signal: { kind: 'error', error } };
  }
  return { events: NO_EVENTS, signal: { kind: 'error', error } };
}

/** `{"id":N,"method":"public/heartbeat"}` → reply `{"id":N,"method":"public/respond-heartbeat"}` with the id's exact text. */
function heartbeat(msg: Unchecked<CryptoComResponse>, frame: InboundFrame): Decoded {
  const id = msg.id;
  let idText: string;
  if (typeof id === 'number' && Number.isSafeInteger(id)) idText = String(id);
  else if (typeof id === 'number') idText = rawIntegers(frame.data, 'id')[0] ?? String(id);
  else if (typeof id === 'string') idText = JSON.stringify(id);
  else return malformedFrame(CRYPTO_COM, 'heartbeat lacks id', frame.data);
  return { events: NO_EVENTS, replies: [`{"id":${idText},"method":"public/respond-heartbeat"}`], signal: { kind: 'heartbeat' } };
}

/**
 * Decodes one Crypto.com market-data frame (v1 or v2). Prices in quote currency, sizes in base units (contracts
 * for perpetuals), decimal strings; `ts` venue time and `recvTs` local receive time, ms since the epoch.
 * Never throws on venue input: bad JSON / missing fields → `PROTOCOL_MALFORMED`; unknown methods or channels →
 * `PROTOCOL_UNKNOWN`; `candlestick`/`index`/`mark`/… → `ignored`; non-zero `code` → typed error; subscribe acks →
 * `subscribed`; `public/heartbeat` → `heartbeat` with the required `public/respond-heartbeat` reply.
 */
export function decodeCryptoCom(frame: InboundFrame, session: CryptoComSession): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.data);
  } catch {
    return malformedFrame(CRYPTO_COM, 'invalid JSON', frame.data);
  }
  if (!isWireObject<CryptoComPush<unknown> | CryptoComResponse>(parsed)) return malformedFrame(CRYPTO_COM, 'frame is not a JSON object', frame.data);
  const msg = parsed;
  const code = msg.code;
  if (code !== undefined && code !== 0 && code !== '0') return venueError(msg, frame, session);
  const method = msg.method;
  if (method === 'subscribe') {
    const result = msg.result;
    if (result === undefined || result === null) {
      const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? String(msg.id) : undefined;
      return { events: NO_EVENTS, signal: { kind: 'subscribed', detail: id } };
    }
    if (typeof result !== 'object') return malformedFrame(CRYPTO_COM, 'subscribe result is not an object', frame.data);
    const res: PushResult<unknown> = result;
    const channel = res.channel;
    switch (channel) {
      case 'book':
        return decodeBookSnapshot(res, frame, session);
      case 'book.update':
        return decodeBookUpdate(res, frame, session);
      case 'trade':
        return decodeTrades(res, frame, session);
      case 'ticker':
        return decodeTicker(res, frame, session);
      default: {
        const ign = typeof channel === 'string' ? IGNORED_CHANNELS.get(channel) : undefined;
        if (ign) return ign;
        return unknownFrame(CRYPTO_COM, `channel ${String(channel).slice(0, 40)}`, frame.data);
      }
    }
  }
  if (method === 'public/heartbeat') return heartbeat(msg, frame);
  if (method === 'unsubscribe') {
    return { events: NO_EVENTS, signal: { kind: 'unsubscribed', detail: typeof msg.id === 'number' || typeof msg.id === 'string' ? String(msg.id) : undefined } };
  }
  return unknownFrame(CRYPTO_COM, typeof method === 'string' ? `method ${method.slice(0, 40)}` : 'no method', frame.data);
}
