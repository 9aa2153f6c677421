/**
 * The ONLY client-facing encoder: every WebSocket message and every REST JSON body that carries market data is built
 * here, from domain events (`core/events.ts`) and read-model views, in the protocol's one casing (snake_case) and
 * shapes (`protocol/messages.ts`, version {@link PROTOCOL_VERSION}).
 *
 * Field conventions: prices and sizes are the venue's decimal strings (price in quote currency, size in base units);
 * `ts` venue time and `recv_ts` receive time, ms since the epoch; book messages carry the book's `epoch` (it changes
 * whenever the book is rebuilt) and `seq` (venue sequence, null when the venue has none).
 */
import type { BookView } from '../core/book-view.ts';
import type {
  ArbitrageOpportunity,
  BookDeltaMsg,
  BookResetMsg,
  BookSnapshotMsg,
  ConsolidatedBook,
  Level,
  OraclePrice,
  TickerMsg,
  TradeMsg,
  VenueHealthReport,
} from '../core/events.ts';
import {
  ARBITRAGE_FEED,
  HEALTH_FEED,
  PROTOCOL_VERSION,
  type BookResetMessage,
  type BookSnapshotMessage,
  type BookUpdateMessage,
  type PriceSize,
  type TickerMessage,
  type TradeMessage,
} from '../protocol/messages.ts';

/** `[price, size]` pairs from venue levels (levels may carry extra venue fields); reuses the array when already pairs. */
function pairs(levels: readonly Level[]): readonly Level[] {
  for (let i = 0; i < levels.length; i++) {
    if (levels[i].length !== 2) return levels.map((l) => [l[0], l[1]] as PriceSize);
  }
  return levels;
}

/** `connection_established` (first message on a connection). */
export function connectionEstablished(clientId: string): object {
  return { type: 'connection_established', client_id: clientId, message: 'connected to tributary', protocol_version: PROTOCOL_VERSION };
}

/** `error` with a stable code; `feed_id` when it concerns one feed. */
export function errorMessage(code: string, message: string, feedId?: string): object {
  return feedId === undefined ? { type: 'error', code, message } : { type: 'error', code, message, feed_id: feedId };
}

/** `book_snapshot` from a bus snapshot event (levels already best first). */
export function bookSnapshotFromEvent(feedId: string, ev: BookSnapshotMsg, depth = Infinity): BookSnapshotMessage {
  const i = ev.instrument;
  return {
    type: 'book_snapshot',
    feed_id: feedId,
    venue: i.venue,
    symbol: i.symbol,
    venue_symbol: i.venueSymbol,
    epoch: ev.epoch,
    seq: ev.seq,
    ts: ev.ts,
    recv_ts: ev.recvTs,
    bids: (depth < ev.bids.length ? ev.bids.slice(0, depth) : pairs(ev.bids)) as PriceSize[],
    asks: (depth < ev.asks.length ? ev.asks.slice(0, depth) : pairs(ev.asks)) as PriceSize[],
  };
}

/** `book_snapshot` of the current state of a book (read model), `depth` levels per side. */
export function bookSnapshotFromView(feedId: string, b: BookView, depth = Infinity): BookSnapshotMessage {
  return {
    type: 'book_snapshot',
    feed_id: feedId,
    venue: b.venue,
    symbol: b.symbol,
    venue_symbol: b.venueSymbol,
    epoch: b.epoch,
    seq: b.seq ?? null,
    ts: b.ts,
    recv_ts: b.recvTs,
    bids: b.bids.top(depth),
    asks: b.asks.top(depth),
  };
}

/** `book_update`: the changed levels of one delta. */
export function bookUpdate(feedId: string, ev: BookDeltaMsg): BookUpdateMessage {
  return {
    type: 'book_update',
    feed_id: feedId,
    venue: ev.instrument.venue,
    symbol: ev.instrument.symbol,
    epoch: ev.epoch,
    seq: ev.seq,
    ts: ev.ts,
    recv_ts: ev.recvTs,
    bids: pairs(ev.bids) as PriceSize[],
    asks: pairs(ev.asks) as PriceSize[],
  };
}

/** `book_reset`: drop the book (`epoch` = the one that ended). */
export function bookReset(feedId: string, ev: Pick<BookResetMsg, 'instrument' | 'epoch' | 'reason' | 'ts'>): BookResetMessage {
  return { type: 'book_reset', feed_id: feedId, venue: ev.instrument.venue, symbol: ev.instrument.symbol, epoch: ev.epoch, reason: ev.reason, ts: ev.ts };
}

/** `trade`. */
export function trade(feedId: string, ev: TradeMsg): TradeMessage {
  return {
    type: 'trade',
    feed_id: feedId,
    venue: ev.instrument.venue,
    symbol: ev.instrument.symbol,
    price: ev.price,
    size: ev.size,
    side: ev.side,
    trade_id: ev.tradeId,
    ts: ev.ts,
    recv_ts: ev.recvTs,
  };
}

/** `ticker`. */
export function ticker(feedId: string, ev: TickerMsg): TickerMessage {
  return {
    type: 'ticker',
    feed_id: feedId,
    venue: ev.instrument.venue,
    symbol: ev.instrument.symbol,
    bid_price: ev.bidPrice,
    bid_size: ev.bidSize,
    ask_price: ev.askPrice,
    ask_size: ev.askSize,
    last: ev.last,
    volume_24h: ev.volume24h,
    ts: ev.ts,
    recv_ts: ev.recvTs,
  };
}

