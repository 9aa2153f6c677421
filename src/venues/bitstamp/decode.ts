/**
 * Bitstamp WebSocket API v2 decoder: one frame text in, normalized events plus a signal out.
 *
 * Pure and synchronous apart from the per-connection {@link BitstampSession} (channel → key cache); never throws
 * on venue input. Hot path: one `JSON.parse` per frame, dispatch on `event`, diff level arrays handed through
 * untouched (they already are `[price, amount]` string pairs).
 *
 * Book sync (https://www.bitstamp.net/websocket/v2/, rule partly inferred, see README): `diff_order_book_{pair}`
 * diffs are applied on top of the REST snapshot `GET /api/v2/order_book/{pair}/`, dropping diffs whose
 * `microtimestamp` is ≤ the snapshot's. Each diff becomes a `book_delta` with `firstSeq = lastSeq =
 * microtimestamp` (µs since epoch: < 2^53, exact as a double). Diffs carry no sequence and no checksum, so a
 * lost diff cannot be detected; a reconnect (incl. `bts:request_reconnect`) rebuilds the books from REST.
 */
import type { BookDeltaEvent, Level, TradeEvent } from '../../core/events.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import { NO_EVENTS, isWireObject, levelsOk, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import type { BitstampControlFrame, BitstampDiffFrame, BitstampErrorFrame, BitstampTradeFrame } from './wire.ts';

/** Venue id. */
export const BITSTAMP = 'bitstamp';

/** Prefix of the diff book channel (`diff_order_book_{url_symbol}`). */
export const DIFF_PREFIX = 'diff_order_book_';
/** Prefix of the trades channel (`live_trades_{url_symbol}`). */
export const TRADES_PREFIX = 'live_trades_';
const ORDER_BOOK_PREFIX = 'order_book_';
const DETAIL_PREFIX = 'detail_order_book_';
const LIVE_ORDERS_PREFIX = 'live_orders_';

/** Per-connection decoder state: channel name (`diff_order_book_btcusd`) → instrument key (`spot:btcusd`). */
export interface BitstampSession {
  readonly keys: Map<string, string>;
}

/** New decoder state, optionally pre-filled with `[channel, key]` pairs. */
export function newBitstampSession(keys?: Iterable<readonly [string, string]>): BitstampSession {
  const map = new Map<string, string>();
  if (keys) for (const [ch, key] of keys) map.set(ch, key);
  return { keys: map };
}

function keyOf(session: BitstampSession, channel: string, prefixLength: number): string {
  let k = session.keys.get(channel);
  if (k === undefined) {
    k = 'spot:' + channel.slice(prefixLength);
    session.keys.set(channel, k);
  }
  return k;
}

const NO_LEVELS: readonly Level[] = Object.freeze([]) as readonly Level[];

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

function ignored(reason: string): Decoded {
  return constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'ignored', reason }) });
}

const IGNORED_ORDER_BOOK = ignored('order_book');
const IGNORED_DETAIL = ignored('detail_order_book');
const IGNORED_LIVE_ORDERS = ignored('live_orders');
const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'heartbeat' }) });
const RECONNECT: Decoded = constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'reconnect', reason: 'bts:request_reconnect' }) });

/**
 * `bts:error` → typed error: code 4009 or auth/token wording → `VENUE_AUTH` (private channels), rate-limit
 * wording → `VENUE_RATE_LIMITED`, anything else (bad channel, bad JSON) → `VENUE_REJECTED`.
 */
export function bitstampErrorCode(code: unknown, message: string): ErrorCode {
  const m = message.toLowerCase();
  if (code === 4009 || code === '4009' || m.includes('auth') || m.includes('token')) return 'VENUE_AUTH';
  if (m.includes('rate limit') || m.includes('too many')) return 'VENUE_RATE_LIMITED';
  return 'VENUE_REJECTED';
}

