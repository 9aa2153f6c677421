/**
 * OKX v5 public-stream decoder: one frame text in, normalized events plus a signal out.
 *
 * Pure and synchronous apart from the per-connection {@link OkxSession} (key cache and the fallback sequence
 * counters); never throws on venue input. Hot path: the keep-alive text `pong` is recognised before parsing, then one
 * `JSON.parse` per frame, dispatch on `arg.channel`, venue level arrays (`[px, sz, "0", orders]`, strings) handed
 * through untouched.
 *
 * Book sequence (rule `linked`): with `seqId` / `prevSeqId` (current OKX) a delta carries `prevSeq = prevSeqId` and
 * `lastSeq = seqId`, a snapshot `seq = seqId`. Without them (the 2022 recording) the session numbers each
 * instrument's book messages 1, 2, 3, … itself (snapshot `seq = n`, next update `prevSeq = n, lastSeq = n + 1`), which
 * the linked rule accepts; such a chain cannot reveal a lost message, so the checksum is the gap detector there.
 *
 * Docs: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel (sequence, checksum),
 * https://www.okx.com/docs-v5/en/#overview-websocket (ping/pong, events, errors).
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level, NormalizedEvent, TickerEvent, TradeEvent } from '../../core/events.ts';
import type { MarketType } from '../../core/instruments.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import { NO_EVENTS, isArray, isWireObject, levelsOk, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import type { OkxArg, OkxBookData, OkxBookPush, OkxEvent, OkxPush, OkxTicker, OkxTrade } from './wire.ts';

/** Venue id. */
export const OKX = 'okx';

/**
 * Market type of an instId by its shape: `BTC-USDT` → spot; `BTC-USD-SWAP` / `BTC-USD-220527` (quote `USD`, coin
 * margined) → inverse; `BTC-USDT-SWAP` / `BTC-USDC-240329` → linear; options (5 parts) and anything else → undefined.
 * Only a fallback: instruments from REST carry the authoritative `ctType`. It agrees with `ctType` for every
 * recorded SWAP and FUTURES instrument.
 */
export function okxMarketOfInstId(instId: string): MarketType | undefined {
  const p = instId.split('-');
  if (p.length === 2 && p[0] && p[1]) return 'spot';
  if (p.length === 3 && p[0] && p[1] && (p[2] === 'SWAP' || /^\d{6}$/.test(p[2]))) return p[1] === 'USD' ? 'inverse' : 'linear';
  return undefined;
}

/**
 * Per-connection decoder state, fresh per connection.
 * - `keys`: instId → instrument key (`spot:BTC-USDT`, `inverse:BTC-USD-SWAP`), pre-filled from the plan;
 * - `seq`: per instrument key, the last number of the session's own book-message counter (used only when pushes
 *   carry no `seqId`).
 */
export interface OkxSession {
  readonly keys: Map<string, string>;
  readonly seq: Map<string, number>;
}

/** New decoder state, optionally pre-filled with `[instId, key]` pairs. */
export function newOkxSession(keys?: Iterable<readonly [string, string]>): OkxSession {
  const map = new Map<string, string>();
  if (keys) for (const [id, key] of keys) map.set(id, key);
  return { keys: map, seq: new Map() };
}

function keyOf(session: OkxSession, instId: string): string {
  let k = session.keys.get(instId);
  if (k === undefined) {
    k = `${okxMarketOfInstId(instId) ?? 'unknown'}:${instId}`;
    session.keys.set(instId, k);
  }
  return k;
}

const NO_LEVELS: readonly Level[] = Object.freeze([]) as readonly Level[];

function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: { kind: 'heartbeat' } });

/** Public channels that are known but not used (counted by name). */
const UNUSED_CHANNELS: ReadonlySet<string> = new Set([
  'instruments',
  'open-interest',
  'funding-rate',
  'price-limit',
  'opt-summary',
  'estimated-price',
  'mark-price',
  'index-tickers',
  'status',
  'liquidation-orders',
  'adl-warning',
  'economic-calendar',
  'call-auction-details',
]);
const ignoredCache = new Map<string, Decoded>();
function ignored(reason: string): Decoded {
  let d = ignoredCache.get(reason);
  if (d === undefined) {
    d = constant({ events: NO_EVENTS, signal: Object.freeze({ kind: 'ignored', reason }) });
    ignoredCache.set(reason, d);
  }
  return d;
}

