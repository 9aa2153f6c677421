/**
 * Kraken spot WebSocket decoder (v1 and v2): one frame text in, normalized events plus a signal out.
 *
 * The two protocols have disjoint shapes (v1 data frames are JSON arrays and v1 control frames carry `event`; v2
 * frames are objects with `channel` or `method`), so the decoder recognises each frame by its shape. The session
 * still knows the protocol its connection was planned for, but a session planned for one protocol decodes frames of
 * the other: direct replay of the v1 recording runs with sessions of the default (v2) plan.
 *
 * Pure and synchronous apart from the per-connection {@link KrakenSession} (key and precision lookup); never throws
 * on venue input. Hot path: one `JSON.parse` per frame; v1 level arrays (`[price, volume, timestamp(, "r")]`,
 * strings) are handed through untouched; v2 levels (`{price, qty}` JSON numbers) become `[price, qty]` strings
 * formatted at the instrument's precision, which is the exact text Kraken's checksum is computed over.
 *
 * Docs: https://docs.kraken.com/exchange/api-reference/spot-websocket (v1 and v2),
 * https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1, …/book-checksum-v2.
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level, NormalizedEvent, TickerEvent, TradeEvent } from '../../core/events.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import type {
  KrakenBareError,
  KrakenProtocol,
  KrakenV1BookSnapshot,
  KrakenV1BookUpdate,
  KrakenV1Event,
  KrakenV1Ticker,
  KrakenV1Trade,
  KrakenV2Book,
  KrakenV2Level,
  KrakenV2Message,
  KrakenV2Response,
  KrakenV2Ticker,
  KrakenV2Trade,
} from './wire.ts';
import { NO_EVENTS, isArray, isWireObject, levelsOk, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';

/** Venue id. */
export const KRAKEN = 'kraken';

/** Kraken's legacy asset codes in v1 names (`XBT/USD`) and their common names (v2 and canonical: `BTC/USD`). */
const TO_COMMON: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };
const TO_LEGACY: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };

/** A v1 asset code in its common form: `XBT` → `BTC`, `XDG` → `DOGE`, others unchanged. */
export function krakenCommonAsset(code: string): string {
  return TO_COMMON[code] ?? code;
}

/** The v2 symbol of a v1 `wsname`: `XBT/USD` → `BTC/USD`, `XDG/XBT` → `DOGE/BTC`. */
export function krakenV2Symbol(wsname: string): string {
  const slash = wsname.indexOf('/');
  if (slash < 0) return wsname;
  return krakenCommonAsset(wsname.slice(0, slash)) + '/' + krakenCommonAsset(wsname.slice(slash + 1));
}

/** The v1 `wsname` of a v2 symbol: `BTC/USD` → `XBT/USD`, `DOGE/USD` → `XDG/USD` (inverse of {@link krakenV2Symbol}). */
export function krakenWsName(v2Symbol: string): string {
  const slash = v2Symbol.indexOf('/');
  if (slash < 0) return v2Symbol;
  const b = v2Symbol.slice(0, slash);
  const q = v2Symbol.slice(slash + 1);
  return (TO_LEGACY[b] ?? b) + '/' + (TO_LEGACY[q] ?? q);
}

/**
 * Decimal places of a step such as `"0.1"` (1), `"0.00000001"` (8), `"1"` (0); undefined when not a plain decimal
 * or finer than 20 places (beyond any venue precision, and `toFixed`'s range stays safe).
 */
export function decimalsOf(step: string | undefined): number | undefined {
  if (step === undefined || !/^\d+(\.\d+)?$/.test(step)) return undefined;
  const dot = step.indexOf('.');
  const d = dot < 0 ? 0 : step.length - dot - 1;
  return d <= 20 ? d : undefined;
}

/** What the session knows of one v2 symbol. Precisions are decimal places (prices in quote currency, qty in base units). */
export interface KrakenSymbolInfo {
  readonly key: string;
  readonly pricePrecision: number | undefined;
  readonly qtyPrecision: number | undefined;
}

