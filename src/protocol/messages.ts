/**
 * The client-facing WebSocket protocol: message types, zod schemas and feed ids.
 *
 * This is the module a client SDK imports, so it depends on nothing but zod.
 *
 * Conventions in every data message:
 * - prices are in quote currency and sizes in base units (contracts for inverse products), both as the
 *   venue's decimal strings, never reformatted;
 * - `ts` is venue time and `recv_ts` the gateway's receive time, both ms since the Unix epoch;
 * - book levels are `[price, size]` pairs, best first; sizes are absolute and `"0"` deletes a level.
 *
 * Client → server: `subscribe`, `unsubscribe`, `get_available_feeds`.
 * Server → client: `connection_established`, `subscription_confirmed`, `unsubscription_confirmed`,
 * `available_feeds`, `error`, and the data messages `book_snapshot`, `book_update`, `book_reset`,
 * `trade`, `ticker`, and `price_update` (oracle prices, see {@link PriceUpdateMessageSchema}).
 *
 * Feed ids: `{venue}:{symbol}:{channel}` for venue and aggregated feeds; an oracle price feed is named by the
 * oracle's own id without `:` (Pyth: its 32-byte hex id, with or without `0x`, any case, which the server names
 * `0x` + 64 lowercase hex digits). The two never collide: an oracle feed id has no `:`.
 *
 * Book handling on the client: on `book_snapshot` replace the book; on `book_update` set each level
 * (size `"0"` deletes); on `book_reset` drop the book and wait for the next `book_snapshot`.
 */
import { z } from 'zod';

/**
 * Version of this protocol, sent in `connection_established.protocol_version`. 2: snake_case everywhere (REST and WS
 * name every field the same way), `epoch` on book messages, summary `spread` as a number beside `spread_bps`,
 * arbitrage `profit_percentage` beside `profit_bps`, `subscription_pending`.
 */
export const PROTOCOL_VERSION = 2;

// ───────────────────────────── feed ids ─────────────────────────────

/** Data channels of a feed. */
export type FeedChannel = 'book' | 'trades' | 'ticker' | 'summary';
/** All feed channels of `{venue}:{symbol}:{channel}` ids (`summary` only for the `consolidated` pseudo-venue). */
export const FEED_CHANNELS: readonly FeedChannel[] = ['book', 'trades', 'ticker', 'summary'];

/** A parsed feed id. */
export interface FeedIdParts {
  /** Venue id, e.g. `bybit` (never contains `:`). */
  venue: string;
  /** Canonical symbol, e.g. `BTC/USDT` or `BTC/USDT:USDT` (may contain `:`). */
  symbol: string;
  channel: FeedChannel;
}

/**
 * Builds a feed id `{venue}:{symbol}:{channel}`, e.g. `bybit:BTC/USDT:USDT:trades`.
 * `venue` must not contain `:`; `symbol` may.
 */
export function formatFeedId(venue: string, symbol: string, channel: FeedChannel): string {
  return `${venue}:${symbol}:${channel}`;
}

/**
 * Parses a feed id: the venue is the text before the first `:`, the channel the text after the last `:`,
 * the symbol everything in between (so symbols containing `:` work).
 * Returns `null` when the id is malformed (missing parts or unknown channel).
 */
export function parseFeedId(feedId: string): FeedIdParts | null {
  if (typeof feedId !== 'string') return null;
  const first = feedId.indexOf(':');
  const last = feedId.lastIndexOf(':');
  if (first <= 0 || last <= first + 1) return null;
  const channel = feedId.slice(last + 1);
  if (channel !== 'book' && channel !== 'trades' && channel !== 'ticker' && channel !== 'summary') return null;
  return { venue: feedId.slice(0, first), symbol: feedId.slice(first + 1, last), channel };
}

/** Longest feed id accepted from a client. */
export const MAX_FEED_ID_LENGTH = 256;

