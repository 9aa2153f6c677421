/**
 * The plug-in shape of sources that are not venues (oracles such as Pyth, later REST quote providers): a source
 * publishes domain events through the bus and serves feeds of its own through the feed catalog; optionally it adds
 * server routes and WebSocket message handling (a compatible API of its own, e.g. an oracle's native API). Shared code
 * (pipeline, servers, config, main) only talks to sources through these interfaces and never names one.
 */
import type { DomainEvent, DomainEvents, EventPublisher, Topic } from './events.ts';
import type { FeedInfo } from '../protocol/messages.ts';

/** Feeds a source serves to clients (ids without `:`, so they never collide with venue feed ids). */
export interface FeedSource {
  /** Source id, lower case (`venue` in its FeedInfo, `source` in its events). */
  readonly name: string;
  /** Feeds streamed now. */
  listFeeds(): FeedInfo[];
  /** Feeds of the source's whole catalog matching `query` (case-insensitive), at most `limit`. */
  searchFeeds(query: string, limit: number): FeedInfo[];
  /** A feed by a client's spelling, with the canonical `feed_id`, or undefined when not this source's. */
  getFeed(feedId: string): FeedInfo | undefined;
  /** First interest (start streaming it upstream). @throws TributaryError `CLIENT_BAD_REQUEST` when it cannot. */
  acquire(feedId: string): void;
  /** Last interest gone. */
  release(feedId: string): void;
  /** Latest state of a feed as the domain event a new subscriber gets first, or undefined. */
  feedState(feedId: string): DomainEvent | undefined;
  /** Canonical instrument (`BTC/USD`) a feed prices, for consolidation; undefined when none. */
  instrumentOf?(feedId: string): string | undefined;
}

/** The subscribing side of the bus, as plug-in servers see it. */
export interface EventSubscriber {
  on<K extends Topic>(topic: K, h: (ev: DomainEvents[K]) => void): () => void;
}

/** One client connection as a plug-in's WebSocket handler sees it. */
export interface PluginWsSession {
  readonly id: string;
  /** Sends a reply (not conflated). */
  sendControl(text: string): void;
  /** Sends a data message (dropped and counted while the client is congested). */
  sendData(text: string): boolean;
}

/** A plug-in's handling of client WebSocket messages of its own protocol on the gateway's WS server. */
export interface PluginWsHandler {
  /** A path whose clients speak only this protocol (no `connection_established`), e.g. `/ws`. */
  readonly path?: string;
  /** Takes the message when it is this protocol's (returns true), else returns false. Never throws. */
  onMessage(session: PluginWsSession, text: string): boolean;
  /** The client went away: drop its subscriptions. */
  onClose(session: PluginWsSession): void;
  /** Detaches from the bus. */
  close(): void;
}

/** What a plug-in's server part gets. */
export interface PluginServerContext {
  readonly bus: EventSubscriber;
  /** Counts a bad client request (metrics). */
  readonly badRequest: () => void;
  readonly log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void; debug(o: object, m?: string): void };
}

/** Minimal route registration (fastify's instance fits); the handler signature is fastify's. */
export interface RouteRegistrar {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- fastify's generic route signature
  get(path: string, handler: (req: any, reply: any) => unknown): unknown;
}

/** A non-venue source plug-in. */
export interface SourcePlugin extends FeedSource {
  /** Starts connecting (never rejects: retries in the background). */
  start(): void;
  stop(): Promise<void>;
  /** Health for `/health` and `/status` (`oracles`): JSON-safe, no secrets. */
  health(): object;
  /** True while the source delivers fresh data. */
  healthy(): boolean;
  /** Frames/events received so far. */
  readonly framesReceived: number;
  /** Copies counters into metrics (scrape time). */
  syncMetrics?(): void;
  /** REST routes of the plug-in's own API. */
  registerRoutes?(app: RouteRegistrar, ctx: PluginServerContext): void;
  /** WebSocket handling of the plug-in's own protocol. */
  wsHandler?(ctx: PluginServerContext): PluginWsHandler;
}

export type { EventPublisher };
