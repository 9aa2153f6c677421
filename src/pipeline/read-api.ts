/**
 * What the servers (WebSocket and REST) read: the pipeline's read models (books, summaries, health, oracle prices)
 * and its feed catalog with refcounted upstream subscriptions. The pipeline implements it (`pipeline/pipeline.ts`);
 * tests use a fake. Everything here is synchronous and cheap: the servers call it on client requests.
 */
import type { BookView } from '../core/book-view.ts';
import type { ArbitrageOpportunity, ConsolidatedBook, DomainEvent, VenueHealthReport } from '../core/events.ts';
import type { FeedInfo } from '../protocol/messages.ts';

/**
 * One feed the gateway serves: `{feed_id, venue, symbol, venue_symbol, channel}` where
 * `feed_id = formatFeedId(venue, symbol, channel)` and `symbol` is canonical. Defined in the protocol
 * module (clients receive it in `available_feeds`) and re-exported here.
 */
export type { FeedInfo };

/** State of one venue connection. */
export interface ConnectionHealth {
  /** Connection plan id, e.g. `linear-0`. */
  id: string;
  /** Transport state, e.g. `connecting`, `open`, `closed`, `reconnecting`. */
  state: string;
  url: string;
  /** Reconnects since start. */
  reconnects: number;
  /** Local time (ms) of the last frame received, or null if none yet. */
  lastFrameAt: number | null;
}

/** Health of one venue. */
export interface VenueHealth {
  venue: string;
  /** True when at least one of the venue's connections is open. */
  connected: boolean;
  /** Summary state, e.g. `open`, `connecting`, `degraded`, `down`. */
  state: string;
  connections: ConnectionHealth[];
  /** Instruments loaded for the venue. */
  instruments: number;
  /** Books kept, and how many are currently valid (synced). */
  books: { total: number; valid: number };
}

/** Gateway-wide status (REST `GET /status`). */
export interface GatewayStatus {
  /** Local time (ms) the gateway started. */
  startedAt: number;
  /** Seconds since start. */
  uptimeS: number;
  venues: string[];
  /** Instruments loaded, all venues. */
  instruments: number;
  /** Frames per second per venue, averaged over the last 10 s. */
  messageRates: Record<string, number>;
  /** Oracle sources (Pyth), when enabled. */
  oracles?: object[];
}

/** The gateway as the servers see it. */
export interface GatewayApi {
  /**
   * Every feed a client may subscribe to. With `query` (case-insensitive substring of the id or symbol) only the
   * matching ones, and oracle catalogs are searched too (feeds not streamed yet).
   */
  listFeeds(query?: string): FeedInfo[];
  /**
   * One feed by id, or undefined when the gateway does not serve it. The returned `feed_id` is the canonical spelling
   * (a Pyth id given without `0x` or in upper case is found under `0x` + lower case); servers key on it.
   */
  getFeed(feedId: string): FeedInfo | undefined;
  /**
   * First client interest in a feed: subscribe upstream if needed (on demand: any instrument the venue lists).
   * The WebSocket server ref-counts clients and calls this once per feed on 0→1. Returns `active`, or `pending` with a
   * reason when the venue is not up yet (data flows once it is). @throws TributaryError (`INSTRUMENT_UNKNOWN`,
   * `CLIENT_BAD_REQUEST`); the server then reports an error to the client.
   */
  acquire(feedId: string): AcquireResult;
  /** Last client interest gone (1→0): the gateway may unsubscribe upstream. */
  release(feedId: string): void;
  /** The live book of one instrument (canonical symbol), or undefined when there is none. Read-only. */
  getBook(venue: string, symbol: string): BookView | undefined;
  /** Health of every configured venue. */
  health(): VenueHealth[];
  status(): GatewayStatus;
  /**
   * Current state of a feed that has one besides books (consolidated book / summary, health, oracle price) as the
   * domain event a new subscriber gets right after `subscription_confirmed`, or undefined.
   */
  feedState?(feedId: string): DomainEvent | undefined;
  /** Consolidated summary of one symbol (`GET /v1/summary/{symbol}`). */
  summary?(symbol: string): ConsolidatedBook | undefined;
  /** All consolidated summaries (`GET /v1/summaries`). */
  summaries?(): ConsolidatedBook[];
  /** Recent arbitrage opportunities, newest first (`GET /v1/arbitrage`). */
  arbitrageRecent?(limit: number): ArbitrageOpportunity[];
  /** Venue health reports (`GET /v1/venues`). */
  venueReports?(): VenueHealthReport[];
  /** `/health` verdict: enough venues healthy. Falls back to "at least one venue connected" when absent. */
  healthy?(): boolean;
  /** `/ready` verdict: data is fresh enough to serve. */
  ready?(): { ready: boolean; reason?: string };
  /** Oracle / quote sources' health (`/health` `oracles`). */
  oracles?(): object[];
}

/** Result of {@link GatewayApi.acquire}. */
export type AcquireResult = { readonly state: 'active' } | { readonly state: 'pending'; readonly reason: string };
