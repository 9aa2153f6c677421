/**
 * The venue contract. Each venue folder (`src/venues/<venue>/`) exports one {@link Connector};
 * shared code only talks to venues through it and never tests a venue name.
 */
import type { Channel, Level, NormalizedEvent, VenueId } from '../core/events.ts';
import type { Instrument } from '../core/instruments.ts';
import type { TributaryError } from '../core/errors.ts';
import type { BookView } from '../core/book-view.ts';
import type { ConnectionPlan, Http, InboundFrame, Subscription } from '../core/transport-types.ts';

/**
 * The transport-level part of the contract (received frames, the HTTP client, subscriptions, connection plans) is
 * declared below `transport/` in `core/transport-types.ts` (so transport never imports a venue module) and re-exported
 * here.
 */
export type { ConnectionPlan, Heartbeat, Http, InboundFrame, Subscription } from '../core/transport-types.ts';

/** Book sync kind; see {@link BookDeltaEvent} for the sequence semantics. */
export interface BookSyncRule {
  /** `stream`: the socket sends the snapshot (resync = resubscribe); `rest`: fetch it with `bookSnapshot`. */
  readonly snapshot: 'stream' | 'rest';
  readonly sequence: 'contiguous' | 'linked' | 'none';
  /** Cut each side to this many levels after every message (venues that send no deletes past depth). */
  readonly truncateToDepth?: boolean;
  /**
   * Levels carry their own sequence as the third element (`[price, size, seq]`, KuCoin). While aligning a
   * delta with a REST snapshot, levels whose own sequence is ≤ the snapshot sequence are skipped.
   */
  readonly levelSequence?: boolean;
  /** Venue doc URL where the rule is stated. */
  readonly source: string;
}

export interface VenueCapabilities {
  readonly channels: readonly Channel[];
  readonly transport: 'ws';
  readonly bookSync: BookSyncRule;
  /** Book depth the connector subscribes to when not told otherwise. */
  readonly defaultDepth: number;
  /**
   * Most subscriptions (one channel of one instrument: one venue topic / stream / channel) one connection may carry:
   * the venue's documented per-connection limit, or our own bound where the venue documents none
   * ({@link VenueCapabilities.subscriptionLimitSource} says which). `plan()` never puts more on a connection, and the
   * runner adds a subscription to an open connection only while it stays within this number *and* `plan()` still keeps
   * the connection's subscriptions on one connection (which applies the venue's other per-connection rules, e.g. Bybit's
   * 21,000 characters of args or Coinbase's books per connection). Absent: no count limit beyond `plan()`'s.
   */
  readonly maxSubscriptionsPerConnection?: number;
  /** Venue doc URL stating the per-connection limit (or why the number is ours). */
  readonly subscriptionLimitSource?: string;
}

/** What one frame meant besides its events. */
export type Signal =
  | { readonly kind: 'subscribed'; readonly detail?: string }
  | { readonly kind: 'unsubscribed'; readonly detail?: string }
  /** The venue says (or the decoder sees) that one instrument's book must be rebuilt. */
  | { readonly kind: 'resync'; readonly key: string; readonly reason: 'gap' | 'checksum' | 'venue' }
  /** Every book on this connection must be rebuilt (e.g. a per-connection sequence gap); the connection stays. */
  | { readonly kind: 'resync_connection'; readonly reason: string }
  /** The venue asks us to reconnect (maintenance etc.). */
  | { readonly kind: 'reconnect'; readonly reason: string }
  /** Heartbeat / pong / status frame: activity only. */
  | { readonly kind: 'heartbeat' }
  /** Known frame deliberately not used (e.g. kline); counted by `reason`. */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** Malformed or error frame; counted by `error.code`. */
  | { readonly kind: 'error'; readonly error: TributaryError };

/** Result of decoding one frame. */
export interface Decoded {
  readonly events: readonly NormalizedEvent[];
  /** Frames to send back on the same connection right away (e.g. heartbeat answers). */
  readonly replies?: readonly string[];
  readonly signal?: Signal;
}

/** A REST book snapshot (venues whose stream starts with deltas). */
export interface BookSnapshot {
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  /** The venue sequence the snapshot is at (Binance `lastUpdateId`). */
  readonly seq: number;
  /** Venue time if the venue gives one, else receive time (ms). */
  readonly ts: number;
}

/** URL overrides for one venue (used to point a venue at the simulator). */
export interface VenueEndpoints {
  /** Base for WebSocket URLs, e.g. `wss://stream.bybit.com` or `ws://127.0.0.1:9000/bybit`. */
  readonly wsBase: string;
  /** Base for REST URLs, e.g. `https://api.bybit.com` or `http://127.0.0.1:9000/bybit`. */
  readonly restBase: string;
}

/**
 * A venue. `Session` is per-connection decoder state (e.g. merged tickers); a fresh one per
 * connection makes reset on reconnect automatic.
 */