/** A feed id as sent by a client: non-empty string up to {@link MAX_FEED_ID_LENGTH}. Existence is checked by the server. */
export const FeedIdSchema = z.string().min(1).max(MAX_FEED_ID_LENGTH);

/** One feed the gateway serves. */
export const FeedInfoSchema = z.object({
  /** `{venue}:{symbol}:{channel}`. */
  feed_id: z.string(),
  venue: z.string(),
  /** Canonical symbol (ccxt unified notation). */
  symbol: z.string(),
  /** The venue's own symbol. */
  venue_symbol: z.string(),
  /**
   * Venue feeds: `book`, `trades`, `ticker`; aggregated feeds: `book` / `summary` (venue `consolidated`), `arbitrage`,
   * `health`; oracle feeds: `price` (venue = the oracle source id).
   */
  channel: z.enum(['book', 'trades', 'ticker', 'summary', 'arbitrage', 'health', 'price']),
  /** True for aggregated feeds (not one venue's stream): `consolidated:{symbol}:book|summary`, `arbitrage`, `health`. */
  derived: z.boolean().optional(),
  /** Oracle feeds: the source's own symbol (e.g. `Crypto.BTC/USD`); `symbol` is then the canonical `BTC/USD`. */
  source_symbol: z.string().optional(),
  // Oracle feeds (channel `price`) also carry `{id, symbol, price, conf, expo, status}`: `source_symbol` is the
  // oracle's (`Crypto.BTC/USD`), `price` / `conf` the latest values scaled by 10^expo (quote currency; null before the
  // first update), `status` `trading` | `stale` | `unknown` (no update yet), and the unscaled integer strings.
  /** Oracle feed id (e.g. `0x` + 64 hex), equal to `feed_id`. */
  id: z.string().optional(),
  price: z.number().nullable().optional(),
  conf: z.number().nullable().optional(),
  expo: z.number().nullable().optional(),
  status: z.enum(['trading', 'stale', 'unknown']).optional(),
  price_raw: z.string().nullable().optional(),
  conf_raw: z.string().nullable().optional(),
  /** The oracle's asset type (`crypto`, `fx`, `equity`, `metal`, `rates`, ...), lower case. */
  asset_type: z.string().optional(),
});
/**
 * One feed the gateway serves: `{feed_id, venue, symbol, venue_symbol, channel, derived?}`; oracle feeds add
 * `{id, price, conf, expo, status, price_raw, conf_raw, asset_type}`.
 */
export type FeedInfo = z.infer<typeof FeedInfoSchema>;

// ───────────────────────────── client → server ─────────────────────────────

/** `{"type":"subscribe","feed_id":ID}`: start receiving a feed. Subscribing again is confirmed again, without duplicates. */
export const SubscribeSchema = z.object({ type: z.literal('subscribe'), feed_id: FeedIdSchema });
/** `{"type":"unsubscribe","feed_id":ID}`: stop receiving a feed. */
export const UnsubscribeSchema = z.object({ type: z.literal('unsubscribe'), feed_id: FeedIdSchema });
/**
 * `{"type":"get_available_feeds"}`: list the feeds (answered with `available_feeds`). With `query` (case-insensitive
 * substring of a feed id or symbol, e.g. `"btc"`), only matching feeds are listed, and each oracle's whole catalog is
 * searched (not only the feeds streamed now): a client finds `Crypto.BTC/USD` and subscribes to its id.
 */
export const GetAvailableFeedsSchema = z.object({ type: z.literal('get_available_feeds'), query: z.string().min(1).max(64).optional() });

/** Any client message. */
export const ClientMessageSchema = z.discriminatedUnion('type', [SubscribeSchema, UnsubscribeSchema, GetAvailableFeedsSchema]);
export type SubscribeMessage = z.infer<typeof SubscribeSchema>;
export type UnsubscribeMessage = z.infer<typeof UnsubscribeSchema>;
export type GetAvailableFeedsMessage = z.infer<typeof GetAvailableFeedsSchema>;
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
/** The client message types. */
export const CLIENT_MESSAGE_TYPES: readonly ClientMessage['type'][] = ['subscribe', 'unsubscribe', 'get_available_feeds'];

