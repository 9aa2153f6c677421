/**
 * Bybit v5 public-stream decoder: one frame text in, normalized events plus a signal out.
 *
 * Pure and synchronous apart from the per-connection {@link BybitSession} (key cache and merged tickers);
 * never throws on venue input. Hot-path rules: one `JSON.parse` per frame, dispatch on the topic's first
 * character, venue level arrays handed through untouched (they already are `[price, size]` string pairs).
 */
import type { BookDeltaEvent, BookSnapshotEvent, TickerEvent, TradeEvent } from '../../core/events.ts';
import { TributaryError } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import type { BybitMarket, BybitOpReply, BybitOrderbookFrame, BybitTickerData, BybitTickerFrame, BybitTrade, BybitTradeFrame } from './wire.ts';
import { scanBookFrame } from './scan.ts';
import { NO_EVENTS, isArray, levelsOk, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';

/** Venue id. */
export const BYBIT = 'bybit';

/** Latest known ticker fields of one symbol (decimal strings; `undefined` when never sent). */
interface TickerState {
  bidPrice: string | undefined;
  bidSize: string | undefined;
  askPrice: string | undefined;
  askSize: string | undefined;
  last: string | undefined;
  volume24h: string | undefined;
}

/**
 * Per-connection decoder state. A fresh one per connection, so reconnects start clean.
 * - `market`: the category of the connection (from its URL path), part of every instrument key;
 * - `keys`: venue symbol → instrument key (`linear:BTCUSDT`), so keys are not concatenated per frame;
 * - `tickers`: merged ticker state per venue symbol (linear sends deltas where absent fields are unchanged).
 */
export interface BybitSession {
  readonly market: BybitMarket;
  readonly keys: Map<string, string>;
  readonly tickers: Map<string, TickerState>;
}

/** New decoder state for one connection of `market`, optionally pre-filled with `[venueSymbol, key]` pairs. */
export function newBybitSession(market: BybitMarket, keys?: Iterable<readonly [string, string]>): BybitSession {
  const map = new Map<string, string>();
  if (keys) for (const [sym, key] of keys) map.set(sym, key);
  return { market, keys: map, tickers: new Map() };
}

function keyOf(session: BybitSession, sym: string): string {
  let k = session.keys.get(sym);
  if (k === undefined) {
    k = session.market + ':' + sym;
    session.keys.set(sym, k);
  }
  return k;
}

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

const IGNORED: Readonly<Record<string, Decoded>> = {
  kline: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'kline' } }),
  allLiquidation: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'allLiquidation' } }),
  liquidation: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'liquidation' } }),
  auth: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'auth' } }),
};
const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: { kind: 'heartbeat' } });

function rejected(msg: Unchecked<BybitOpReply>, data: string): Decoded {
  const retMsg = typeof msg.ret_msg === 'string' ? msg.ret_msg : '';
  const op = typeof msg.op === 'string' ? msg.op : '';
  const code = op === 'auth' ? 'VENUE_AUTH' : 'VENUE_REJECTED';
  return {
    events: NO_EVENTS,
    signal: {
      kind: 'error',
      error: new TributaryError(code, `bybit rejected ${op || 'request'}: ${retMsg}`, {
        venue: BYBIT,
        op,
        retMsg,
        reqId: msg.req_id,
        frame: data.slice(0, 200),
      }),
    },
  };
}

/**
 * `orderbook.{depth}.{symbol}` → BookSnapshotEvent (`seq` = `data.u`) or BookDeltaEvent
 * (`firstSeq` = `lastSeq` = `data.u`, contiguous +1 per message). `ts` = frame `ts` (venue ms).
 * Rule source: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
 */
function decodeBook(msg: Unchecked<BybitOrderbookFrame>, frame: InboundFrame, session: BybitSession): Decoded {
  const data = msg.data;
  const ts = msg.ts;
  if (data === null || typeof data !== 'object' || typeof ts !== 'number') return malformedFrame(BYBIT, 'orderbook frame lacks data or ts', frame.data);
  const d: Unchecked<BybitOrderbookFrame['data']> = data;
  const s = d.s;
  const u = d.u;
  const b = d.b;
  const a = d.a;
  if (typeof s !== 'string' || typeof u !== 'number' || !levelsOk(b) || !levelsOk(a)) {
    return malformedFrame(BYBIT, 'orderbook data lacks s, u, b or a', frame.data);
  }
  const type = msg.type;
  if (type === 'delta') {
    const ev: BookDeltaEvent = {
      type: 'book_delta',
      venue: BYBIT,
      key: keyOf(session, s),
      bids: b,
      asks: a,
      firstSeq: u,
      lastSeq: u,
      ts,
      recvTs: frame.recvTs,
    };
    return { events: [ev] };
  }
  if (type === 'snapshot') {
    const ev: BookSnapshotEvent = {
      type: 'book_snapshot',
      venue: BYBIT,
      key: keyOf(session, s),
      bids: b,
      asks: a,
      seq: u,
      ts,
      recvTs: frame.recvTs,
    };
    return { events: [ev] };
  }
  return malformedFrame(BYBIT, 'orderbook frame type is neither snapshot nor delta', frame.data);
}

