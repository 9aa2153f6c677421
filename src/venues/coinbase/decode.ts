/**
 * Coinbase Advanced Trade market-data decoder: one frame text in, normalized events plus a signal out.
 *
 * Pure and synchronous apart from the per-connection {@link CoinbaseSession} (key cache, connection sequence);
 * never throws on venue input. Hot path: one `JSON.parse` per frame, dispatch on the envelope `channel`'s
 * first character. Coinbase sends book levels as objects (`{side, price_level, new_quantity}`), so minimal
 * `[price, size]` arrays are built, one per level.
 *
 * Connection sequence: every message carries `sequence_num`, which counts *every* message on the connection
 * across all channels (https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels).
 * The session checks it is contiguous; a jump means a message (possibly a book update) was lost, so the
 * decoder drops the frame's book events and signals `resync_connection` (every book on the connection is
 * rebuilt by resubscribing `level2`).
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level, TickerEvent, TradeEvent } from '../../core/events.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import { NO_EVENTS, isArray, isWireObject, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import type {
  CoinbaseEnvelope,
  CoinbaseErrorFrame,
  CoinbaseL2Event,
  CoinbaseL2Update,
  CoinbaseMarketTradesEvent,
  CoinbaseSubscriptionsEvent,
  CoinbaseTicker,
  CoinbaseTickerEvent,
  CoinbaseTrade,
} from './wire.ts';

/** Venue id. */
export const COINBASE = 'coinbase';

/**
 * Per-connection decoder state. A fresh one per connection, so reconnects start clean.
 * - `keys`: product id as sent in frames → instrument key (`spot:BTC-USD`); pre-filled from the plan (including
 *   aliases: frames for an aliased product may carry the alias target's id), else built as `spot:` + id;
 * - `lastSeq`: the last `sequence_num` seen on the connection (`-1` before the first message);
 * - `day`/`dayMs`: cache of the last RFC 3339 date prefix (`YYYY-MM-DD`) and its epoch ms, for timestamp parsing.
 */
export interface CoinbaseSession {
  readonly keys: Map<string, string>;
  lastSeq: number;
  /** Connection-sequence gaps seen so far (for tests and diagnostics). */
  gaps: number;
  day: string;
  dayMs: number;
}

/** New decoder state, optionally pre-filled with `[productIdInFrames, key]` pairs. */
export function newCoinbaseSession(keys?: Iterable<readonly [string, string]>): CoinbaseSession {
  const map = new Map<string, string>();
  if (keys) for (const [id, key] of keys) if (!map.has(id)) map.set(id, key);
  return { keys: map, lastSeq: -1, gaps: 0, day: '', dayMs: 0 };
}

function keyOf(session: CoinbaseSession, productId: string): string {
  let k = session.keys.get(productId);
  if (k === undefined) {
    k = 'spot:' + productId;
    session.keys.set(productId, k);
  }
  return k;
}

const D0 = 48;
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - D0;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/**
 * RFC 3339 UTC time (`2026-08-09T21:05:48.228568804Z`, any number of fraction digits) → ms since epoch,
 * truncating below the millisecond (as `Date.parse` does). The date part is cached in the session, so a frame
 * costs a few character reads. Other forms fall back to `Date.parse`; NaN when unparseable.
 */
export function parseRfc3339Ms(s: string, session: CoinbaseSession): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(10) !== 84 /* T */ || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return Date.parse(s);
  }
  let dayMs: number;
  const day = s.slice(0, 10);
  if (day === session.day) {
    dayMs = session.dayMs;
  } else {
    dayMs = Date.parse(day + 'T00:00:00Z');
    if (Number.isNaN(dayMs)) return NaN;
    session.day = day;
    session.dayMs = dayMs;
  }
  const h = digits(s, 11, 2);
  const m = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  let ms = 0;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */) return Date.parse(s);
    const f = n - 21; // fraction digits
    if (f < 1) return NaN;
    const take = f < 3 ? f : 3;
    ms = digits(s, 20, take) * (take === 1 ? 100 : take === 2 ? 10 : 1);
    if (f > 3 && Number.isNaN(digits(s, 23, f - 3))) return NaN;
  }
  return dayMs + ((h * 60 + m) * 60 + sec) * 1000 + ms;
}

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

function ignored(reason: string): Decoded {
  return constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'ignored', reason }) });
}