/** Result of {@link parseClientMessage}: the message, or a human-readable reason (and the feed id when one was readable). */
export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; error: string; feed_id?: string };

/**
 * Parses and validates one client text frame. Never throws.
 * Distinguishes invalid JSON, non-object, missing / unknown `type` and invalid `feed_id` in `error`.
 */
export function parseClientMessage(text: string): ParsedClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'invalid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'message must be a JSON object' };
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, error: 'missing "type"' };
  if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) {
    return { ok: false, error: `unknown message type "${type.length > 64 ? `${type.slice(0, 64)}…` : type}"` };
  }
  const r = ClientMessageSchema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const fid = (raw as { feed_id?: unknown }).feed_id;
  if (fid === undefined) return { ok: false, error: `"${type}" requires "feed_id"` };
  if (typeof fid === 'string' && fid.length > 0 && fid.length <= MAX_FEED_ID_LENGTH) {
    return { ok: false, error: `invalid "${type}" message`, feed_id: fid };
  }
  return { ok: false, error: `"feed_id" must be a non-empty string of at most ${MAX_FEED_ID_LENGTH} characters` };
}

// ───────────────────────────── server → client ─────────────────────────────

/** `[price, size]`: venue decimal strings (price in quote currency, size in base units; `"0"` deletes). */
export const PriceSizeSchema = z.tuple([z.string(), z.string()]);
export type PriceSize = z.infer<typeof PriceSizeSchema>;
const Levels = z.array(PriceSizeSchema);

/** First message on every connection. `client_id` is a UUID identifying this connection in server logs. */
export const ConnectionEstablishedSchema = z.object({
  type: z.literal('connection_established'),
  client_id: z.string(),
  message: z.string(),
  /** {@link PROTOCOL_VERSION}. */
  protocol_version: z.number().int(),
});

/**
 * Answer to `subscribe` when the feed's venue is not up yet (still loading its instruments, or disconnected): the
 * subscription is kept and data flows once the venue is up (a `subscription_confirmed` follows then).
 */
export const SubscriptionPendingSchema = z.object({ type: z.literal('subscription_pending'), feed_id: z.string(), reason: z.string() });

/** Answer to `subscribe` (also when already subscribed). For book feeds a `book_snapshot` follows when the book is valid. */
export const SubscriptionConfirmedSchema = z.object({ type: z.literal('subscription_confirmed'), feed_id: z.string() });

/** Answer to `unsubscribe` (also when not subscribed). No data for the feed follows. */
export const UnsubscriptionConfirmedSchema = z.object({ type: z.literal('unsubscription_confirmed'), feed_id: z.string() });

/** Answer to `get_available_feeds`. */
export const AvailableFeedsSchema = z.object({ type: z.literal('available_feeds'), feeds: z.array(FeedInfoSchema) });

/** Error codes the server sends in `error` messages (from the project's error catalog). */
export type ProtocolErrorCode = 'CLIENT_BAD_REQUEST';
/** The code for invalid client input: bad JSON, unknown type, unknown feed, oversized or binary frame. */
export const CLIENT_BAD_REQUEST: ProtocolErrorCode = 'CLIENT_BAD_REQUEST';

/**
 * A request failed. The connection stays open and usable.
 * `code` is a stable error code (`CLIENT_BAD_REQUEST`); `feed_id` is set when the error concerns one feed.
 */
export const ErrorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  feed_id: z.string().optional(),
});

/**
 * Full book, best first on each side, at most the server's snapshot depth.
 * `seq` is the venue's book sequence (null when the venue has none); `ts` venue time and `recv_ts` receive
 * time (ms) of the last message applied to the book.
 */
