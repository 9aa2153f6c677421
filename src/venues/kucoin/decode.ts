/**
 * KuCoin spot public-stream decoder: one frame text in, normalized events plus a signal (and replies) out.
 *
 * Pure and synchronous apart from the per-connection {@link KucoinSession} (key caches and the "subscribed yet"
 * flag); never throws on venue input. Hot path: one `JSON.parse` per frame, dispatch on one character of the
 * topic, level arrays handed through untouched (`[price, size, sequence]` strings) unless a sequence-only change
 * (price `"0"`) has to be filtered out.
 *
 * Subscribing waits for the connection to be usable ("the connection will only be available once the welcome
 * message has been received", https://www.kucoin.com/docs-new/websocket-api/base-info/introduction): the plan
 * sends only a ping on open, and the decoder answers the first `welcome` (or the `pong` to that ping, whichever
 * comes first) with the connection's subscribe frames in `Decoded.replies`.
 */
import type { BookDeltaEvent, Level, TickerEvent, TradeEvent } from '../../core/events.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import { NO_EVENTS, isArray, isWireObject, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import type { KucoinControl, KucoinL2Update, KucoinMatch, KucoinMessage, KucoinRequest, KucoinTicker } from './wire.ts';

/** Venue id. */
export const KUCOIN = 'kucoin';

/**
 * Per-connection decoder state. A fresh one per connection, so a reconnect subscribes again.
 * - `keys`: venue symbol → instrument key (`spot:BTC-USDT`), so keys are not concatenated per frame;
 * - `topicKeys`: ticker topic (`/market/ticker:BTC-USDT`) → instrument key (ticker data carries no symbol);
 * - `subscribeFrames`: sent as replies once the connection is usable; `subscribed` turns true then;
 * - `topicsById`: subscribe request id → topic, to name the topic in acks and errors.
 */
export interface KucoinSession {
  readonly keys: Map<string, string>;
  readonly topicKeys: Map<string, string>;
  readonly subscribeFrames: readonly string[];
  readonly topicsById: Map<string, string>;
  subscribed: boolean;
}

/**
 * New decoder state for one connection: the subscribe frames to send once the venue says the connection is
 * usable, optionally pre-filled `[venueSymbol, key]` pairs.
 */
export function newKucoinSession(subscribeFrames: readonly string[] = [], keys?: Iterable<readonly [string, string]>): KucoinSession {
  const map = new Map<string, string>();
  if (keys) for (const [sym, key] of keys) map.set(sym, key);
  const topicsById = new Map<string, string>();
  for (const f of subscribeFrames) {
    try {
      const o: unknown = JSON.parse(f);
      if (isWireObject<KucoinRequest>(o) && (typeof o.id === 'number' || typeof o.id === 'string') && typeof o.topic === 'string') topicsById.set(String(o.id), o.topic);
    } catch {
      // our own frames always parse
    }
  }
  return { keys: map, topicKeys: new Map(), subscribeFrames, topicsById, subscribed: false };
}

function keyOf(session: KucoinSession, sym: string): string {
  let k = session.keys.get(sym);
  if (k === undefined) {
    k = 'spot:' + sym;
    session.keys.set(sym, k);
  }
  return k;
}

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

const IGNORED_CANDLES = constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'candles' } });
const IGNORED_SNAPSHOT = constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'snapshot' } });
const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: { kind: 'heartbeat' } });

/** A venue sequence: a safe integer number, or a decimal-digit string (REST and ticker send strings). */
export function kucoinSeq(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string' && v.length > 0 && v.length <= 16) {
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    return Number(v);
  }
  return undefined;
}

/** True when every entry is `[price string, size string, sequence string|number, ...]`. Reads, never copies. */
function changesOk(a: unknown): a is Level[] {
  if (!isArray(a)) return false;
  for (let i = 0; i < a.length; i++) {
    const l = a[i];
    if (!isArray(l) || typeof l[0] !== 'string' || typeof l[1] !== 'string') return false;
    const s = l[2];
    if (typeof s !== 'string' && typeof s !== 'number') return false;
  }
  return true;
}

/** Price `"0"` (any spelling of zero): a sequence-only change, no book level. */
function isZeroPrice(p: string): boolean {
  if (p.length === 0) return false;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c !== 48 && c !== 46) return false;
  }
  return true;
}

/** The levels without sequence-only changes (price `"0"`); the same array when there are none. */
function withoutZeroPrice(levels: Level[]): Level[] {
  for (let i = 0; i < levels.length; i++) {
    if (isZeroPrice(levels[i][0])) return levels.filter((l) => !isZeroPrice(l[0]));
  }
  return levels;
}

/**
 * `/market/level2:{symbol}` (`trade.l2update`) → BookDeltaEvent covering `[sequenceStart, sequenceEnd]`
 * (`firstSeq`, `lastSeq`, contiguous across messages). Levels stay `[price, size, sequence]` so the sync stage can
 * skip changes already in a REST snapshot (`levelSequence`); price-`"0"` changes are dropped here (the message's
 * sequence range still advances the book sequence). `ts` = `data.time` (ms) when sent, else `recvTs` (the 2021
 * messages have no time). Source: https://www.kucoin.com/docs-new/3470068w0
 */
