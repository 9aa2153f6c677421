/**
 * The simulator's public types: options, counters and the running {@link Simulator} (see `./index.ts` for what it does).
 */
import type { ReplayHooks } from '../../venues/connector.ts';
import type { SseReplayHooks } from '../../core/transport-types.ts';
import type { Recording } from '../recording.ts';

/** Pace of streaming: the recorded pace, a multiple of it (2 = twice as fast), or as fast as the socket drains. */
export type SimulatorSpeed = 'recorded' | 'max' | number;

/** Minimal pino-compatible logger (a pino `Logger` fits). */
export interface SimulatorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** Recordings to serve (see `loadRecording`). Recordings with the same venue id are merged. */
  readonly recordings: readonly Recording[];
  /**
   * Replay hooks per venue id. A venue without hooks serves HTTP only (its WebSocket paths answer 404),
   * because its frames cannot be tied to subscriptions.
   */
  readonly hooks: (venue: string) => ReplayHooks | undefined;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 (default) picks a free one (see {@link Simulator.port}). */
  readonly port?: number;
  /**
   * `recorded` (default): frame i is sent at `start + (ts_i − ts_first) / factor` with factor 1;
   * a number is that factor (2 = twice the recorded pace); `max`: as fast as the socket drains.
   */
  readonly speed?: SimulatorSpeed;
  /** How many times each client is played the frame list: 1 (default) = once, 0 = forever. */
  readonly loop?: number;
  /**
   * A client's stream clock starts this long after its first subscription (URL topics count as one at
   * connect), so a burst of separate subscribe frames all take effect before streaming starts. Default 100.
   */
  readonly settleMs?: number;
  /**
   * Per-client backpressure limit in bytes (default 1 MiB): when more than this has been handed to the socket
   * but not yet written to the kernel, streaming pauses until it falls to half of it.
   */
  readonly highWaterMark?: number;
  /** Optional logger; nothing is logged per frame. */
  readonly log?: SimulatorLogger;
  /** SSE replay hooks per venue id (e.g. Pyth: keep the feeds a request asks for). Default: none (events sent unchanged). */
  readonly sseHooks?: (venue: string) => SseReplayHooks | undefined;
  /** Keep-alive comment interval on idle SSE streams (ms). Default 15000. */
  readonly sseKeepAliveMs?: number;
}

/** How a source's recorded SSE events are served to one request (declared in `core/transport-types.ts`). */
export type { SseReplayHooks } from '../../core/transport-types.ts';

/** Counters of a running simulator. */
export interface SimulatorStats {
  /** WebSocket clients currently connected. */
  readonly clients: number;
  /** Recorded frames sent to clients (replies not included), all clients, since start. */
  readonly framesSent: number;
  /** Bytes of recorded frames sent. */
  readonly bytesSent: number;
  /** Replies (`onClientFrame` replies: acks, pongs) sent. */
  readonly repliesSent: number;
  /** HTTP requests answered from a recorded response. */
  readonly httpServed: number;
  /** HTTP requests answered 404/405, and WebSocket upgrades rejected. */
  readonly httpRejected: number;
  /** Client frames ignored: binary frames, frames the hooks threw on or did not understand, protocol errors. */
  readonly ignoredClientFrames: number;
  /** Clients currently paused by backpressure. */
  readonly blockedClients: number;
  /** SSE clients currently connected. */
  readonly sseClients: number;
}

/** A running simulator. */
export interface Simulator {
  readonly host: string;
  readonly port: number;
  /** Venue ids served, sorted. */
  readonly venues: readonly string[];
  /** `ws://host:port/{venue}`: use as the venue's `wsBase` endpoint override. @throws TributaryError `CONFIG_INVALID` for an unknown venue. */
  wsBase(venue: string): string;
  /** `http://host:port/{venue}`: use as the venue's `restBase` endpoint override. @throws TributaryError `CONFIG_INVALID` for an unknown venue. */
  restBase(venue: string): string;
  /** Current counters. */
  stats(): SimulatorStats;
  /**
   * The topics (venue-specific, see {@link ReplayHooks}) each WebSocket client of `venue` connected now is subscribed
   * to right now: URL topics and subscribe frames, minus unsubscribes; one entry per client in connection order, topics
   * sorted. A closed connection is not listed. Lets a test see an upstream subscription released.
   * @throws TributaryError `CONFIG_INVALID` for an unknown venue.
   */
  activeTopics(venue: string): { readonly path: string; readonly topics: readonly string[] }[];
  /**
   * Resolves once, when at least one client has started streaming and no connected client is still
   * streaming (or waiting out its settle delay): every connected streaming client has finished its last
   * loop (clients that disconnected no longer count). Never resolves with `loop: 0`, nor because of
   * {@link close}.
   */
  readonly ended: Promise<void>;
  /** `end` fires once, when {@link ended} resolves. */
  on(event: 'end', listener: () => void): this;
  /** Removes an `end` listener. */
  off(event: 'end', listener: () => void): this;
  /** Closes every client (close frame, then terminate after 250 ms) and the server. Idempotent. */
  close(): Promise<void>;
}