const IGNORED: Readonly<Record<string, Decoded>> = {
  candles: ignored('candles'),
  status: ignored('status'),
  ticker_batch: ignored('ticker_batch'),
  user: ignored('user'),
  futures_balance_summary: ignored('futures_balance_summary'),
};
const IGNORED_TRADES_SNAPSHOT = ignored('market_trades_snapshot');
const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'heartbeat' }) });

/**
 * Error frame `{"type":"error","message":...}` → typed error: rate-limit wording → `VENUE_RATE_LIMITED`,
 * authentication / JWT wording → `VENUE_AUTH`, anything else (e.g. `failure to subscribe`) → `VENUE_REJECTED`.
 */
export function coinbaseErrorCode(message: string): ErrorCode {
  const m = message.toLowerCase();
  if (m.includes('rate limit') || m.includes('ratelimit') || m.includes('too many')) return 'VENUE_RATE_LIMITED';
  if (m.includes('auth') || m.includes('jwt') || m.includes('token') || m.includes('signature') || m.includes('permission')) return 'VENUE_AUTH';
  return 'VENUE_REJECTED';
}

function venueError(msg: Unchecked<CoinbaseErrorFrame>, data: string): Decoded {
  const text = typeof msg.message === 'string' ? msg.message : typeof msg.reason === 'string' ? msg.reason : '';
  const code = coinbaseErrorCode(text);
  return {
    events: NO_EVENTS,
    signal: { kind: 'error', error: new TributaryError(code, `coinbase error: ${text}`, { venue: COINBASE, message: text, frame: data.slice(0, 200) }) },
  };
}

/** Reads an optional ticker field: non-empty string → it, absent/empty → undefined, wrong type → null. */
function field(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' ? v : null;
}

/**
 * `l2_data` → one BookSnapshotEvent (`type: snapshot`) or BookDeltaEvent (`type: update`) per event:
 * `side` `bid` → bids, `offer` → asks, `[price_level, new_quantity]` (absolute size, "0" deletes).
 * No per-book sequence exists: `seq` is undefined on snapshots and `firstSeq = lastSeq = sequence_num` on deltas
 * (informational; the sync rule is `sequence: 'none'`, the connection check is done here). `ts` = the first
 * update's `event_time`, else the envelope `timestamp` (venue ms).
 * Source: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2
 */
function decodeL2(events: readonly unknown[], seq: number, envTs: number, frame: InboundFrame, session: CoinbaseSession): Decoded {
  const out: (BookSnapshotEvent | BookDeltaEvent)[] = [];
  for (let j = 0; j < events.length; j++) {
    const el = events[j];
    if (el === null || typeof el !== 'object') return malformedFrame(COINBASE, 'l2_data event is not an object', frame.data);
    const e: Unchecked<CoinbaseL2Event> = el;
    const { type, product_id, updates } = e;
    if (typeof product_id !== 'string' || !isArray(updates) || (type !== 'snapshot' && type !== 'update')) {
      return malformedFrame(COINBASE, 'l2_data event lacks type, product_id or updates', frame.data);
    }
    const bids: Level[] = [];
    const asks: Level[] = [];
    for (let i = 0; i < updates.length; i++) {
      const ul = updates[i];
      if (ul === null || typeof ul !== 'object') return malformedFrame(COINBASE, 'l2_data update is not an object', frame.data);
      const u: Unchecked<CoinbaseL2Update> = ul;
      const p = u.price_level;
      const q = u.new_quantity;
      if (typeof p !== 'string' || typeof q !== 'string') return malformedFrame(COINBASE, 'l2_data update lacks price_level or new_quantity', frame.data);
      const side = u.side;
      if (side === 'bid') bids.push([p, q]);
      else if (side === 'offer' || side === 'ask') asks.push([p, q]);
      else return malformedFrame(COINBASE, 'l2_data update side is neither bid nor offer', frame.data);
    }
    let ts = envTs;
    if (updates.length > 0) {
      // every update was checked to be an object above
      const eventTime = (updates[0] as Unchecked<CoinbaseL2Update>).event_time;
      if (typeof eventTime === 'string') {
        const t = parseRfc3339Ms(eventTime, session);
        if (t === t) ts = t;
      }
    }
    const key = keyOf(session, product_id);
    if (type === 'snapshot') {
      out.push({ type: 'book_snapshot', venue: COINBASE, key, bids, asks, seq: undefined, ts, recvTs: frame.recvTs });
    } else {
      out.push({ type: 'book_delta', venue: COINBASE, key, bids, asks, firstSeq: seq, lastSeq: seq, ts, recvTs: frame.recvTs });
    }
  }
  return { events: out };
}