export const BookSnapshotSchema = z.object({
  type: z.literal('book_snapshot'),
  feed_id: z.string(),
  venue: z.string(),
  symbol: z.string(),
  venue_symbol: z.string(),
  /** Rebuild counter of the book: a new epoch means a rebuilt book (drop what you hold). */
  epoch: z.number().int(),
  seq: z.number().nullable(),
  ts: z.number(),
  recv_ts: z.number(),
  bids: Levels,
  asks: Levels,
});

/**
 * Changed levels only, absolute sizes, `"0"` deletes. Apply in order on top of the last `book_snapshot`.
 * `seq`, `ts`, `recv_ts` as in `book_snapshot`, after this update.
 */
export const BookUpdateSchema = z.object({
  type: z.literal('book_update'),
  feed_id: z.string(),
  venue: z.string(),
  symbol: z.string(),
  /** Epoch of the book this update belongs to (equal to the last snapshot's). */
  epoch: z.number().int(),
  seq: z.number().nullable(),
  ts: z.number(),
  recv_ts: z.number(),
  bids: Levels,
  asks: Levels,
});

/**
 * The book is invalid and being rebuilt (gap, checksum failure, reconnect...): drop it; a new
 * `book_snapshot` follows when it is valid again. `ts` is gateway local time (ms).
 */
export const BookResetSchema = z.object({
  type: z.literal('book_reset'),
  feed_id: z.string(),
  venue: z.string(),
  symbol: z.string(),
  /** The epoch that ended. */
  epoch: z.number().int(),
  reason: z.string(),
  ts: z.number(),
});

/** One public trade. `side` is the taker's side; `price`/`size` venue decimal strings. */
export const TradeMessageSchema = z.object({
  type: z.literal('trade'),
  feed_id: z.string(),
  venue: z.string(),
  symbol: z.string(),
  price: z.string(),
  size: z.string(),
  side: z.enum(['buy', 'sell']),
  trade_id: z.string(),
  ts: z.number(),
  recv_ts: z.number(),
});

/** Best bid / ask and last price. Fields the venue did not send are `null`. */
export const TickerMessageSchema = z.object({
  type: z.literal('ticker'),
  feed_id: z.string(),
  venue: z.string(),
  symbol: z.string(),
  bid_price: z.string().nullable(),
  bid_size: z.string().nullable(),
  ask_price: z.string().nullable(),
  ask_size: z.string().nullable(),
  last: z.string().nullable(),
  /** 24 h volume in base units, when the venue sends it. */
  volume_24h: z.string().nullable(),
  ts: z.number(),
  recv_ts: z.number(),
});

// ───────────────────────────── oracle prices ─────────────────────────────

/** Status of an oracle price: `trading`, or `stale` once its `publish_time` stopped advancing (the source's `stale_after_ms`). */
export const OracleStatusSchema = z.enum(['trading', 'stale']);

/**
 * An oracle price (`{"type":"subscribe","feed_id":"0x<64 hex>"}`), sent on every new price and when the status changes;
 * the latest one right after `subscription_confirmed`.
 *
 * `data`: `feed_id`; `price` and `confidence` = the integers scaled by 10^`exponent` (numbers, quote currency;
 * `confidence` is the oracle's ± interval, roughly one standard error); `exponent` = the oracle's `expo`; `status`;
 * `timestamp` = `publish_time` as ISO-8601 (UTC); `source` = the oracle source id (`pyth`); the unscaled integer
 * strings `price_raw` / `conf_raw` (no precision lost); `publish_time` (Unix **seconds**, as the oracle sends it);
 * `symbol` (the oracle's, e.g. `Crypto.BTC/USD`, null while the catalog is not loaded); `ema_price` /
 * `ema_price_raw` (the oracle's ~1 h EMA, same exponent); `recv_ts` (gateway receive time, ms). Field meanings
 * (Pyth): https://docs.pyth.network/price-feeds/best-practices
 */
