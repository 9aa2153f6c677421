/**
 * Public types of the managed Server-Sent Events stream (`SseStream` in `./sse.ts`, which re-exports them): its
 * states, lifecycle events, logger and options.
 */
import type { TributaryError } from '../core/errors.ts';
import type { SseEvent } from './sse-parser.ts';

/** Lifecycle state of an {@link SseStream}. */
export type SseStreamState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'stopped';

/** Events an {@link SseStream} emits (none per inbound event). */
export interface SseStreamEvents {
  /** A request starts; `rollover` when it is the replacement of a stream that is still open. */
  connecting: { readonly attempt: number; readonly url: string; readonly rollover: boolean };
  /** Response headers arrived (2xx, `text/event-stream`). */
  open: { readonly url: string; readonly status: number; readonly rollover: boolean };
  /** A replacement stream took over; the previous one was closed. */
  rollover: { readonly url: string };
  /** A stream ended (or a request failed). */
  closed: { readonly reason: string; readonly status?: number; readonly rollover: boolean };
  /** A reconnect is scheduled in `delayMs` ms (`attempt` is 1-based). */
  reconnecting: { readonly attempt: number; readonly delayMs: number };
  /**
   * A failure: `TRANSPORT_CLOSED` (network error, server closed), `TRANSPORT_CONNECT_TIMEOUT` (no response
   * headers in time), `TRANSPORT_STALE` (idle), `VENUE_RATE_LIMITED` (HTTP 429, context `retryAfterSec`),
   * `HTTP_ERROR` (other non-2xx, context `status`) or `PROTOCOL_MALFORMED` (not an event stream).
   */
  error: { readonly error: TributaryError };
}

/** Minimal logger (a pino logger fits). Only lifecycle messages are logged. */
export interface SseLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of an {@link SseStream}. */
export interface SseStreamOptions {
  /** The URL to GET, re-evaluated on every (re)connect and rollover (e.g. the current feed set). May throw: a failed attempt. */
  readonly url: () => string;
  /**
   * Called once per dispatched event with the local receive time (ms since epoch). Hot path: keep it fast. If it
   * throws, the error is swallowed and counted in {@link SseStream.eventErrors}.
   */
  readonly onEvent: (ev: SseEvent, recvTs: number) => void;
  /** Extra request headers (e.g. an API key). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response headers must arrive within this many ms. Default 10000. */
  readonly connectTimeoutMs?: number;
  /** Reconnect delay ({@link backoffDelay}) = random() × min(capMs, baseMs × 2^(attempt−1)). Defaults 500 / 30000 ms; a `capMs` below `baseMs` is raised to it. */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** A stream on which no byte (event or comment) arrives for this long (ms) is dropped and reopened. 0 = off. Default 60000. */
  readonly staleAfterMs?: number;
  /** Open a replacement stream this long (ms) after a stream opened, then close the old one. 0 = off. Default 23 h. */
  readonly rolloverMs?: number;
  /** Delay (ms) after HTTP 429 without a usable `Retry-After`. Default 60000 (Hermes: 429 lasts 60 s). */
  readonly rateLimitDelayMs?: number;
  /** Limits of the parser (see {@link SseParserOptions}). */
  readonly maxEventLength?: number;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Clock, ms since epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Name in logs. */
  readonly name?: string;
  readonly log?: SseLogger;
}