/**
 * `publicTrade.{symbol}` → one TradeEvent per element: `S` is the taker side (`Buy` → buy, `Sell` → sell),
 * `i` the trade id, `T` the trade time (venue ms), `p` price (quote), `v` size (base).
 * Source: https://bybit-exchange.github.io/docs/v5/websocket/public/trade
 */
function decodeTrades(msg: Unchecked<BybitTradeFrame>, frame: InboundFrame, session: BybitSession): Decoded {
  const list = msg.data;
  if (!isArray(list)) return malformedFrame(BYBIT, 'publicTrade frame lacks a data array', frame.data);
  const n = list.length;
  const events = new Array<TradeEvent>(n);
  for (let j = 0; j < n; j++) {
    const el = list[j];
    if (el === null || typeof el !== 'object') return malformedFrame(BYBIT, 'publicTrade element is not an object', frame.data);
    const t: Unchecked<BybitTrade> = el;
    const S = t.S;
    const side = S === 'Buy' ? 'buy' : S === 'Sell' ? 'sell' : undefined;
    const { s, p, v, i, T } = t;
    if (side === undefined || typeof s !== 'string' || typeof p !== 'string' || typeof v !== 'string' || typeof i !== 'string' || typeof T !== 'number') {
      return malformedFrame(BYBIT, 'publicTrade element lacks T, s, S, v, p or i', frame.data);
    }
    events[j] = { type: 'trade', venue: BYBIT, key: keyOf(session, s), price: p, size: v, side, tradeId: i, ts: T, recvTs: frame.recvTs };
  }
  return { events };
}

/** Reads an optional ticker field: a non-empty string, `undefined` when absent or empty; `null` when of the wrong type. */
function field(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' ? v : null;
}

/**
 * `tickers.{symbol}` → TickerEvent. A `snapshot` replaces the symbol's state; a `delta` (linear/inverse) only
 * changes the fields it carries ("if a response param is not found in the message, its value has not changed").
 * Emits the merged state; `ts` = frame `ts` (venue ms).
 * Source: https://bybit-exchange.github.io/docs/v5/websocket/public/ticker
 */
