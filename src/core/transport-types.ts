/**
 * Types shared by the transport layer (`transport/ws`, `transport/http`) and its users (venues, oracles, pipeline).
 * They live here, below `transport/`, so transport never imports a venue module; `venues/connector.ts` re-exports
 * them as part of the venue contract.
 */
import type { Channel } from './events.ts';
import type { Instrument } from './instruments.ts';

/** A frame received on a venue connection. `recvTs` is local receive time (ms since epoch). */
export interface InboundFrame {
  readonly data: string;
  readonly recvTs: number;
}

/** Minimal HTTP client a connector uses for instruments and snapshots (GET, JSON text body). */
export interface Http {
  /**
   * GETs `url` and returns the body text.
   * @throws TributaryError `HTTP_ERROR` on network failure or non-2xx status,
   *         `VENUE_RATE_LIMITED` on 429/418.
   */
  get(url: string): Promise<string>;
  /**
   * POSTs `body` (JSON text, sent as `application/json`) to `url` and returns the response body text.
   * Optional: only connectors that need a POST (a connection token fetched in `prepareConnection`) call it,
   * and fail with `CONFIG_INVALID` when the client has none.
   * @throws TributaryError as {@link Http.get}.
   */
  post?(url: string, body: string): Promise<string>;
}

/** A subscription of one channel of one instrument. `depth` is the book depth asked of the venue. */
export interface Subscription {
  readonly instrument: Instrument;
  readonly channel: Channel;
  readonly depth?: number;
}

/** How the connection keeps itself alive. */
export type Heartbeat =
  /** Protocol-level ping frames every `intervalMs`; the server's pong counts as activity. */
  | { readonly kind: 'ws-ping'; readonly intervalMs: number }
  /** The venue's application ping (a text frame) every `intervalMs`. */
  | { readonly kind: 'app'; readonly intervalMs: number; readonly frame: () => string }
  /** The venue pings us (we answer via `Decoded.replies`) or sends its own heartbeats. */
  | { readonly kind: 'none' };

/** One WebSocket connection a connector wants, and what to send on it. Pure data. */
export interface ConnectionPlan {
  /** Stable id, unique within the venue, e.g. `linear-0`. */
  readonly id: string;
  /** Full ws:// or wss:// URL, already pointed at any configured override. */
  readonly url: string;
  readonly subscriptions: readonly Subscription[];
  /** Frames sent right after the socket opens, in order (subscribe requests). */
  readonly subscribeFrames: readonly string[];
  readonly heartbeat: Heartbeat;
  /** No frame at all for this long means the connection is stale and is reopened. */
  readonly staleAfterMs: number;
}

/**
 * How a source's recorded SSE events are served to one request by the replay simulator. Declared here (not in
 * `replay/`) because plug-ins (`oracles/<source>/`) implement it and must not import the replay layer.
 */
export interface SseReplayHooks {
  /**
   * A filter for one request (`url` with its query): maps a recorded event's data to what this client gets, or
   * undefined to skip the event. Returning undefined from `filterFor` sends every event unchanged.
   */
  filterFor(url: URL): ((data: string) => string | undefined) | undefined;
}