export const PriceUpdateMessageSchema = z.object({
  type: z.literal('price_update'),
  data: z.object({
    feed_id: z.string(),
    price: z.number(),
    confidence: z.number(),
    exponent: z.number().int(),
    status: OracleStatusSchema,
    timestamp: z.string(),
    /** The oracle source id. */
    source: z.string(),
    price_raw: z.string(),
    conf_raw: z.string(),
    publish_time: z.number().int(),
    symbol: z.string().nullable(),
    ema_price: z.number(),
    ema_price_raw: z.string(),
    recv_ts: z.number(),
  }),
});
export type PriceUpdateMessage = z.infer<typeof PriceUpdateMessageSchema>;

/**
 * The oracle next to a consolidated book / summary (instruments an oracle also prices, e.g. `Crypto.BTC/USD` ↔
 * `BTC/USD`, or `BTC/USDT` under a `USDT = USD` quote group): `price` / `confidence` in quote currency,
 * `deviationBps` = (consolidated mid − oracle price) / oracle price × 10 000 (null without a mid), `publishTime`
 * the oracle's publish time in **ms** since the epoch.
 */
export const OracleRefSchema = z.object({
  source: z.string(),
  feed_id: z.string(),
  price: z.number(),
  confidence: z.number(),
  publish_time: z.number(),
  deviation_bps: z.number().nullable(),
  /** True when the oracle price is stale: the deviation is then indicative only. */
  stale: z.boolean(),
});

// ───────────────────────────── aggregated feeds ─────────────────────────────

/** Venue name used in consolidated feed ids: `consolidated:{symbol}:book`, `consolidated:{symbol}:summary`. */
export const CONSOLIDATED_VENUE = 'consolidated';
/** Feed id of the arbitrage stream. */
export const ARBITRAGE_FEED = 'arbitrage';
/** Feed id of the venue health stream. */
export const HEALTH_FEED = 'health';

/** One consolidated level: venue strings plus the venue it comes from (and that venue's own symbol when quotes were merged). */
export const AttributedLevelSchema = z.object({ price: z.string(), size: z.string(), venue: z.string(), symbol: z.string().optional() });
const Nbbo = z.object({ bid: AttributedLevelSchema.optional(), ask: AttributedLevelSchema.optional() });
/** A venue left out of a consolidated book and why (`lagging`: its venue time is over `max_quote_age_ms` behind the freshest included book's). */
const Excluded = z.object({ venue: z.string(), reason: z.enum(['invalid', 'disconnected', 'stale', 'lagging']), symbol: z.string().optional() });

/**
 * Consolidated book across venues (`consolidated:{symbol}:book`): merged levels best first, each with its venue;
 * NBBO, spread (absolute in quote currency, and bps of mid), mid, the venues included and those excluded (invalid,
 * disconnected, stale or lagging). `quote_equivalence` lists merged quote currencies when an equivalence group was used.
 * `timestamp` is local time (ms). Sent whole each time (at most every `summary_interval_ms`).
 */
export const ConsolidatedBookSchema = z.object({
  type: z.literal('consolidated_book'),
  feed_id: z.string(),
  symbol: z.string(),
  bids: z.array(AttributedLevelSchema),
  asks: z.array(AttributedLevelSchema),
  nbbo: Nbbo,
  /** Best ask − best bid (quote currency), null unless both sides exist; negative when crossed. */
  spread: z.number().nullable(),
  /** `spread` / mid × 10 000. */
  spread_bps: z.number().nullable(),
  mid: z.number().nullable(),
  crossed: z.boolean(),
  venues: z.array(z.string()),
  excluded: z.array(Excluded),
  quote_equivalence: z.array(z.string()).optional(),
  /** The oracle price of this instrument and the mid's deviation from it, when an oracle prices it. */
  oracle: OracleRefSchema.optional(),
  /** Venue-time skew (ms) between the freshest and the oldest included book. */
  venue_skew_ms: z.number().optional(),
  timestamp: z.number(),
});
/** Summary (`consolidated:{symbol}:summary`): `{symbol, spread, bids, asks, venues, timestamp}` plus NBBO and mid, `max_price_levels` deep. */
export const SummaryMessageSchema = ConsolidatedBookSchema.extend({ type: z.literal('summary') });
/**
 * Arbitrage opportunity (`arbitrage`): buy at `buy_venue`'s ask, sell at `sell_venue`'s bid. `profit_bps` is net of
 * both taker fees; `volume` is executable at those two prices (base units). `id` is stable while it persists;
 * `revision` grows when its profit changes materially.
 */