/**
 * Per-connection decoder state, fresh per connection.
 * - `protocol`: what the connection was planned for (from its URL);
 * - `v1`: v1 `wsname` (`XBT/USD`) → instrument key (`spot:XBT/USD`);
 * - `v2`: v2 symbol (`BTC/USD`) → key and the precisions v2 numbers are formatted with.
 * - `seq`: per instrument key, the last number of the session's own book-message counter. Kraken books carry no
 *   sequence; the sync rule `none` only needs each message to be newer than the book (`lastSeq > seq`), so the
 *   session numbers a book's messages 1, 2, 3, … (snapshot included). Gaps are found by the checksum alone.
 * Symbols not in the maps (frames of unplanned subscriptions) get key `spot:{wsname}` and, on v2, no checksum
 * (without the precision the venue text cannot be reproduced).
 */
export interface KrakenSession {
  readonly protocol: KrakenProtocol;
  readonly v1: Map<string, string>;
  readonly v2: Map<string, KrakenSymbolInfo>;
  readonly seq: Map<string, number>;
}

/** Instrument fields the session needs: key, v1 `wsname` (= venue symbol), tick / lot size (give the precisions). */
export interface KrakenSessionInstrument {
  readonly key: string;
  readonly venueSymbol: string;
  readonly tickSize?: string;
  readonly lotSize?: string;
}

/** New decoder state for a connection speaking `protocol`, with lookups for `instruments`. */
export function newKrakenSession(protocol: KrakenProtocol, instruments: Iterable<KrakenSessionInstrument> = []): KrakenSession {
  const v1 = new Map<string, string>();
  const v2 = new Map<string, KrakenSymbolInfo>();
  for (const i of instruments) {
    v1.set(i.venueSymbol, i.key);
    v2.set(krakenV2Symbol(i.venueSymbol), { key: i.key, pricePrecision: decimalsOf(i.tickSize), qtyPrecision: decimalsOf(i.lotSize) });
  }
  return { protocol, v1, v2, seq: new Map() };
}

/** The session's next book-message number for `key` (1, 2, …). */
function nextSeq(session: KrakenSession, key: string): number {
  const n = (session.seq.get(key) ?? 0) + 1;
  session.seq.set(key, n);
  return n;
}

function v1Key(session: KrakenSession, pair: string): string {
  let k = session.v1.get(pair);
  if (k === undefined) {
    k = 'spot:' + pair;
    session.v1.set(pair, k);
  }
  return k;
}

function v2Info(session: KrakenSession, symbol: string): KrakenSymbolInfo {
  let i = session.v2.get(symbol);
  if (i === undefined) {
    i = { key: 'spot:' + krakenWsName(symbol), pricePrecision: undefined, qtyPrecision: undefined };
    session.v2.set(symbol, i);
  }
  return i;
}

const NO_LEVELS: readonly Level[] = Object.freeze([]) as readonly Level[];

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: { kind: 'heartbeat' } });
const IGNORED: Readonly<Record<string, Decoded>> = {
  spread: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'spread' } }),
  ohlc: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'ohlc' } }),
  instrument: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'instrument' } }),
  level3: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'level3' } }),
  subscriptionStatus: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'subscriptionStatus' } }),
};

/**
 * Error code of a Kraken error text: rate limits (`Exceeded msg rate`, `EAPI:Rate limit exceeded`,
 * `EGeneral:Too many requests`) → `VENUE_RATE_LIMITED`; authentication / permission texts → `VENUE_AUTH`;
 * anything else (`Currency pair not supported`, `Malformed request`, …) → `VENUE_REJECTED`.
 */
export function krakenErrorCode(text: string): ErrorCode {
  if (/rate|too many|throttl/i.test(text)) return 'VENUE_RATE_LIMITED';
  if (/auth|token|permission|invalid key|invalid signature|invalid nonce/i.test(text)) return 'VENUE_AUTH';
  return 'VENUE_REJECTED';
}

