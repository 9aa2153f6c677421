/**
 * Kraken spot WebSocket v2 decoding (dispatched from `./decode.ts`): frames are objects with `channel` (data) or
 * `method` (responses). Levels (`{price, qty}` JSON numbers) become `[price, qty]` strings formatted at the
 * instrument's precision, which is the exact text Kraken's checksum is computed over.
 * Docs: https://docs.kraken.com/exchange/api-reference/spot-websocket, https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2.
 */
import type { BookDeltaEvent, BookSnapshotEvent, Level, NormalizedEvent, TickerEvent, TradeEvent } from '../../core/events.ts';
import type { Decoded, InboundFrame } from '../connector.ts';
import type { KrakenV2Book, KrakenV2Level, KrakenV2Message, KrakenV2Response, KrakenV2Ticker, KrakenV2Trade } from './wire.ts';
import { NO_EVENTS, isArray, isWireObject, malformedFrame, unknownFrame, type Unchecked } from '../decode-util.ts';
import { HEARTBEAT, IGNORED, KRAKEN, NO_LEVELS, checksumValue, nextSeq, v2Info, venueError, type KrakenSession, type KrakenSymbolInfo } from './decode-common.ts';

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
export function decodeV2Channel(msg: Unchecked<KrakenV2Message<unknown>>, frame: InboundFrame, session: KrakenSession): Decoded {
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
export function decodeV2Method(msg: Unchecked<KrakenV2Response>, frame: InboundFrame): Decoded {
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