export const ArbitrageMessageSchema = z.object({
  type: z.literal('arbitrage'),
  feed_id: z.literal('arbitrage'),
  id: z.string(),
  revision: z.number(),
  symbol: z.string(),
  buy_venue: z.string(),
  sell_venue: z.string(),
  buy_symbol: z.string(),
  sell_symbol: z.string(),
  buy_price: z.string(),
  sell_price: z.string(),
  gross_bps: z.number(),
  buy_fee_bps: z.number(),
  sell_fee_bps: z.number(),
  /** Net of both taker fees. */
  profit_bps: z.number(),
  /** `profit_bps` / 100: net profit in percent. */
  profit_percentage: z.number(),
  volume: z.number(),
  depth_volume: z.number(),
  /** Venue-time difference between the legs' books (ms). */
  leg_skew_ms: z.number().optional(),
  timestamp: z.number(),
  first_seen_at: z.number(),
});
/** Venue health (`health`), sent every `health_check_interval_ms`. Times in ms; `latencyMs` = receive time − venue time. */
export const HealthMessageSchema = z.object({
  type: z.literal('health'),
  feed_id: z.literal('health'),
  venues: z.array(
    z.object({
      venue: z.string(),
      healthy: z.boolean(),
      last_update: z.number().nullable(),
      error_message: z.string().nullable(),
      updates_per_second: z.number(),
      latency_ms: z.number().nullable(),
      error_count: z.number(),
      reconnects: z.number(),
      gaps: z.number(),
      connected: z.boolean(),
      books: z.object({ total: z.number(), valid: z.number() }),
    }),
  ),
  timestamp: z.number(),
});
export type ConsolidatedBookMessage = z.infer<typeof ConsolidatedBookSchema>;
export type SummaryMessage = z.infer<typeof SummaryMessageSchema>;
export type ArbitrageMessage = z.infer<typeof ArbitrageMessageSchema>;
export type HealthMessage = z.infer<typeof HealthMessageSchema>;

/** Any server message. */
export const ServerMessageSchema = z.discriminatedUnion('type', [
  PriceUpdateMessageSchema,
  ConsolidatedBookSchema,
  SummaryMessageSchema,
  ArbitrageMessageSchema,
  HealthMessageSchema,
  ConnectionEstablishedSchema,
  SubscriptionConfirmedSchema,
  SubscriptionPendingSchema,
  UnsubscriptionConfirmedSchema,
  AvailableFeedsSchema,
  ErrorMessageSchema,
  BookSnapshotSchema,
  BookUpdateSchema,
  BookResetSchema,
  TradeMessageSchema,
  TickerMessageSchema,
]);

export type ConnectionEstablishedMessage = z.infer<typeof ConnectionEstablishedSchema>;
export type SubscriptionConfirmedMessage = z.infer<typeof SubscriptionConfirmedSchema>;
export type UnsubscriptionConfirmedMessage = z.infer<typeof UnsubscriptionConfirmedSchema>;
export type AvailableFeedsMessage = z.infer<typeof AvailableFeedsSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type BookSnapshotMessage = z.infer<typeof BookSnapshotSchema>;
export type BookUpdateMessage = z.infer<typeof BookUpdateSchema>;
export type BookResetMessage = z.infer<typeof BookResetSchema>;
export type TradeMessage = z.infer<typeof TradeMessageSchema>;
export type TickerMessage = z.infer<typeof TickerMessageSchema>;
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
/** Server messages carrying market data. */
export type DataMessage = BookSnapshotMessage | BookUpdateMessage | BookResetMessage | TradeMessage | TickerMessage;