/**
 * `market_trades` `update` → one TradeEvent per trade, in chronological order (Coinbase lists a batch newest
 * first). `side` is the maker's side, so the taker side is the opposite: `SELL` → `buy`, `BUY` → `sell`
 * (evidence in README.md). `ts` = trade `time`. The `snapshot` event (recent trades re-sent on every
 * (re)subscribe) is ignored so trades are never emitted twice.
 * Source: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/market-trades
 */
function decodeTrades(events: readonly unknown[], frame: InboundFrame, session: CoinbaseSession): Decoded {
  let out: TradeEvent[] | undefined;
  let sawSnapshot = false;
  for (let j = 0; j < events.length; j++) {
    const el = events[j];
    const e: Unchecked<CoinbaseMarketTradesEvent> | undefined = el !== null && typeof el === 'object' ? el : undefined;
    const trades = e?.trades;
    if (e === undefined || !isArray(trades)) return malformedFrame(COINBASE, 'market_trades event lacks trades', frame.data);
    if (e.type === 'snapshot') {
      sawSnapshot = true;
      continue;
    }
    if (e.type !== 'update') return malformedFrame(COINBASE, 'market_trades event type is neither snapshot nor update', frame.data);
    for (let i = trades.length - 1; i >= 0; i--) {
      const tl = trades[i];
      if (tl === null || typeof tl !== 'object') return malformedFrame(COINBASE, 'market_trades trade is not an object', frame.data);
      const t: Unchecked<CoinbaseTrade> = tl;
      const { product_id, trade_id, price, size, time, side } = t;
      const taker = side === 'SELL' ? 'buy' : side === 'BUY' ? 'sell' : undefined;
      if (taker === undefined || typeof product_id !== 'string' || typeof trade_id !== 'string' || typeof price !== 'string' || typeof size !== 'string' || typeof time !== 'string') {
        return malformedFrame(COINBASE, 'market_trades trade lacks product_id, trade_id, price, size, time or side', frame.data);
      }
      const ts = parseRfc3339Ms(time, session);
      if (ts !== ts) return malformedFrame(COINBASE, 'market_trades trade time is not RFC 3339', frame.data);
      (out ??= []).push({ type: 'trade', venue: COINBASE, key: keyOf(session, product_id), price, size, side: taker, tradeId: trade_id, ts, recvTs: frame.recvTs });
    }
  }
  if (out) return { events: out };
  return sawSnapshot ? IGNORED_TRADES_SNAPSHOT : { events: NO_EVENTS };
}

/**
 * `ticker` → one TickerEvent per ticker: `best_bid`/`best_bid_quantity` → bid, `best_ask`/`best_ask_quantity`
 * → ask, `price` → last, `volume_24_h` → volume24h (empty strings → undefined). `ts` = envelope `timestamp`.
 * Source: https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
 */
function decodeTicker(events: readonly unknown[], envTs: number, frame: InboundFrame, session: CoinbaseSession): Decoded {
  const out: TickerEvent[] = [];
  for (let j = 0; j < events.length; j++) {
    const el = events[j];
    const e: Unchecked<CoinbaseTickerEvent> | undefined = el !== null && typeof el === 'object' ? el : undefined;
    const tickers = e?.tickers;
    if (e === undefined || !isArray(tickers)) return malformedFrame(COINBASE, 'ticker event lacks tickers', frame.data);
    for (let i = 0; i < tickers.length; i++) {
      const tl = tickers[i];
      const t: Unchecked<CoinbaseTicker> | undefined = tl !== null && typeof tl === 'object' ? tl : undefined;
      if (t === undefined || typeof t.product_id !== 'string') return malformedFrame(COINBASE, 'ticker lacks product_id', frame.data);
      const bidPrice = field(t.best_bid);
      const bidSize = field(t.best_bid_quantity);
      const askPrice = field(t.best_ask);
      const askSize = field(t.best_ask_quantity);
      const last = field(t.price);
      const volume24h = field(t.volume_24_h);
      if (bidPrice === null || bidSize === null || askPrice === null || askSize === null || last === null || volume24h === null) {
        return malformedFrame(COINBASE, 'ticker field is not a string', frame.data);
      }
      const ev: TickerEvent = {
        type: 'ticker',
        venue: COINBASE,
        key: keyOf(session, t.product_id),
        bidPrice,
        bidSize,
        askPrice,
        askSize,
        last,
        volume24h,
        ts: envTs,
        recvTs: frame.recvTs,
      };
      out.push(ev);
    }
  }
  return { events: out };
}