function decodeLevel2(msg: Unchecked<KucoinMessage<KucoinL2Update>>, frame: InboundFrame, session: KucoinSession): Decoded {
  const data = msg.data;
  if (data === null || typeof data !== 'object') return malformedFrame(KUCOIN, 'level2 message lacks data', frame.data);
  const d: Unchecked<KucoinL2Update> = data;
  const start = kucoinSeq(d.sequenceStart);
  const end = kucoinSeq(d.sequenceEnd);
  const sym = d.symbol;
  const ch = d.changes;
  if (typeof sym !== 'string' || start === undefined || end === undefined || end < start || ch === null || typeof ch !== 'object') {
    return malformedFrame(KUCOIN, 'level2 data lacks symbol, sequenceStart, sequenceEnd or changes', frame.data);
  }
  const changes: Unchecked<KucoinL2Update['changes']> = ch;
  const bids = changes.bids;
  const asks = changes.asks;
  if (!changesOk(bids) || !changesOk(asks)) return malformedFrame(KUCOIN, 'level2 changes are not [price, size, sequence] lists', frame.data);
  const ev: BookDeltaEvent = {
    type: 'book_delta',
    venue: KUCOIN,
    key: keyOf(session, sym),
    bids: withoutZeroPrice(bids),
    asks: withoutZeroPrice(asks),
    firstSeq: start,
    lastSeq: end,
    ts: typeof d.time === 'number' ? d.time : frame.recvTs,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/** Reads an optional string field: the string, `undefined` when absent or empty, `null` when of the wrong type. */
function field(v: unknown): string | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : null;
}

/**
 * `/market/ticker:{symbol}` (`trade.ticker`) → TickerEvent: `bestBid`/`bestBidSize`/`bestAsk`/`bestAskSize`, last =
 * `price`. The data carries no symbol: it comes from the topic (`/market/ticker:all` puts it in `subject`).
 * `ts` = `data.time` (ms), else `recvTs`. Source: https://www.kucoin.com/docs-new/3470063w0
 */
function decodeTicker(msg: Unchecked<KucoinMessage<KucoinTicker>>, topic: string, frame: InboundFrame, session: KucoinSession): Decoded {
  const data = msg.data;
  if (data === null || typeof data !== 'object') return malformedFrame(KUCOIN, 'ticker message lacks data', frame.data);
  const d: Unchecked<KucoinTicker> = data;
  let key = session.topicKeys.get(topic);
  if (key === undefined) {
    const sym = topic.slice(15);
    if (sym === 'all') {
      if (typeof msg.subject !== 'string' || msg.subject === '') return malformedFrame(KUCOIN, 'ticker:all message lacks subject', frame.data);
      key = keyOf(session, msg.subject);
    } else {
      if (sym === '' || sym.includes(',')) return malformedFrame(KUCOIN, 'ticker topic names no single symbol', frame.data);
      key = keyOf(session, sym);
      session.topicKeys.set(topic, key);
    }
  }
  const bidPrice = field(d.bestBid);
  const bidSize = field(d.bestBidSize);
  const askPrice = field(d.bestAsk);
  const askSize = field(d.bestAskSize);
  const last = field(d.price);
  if (bidPrice === null || bidSize === null || askPrice === null || askSize === null || last === null) {
    return malformedFrame(KUCOIN, 'ticker field is not a string', frame.data);
  }
  const ev: TickerEvent = {
    type: 'ticker',
    venue: KUCOIN,
    key,
    bidPrice,
    bidSize,
    askPrice,
    askSize,
    last,
    ts: typeof d.time === 'number' ? d.time : frame.recvTs,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/** Nanoseconds (digit string or number) → ms, truncated; undefined when not a time. */
export function kucoinNsToMs(v: unknown): number | undefined {
  if (typeof v === 'string') {
    if (v.length < 7 || v.length > 22) return undefined;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    return Number(v.slice(0, -6));
  }
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v / 1e6);
  return undefined;
}

/**
 * `/market/match:{symbol}` (`trade.l3match`) → TradeEvent: `side` is the taker's side (`buy`/`sell`, as the
 * futures doc states, "Side of liquidity taker"), `tradeId`, `price`/`size`, `ts` = `time` (ns → ms).
 * Source: https://www.kucoin.com/docs-new/3470072w0
 */
function decodeMatch(msg: Unchecked<KucoinMessage<KucoinMatch>>, frame: InboundFrame, session: KucoinSession): Decoded {
  const data = msg.data;
  if (data === null || typeof data !== 'object') return malformedFrame(KUCOIN, 'match message lacks data', frame.data);
  const d: Unchecked<KucoinMatch> = data;
  const { symbol, side, price, size } = d;
  const tradeId = typeof d.tradeId === 'string' ? d.tradeId : typeof d.tradeId === 'number' ? String(d.tradeId) : undefined;
  const ts = kucoinNsToMs(d.time);
  if (typeof symbol !== 'string' || (side !== 'buy' && side !== 'sell') || typeof price !== 'string' || typeof size !== 'string' || tradeId === undefined || ts === undefined) {
    return malformedFrame(KUCOIN, 'match data lacks symbol, side, price, size, tradeId or time', frame.data);
  }
  const ev: TradeEvent = { type: 'trade', venue: KUCOIN, key: keyOf(session, symbol), price, size, side, tradeId, ts, recvTs: frame.recvTs };
  return { events: [ev] };
}

/**
 * `{"type":"error","code","data"}` → typed error: 401 (token invalid / expired) → `VENUE_AUTH`; 509 (subscription
 * count limits, "exceed max permits per second") and 429 → `VENUE_RATE_LIMITED`; anything else (404 topic not
 * found, 400 bad request, …) → `VENUE_REJECTED`. The context names the request's topic when the id is ours.
 */
function venueError(msg: Unchecked<KucoinControl>, frame: InboundFrame, session: KucoinSession): Decoded {
  const code = typeof msg.code === 'number' ? msg.code : typeof msg.code === 'string' ? Number(msg.code) : NaN;
  const text = typeof msg.data === 'string' ? msg.data : typeof msg.msg === 'string' ? msg.msg : '';
  const id = typeof msg.id === 'string' || typeof msg.id === 'number' ? String(msg.id) : undefined;
  const kind: ErrorCode = code === 401 ? 'VENUE_AUTH' : code === 509 || code === 429 ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED';
  const topic = id === undefined ? undefined : session.topicsById.get(id);
  return {
    events: NO_EVENTS,
    signal: {
      kind: 'error',
      error: new TributaryError(kind, `kucoin error ${Number.isNaN(code) ? String(msg.code) : code}: ${text}`, {
        venue: KUCOIN,
        code: msg.code,
        msg: text,
        id,
        topic,
        frame: frame.data.slice(0, 200),
      }),
    },
  };
}

/** The connection is usable (`welcome`, or the `pong` to the opening ping): subscribe once. */
function ready(session: KucoinSession): Decoded {
  if (session.subscribed) return HEARTBEAT;
  session.subscribed = true;
  if (session.subscribeFrames.length === 0) return HEARTBEAT;
  return { events: NO_EVENTS, replies: session.subscribeFrames, signal: { kind: 'heartbeat' } };
}

/**
 * Decodes one KuCoin spot public frame. Prices are in quote currency, sizes in base units (decimal strings as
 * sent); `ts` is venue time and `recvTs` local receive time, both ms since the epoch. Never throws on venue input:
 * bad JSON or missing fields → `PROTOCOL_MALFORMED`; unknown types/topics → `PROTOCOL_UNKNOWN`; `/market/candles`
 * and `/market/snapshot` → `ignored`; `welcome`/`pong` → `heartbeat` (the first one carries the subscribe frames as
 * replies); `ack` → `subscribed` (detail = the topic when the id is ours, else the id); `error` → typed error.
 */
export function decodeKucoin(frame: InboundFrame, session: KucoinSession): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.data);
  } catch {
    return malformedFrame(KUCOIN, 'invalid JSON', frame.data);
  }
  if (!isWireObject<KucoinMessage<unknown> | KucoinControl>(parsed)) return malformedFrame(KUCOIN, 'frame is not a JSON object', frame.data);
  const msg = parsed;
  const type = msg.type;
  if (type === 'message') {
    const topic = msg.topic;
    if (typeof topic !== 'string') return malformedFrame(KUCOIN, 'message lacks topic', frame.data);
    if (topic.startsWith('/market/')) {
      switch (topic.charCodeAt(8)) {
        case 108: // l
          if (topic.startsWith('level2:', 8)) return decodeLevel2(msg, frame, session);
          break;
        case 116: // t
          if (topic.startsWith('ticker:', 8)) return decodeTicker(msg, topic, frame, session);
          break;
        case 109: // m
          if (topic.startsWith('match:', 8)) return decodeMatch(msg, frame, session);
          break;
        case 99: // c
          if (topic.startsWith('candles:', 8)) return IGNORED_CANDLES;
          break;
        case 115: // s
          if (topic.startsWith('snapshot:', 8)) return IGNORED_SNAPSHOT;
          break;
      }
    }
    return unknownFrame(KUCOIN, `topic ${topic.slice(0, 60)}`, frame.data);
  }
  switch (type) {
    case 'welcome':
    case 'pong':
      return ready(session);
    case 'ack': {
      const id = typeof msg.id === 'string' || typeof msg.id === 'number' ? String(msg.id) : undefined;
      return { events: NO_EVENTS, signal: { kind: 'subscribed', detail: (id !== undefined ? session.topicsById.get(id) : undefined) ?? id } };
    }
    case 'error':
      return venueError(msg, frame, session);
    default:
      return unknownFrame(KUCOIN, typeof type === 'string' ? `type ${type.slice(0, 40)}` : 'no type', frame.data);
  }
}