function decodeTicker(msg: Unchecked<BybitTickerFrame>, frame: InboundFrame, session: BybitSession): Decoded {
  const data = msg.data;
  const ts = msg.ts;
  const d: Unchecked<BybitTickerData> | undefined = data !== null && typeof data === 'object' ? data : undefined;
  if (d === undefined || typeof ts !== 'number' || typeof d.symbol !== 'string') {
    return malformedFrame(BYBIT, 'tickers frame lacks data.symbol or ts', frame.data);
  }
  const type = msg.type;
  if (type !== 'snapshot' && type !== 'delta') return malformedFrame(BYBIT, 'tickers frame type is neither snapshot nor delta', frame.data);
  const rawBidPrice = d.bid1Price;
  const rawBidSize = d.bid1Size;
  const rawAskPrice = d.ask1Price;
  const rawAskSize = d.ask1Size;
  const rawLast = d.lastPrice;
  const rawVolume = d.volume24h;
  const bidPrice = field(rawBidPrice);
  const bidSize = field(rawBidSize);
  const askPrice = field(rawAskPrice);
  const askSize = field(rawAskSize);
  const last = field(rawLast);
  const volume24h = field(rawVolume);
  if (bidPrice === null || bidSize === null || askPrice === null || askSize === null || last === null || volume24h === null) {
    return malformedFrame(BYBIT, 'tickers field is not a string', frame.data);
  }
  const sym: string = d.symbol;
  let st = session.tickers.get(sym);
  if (st === undefined || type === 'snapshot') {
    st = { bidPrice, bidSize, askPrice, askSize, last, volume24h };
    session.tickers.set(sym, st);
  } else {
    // Delta: a field that is present changes (an empty string clears it), an absent one is unchanged.
    if (rawBidPrice !== undefined) st.bidPrice = bidPrice;
    if (rawBidSize !== undefined) st.bidSize = bidSize;
    if (rawAskPrice !== undefined) st.askPrice = askPrice;
    if (rawAskSize !== undefined) st.askSize = askSize;
    if (rawLast !== undefined) st.last = last;
    if (rawVolume !== undefined) st.volume24h = volume24h;
  }
  const ev: TickerEvent = {
    type: 'ticker',
    venue: BYBIT,
    key: keyOf(session, sym),
    bidPrice: st.bidPrice,
    bidSize: st.bidSize,
    askPrice: st.askPrice,
    askSize: st.askSize,
    last: st.last,
    volume24h: st.volume24h,
    ts,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * Replies to client operations: subscribe/unsubscribe acks (`success` true → subscribed/unsubscribed,
 * false → `VENUE_REJECTED` with `ret_msg`), pongs (public `op:"ping"` + `ret_msg:"pong"`, private `op:"pong"`).
 * Source: https://bybit-exchange.github.io/docs/v5/ws/connect
 */
function decodeOp(msg: Unchecked<BybitOpReply>, op: string, frame: InboundFrame): Decoded {
  if (msg.success === false) return rejected(msg, frame.data);
  switch (op) {
    case 'subscribe':
    case 'unsubscribe': {
      const reqId = typeof msg.req_id === 'string' && msg.req_id !== '' ? msg.req_id : undefined;
      return { events: NO_EVENTS, signal: { kind: op === 'subscribe' ? 'subscribed' : 'unsubscribed', detail: reqId } };
    }
    case 'ping':
    case 'pong':
      return HEARTBEAT;
    case 'auth':
      return IGNORED.auth;
    default:
      return unknownFrame(BYBIT, `op ${op}`, frame.data);
  }
}

/**
 * Decodes one Bybit v5 public frame received on a connection of `session.market`.
 * Prices are in quote currency and sizes in base units (decimal strings as sent); `ts` is venue time and
 * `recvTs` local receive time (`frame.recvTs`), both ms since the epoch. Never throws on venue input:
 * bad JSON or missing fields give an `error` signal with `PROTOCOL_MALFORMED`, unknown frames `PROTOCOL_UNKNOWN`,
 * `kline.*` / `allLiquidation.*` / `liquidation.*` an `ignored` signal named after the channel.
 */
export function decodeBybit(frame: InboundFrame, session: BybitSession): Decoded {
  // Fast path for order-book frames (most of the traffic): a single scan instead of JSON.parse.
  if (frame.data.startsWith('{"topic":"orderbook.')) {
    const sb = scanBookFrame(frame.data);
    if (sb !== undefined) return decodeBook({ type: sb.type, ts: sb.ts, data: sb }, frame, session);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.data);
  } catch {
    return malformedFrame(BYBIT, 'invalid JSON', frame.data);
  }
  if (parsed === null || typeof parsed !== 'object') return malformedFrame(BYBIT, 'frame is not a JSON object', frame.data);
  const msg: Unchecked<BybitOrderbookFrame | BybitTradeFrame | BybitTickerFrame | BybitOpReply> = parsed;
  const topic = msg.topic;
  if (typeof topic === 'string') {
    switch (topic.charCodeAt(0)) {
      case 111: // o
        if (topic.startsWith('orderbook.')) return decodeBook(msg, frame, session);
        break;
      case 112: // p
        if (topic.startsWith('publicTrade.')) return decodeTrades(msg, frame, session);
        break;
      case 116: // t
        if (topic.startsWith('tickers.')) return decodeTicker(msg, frame, session);
        break;
      case 107: // k
        if (topic.startsWith('kline.')) return IGNORED.kline;
        break;
      case 97: // a
        if (topic.startsWith('allLiquidation.')) return IGNORED.allLiquidation;
        break;
      case 108: // l
        if (topic.startsWith('liquidation.')) return IGNORED.liquidation;
        break;
    }
    return unknownFrame(BYBIT, `topic ${topic.slice(0, 60)}`, frame.data);
  }
  if (typeof msg.op === 'string') return decodeOp(msg, msg.op, frame);
  if (msg.success === false) return rejected(msg, frame.data);
  return unknownFrame(BYBIT, 'no topic or op', frame.data);
}