export interface Connector<Session = unknown> {
  readonly venue: VenueId;
  readonly capabilities: VenueCapabilities;
  /** Default endpoints (production). */
  readonly defaultEndpoints: VenueEndpoints;
  /**
   * Loads the venue's instruments from its REST instrument endpoint(s) and maps them to canonical symbols.
   * @throws TributaryError `HTTP_ERROR` / `PROTOCOL_MALFORMED`.
   */
  loadInstruments(http: Http, endpoints: VenueEndpoints): Promise<Instrument[]>;
  /**
   * The book depth the venue will actually keep for a requested depth (venues offer fixed depths, e.g.
   * Kraken 10/25/100/500/1000). Used as the truncation depth, so a book is never cut below what the venue maintains.
   */
  bookDepth?(requested: number | undefined): number;
  /** Pure: splits subscriptions into connections (respecting venue limits). Re-run on every reconnect. */
  plan(subs: readonly Subscription[], endpoints: VenueEndpoints): ConnectionPlan[];
  /**
   * Async preparation before every connect attempt, e.g. fetching a connection token and the server's ping
   * interval (KuCoin's bullet endpoint). Returns the plan to connect with (URL and heartbeat may change).
   * @throws TributaryError (`HTTP_ERROR`, `VENUE_REJECTED`, ...): the attempt fails and is retried with backoff.
   */
  prepareConnection?(plan: ConnectionPlan, http: Http, endpoints: VenueEndpoints): Promise<ConnectionPlan>;
  /** Fresh decoder state for one connection. */
  newSession(plan: ConnectionPlan): Session;
  /** Pure and synchronous; never throws on venue input (malformed input becomes an `error` signal). */
  decode(frame: InboundFrame, session: Session): Decoded;
  /** Frames that make the venue re-send one subscription's book snapshot on its connection (stream-snapshot venues). */
  resubscribeFrames?(sub: Subscription): string[];
  /**
   * The venue's own subscribe request(s) that add `subs` to an **already-open** connection, without touching its other
   * subscriptions (run-time, on-demand subscriptions). `plan` is the plan the connection opened with (its URL tells
   * market, protocol or API generation). `subs` all fit that connection (the runner checked with `plan()`), are not on
   * it yet, and respect the venue's per-request limits once split here. Pure: frames are data.
   * Absent: the runner never adds to an open connection and opens a new one instead.
   */
  subscribeFrames?(subs: readonly Subscription[], plan: ConnectionPlan): string[];
  /**
   * The venue's own unsubscribe request(s) that remove `subs` from an open connection whose other subscriptions stay.
   * Pure. Absent: a removed subscription keeps flowing until the connection next reconnects, and its frames are dropped.
   */
  unsubscribeFrames?(subs: readonly Subscription[], plan: ConnectionPlan): string[];
  /**
   * Records a run-time change of a live connection's subscriptions in its decoder state (`add`: frames of the new
   * instruments must decode to their instrument keys; `remove`: forget them if it matters) and returns the frames to
   * send now, normally `frames` (from {@link Connector.subscribeFrames} / {@link Connector.unsubscribeFrames})
   * unchanged. A venue whose connection is not usable yet keeps them in the session, which sends them itself once it
   * is, and returns `[]` (KuCoin before its `welcome`). Absent: the session is left as is (decoders fall back to
   * derived keys) and `frames` are sent.
   */
  updateSession?(session: Session, op: 'add' | 'remove', subs: readonly Subscription[], frames: readonly string[]): readonly string[];
  /**
   * Fetches a REST book snapshot (rest-snapshot venues).
   * @throws TributaryError `HTTP_ERROR`, `VENUE_RATE_LIMITED`, `PROTOCOL_MALFORMED`.
   */
  bookSnapshot?(instrument: Instrument, depth: number, http: Http, endpoints: VenueEndpoints): Promise<BookSnapshot>;
  /**
   * Verifies the venue checksum published with a delta against our book after applying it
   * (venues that publish one: Kraken, OKX). `expected` is the venue's value as a number.
   */
  checksum?(book: BookView, expected: number): boolean;
  /** Simulator and replay hooks: how this venue's recorded traffic maps to subscriptions. */
  readonly replay: ReplayHooks;
}

/** A recorded subscription reference, venue-level (before instrument lookup). */
export interface RecordedSubscription {
  /** Market type / endpoint family the subscription lives on (e.g. `spot`, `linear`). */
  readonly market: string;
  readonly venueSymbol: string;
  readonly channel: Channel;
  readonly depth?: number;
}

/**
 * Venue knowledge the simulator and `replay` need. All pure functions over frame text.
 * A "topic" is any venue-specific string that ties a client subscription to the recorded frames it yields
 * (Bybit `orderbook.200.BTCUSDT`, Binance `btcusdt@depth@100ms`).
 */
export interface ReplayHooks {
  /** Topics a client asks for in the connection URL (Binance combined streams). */
  topicsFromUrl(url: URL): string[];
  /**
   * Interprets a frame a client sent to the simulator: topics to start or stop streaming and the
   * replies the venue would send (subscribe acks, pongs).
   */
  onClientFrame(data: string): { subscribe?: string[]; unsubscribe?: string[]; replies?: string[] };
  /** Topic of a recorded `recv` frame, or `null` for connection-level frames (acks, pongs) the simulator does not replay. */
  topicOfFrame(data: string): string | null;
  /**
   * What a recorded session subscribed to, from its `connect` address and `send` frames,
   * limited to channels the connector supports. Used by `replay` to subscribe to exactly that.
   */
  recordedSubscriptions(addr: string, sends: readonly string[]): RecordedSubscription[];
  /**
   * Answers a REST request the recording cannot (e.g. KuCoin's `POST /api/v1/bullet-public`, whose recorded
   * token is a placeholder): `pathAndQuery` is the venue part of the request, `wsBase` the simulator's
   * WebSocket base for this venue. Returns the response body, or undefined to let the simulator answer 404.
   */
  synthesizeHttp?(method: string, pathAndQuery: string, wsBase: string): string | undefined;
  /**
   * Rewrites a recorded frame before the simulator sends it to one client; `nth` counts the recorded frames
   * already sent on that socket (0-based). For venues with per-connection sequence numbers (Coinbase
   * `sequence_num`) a client that subscribed to part of what was recorded must still see a contiguous sequence.
   */
  rewriteFrame?(data: string, nth: number): string;
}

export type { VenueId };
