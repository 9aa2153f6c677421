/**
 * Binance spot market-stream decoder: one frame text in, normalized events plus a signal out.
 *
 * Accepts combined-stream frames (`{"stream","data"}`) and raw payloads. Pure apart from the per-connection
 * {@link BinanceSession} key cache; never throws on venue input. Hot path: one `JSON.parse`, dispatch on the
 * payload's `e`, level arrays handed through untouched.
 */
import type { BookDeltaEvent, TickerEvent, TradeEvent } from '../../core/events.ts';
import { TributaryError } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import { NO_EVENTS, levelsOk, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import type {
  BinanceAggTrade,
  BinanceBookTicker,
  BinanceCombined,
  BinanceDepthSnapshot,
  BinanceDepthUpdate,
  BinanceErrorReply,
  BinanceResult,
  BinanceServerShutdown,
  BinanceTrade,
  BinanceWsApiError,
  BinanceWsApiEvent,
} from './wire.ts';

/** Every payload a stream frame can carry (partial-depth payloads have the REST snapshot's shape). */
type BinancePayload = BinanceDepthUpdate | BinanceAggTrade | BinanceTrade | BinanceBookTicker | BinanceServerShutdown | BinanceDepthSnapshot;

/** Venue id. */
export const BINANCE = 'binance';

/** Per-connection decoder state: venue symbol (upper case, as in payload `s`) → instrument key (`spot:BTCUSDT`). */
export interface BinanceSession {
  readonly keys: Map<string, string>;
}

/** New decoder state, optionally pre-filled with `[venueSymbol, key]` pairs. */
export function newBinanceSession(keys?: Iterable<readonly [string, string]>): BinanceSession {
  const map = new Map<string, string>();
  if (keys) for (const [sym, key] of keys) map.set(sym, key);
  return { keys: map };
}

function keyOf(session: BinanceSession, sym: string): string {
  let k = session.keys.get(sym);
  if (k === undefined) {
    k = 'spot:' + sym;
    session.keys.set(sym, k);
  }
  return k;
}

function ignored(reason: string): Decoded {
  return Object.freeze({ events: NO_EVENTS, signal: Object.freeze({ kind: 'ignored', reason }) });
}

const IGNORED_KLINE = ignored('kline');
const IGNORED_TICKER24 = ignored('24hrTicker');
const IGNORED_MINI = ignored('24hrMiniTicker');
const IGNORED_AVG = ignored('avgPrice');
const IGNORED_PARTIAL = ignored('partialDepth');
const IGNORED_RESULT = ignored('result');
const SHUTDOWN: Decoded = Object.freeze({ events: NO_EVENTS, signal: Object.freeze({ kind: 'reconnect', reason: 'serverShutdown' }) });

/** Error codes that mean "slow down": -1003 TOO_MANY_REQUESTS, -1015 too many orders, HTTP-style 429 / 418. */
function isRateLimit(code: number): boolean {
  return code === -1003 || code === -1015 || code === 429 || code === 418;
}

function venueError(code: number, msg: unknown, id: unknown, data: string): Decoded {
  const text = typeof msg === 'string' ? msg : '';
  return {
    events: NO_EVENTS,
    signal: {
      kind: 'error',
      error: new TributaryError(isRateLimit(code) ? 'VENUE_RATE_LIMITED' : 'VENUE_REJECTED', `binance error ${code}: ${text}`, {
        venue: BINANCE,
        code,
        msg: text,
        id,
        frame: data.slice(0, 200),
      }),
    },
  };
}

/**
 * `depthUpdate` → BookDeltaEvent covering update ids `[U, u]` (`firstSeq` = U, `lastSeq` = u), `ts` = `E`.
 * Rule: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly
 */
function decodeDepth(p: Unchecked<BinanceDepthUpdate>, frame: InboundFrame, session: BinanceSession): Decoded {
  const { s, U, u, E, b, a } = p;
  if (typeof s !== 'string' || typeof U !== 'number' || typeof u !== 'number' || typeof E !== 'number' || !levelsOk(b) || !levelsOk(a)) {
    return malformedFrame(BINANCE, 'depthUpdate lacks s, U, u, E, b or a', frame.data);
  }
  const ev: BookDeltaEvent = {
    type: 'book_delta',
    venue: BINANCE,
    key: keyOf(session, s),
    bids: b,
    asks: a,
    firstSeq: U,
    lastSeq: u,
    ts: E,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * `aggTrade` (trade id `a`) or `trade` (trade id `t`) → TradeEvent. `m` true means the buyer was the maker,
 * so the taker sold: side `sell`; otherwise `buy`. `ts` = trade time `T`.
 * Source: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 */
function decodeTrade(p: Unchecked<BinanceAggTrade | BinanceTrade>, id: unknown, frame: InboundFrame, session: BinanceSession): Decoded {
  const { s, p: price, q, T, m } = p;
  if (typeof s !== 'string' || typeof price !== 'string' || typeof q !== 'string' || typeof T !== 'number' || typeof m !== 'boolean') {
    return malformedFrame(BINANCE, `${String(p.e)} lacks s, p, q, T or m`, frame.data);
  }
  if (typeof id !== 'number' && typeof id !== 'string') return malformedFrame(BINANCE, `${String(p.e)} lacks its trade id`, frame.data);
  const ev: TradeEvent = {
    type: 'trade',
    venue: BINANCE,
    key: keyOf(session, s),
    price,
    size: q,
    side: m ? 'sell' : 'buy',
    tradeId: typeof id === 'string' ? id : String(id),
    ts: T,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * `bookTicker` (no `e`; `u, s, b, B, a, A`) → TickerEvent with best bid/ask only. It carries no event time,
 * so `ts` is the receive time unless an `E` field is present.
 */
function decodeBookTicker(p: Unchecked<BinanceBookTicker>, frame: InboundFrame, session: BinanceSession): Decoded {
  const { s, b, B, a, A, E } = p;
  if (typeof s !== 'string' || typeof b !== 'string' || typeof B !== 'string' || typeof a !== 'string' || typeof A !== 'string') {
    return malformedFrame(BINANCE, 'bookTicker lacks s, b, B, a or A', frame.data);
  }
  const ev: TickerEvent = {
    type: 'ticker',
    venue: BINANCE,
    key: keyOf(session, s),
    bidPrice: b,
    bidSize: B,
    askPrice: a,
    askSize: A,
    last: undefined,
    volume24h: undefined,
    ts: typeof E === 'number' ? E : frame.recvTs,
    recvTs: frame.recvTs,
  };
  return { events: [ev] };
}

/**
 * Decodes one Binance spot stream frame. Prices in quote currency, sizes in base units (decimal strings as sent);
 * `ts` venue time (`E`/`T`, ms) and `recvTs` local receive time (`frame.recvTs`, ms).
 * Control replies: `{"result":null,"id"}` → subscribed; `{"code","msg"}` → error (`VENUE_RATE_LIMITED` for
 * -1003/-1015/429/418, else `VENUE_REJECTED`); `serverShutdown` → reconnect. Never throws on venue input:
 * bad JSON or missing fields → `PROTOCOL_MALFORMED`, unknown frames → `PROTOCOL_UNKNOWN`; kline, 24h tickers,
 * avgPrice and partial-depth payloads → `ignored`.
 */
export function decodeBinance(frame: InboundFrame, session: BinanceSession): Decoded {
  let msg: unknown;
  try {
    msg = JSON.parse(frame.data);
  } catch {
    return malformedFrame(BINANCE, 'invalid JSON', frame.data);
  }
  if (msg === null || typeof msg !== 'object') return malformedFrame(BINANCE, 'frame is not a JSON object', frame.data);
  const m: Unchecked<BinanceCombined<unknown> | BinanceResult | BinanceErrorReply | BinanceWsApiError | BinanceWsApiEvent | BinancePayload> = msg;
  let p: Unchecked<BinancePayload> = m;
  if (typeof m.stream === 'string') {
    const data = m.data;
    if (data === null || typeof data !== 'object') return malformedFrame(BINANCE, 'combined frame lacks data', frame.data);
    p = data;
  }
  const e = p.e;
  if (typeof e === 'string') {
    switch (e) {
      case 'depthUpdate':
        return decodeDepth(p, frame, session);
      case 'aggTrade':
        return decodeTrade(p, p.a, frame, session);
      case 'trade':
        return decodeTrade(p, p.t, frame, session);
      case 'kline':
        return IGNORED_KLINE;
      case '24hrTicker':
        return IGNORED_TICKER24;
      case '24hrMiniTicker':
        return IGNORED_MINI;
      case 'avgPrice':
        return IGNORED_AVG;
      case 'serverShutdown':
        return SHUTDOWN;
      default:
        return unknownFrame(BINANCE, `event ${e.slice(0, 40)}`, frame.data);
    }
  }
  // bookTicker has no event type: recognised by its update id or its string best-bid field.
  if (typeof p.u === 'number' || typeof p.b === 'string') return decodeBookTicker(p, frame, session);
  if (Array.isArray(p)) return unknownFrame(BINANCE, 'array payload', frame.data);
  if ('result' in m) {
    return m.result === null ? { events: NO_EVENTS, signal: { kind: 'subscribed', detail: m.id == null ? undefined : String(m.id) } } : IGNORED_RESULT;
  }
  if (typeof m.code === 'number') return venueError(m.code, m.msg, m.id, frame.data);
  const err = m.error;
  if (err !== null && typeof err === 'object') {
    const ed: Unchecked<BinanceWsApiError['error']> = err;
    if (typeof ed.code === 'number') return venueError(ed.code, ed.msg, m.id, frame.data);
  }
  const ev = m.event;
  if (ev !== null && typeof ev === 'object') {
    const sd: Unchecked<BinanceServerShutdown> = ev;
    if (sd.e === 'serverShutdown') return SHUTDOWN;
  }
  if (typeof p.lastUpdateId === 'number' && Array.isArray(p.bids)) return IGNORED_PARTIAL;
  if ('u' in p || 'e' in p) return malformedFrame(BINANCE, 'payload with malformed u or e', frame.data);
  return unknownFrame(BINANCE, 'no event type', frame.data);
}