/** `subscriptions` → signal `subscribed`, detail = the active channels (`level2,market_trades,…`). */
function decodeSubscriptions(events: readonly unknown[], frame: InboundFrame): Decoded {
  const el = events[0];
  const e: Unchecked<CoinbaseSubscriptionsEvent> | undefined = el !== null && typeof el === 'object' ? el : undefined;
  const subs = e?.subscriptions;
  if (subs === null || typeof subs !== 'object') return malformedFrame(COINBASE, 'subscriptions event lacks subscriptions', frame.data);
  return { events: NO_EVENTS, signal: { kind: 'subscribed', detail: Object.keys(subs).sort().join(',') } };
}

/**
 * Decodes one Coinbase Advanced Trade market-data frame. Channels: `l2_data` (book), `market_trades`, `ticker`,
 * `heartbeats` (heartbeat), `subscriptions` (subscribed); `candles`, `status`, `ticker_batch`, `user`,
 * `futures_balance_summary` are ignored; `{"type":"error"}` frames become typed errors. The connection
 * `sequence_num` is checked first (see the module doc).
 */
export function decodeCoinbase(frame: InboundFrame, session: CoinbaseSession): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.data);
  } catch {
    return malformedFrame(COINBASE, 'not JSON', frame.data);
  }
  if (!isWireObject<CoinbaseEnvelope<unknown> | CoinbaseErrorFrame>(parsed)) return malformedFrame(COINBASE, 'not a JSON object', frame.data);
  const msg = parsed;
  const channel = msg.channel;
  if (typeof channel !== 'string' || msg.type === 'error') {
    if (msg.type === 'error') return venueError(msg, frame.data);
    return unknownFrame(COINBASE, typeof msg.type === 'string' ? `type ${msg.type}` : 'no channel', frame.data);
  }
  const seq = msg.sequence_num;
  const events = msg.events;
  if (typeof seq !== 'number' || !isArray(events)) return malformedFrame(COINBASE, 'message lacks sequence_num or events', frame.data);
  const gap = session.lastSeq >= 0 && seq !== session.lastSeq + 1;
  const prev = session.lastSeq;
  session.lastSeq = seq;
  if (gap) session.gaps++;
  let d: Decoded;
  switch (channel) {
    case 'l2_data': {
      if (gap) break; // the books on this connection are rebuilt: this frame's levels are moot
      const envTs = typeof msg.timestamp === 'string' ? parseRfc3339Ms(msg.timestamp, session) : NaN;
      if (envTs !== envTs) return malformedFrame(COINBASE, 'l2_data lacks an RFC 3339 timestamp', frame.data);
      return decodeL2(events, seq, envTs, frame, session);
    }
    case 'market_trades':
      d = decodeTrades(events, frame, session);
      if (!gap) return d;
      return { events: d.events, signal: resync(prev, seq) };
    case 'ticker': {
      const envTs = typeof msg.timestamp === 'string' ? parseRfc3339Ms(msg.timestamp, session) : NaN;
      if (envTs !== envTs) return malformedFrame(COINBASE, 'ticker lacks an RFC 3339 timestamp', frame.data);
      d = decodeTicker(events, envTs, frame, session);
      if (!gap) return d;
      return { events: d.events, signal: resync(prev, seq) };
    }
    case 'heartbeats':
      if (!gap) return HEARTBEAT;
      break;
    case 'subscriptions':
      d = decodeSubscriptions(events, frame);
      if (!gap) return d;
      break;
    default: {
      const ig = IGNORED[channel];
      if (ig === undefined) return unknownFrame(COINBASE, `channel ${channel}`, frame.data);
      if (!gap) return ig;
    }
  }
  return { events: NO_EVENTS, signal: resync(prev, seq) };
}

function resync(prev: number, seq: number): { kind: 'resync_connection'; reason: string } {
  return { kind: 'resync_connection', reason: `sequence_num jumped from ${prev} to ${seq}` };
}