function venueError(msg: Unchecked<BitstampErrorFrame>, data: string): Decoded {
  const raw = msg.data;
  const d: Unchecked<BitstampErrorFrame['data']> | undefined = raw !== null && typeof raw === 'object' ? raw : undefined;
  const code = d !== undefined ? d.code : undefined;
  const text = d !== undefined && typeof d.message === 'string' ? d.message : '';
  return {
    events: NO_EVENTS,
    signal: {
      kind: 'error',
      error: new TributaryError(bitstampErrorCode(code, text), `bitstamp error${code === undefined || code === null ? '' : ` ${String(code)}`}: ${text}`, {
        venue: BITSTAMP,
        code,
        message: text,
        channel: msg.channel,
        frame: data.slice(0, 200),
      }),
    },
  };
}

/** A decimal-digit string of µs since epoch → number, or NaN. */
export function parseMicros(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0 || v.length > 16) return NaN;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
  }
  return +v;
}

/**
 * `diff_order_book_{pair}` `data` → BookDeltaEvent: levels as sent, `firstSeq = lastSeq = microtimestamp` (µs),
 * `ts` = microtimestamp in ms (floored).
 * Source: https://www.bitstamp.net/websocket/v2/ (Full order book)
 */
function decodeDiff(msg: Unchecked<BitstampDiffFrame>, channel: string, frame: InboundFrame, session: BitstampSession): Decoded {
  const data = msg.data;
  if (data === null || typeof data !== 'object') return malformedFrame(BITSTAMP, 'diff_order_book frame lacks data', frame.data);
  const d: Unchecked<BitstampDiffFrame['data']> = data;
  const us = parseMicros(d.microtimestamp);
  const { bids, asks } = d;
  if (us !== us || !levelsOk(bids) || !levelsOk(asks)) return malformedFrame(BITSTAMP, 'diff_order_book data lacks microtimestamp, bids or asks', frame.data);
  const ev: BookDeltaEvent = {
    type: 'book_delta',
    venue: BITSTAMP,
    key: keyOf(session, channel, DIFF_PREFIX.length),
    bids,
    asks,
    firstSeq: us,
    lastSeq: us,
    ts: Math.floor(us / 1000),
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * `live_trades_{pair}` `trade` → TradeEvent: `type` 0 → buy, 1 → sell (the taker's side), `price_str` /
 * `amount_str` (exact strings), `id` → tradeId, `ts` = microtimestamp in ms (else `timestamp` seconds × 1000).
 * Source: https://www.bitstamp.net/websocket/v2/ (Live ticker)
 */
function decodeTrade(msg: Unchecked<BitstampTradeFrame>, channel: string, frame: InboundFrame, session: BitstampSession): Decoded {
  const data = msg.data;
  if (data === null || typeof data !== 'object') return malformedFrame(BITSTAMP, 'trade frame lacks data', frame.data);
  const d: Unchecked<BitstampTradeFrame['data']> = data;
  const side = d.type === 0 ? 'buy' : d.type === 1 ? 'sell' : undefined;
  const { price_str: price, amount_str: size, id } = d;
  let ts = Math.floor(parseMicros(d.microtimestamp) / 1000);
  if (ts !== ts) ts = parseMicros(d.timestamp) * 1000;
  if (side === undefined || typeof price !== 'string' || typeof size !== 'string' || (typeof id !== 'number' && typeof id !== 'string') || ts !== ts) {
    return malformedFrame(BITSTAMP, 'trade data lacks type, price_str, amount_str, id or a timestamp', frame.data);
  }
  const ev: TradeEvent = {
    type: 'trade',
    venue: BITSTAMP,
    key: keyOf(session, channel, TRADES_PREFIX.length),
    price,
    size,
    side,
    tradeId: String(id),
    ts,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * `bts:subscription_succeeded` → signal `subscribed` (detail = channel). For a `diff_order_book_{pair}` channel it
 * also emits an empty `book_delta` (no levels, `seq` 0) marking the start of the diff stream: the sync stage
 * then fetches the REST snapshot right away, even for a pair that stays quiet (diffs with µs ≤ the snapshot's
 * are dropped, so the marker itself never changes a book).
 */
function decodeSubscribed(channel: string, frame: InboundFrame, session: BitstampSession): Decoded {
  const signal = { kind: 'subscribed', detail: channel } as const;
  if (!channel.startsWith(DIFF_PREFIX)) return { events: NO_EVENTS, signal };
  const ev: BookDeltaEvent = {
    type: 'book_delta',
    venue: BITSTAMP,
    key: keyOf(session, channel, DIFF_PREFIX.length),
    bids: NO_LEVELS,
    asks: NO_LEVELS,
    firstSeq: 0,
    lastSeq: 0,
    ts: frame.recvTs,
    recvTs: frame.recvTs,
  };
  return { events: [ev], signal };
}

/**
 * Decodes one Bitstamp v2 frame: `data` on `diff_order_book_*` (book), `trade` on `live_trades_*`, control events
 * (`bts:subscription_succeeded`, `bts:unsubscription_succeeded`, `bts:heartbeat`, `bts:request_reconnect` →
 * reconnect, `bts:error` → typed error); `order_book_*`, `detail_order_book_*` and `live_orders_*` are ignored.
 */
export function decodeBitstamp(frame: InboundFrame, session: BitstampSession): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.data);
  } catch {
    return malformedFrame(BITSTAMP, 'not JSON', frame.data);
  }
  if (!isWireObject<BitstampDiffFrame | BitstampTradeFrame | BitstampErrorFrame | BitstampControlFrame>(parsed)) {
    return malformedFrame(BITSTAMP, 'not a JSON object', frame.data);
  }
  const msg = parsed;
  const event = msg.event;
  if (typeof event !== 'string') return malformedFrame(BITSTAMP, 'frame lacks event', frame.data);
  const channel: unknown = msg.channel;
  switch (event) {
    case 'data':
      if (typeof channel !== 'string') return malformedFrame(BITSTAMP, 'data frame lacks channel', frame.data);
      if (channel.startsWith(DIFF_PREFIX)) return decodeDiff(msg, channel, frame, session);
      if (channel.startsWith(ORDER_BOOK_PREFIX)) return IGNORED_ORDER_BOOK;
      if (channel.startsWith(DETAIL_PREFIX)) return IGNORED_DETAIL;
      return unknownFrame(BITSTAMP, `data on ${channel}`, frame.data);
    case 'trade':
      if (typeof channel !== 'string') return malformedFrame(BITSTAMP, 'trade frame lacks channel', frame.data);
      if (channel.startsWith(TRADES_PREFIX)) return decodeTrade(msg, channel, frame, session);
      return unknownFrame(BITSTAMP, `trade on ${channel}`, frame.data);
    case 'order_created':
    case 'order_changed':
    case 'order_deleted':
      if (typeof channel === 'string' && channel.startsWith(LIVE_ORDERS_PREFIX)) return IGNORED_LIVE_ORDERS;
      return unknownFrame(BITSTAMP, `${event} on ${String(channel)}`, frame.data);
    case 'bts:subscription_succeeded':
      if (typeof channel !== 'string') return malformedFrame(BITSTAMP, 'subscription_succeeded lacks channel', frame.data);
      return decodeSubscribed(channel, frame, session);
    case 'bts:unsubscription_succeeded':
      return { events: NO_EVENTS, signal: { kind: 'unsubscribed', detail: typeof channel === 'string' ? channel : undefined } };
    case 'bts:heartbeat':
      return HEARTBEAT;
    case 'bts:request_reconnect':
      return RECONNECT;
    case 'bts:error':
      return venueError(msg, frame.data);
    default:
      return unknownFrame(BITSTAMP, `event ${event}`, frame.data);
  }
}