/** WebSocket error codes meaning "slow down": 60014 requests too frequent, 60023 bulk login too frequent, 50011 rate limit. */
const RATE_LIMIT_CODES: ReadonlySet<string> = new Set(['60014', '60023', '50011', '50061']);
/** Login / key / signature codes. */
const AUTH_CODES: ReadonlySet<string> = new Set(['60004', '60005', '60006', '60007', '60009', '60011', '60022', '60024', '60026', '60030', '60031', '63999']);

/**
 * Error code of an OKX error `code`: rate limits → `VENUE_RATE_LIMITED`; login / key / signature → `VENUE_AUTH`;
 * anything else (`60012` invalid request, `60013` invalid args, `60018` wrong URL or channel, …) → `VENUE_REJECTED`.
 * Source: https://www.okx.com/docs-v5/en/#error-code-websocket-public
 */
export function okxErrorCode(code: string): ErrorCode {
  if (RATE_LIMIT_CODES.has(code)) return 'VENUE_RATE_LIMITED';
  if (AUTH_CODES.has(code)) return 'VENUE_AUTH';
  return 'VENUE_REJECTED';
}

/** A ms timestamp sent as a decimal string (`"1652459225393"`), or NaN. */
function msOf(v: unknown): number {
  return typeof v === 'string' && v !== '' ? Number(v) : typeof v === 'number' ? v : NaN;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** The session's next book-message number for `key` (1, 2, …), used when pushes carry no `seqId`. */
function nextCounter(session: OkxSession, key: string): { prev: number; next: number } {
  const prev = session.seq.get(key) ?? 0;
  const next = prev + 1;
  session.seq.set(key, next);
  return { prev, next };
}

const INCREMENTAL: ReadonlySet<string> = new Set(['books', 'books-l2-tbt', 'books50-l2-tbt']);

/**
 * Book channels. Incremental channels (`books`, `books-l2-tbt`, `books50-l2-tbt`): `action: snapshot` →
 * BookSnapshotEvent, `action: update` → BookDeltaEvent; `books5` / `bbo-tbt` (no `action`): every push →
 * BookSnapshotEvent. Sequence as described in the module doc. A push's `checksum` is carried on the delta; for a
 * snapshot it rides on an extra empty BookDeltaEvent (`prevSeq = lastSeq = seq`) so the sync stage verifies the
 * snapshot as well. `checksum == 0` while `seqId` is present means "deprecated, not computed" and is dropped.
 * `ts` = push `ts` (venue ms).
 * Source: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
 */
function decodeBook(channel: string, msg: Unchecked<OkxBookPush>, instId: string, frame: InboundFrame, session: OkxSession): Decoded {
  const list = msg.data;
  if (!isArray(list)) return malformedFrame(OKX, 'book push lacks a data array', frame.data);
  const incremental = INCREMENTAL.has(channel);
  const action = msg.action;
  let snapshot: boolean;
  if (incremental) {
    if (action === 'snapshot') snapshot = true;
    else if (action === 'update') snapshot = false;
    else return malformedFrame(OKX, 'book push action is neither snapshot nor update', frame.data);
  } else {
    if (action !== undefined && action !== 'snapshot') return malformedFrame(OKX, `${channel} push has action ${String(action)}`, frame.data);
    snapshot = true;
  }
  const key = keyOf(session, instId);
  const events: NormalizedEvent[] = [];
  for (let j = 0; j < list.length; j++) {
    const d = list[j];
    if (!isWireObject<OkxBookData>(d)) return malformedFrame(OKX, 'book data element is not an object', frame.data);
    const asks = d.asks;
    const bids = d.bids;
    const ts = msOf(d.ts);
    if (!levelsOk(asks) || !levelsOk(bids) || !Number.isFinite(ts)) return malformedFrame(OKX, 'book data lacks asks, bids or ts', frame.data);
    const seqId = d.seqId;
    const prevSeqId = d.prevSeqId;
    if ((seqId !== undefined && !isInt(seqId)) || (prevSeqId !== undefined && !isInt(prevSeqId))) {
      return malformedFrame(OKX, 'book seqId / prevSeqId are not integers', frame.data);
    }
    let checksum: number | undefined;
    if (d.checksum !== undefined) {
      if (!isInt(d.checksum)) return malformedFrame(OKX, 'book checksum is not an integer', frame.data);
      checksum = d.checksum === 0 && seqId !== undefined ? undefined : d.checksum;
    }
    if (snapshot) {
      const seq = seqId !== undefined ? seqId : nextCounter(session, key).next;
      events.push({ type: 'book_snapshot', venue: OKX, key, bids, asks, seq, ts, recvTs: frame.recvTs } satisfies BookSnapshotEvent);
      if (checksum !== undefined) {
        events.push({ type: 'book_delta', venue: OKX, key, bids: NO_LEVELS, asks: NO_LEVELS, firstSeq: seq, lastSeq: seq, prevSeq: seq, checksum, ts, recvTs: frame.recvTs } satisfies BookDeltaEvent);
      }
    } else {
      let prev: number;
      let last: number;
      if (seqId !== undefined) {
        if (prevSeqId === undefined) return malformedFrame(OKX, 'book update has seqId but no prevSeqId', frame.data);
        prev = prevSeqId;
        last = seqId;
      } else {
        const c = nextCounter(session, key);
        prev = c.prev;
        last = c.next;
      }
      events.push({ type: 'book_delta', venue: OKX, key, bids, asks, firstSeq: last, lastSeq: last, prevSeq: prev, checksum, ts, recvTs: frame.recvTs } satisfies BookDeltaEvent);
    }
  }
  return { events };
}

/**
 * `trades` (and `trades-all`): one TradeEvent per element; `side` is the taker side, `tradeId` the id, `ts` the trade
 * time (ms), `px` price (quote), `sz` size (contracts for derivatives, base currency for spot).
 * Source: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel
 */
function decodeTrades(msg: Unchecked<OkxPush<OkxTrade>>, frame: InboundFrame, session: OkxSession): Decoded {
  const list = msg.data;
  if (!isArray(list)) return malformedFrame(OKX, 'trades push lacks a data array', frame.data);
  const n = list.length;
  const events = new Array<TradeEvent>(n);
  for (let i = 0; i < n; i++) {
    const t = list[i];
    if (!isWireObject<OkxTrade>(t)) return malformedFrame(OKX, 'trade element is not an object', frame.data);
    const side = t.side === 'buy' || t.side === 'sell' ? t.side : undefined;
    const ts = msOf(t.ts);
    const { instId, tradeId, px, sz } = t;
    if (side === undefined || typeof instId !== 'string' || typeof tradeId !== 'string' || typeof px !== 'string' || typeof sz !== 'string' || !Number.isFinite(ts)) {
      return malformedFrame(OKX, 'trade element lacks instId, tradeId, px, sz, side or ts', frame.data);
    }
    events[i] = { type: 'trade', venue: OKX, key: keyOf(session, instId), price: px, size: sz, side, tradeId, ts, recvTs: frame.recvTs };
  }
  return { events };
}

/** An optional ticker field: a non-empty string; `undefined` when absent or empty; `null` when of the wrong type. */
function field(v: unknown): string | undefined | null {
  if (v === undefined || v === '') return undefined;
  return typeof v === 'string' ? v : null;
}

/**
 * `tickers` (full state on every push): `bidPx`/`bidSz`, `askPx`/`askSz`, `last` → TickerEvent; `volume24h` in base
 * units: `vol24h` for SPOT, `volCcy24h` for derivatives (whose `vol24h` counts contracts). `ts` = push `ts` (ms).
 * Source: https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-tickers-channel
 */
function decodeTicker(msg: Unchecked<OkxPush<OkxTicker>>, frame: InboundFrame, session: OkxSession): Decoded {
  const list = msg.data;
  if (!isArray(list)) return malformedFrame(OKX, 'tickers push lacks a data array', frame.data);
  const events: TickerEvent[] = [];
  for (const t of list) {
    if (!isWireObject<OkxTicker>(t) || typeof t.instId !== 'string') return malformedFrame(OKX, 'ticker element lacks instId', frame.data);
    const ts = msOf(t.ts);
    const bidPrice = field(t.bidPx);
    const bidSize = field(t.bidSz);
    const askPrice = field(t.askPx);
    const askSize = field(t.askSz);
    const last = field(t.last);
    const volume24h = field(t.instType === 'SPOT' ? t.vol24h : t.volCcy24h);
    if (!Number.isFinite(ts) || bidPrice === null || bidSize === null || askPrice === null || askSize === null || last === null || volume24h === null) {
      return malformedFrame(OKX, 'ticker element lacks ts or has a non-string field', frame.data);
    }
    events.push({ type: 'ticker', venue: OKX, key: keyOf(session, t.instId), bidPrice, bidSize, askPrice, askSize, last, volume24h, ts, recvTs: frame.recvTs });
  }
  return { events };
}

/**
 * Event frames: `subscribe` / `unsubscribe` acks → signals (detail `channel:instId`); `error` → typed error by
 * `code`; `notice` (64008, service upgrade) → reconnect; `login`, `channel-conn-count` → ignored.
 * Source: https://www.okx.com/docs-v5/en/#overview-websocket
 */
function decodeEvent(msg: Unchecked<OkxEvent>, frame: InboundFrame): Decoded {
  const arg = isWireObject<OkxArg>(msg.arg) ? msg.arg : undefined;
  const detail = arg ? `${String(arg.channel)}:${String(arg.instId ?? arg.instType ?? arg.instFamily ?? '')}` : undefined;
  switch (msg.event) {
    case 'subscribe':
      return { events: NO_EVENTS, signal: { kind: 'subscribed', detail } };
    case 'unsubscribe':
      return { events: NO_EVENTS, signal: { kind: 'unsubscribed', detail } };
    case 'error': {
      const code = typeof msg.code === 'string' ? msg.code : typeof msg.code === 'number' ? String(msg.code) : '';
      const text = typeof msg.msg === 'string' ? msg.msg : '';
      return {
        events: NO_EVENTS,
        signal: {
          kind: 'error',
          error: new TributaryError(okxErrorCode(code), `okx error ${code}: ${text}`, { venue: OKX, code, msg: text, connId: msg.connId, frame: frame.data.slice(0, 200) }),
        },
      };
    }
    case 'notice':
      return { events: NO_EVENTS, signal: { kind: 'reconnect', reason: `okx notice ${String(msg.code ?? '')}: ${String(msg.msg ?? '')}`.slice(0, 200) } };
    case 'login':
      return ignored('login');
    case 'channel-conn-count':
      return ignored('channel-conn-count');
    default:
      return unknownFrame(OKX, `event ${String(msg.event).slice(0, 40)}`, frame.data);
  }
}

/**
 * Decodes one OKX v5 public frame. Prices are in quote currency; sizes in contracts for derivatives and base
 * currency for spot (decimal strings as sent); `ts` is venue time and `recvTs` local receive time, both ms since the
 * epoch. Never throws on venue input: bad JSON or missing fields → `PROTOCOL_MALFORMED`; unknown frames →
 * `PROTOCOL_UNKNOWN`; `{"event":"error"}` → `VENUE_REJECTED` / `VENUE_RATE_LIMITED` / `VENUE_AUTH`; the text `pong`
 * → heartbeat; known unused channels → `ignored` (named after the channel).
 */
export function decodeOkx(frame: InboundFrame, session: OkxSession): Decoded {
  const text = frame.data;
  if (text === 'pong') return HEARTBEAT;
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return malformedFrame(OKX, 'invalid JSON (and not the pong text)', text);
  }
  if (!isWireObject<OkxEvent | OkxBookPush | OkxPush<unknown>>(msg)) return malformedFrame(OKX, 'frame is not a JSON object', text);
  if (typeof msg.event === 'string') return decodeEvent(msg, frame);
  const arg = msg.arg;
  if (!isWireObject<OkxArg>(arg) || typeof arg.channel !== 'string') return unknownFrame(OKX, 'no event and no arg.channel', text);
  const channel: string = arg.channel;
  switch (channel) {
    case 'books':
    case 'books5':
    case 'bbo-tbt':
    case 'books-l2-tbt':
    case 'books50-l2-tbt':
      if (typeof arg.instId !== 'string') return malformedFrame(OKX, 'book push lacks arg.instId', text);
      return decodeBook(channel, msg, arg.instId, frame, session);
    case 'trades':
    case 'trades-all':
      return decodeTrades(msg, frame, session);
    case 'tickers':
      return decodeTicker(msg, frame, session);
  }
  if (channel.startsWith('candle') || channel.startsWith('mark-price-candle') || channel.startsWith('index-candle')) return ignored('candle');
  if (UNUSED_CHANNELS.has(channel)) return ignored(channel);
  return unknownFrame(OKX, `channel ${channel.slice(0, 40)}`, text);
}