/**
 * A consolidated book or summary body in snake_case: `{symbol, bids, asks, nbbo, spread (number: ask − bid, quote
 * currency; null without both sides), spread_bps, mid, crossed, venues, excluded, quote_equivalence?, oracle?,
 * venue_skew_ms?, timestamp}` (the seed summary's `spread` is the absolute number; `spread_bps` beside it).
 */
export function consolidatedBody(b: ConsolidatedBook): Record<string, unknown> {
  const out: Record<string, unknown> = {
    symbol: b.symbol,
    bids: b.bids,
    asks: b.asks,
    nbbo: b.nbbo,
    spread: b.spread ? b.spread.abs : null,
    spread_bps: b.spread ? b.spread.bps : null,
    mid: b.mid,
    crossed: b.crossed,
    venues: b.venues,
    excluded: b.excluded,
  };
  if (b.quoteEquivalence) out.quote_equivalence = b.quoteEquivalence;
  if (b.venueSkewMs !== undefined) out.venue_skew_ms = b.venueSkewMs;
  if (b.oracle) {
    const o = b.oracle;
    out.oracle = {
      source: o.source,
      feed_id: o.feedId,
      price: o.price,
      confidence: o.confidence,
      publish_time: o.publishTime,
      deviation_bps: o.deviationBps,
      stale: o.stale ?? false,
    };
  }
  out.timestamp = b.timestamp;
  return out;
}

/** `summary` message of `consolidated:{symbol}:summary`. */
export function summaryMessage(feedId: string, s: ConsolidatedBook): object {
  return { type: 'summary', feed_id: feedId, ...consolidatedBody(s) };
}

/** `consolidated_book` message of `consolidated:{symbol}:book`. */
export function consolidatedBookMessage(feedId: string, b: ConsolidatedBook): object {
  return { type: 'consolidated_book', feed_id: feedId, ...consolidatedBody(b) };
}

/**
 * An arbitrage report in snake_case, with the seed's names: `profit_bps` (net of both taker fees) and beside it
 * `profit_percentage` (= profit_bps / 100, percent units), `buy_venue`, `sell_venue`, `buy_price`, `sell_price`.
 */
export function arbitrageBody(o: ArbitrageOpportunity): Record<string, unknown> {
  return {
    id: o.id,
    revision: o.revision,
    symbol: o.symbol,
    buy_venue: o.buyVenue,
    sell_venue: o.sellVenue,
    buy_symbol: o.buySymbol,
    sell_symbol: o.sellSymbol,
    buy_price: o.buyPrice,
    sell_price: o.sellPrice,
    gross_bps: o.grossBps,
    buy_fee_bps: o.buyFeeBps,
    sell_fee_bps: o.sellFeeBps,
    profit_bps: o.profitBps,
    profit_percentage: o.profitBps / 100,
    volume: o.volume,
    depth_volume: o.depthVolume,
    ...(o.legSkewMs !== undefined ? { leg_skew_ms: o.legSkewMs } : {}),
    timestamp: o.timestamp,
    first_seen_at: o.firstSeenAt,
  };
}

/** `arbitrage` message of the `arbitrage` feed. */
export function arbitrageMessage(o: ArbitrageOpportunity): object {
  return { type: 'arbitrage', feed_id: ARBITRAGE_FEED, ...arbitrageBody(o) };
}

/** One venue health report in snake_case. */
export function healthBody(r: VenueHealthReport): Record<string, unknown> {
  return {
    venue: r.venue,
    healthy: r.healthy,
    last_update: r.lastUpdate,
    error_message: r.errorMessage,
    updates_per_second: r.updatesPerSecond,
    latency_ms: r.latencyMs,
    error_count: r.errorCount,
    reconnects: r.reconnects,
    gaps: r.gaps,
    connected: r.connected,
    books: r.books,
  };
}

/** `health` message of the `health` feed (`timestamp` local ms). */
export function healthMessage(reports: readonly VenueHealthReport[], ts: number): object {
  return { type: 'health', feed_id: HEALTH_FEED, venues: reports.map(healthBody), timestamp: ts };
}

/** Scales an integer string by 10^expo to a number. */
function scaled(int: string, expo: number): number {
  return Number(`${int}e${expo}`);
}

/**
 * The seed price-feed `price_update` of one oracle price (verbatim seed shape): `data.{feed_id, price, confidence,
 * exponent, status, timestamp (ISO-8601 of publish_time), source, price_raw, conf_raw, publish_time (s), symbol,
 * ema_price, ema_price_raw, recv_ts}`.
 */
export function priceUpdate(p: OraclePrice): object {
  return {
    type: 'price_update',
    data: {
      feed_id: p.id,
      price: p.priceNum,
      confidence: p.confNum,
      exponent: p.expo,
      status: p.status,
      timestamp: new Date(p.publishTime * 1000).toISOString(),
      source: p.source,
      price_raw: p.price,
      conf_raw: p.conf,
      publish_time: p.publishTime,
      symbol: p.symbol,
      ema_price: scaled(p.emaPrice, p.emaExpo),
      ema_price_raw: p.emaPrice,
      recv_ts: p.recvTs,
    },
  };
}

/** `camelCase` → `snake_case` (`recvTs` → `recv_ts`, `uptimeS` → `uptime_s`). */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A REST body in the protocol's casing: a deep copy of plain data (objects, arrays, scalars) with every object key in
 * snake_case. For status and health bodies (not on a hot path); market data goes through the typed encoders above.
 */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[snakeCase(k)] = snakeKeys(x);
  return out;
}
