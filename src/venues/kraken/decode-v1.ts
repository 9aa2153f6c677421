/**
 * Kraken spot WebSocket v1 decoding (dispatched from `./decode.ts`): data frames are JSON arrays
 * `[channelID, payload…, channelName, pair]`; control frames are objects with `event`. Level arrays
 * (`[price, volume, timestamp(, "r")]`, strings) are handed through untouched.
 * Docs: https://docs.kraken.com/exchange/api-reference/spot-websocket-v1, https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1.
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level, TickerEvent, TradeEvent } from '../../core/events.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import type { KrakenV1BookSnapshot, KrakenV1BookUpdate, KrakenV1Event, KrakenV1Ticker, KrakenV1Trade } from './wire.ts';
import { NO_EVENTS, isArray, isWireObject, levelsOk, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import { HEARTBEAT, IGNORED, KRAKEN, NO_LEVELS, checksumValue, nextSeq, v1Key, venueError, type KrakenSession } from './decode-common.ts';

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
export function decodeV1Data(m: readonly unknown[], frame: InboundFrame, session: KrakenSession): Decoded {
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
export function decodeV1Event(msg: Unchecked<KrakenV1Event>, frame: InboundFrame): Decoded {
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