function venueError(text: string, context: Record<string, unknown>, data: string): Decoded {
  return {
    events: NO_EVENTS,
    signal: { kind: 'error', error: new TributaryError(krakenErrorCode(text), `kraken: ${text || 'error'}`, { venue: KRAKEN, ...context, frame: data.slice(0, 200) }) },
  };
}

/** Seconds-with-microseconds decimal string → ms since the epoch (floored), or NaN. */
function secondsToMs(s: unknown): number {
  return typeof s === 'string' ? Math.floor(parseFloat(s) * 1000) : NaN;
}

/** Latest v1 level timestamp (third element, seconds) of the levels, in ms; `fallback` when none parses. */
function latestLevelTs(a: readonly Level[], b: readonly Level[], fallback: number): number {
  let ts = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const t = secondsToMs(a[i][2]);
    if (t > ts) ts = t;
  }
  for (let i = 0; i < b.length; i++) {
    const t = secondsToMs(b[i][2]);
    if (t > ts) ts = t;
  }
  return ts === -Infinity ? fallback : ts;
}

/** A checksum value (`"974947235"` on v1, a JSON number on v2) as an unsigned 32-bit integer, or undefined. */
function checksumValue(v: unknown): number | undefined {
  const n = typeof v === 'string' ? (v.length > 0 && v.length <= 10 ? Number(v) : NaN) : typeof v === 'number' ? v : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

// ───────────────────────────── v1 ─────────────────────────────

/**
 * v1 `book-N`: `{as, bs}` → BookSnapshotEvent (`ts` = latest level timestamp); `{a}` / `{b}` / both (in one or two
 * dicts) → BookDeltaEvent with `checksum` = `int(c)` from the last dict. `seq` / `firstSeq` = `lastSeq` are the
 * session's message numbers (Kraken books carry no sequence; see {@link KrakenSession}). Levels are passed through in array order (Kraken: apply
 * in order, never sort by timestamp); the sync stage truncates to the subscribed depth.
 * Source: https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1
 */
function decodeV1Book(m: readonly unknown[], n: number, pair: string, frame: InboundFrame, session: KrakenSession): Decoded {
  const first = m[1];
  if (!isWireObject<KrakenV1BookSnapshot | KrakenV1BookUpdate>(first)) return malformedFrame(KRAKEN, 'book payload is not an object', frame.data);
  if (first.as !== undefined || first.bs !== undefined) {
    const asks = first.as ?? NO_LEVELS;
    const bids = first.bs ?? NO_LEVELS;
    if (!levelsOk(asks) || !levelsOk(bids)) return malformedFrame(KRAKEN, 'book snapshot as/bs are not level arrays', frame.data);
    const key = v1Key(session, pair);
    const ev: BookSnapshotEvent = {
      type: 'book_snapshot',
      venue: KRAKEN,
      key,
      bids,
      asks,
      seq: nextSeq(session, key),
      ts: latestLevelTs(asks, bids, frame.recvTs),
      recvTs: frame.recvTs,
    };
    return { events: [ev] };
  }
  let asks: Level[] | undefined;
  let bids: Level[] | undefined;
  let checksum: number | undefined;
  for (let i = 1; i < n - 2; i++) {
    const p = m[i];
    if (!isWireObject<KrakenV1BookUpdate>(p)) return malformedFrame(KRAKEN, 'book update payload is not an object', frame.data);
    if (p.a !== undefined) {
      if (!levelsOk(p.a)) return malformedFrame(KRAKEN, 'book update a is not a level array', frame.data);
      asks = asks === undefined ? p.a : asks.concat(p.a);
    }
    if (p.b !== undefined) {
      if (!levelsOk(p.b)) return malformedFrame(KRAKEN, 'book update b is not a level array', frame.data);
      bids = bids === undefined ? p.b : bids.concat(p.b);
    }
    if (p.c !== undefined) {
      checksum = checksumValue(p.c);
      if (checksum === undefined) return malformedFrame(KRAKEN, 'book update checksum c is not an unsigned 32-bit integer string', frame.data);
    }
  }
  if (asks === undefined && bids === undefined) return malformedFrame(KRAKEN, 'book update has neither a nor b', frame.data);
  const a = asks ?? NO_LEVELS;
  const b = bids ?? NO_LEVELS;
  const key = v1Key(session, pair);
  const seq = nextSeq(session, key);
  const ev: BookDeltaEvent = {
    type: 'book_delta',
    venue: KRAKEN,
    key,
    bids: b,
    asks: a,
    firstSeq: seq,
    lastSeq: seq,
    checksum,
    ts: latestLevelTs(a, b, frame.recvTs),
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * v1 `trade`: `[[price, volume, time, side, orderType, misc], …]` → one TradeEvent each; side `b`/`s` is the taker
 * side; `ts` = time (seconds) in ms. v1 trades carry no id: `tradeId` is `""`.
 * Source: https://docs.kraken.com/exchange/api-reference/spot-websocket-v1/trade
 */
function decodeV1Trades(list: unknown, pair: string, frame: InboundFrame, session: KrakenSession): Decoded {
  if (!isArray(list)) return malformedFrame(KRAKEN, 'trade payload is not an array', frame.data);
  const key = v1Key(session, pair);
  const n = list.length;
  const events = new Array<TradeEvent>(n);
  for (let i = 0; i < n; i++) {
    const el = list[i];
    const t: Unchecked<KrakenV1Trade> | undefined = isArray(el) ? el : undefined;
    if (t === undefined || typeof t[0] !== 'string' || typeof t[1] !== 'string') return malformedFrame(KRAKEN, 'trade element lacks price or volume', frame.data);
    const side = t[3] === 'b' ? 'buy' : t[3] === 's' ? 'sell' : undefined;
    const ts = secondsToMs(t[2]);
    if (side === undefined || !Number.isFinite(ts)) return malformedFrame(KRAKEN, 'trade element lacks side or time', frame.data);
    events[i] = { type: 'trade', venue: KRAKEN, key, price: t[0], size: t[1], side, tradeId: '', ts, recvTs: frame.recvTs };
  }
  return { events };
}

/**
 * v1 `ticker`: best ask `a[0]` / `a[2]` (lot volume), best bid `b[0]` / `b[2]`, last `c[0]`, 24 h volume `v[1]`
 * (base units) → TickerEvent. The ticker has no timestamp: `ts` = receive time.
 * Source: https://docs.kraken.com/exchange/api-reference/spot-websocket-v1/ticker
 */
function decodeV1Ticker(p: unknown, pair: string, frame: InboundFrame, session: KrakenSession): Decoded {
  if (!isWireObject<KrakenV1Ticker>(p)) return malformedFrame(KRAKEN, 'ticker payload is not an object', frame.data);
  const a = p.a;
  const b = p.b;
  if (!isArray(a) || !isArray(b) || typeof a[0] !== 'string' || typeof a[2] !== 'string' || typeof b[0] !== 'string' || typeof b[2] !== 'string') {
    return malformedFrame(KRAKEN, 'ticker lacks a or b', frame.data);
  }
  const c = p.c;
  const v = p.v;
  const ev: TickerEvent = {
    type: 'ticker',
    venue: KRAKEN,
    key: v1Key(session, pair),
    bidPrice: b[0],
    bidSize: b[2],
    askPrice: a[0],
    askSize: a[2],
    last: isArray(c) && typeof c[0] === 'string' ? c[0] : undefined,
    volume24h: isArray(v) && typeof v[1] === 'string' ? v[1] : undefined,
    ts: frame.recvTs,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/** v1 data frame `[channelID, payload…, channelName, pair]`, dispatched on the channel name. */
function decodeV1Data(m: readonly unknown[], frame: InboundFrame, session: KrakenSession): Decoded {
  const n = m.length;
  if (n < 4) return malformedFrame(KRAKEN, 'array frame shorter than [channelID, payload, channelName, pair]', frame.data);
  const name = m[n - 2];
  const pair = m[n - 1];
  if (typeof name !== 'string' || typeof pair !== 'string') return malformedFrame(KRAKEN, 'array frame lacks channelName or pair', frame.data);
  switch (name.charCodeAt(0)) {
    case 98: // b
      if (name.startsWith('book')) return decodeV1Book(m, n, pair, frame, session);
      break;
    case 116: // t
      if (name === 'trade') return decodeV1Trades(m[1], pair, frame, session);
      if (name === 'ticker') return decodeV1Ticker(m[1], pair, frame, session);
      break;
    case 115: // s
      if (name === 'spread') return IGNORED.spread;
      break;
    case 111: // o
      if (name.startsWith('ohlc')) return IGNORED.ohlc;
      break;
  }
  return unknownFrame(KRAKEN, `channel ${name.slice(0, 40)}`, frame.data);
}

/**
 * v1 control frames: `heartbeat`, `pong`, `systemStatus` → heartbeat; `subscriptionStatus` `subscribed` /
 * `unsubscribed` → signal (detail `channelName:pair`), `error` → typed error with `errorMessage`; `error` → typed error.
 * Source: https://docs.kraken.com/exchange/api-reference/spot-websocket-v1/subscriptionstatus
 */
function decodeV1Event(msg: Unchecked<KrakenV1Event>, frame: InboundFrame): Decoded {
  switch (msg.event) {
    case 'heartbeat':
    case 'pong':
    case 'systemStatus':
      return HEARTBEAT;
    case 'subscriptionStatus': {
      const detail = `${typeof msg.channelName === 'string' ? msg.channelName : '?'}:${typeof msg.pair === 'string' ? msg.pair : '?'}`;
      if (msg.status === 'subscribed') return { events: NO_EVENTS, signal: { kind: 'subscribed', detail } };
      if (msg.status === 'unsubscribed') return { events: NO_EVENTS, signal: { kind: 'unsubscribed', detail } };
      if (msg.status === 'error') {
        return venueError(typeof msg.errorMessage === 'string' ? msg.errorMessage : '', { pair: msg.pair, reqid: msg.reqid }, frame.data);
      }
      return IGNORED.subscriptionStatus;
    }
    case 'error':
      return venueError(typeof msg.errorMessage === 'string' ? msg.errorMessage : '', { reqid: msg.reqid }, frame.data);
    default:
      return unknownFrame(KRAKEN, `event ${String(msg.event).slice(0, 40)}`, frame.data);
  }
}

// ───────────────────────────── v2 ─────────────────────────────

/**
 * A v2 decimal as the venue's text: a JSON number formatted with `precision` decimals (`toFixed`, exact for the
 * ≤ 15 significant digits venues send), a string kept as is; `null` when neither.
 * Without a precision a number is printed shortest (`String`), which may drop trailing zeros: the caller then omits
 * the checksum.
 */
function v2Decimal(v: unknown, precision: number | undefined): string | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return null;
    return precision === undefined ? String(v) : v.toFixed(precision);
  }
  return typeof v === 'string' && v !== '' ? v : null;
}

/** v2 `[{price, qty}]` → `[price, qty]` string levels; `null` when an element is not a level. */
function v2Levels(a: unknown, info: KrakenSymbolInfo): Level[] | null {
  if (!isArray(a)) return null;
  const n = a.length;
  const out = new Array<Level>(n);
  for (let i = 0; i < n; i++) {
    const l = a[i];
    if (!isWireObject<KrakenV2Level>(l)) return null;
    const p = v2Decimal(l.price, info.pricePrecision);
    const q = v2Decimal(l.qty, info.qtyPrecision);
    if (p === null || q === null) return null;
    out[i] = [p, q];
  }
  return out;
}

/** RFC 3339 timestamp → ms, or `fallback` when absent or unparsable. */
function rfc3339(v: unknown, fallback: number): number {
  if (typeof v !== 'string') return fallback;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : fallback;
}

/** True when every v2 decimal can be reproduced exactly (known precisions, or strings). */
function exactText(info: KrakenSymbolInfo): boolean {
  return info.pricePrecision !== undefined && info.qtyPrecision !== undefined;
}

/**
 * v2 `book`: `type: snapshot` → BookSnapshotEvent, then (when it carries a checksum) an empty BookDeltaEvent with
 * that checksum so the sync stage verifies the snapshot too; `type: update` → BookDeltaEvent with `checksum`.
 * Sequence numbers are the session's, as on v1.
 * Prices / quantities are formatted at the symbol's `pricePrecision` / `qtyPrecision` (REST `pair_decimals` /
 * `lot_decimals`, equal to the v2 `instrument` channel's `price_precision` / `qty_precision`); when they are unknown
 * the checksum is omitted. `ts` = `timestamp` (RFC 3339), else receive time.
 * Source: https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2
 */
function decodeV2Book(msg: Unchecked<KrakenV2Message<KrakenV2Book>>, frame: InboundFrame, session: KrakenSession): Decoded {
  const type = msg.type;
  const data = msg.data;
  if ((type !== 'snapshot' && type !== 'update') || !isArray(data)) return malformedFrame(KRAKEN, 'book message lacks type or data', frame.data);
  const events: NormalizedEvent[] = [];
  for (let j = 0; j < data.length; j++) {
    const d = data[j];
    if (!isWireObject<KrakenV2Book>(d) || typeof d.symbol !== 'string') return malformedFrame(KRAKEN, 'book data lacks symbol', frame.data);
    const info = v2Info(session, d.symbol);
    const bids = d.bids === undefined ? NO_LEVELS : v2Levels(d.bids, info);
    const asks = d.asks === undefined ? NO_LEVELS : v2Levels(d.asks, info);
    if (bids === null || asks === null) return malformedFrame(KRAKEN, 'book bids/asks are not {price, qty} levels', frame.data);
    let checksum: number | undefined;
    if (d.checksum !== undefined) {
      checksum = checksumValue(d.checksum);
      if (checksum === undefined) return malformedFrame(KRAKEN, 'book checksum is not an unsigned 32-bit integer', frame.data);
    }
    if (!exactText(info) && !allStrings(d)) checksum = undefined;
    const ts = rfc3339(d.timestamp, frame.recvTs);
    const key = info.key;
    if (type === 'snapshot') {
      events.push({ type: 'book_snapshot', venue: KRAKEN, key, bids, asks, seq: nextSeq(session, key), ts, recvTs: frame.recvTs } satisfies BookSnapshotEvent);
      if (checksum !== undefined) {
        const seq = nextSeq(session, key);
        events.push({ type: 'book_delta', venue: KRAKEN, key, bids: NO_LEVELS, asks: NO_LEVELS, firstSeq: seq, lastSeq: seq, checksum, ts, recvTs: frame.recvTs } satisfies BookDeltaEvent);
      }
    } else {
      const seq = nextSeq(session, key);
      events.push({ type: 'book_delta', venue: KRAKEN, key, bids, asks, firstSeq: seq, lastSeq: seq, checksum, ts, recvTs: frame.recvTs } satisfies BookDeltaEvent);
    }
  }
  return { events };
}

/**
 * True when every price and qty of a v2 book element arrived as a string (raw text; no precision needed). Called
 * once {@link v2Levels} accepted the sides: each one is absent or a list of objects.
 */
function allStrings(d: Unchecked<KrakenV2Book>): boolean {
  for (const side of [d.bids, d.asks]) {
    if (!isArray(side)) continue;
    for (const el of side) {
      const l = el as Unchecked<KrakenV2Level>;
      if (typeof l.price !== 'string' || typeof l.qty !== 'string') return false;
    }
  }
  return true;
}

/**
 * v2 `trade`: one TradeEvent per element; `side` is the taker side, `trade_id` the id (sequential integer),
 * `timestamp` (RFC 3339) the time. Price / qty formatted at the symbol precision.
 * Source: https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/trade
 */
function decodeV2Trades(msg: Unchecked<KrakenV2Message<KrakenV2Trade>>, frame: InboundFrame, session: KrakenSession): Decoded {
  const data = msg.data;
  if (!isArray(data)) return malformedFrame(KRAKEN, 'trade message lacks data', frame.data);
  const n = data.length;
  const events = new Array<TradeEvent>(n);
  for (let i = 0; i < n; i++) {
    const t = data[i];
    if (!isWireObject<KrakenV2Trade>(t) || typeof t.symbol !== 'string') return malformedFrame(KRAKEN, 'trade element lacks symbol', frame.data);
    const info = v2Info(session, t.symbol);
    const price = v2Decimal(t.price, info.pricePrecision);
    const size = v2Decimal(t.qty, info.qtyPrecision);
    const side = t.side === 'buy' || t.side === 'sell' ? t.side : undefined;
    const id = t.trade_id;
    if (price === null || size === null || side === undefined || (typeof id !== 'number' && typeof id !== 'string')) {
      return malformedFrame(KRAKEN, 'trade element lacks price, qty, side or trade_id', frame.data);
    }
    events[i] = { type: 'trade', venue: KRAKEN, key: info.key, price, size, side, tradeId: String(id), ts: rfc3339(t.timestamp, frame.recvTs), recvTs: frame.recvTs };
  }
  return { events };
}

/** An optional v2 ticker decimal: `undefined` when absent, `null` when present but not a decimal. */
function optDecimal(v: unknown, precision: number | undefined): string | undefined | null {
  return v === undefined || v === null ? undefined : v2Decimal(v, precision);
}

/**
 * v2 `ticker` (snapshot and update carry every field): `bid`/`bid_qty`, `ask`/`ask_qty`, `last`, `volume` (24 h,
 * base units) → TickerEvent; `ts` = `timestamp` when sent, else receive time.
 * Source: https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/ticker
 */
function decodeV2Ticker(msg: Unchecked<KrakenV2Message<KrakenV2Ticker>>, frame: InboundFrame, session: KrakenSession): Decoded {
  const data = msg.data;
  if (!isArray(data)) return malformedFrame(KRAKEN, 'ticker message lacks data', frame.data);
  const events: TickerEvent[] = [];
  for (const t of data) {
    if (!isWireObject<KrakenV2Ticker>(t) || typeof t.symbol !== 'string') return malformedFrame(KRAKEN, 'ticker element lacks symbol', frame.data);
    const info = v2Info(session, t.symbol);
    const bidPrice = optDecimal(t.bid, info.pricePrecision);
    const bidSize = optDecimal(t.bid_qty, info.qtyPrecision);
    const askPrice = optDecimal(t.ask, info.pricePrecision);
    const askSize = optDecimal(t.ask_qty, info.qtyPrecision);
    const last = optDecimal(t.last, info.pricePrecision);
    const volume24h = optDecimal(t.volume, info.qtyPrecision);
    if (bidPrice === null || bidSize === null || askPrice === null || askSize === null || last === null || volume24h === null) {
      return malformedFrame(KRAKEN, 'ticker field is not a decimal', frame.data);
    }
    events.push({ type: 'ticker', venue: KRAKEN, key: info.key, bidPrice, bidSize, askPrice, askSize, last, volume24h, ts: rfc3339(t.timestamp, frame.recvTs), recvTs: frame.recvTs });
  }
  return { events };
}

/** v2 `{channel, …}` messages. `heartbeat` and `status` are activity; `instrument`, `ohlc`, `level3` are not used. */
function decodeV2Channel(msg: Unchecked<KrakenV2Message<unknown>>, frame: InboundFrame, session: KrakenSession): Decoded {
  switch (msg.channel) {
    case 'book':
      return decodeV2Book(msg, frame, session);
    case 'trade':
      return decodeV2Trades(msg, frame, session);
    case 'ticker':
      return decodeV2Ticker(msg, frame, session);
    case 'heartbeat':
    case 'status':
      return HEARTBEAT;
    case 'instrument':
      return IGNORED.instrument;
    case 'ohlc':
      return IGNORED.ohlc;
    case 'level3':
      return IGNORED.level3;
    default:
      return unknownFrame(KRAKEN, `channel ${String(msg.channel).slice(0, 40)}`, frame.data);
  }
}

/**
 * v2 method responses: `success: false` (or an `error` text) → typed error; `subscribe` / `unsubscribe` →
 * subscribed / unsubscribed (detail `channel:symbol`); `pong` → heartbeat.
 * Source: https://docs.kraken.com/exchange/api-reference/spot-websocket
 */
function decodeV2Method(msg: Unchecked<KrakenV2Response>, frame: InboundFrame): Decoded {
  if (msg.success === false || typeof msg.error === 'string') {
    return venueError(typeof msg.error === 'string' ? msg.error : '', { method: msg.method, reqId: msg.req_id, symbol: msg.symbol }, frame.data);
  }
  const r: Unchecked<KrakenV2Response['result']> = isWireObject<KrakenV2Response['result']>(msg.result) ? msg.result : {};
  const detail = `${typeof r.channel === 'string' ? r.channel : '?'}:${typeof r.symbol === 'string' ? r.symbol : '?'}`;
  switch (msg.method) {
    case 'subscribe':
      return { events: NO_EVENTS, signal: { kind: 'subscribed', detail } };
    case 'unsubscribe':
      return { events: NO_EVENTS, signal: { kind: 'unsubscribed', detail } };
    case 'pong':
      return HEARTBEAT;
    default:
      return unknownFrame(KRAKEN, `method ${String(msg.method).slice(0, 40)}`, frame.data);
  }
}

/**
 * Decodes one Kraken spot WebSocket frame, v1 or v2 (recognised by shape). Prices are in quote currency and sizes in
 * base units (decimal strings); `ts` is venue time and `recvTs` local receive time, both ms since the epoch.
 * Never throws on venue input: bad JSON or missing fields → `PROTOCOL_MALFORMED`; unknown frames →
 * `PROTOCOL_UNKNOWN`; venue errors → `VENUE_REJECTED` / `VENUE_RATE_LIMITED` / `VENUE_AUTH`; `spread`, `ohlc`,
 * `instrument`, `level3` → `ignored`.
 */
export function decodeKraken(frame: InboundFrame, session: KrakenSession): Decoded {
  let msg: unknown;
  try {
    msg = JSON.parse(frame.data);
  } catch {
    return malformedFrame(KRAKEN, 'invalid JSON', frame.data);
  }
  if (isArray(msg)) return decodeV1Data(msg, frame, session);
  if (!isWireObject<KrakenV1Event | KrakenV2Message<unknown> | KrakenV2Response | KrakenBareError>(msg)) return malformedFrame(KRAKEN, 'frame is neither a JSON array nor an object', frame.data);
  if (typeof msg.event === 'string') return decodeV1Event(msg, frame);
  if (typeof msg.channel === 'string') return decodeV2Channel(msg, frame, session);
  if (typeof msg.method === 'string') return decodeV2Method(msg, frame);
  const text = typeof msg.error === 'string' ? msg.error : typeof msg.Error === 'string' ? msg.Error : undefined;
  if (text !== undefined) return venueError(text, {}, frame.data);
  return unknownFrame(KRAKEN, 'no event, channel or method', frame.data);
}
