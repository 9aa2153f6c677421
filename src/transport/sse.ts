/**
 * Server-Sent Events: a managed stream that keeps itself connected, over the incremental `text/event-stream` parser
 * of `./sse-parser.ts` (its rules are described there).
 *
 * {@link SseStream} GETs a URL with `Accept: text/event-stream` over `fetch`, feeds the body to the parser and
 * reconnects with capped exponential backoff and full jitter (as `transport/ws.ts`). It honours HTTP 429 with
 * `Retry-After`, detects an idle connection (no byte at all, keep-alive comments included, for `staleAfterMs`)
 * and rolls over: `rolloverMs` after a stream opened it opens a replacement and closes the old one once the new
 * one delivers (servers such as Pyth Hermes end streams after 24 h). Nothing here throws out of a timer or a
 * stream callback, and an unreachable server never crashes the process: the stream retries until `stop()`.
 * Nothing is logged per event.
 */
import { TextDecoder } from 'node:util';
import { TributaryError, errorMessage } from '../core/errors.ts';
import { backoffDelay } from './backoff.ts';
import { describeFetchError as describe, parseRetryAfter } from './http.ts';
import { SseParser, type SseEvent } from './sse-parser.ts';
import type { SseLogger, SseStreamEvents, SseStreamOptions, SseStreamState } from './sse-types.ts';

/** `Retry-After` parsing, shared with the HTTP client (re-exported for callers of this module). */
export { parseRetryAfter };

/** The parser and its types (see `./sse-parser.ts`), re-exported for callers of this module. */
export { SseParser, type SseEvent, type SseParserOptions } from './sse-parser.ts';
/** The stream's options, events and states (see `./sse-types.ts`), re-exported for callers of this module. */
export type { SseLogger, SseStreamEvents, SseStreamOptions, SseStreamState } from './sse-types.ts';

type Listener<K extends keyof SseStreamEvents> = (e: SseStreamEvents[K]) => void;

const NOOP = (): void => {};
/** Read through a call so TypeScript does not narrow a state other callbacks change meanwhile. */
const closed = (c: { state: string }): boolean => c.state === 'closed';
const SILENT: SseLogger = { info: NOOP, warn: NOOP };

/** One HTTP request / response of the stream. */
interface Conn {
  readonly url: string;
  readonly ctrl: AbortController;
  readonly parser: SseParser;
  readonly rollover: boolean;
  state: 'connecting' | 'open' | 'closed';
  openedAt: number;
  lastByteAt: number;
  events: number;
  connectTimer: NodeJS.Timeout | undefined;
}

/** `origin + pathname` of a URL, for logs (the query may hold many ids or a key). */
export function redactUrl(u: string): string {
  try {
    const x = new URL(u);
    return `${x.origin}${x.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** Keeps one event stream open (see the module doc). */
export class SseStream {
  private readonly urlFn: () => string;
  private readonly onEvent: (ev: SseEvent, recvTs: number) => void;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly connectTimeoutMs: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly staleAfterMs: number;
  private readonly rolloverMs: number;
  private readonly rateLimitDelayMs: number;
  private readonly maxEvent: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;
  private readonly name: string;
  private readonly log: SseLogger;
  private readonly listeners: { [K in keyof SseStreamEvents]: Listener<K>[] } = {
    connecting: [], open: [], rollover: [], closed: [], reconnecting: [], error: [],
  };

  private _state: SseStreamState = 'idle';
  private _attempt = 0;
  private _reconnects = 0;
  private _rollovers = 0;
  private _eventErrors = 0;
  private _lastEventAt = 0;
  private _lastEventId = '';
  private _url = '';
  private serverRetryMs = 0;
  private cur: Conn | undefined;
  private next: Conn | undefined;
  private rolloverAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private rolloverTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;

  constructor(opts: SseStreamOptions) {
    this.urlFn = opts.url;
    this.onEvent = opts.onEvent;
    this.headers = opts.headers ?? {};
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.baseMs = opts.backoff?.baseMs ?? 500;
    this.capMs = opts.backoff?.capMs ?? 30_000;
    this.staleAfterMs = opts.staleAfterMs ?? 60_000;
    this.rolloverMs = opts.rolloverMs ?? 23 * 3600 * 1000;
    this.rateLimitDelayMs = opts.rateLimitDelayMs ?? 60_000;
    this.maxEvent = opts.maxEventLength ?? 8 * 1024 * 1024;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.name = opts.name ?? 'sse';
    this.log = opts.log ?? SILENT;
  }

  /** Current state (of the main stream; a rollover in progress does not change it). */
  get state(): SseStreamState { return this._state; }
  /** Consecutive retry number: 0 after start or once a stream delivered an event. */
  get attempt(): number { return this._attempt; }
  /** Reconnects scheduled since construction. */
  get reconnects(): number { return this._reconnects; }
  /** Completed rollovers (a replacement stream took over). */
  get rollovers(): number { return this._rollovers; }
  /** How many times `onEvent` threw. */
  get eventErrors(): number { return this._eventErrors; }
  /** Receive time (ms) of the last event, 0 if none. */
  get lastEventAt(): number { return this._lastEventAt; }
  /** The last event id (sent as `Last-Event-ID` on the next request; '' = none). */
  get lastEventId(): string { return this._lastEventId; }
  /** URL of the current (or last) request; '' before the first. */
  get url(): string { return this._url; }
  /** Open HTTP responses right now (2 during a rollover). */
  get openStreams(): number {
    return (this.cur?.state === 'open' ? 1 : 0) + (this.next?.state === 'open' ? 1 : 0);
  }

  /** Subscribes to a lifecycle event; returns the unsubscribe function. Listener errors are caught and logged. */
  on<K extends keyof SseStreamEvents>(event: K, listener: Listener<K>): () => void {
    (this.listeners[event] as Listener<K>[]).push(listener);
    return () => {
      const list = this.listeners[event] as Listener<K>[];
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Starts (no-op unless idle or stopped). Failures are retried, never thrown. */
  start(): void {
    if (this._state !== 'idle' && this._state !== 'stopped') return;
    this._attempt = 0;
    this.connect();
  }

  /** Aborts every request and timer; no reconnect follows. Idempotent; never rejects. */
  stop(): Promise<void> {
    if (this._state === 'stopped') return Promise.resolve();
    this._state = 'stopped';
    for (const t of [this.reconnectTimer, this.rolloverTimer]) if (t) clearTimeout(t);
    if (this.staleTimer) clearInterval(this.staleTimer);
    this.reconnectTimer = this.rolloverTimer = this.staleTimer = undefined;
    for (const c of [this.cur, this.next]) if (c) this.abort(c);
    this.cur = this.next = undefined;
    return Promise.resolve();
  }

  /**
   * Opens a replacement stream now (e.g. after the URL's feed set changed) and closes the current one once the
   * replacement delivers. Starts the stream when it is idle; reconnects at once when it is waiting to.
   */
  rolloverNow(): void {
    if (this._state === 'stopped') return;
    if (this._state === 'idle') return this.start();
    if (this._state === 'reconnecting' || !this.cur) {
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      if (!this.cur) this.connect();
      return;
    }
    if (this.next) this.abort(this.next);
    this.next = undefined;
    if (this.cur.state === 'connecting') {
      // Nothing delivered yet: simply ask again with the new URL.
      this.abort(this.cur);
      this.cur = undefined;
      this.connect();
      return;
    }
    this.openConn(true);
  }

  // ---- internals -------------------------------------------------------------------------------

  private emit<K extends keyof SseStreamEvents>(event: K, payload: SseStreamEvents[K]): void {
    const list = this.listeners[event] as Listener<K>[];
    if (list.length === 0) return;
    for (const fn of list.slice()) {
      try {
        fn(payload);
      } catch (e) {
        this.log.warn({ conn: this.name, event, err: errorMessage(e) }, 'listener threw');
      }
    }
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this._state === 'stopped') return;
    this._state = 'connecting';
    this.openConn(false);
  }

  private openConn(rollover: boolean): void {
    if (rollover && this.rolloverTimer) {
      clearTimeout(this.rolloverTimer);
      this.rolloverTimer = undefined;
    }
    let url: string;
    try {
      url = this.urlFn();
      new URL(url);
    } catch (e) {
      const err = new TributaryError('TRANSPORT_CLOSED', `${this.name}: no usable URL: ${errorMessage(e)}`, {}, { cause: e });
      if (rollover) this.rolloverFailed(err, 0);
      else this.failed(err, 'url failed', undefined, 0);
      return;
    }
    const conn: Conn = {
      url,
      ctrl: new AbortController(),
      parser: undefined as unknown as SseParser,
      rollover,
      state: 'connecting',
      openedAt: 0,
      lastByteAt: 0,
      events: 0,
      connectTimer: undefined,
    };
    (conn as { parser: SseParser }).parser = new SseParser((ev) => this.dispatch(conn, ev), {
      maxEventLength: this.maxEvent,
      maxLineLength: this.maxEvent,
      onRetry: (ms) => (this.serverRetryMs = Math.min(ms, this.capMs)),
    });
    conn.parser.lastEventId = this._lastEventId;
    if (rollover) this.next = conn;
    else this.cur = conn;
    this._url = url;
    this.emit('connecting', { attempt: rollover ? this.rolloverAttempt : this._attempt, url, rollover });
    void this.run(conn);
  }

  private async run(conn: Conn): Promise<void> {
    conn.connectTimer = setTimeout(() => {
      conn.connectTimer = undefined;
      if (conn.state !== 'connecting') return;
      const err = new TributaryError('TRANSPORT_CONNECT_TIMEOUT', `${this.name}: no response within ${this.connectTimeoutMs} ms`, {
        url: redactUrl(conn.url), connectTimeoutMs: this.connectTimeoutMs,
      });
      this.ended(conn, 'connect-timeout', err);
    }, this.connectTimeoutMs);
    let res: Response;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache', ...this.headers };
      if (this._lastEventId !== '') headers['last-event-id'] = this._lastEventId;
      res = await this.fetchFn(conn.url, { headers, signal: conn.ctrl.signal });
    } catch (e) {
      if (closed(conn)) return;
      this.ended(conn, 'request failed', new TributaryError('TRANSPORT_CLOSED', `${this.name}: request failed: ${describe(e)}`, { url: redactUrl(conn.url) }, { cause: e }));
      return;
    }
    if (conn.connectTimer) clearTimeout(conn.connectTimer);
    conn.connectTimer = undefined;
    if (closed(conn)) {
      void res.body?.cancel().catch(NOOP);
      return;
    }
    const status = res.status;
    if (status === 429) {
      void res.body?.cancel().catch(NOOP);
      const retryAfterSec = parseRetryAfter(res.headers.get('retry-after'), this.now());
      const context: Record<string, unknown> = { url: redactUrl(conn.url), status };
      if (retryAfterSec !== undefined) context.retryAfterSec = retryAfterSec;
      const floor = retryAfterSec !== undefined ? retryAfterSec * 1000 : this.rateLimitDelayMs;
      this.ended(conn, 'rate limited', new TributaryError('VENUE_RATE_LIMITED', `${this.name}: rate limited (HTTP 429)`, context), status, floor);
      return;
    }
    if (status === 204) {
      // "No Content": the server has nothing (more) for us (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
      // says stop reconnecting). A gateway must not give up forever: retry, but only after the backoff cap.
      void res.body?.cancel().catch(NOOP);
      this.ended(conn, 'no content (204)', new TributaryError('TRANSPORT_CLOSED', `${this.name}: HTTP 204: the server has no events for this request`, { url: redactUrl(conn.url), status }), status, this.capMs);
      return;
    }
    if (status < 200 || status > 299) {
      let body = '';
      try {
        body = (await res.text()).slice(0, 500);
      } catch {
        // body unreadable: the status says enough
      }
      if (closed(conn)) return;
      this.ended(conn, `HTTP ${status}`, new TributaryError('HTTP_ERROR', `${this.name}: HTTP ${status}`, { url: redactUrl(conn.url), status, body }), status);
      return;
    }
    const type = res.headers.get('content-type') ?? '';
    if (!/^text\/event-stream\b/i.test(type.trim()) || !res.body) {
      void res.body?.cancel().catch(NOOP);
      this.ended(conn, 'not an event stream', new TributaryError('PROTOCOL_MALFORMED', `${this.name}: response is not text/event-stream (${type || 'no content-type'})`, { url: redactUrl(conn.url), status }), status);
      return;
    }
    this.opened(conn, status);
    const reader = res.body.getReader();
    const decoder = new TextDecoder('utf-8');
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (closed(conn)) return;
        if (done) break;
        conn.lastByteAt = this.now();
        conn.parser.push(decoder.decode(value, { stream: true }));
        if (closed(conn)) return;
      }
    } catch (e) {
      if (closed(conn)) return;
      this.ended(conn, 'stream failed', new TributaryError('TRANSPORT_CLOSED', `${this.name}: stream failed: ${describe(e)}`, { url: redactUrl(conn.url) }, { cause: e }));
      return;
    }
    conn.parser.end();
    this.ended(conn, 'closed by server', new TributaryError('TRANSPORT_CLOSED', `${this.name}: stream closed by the server`, { url: redactUrl(conn.url) }));
  }

  private opened(conn: Conn, status: number): void {
    conn.state = 'open';
    conn.openedAt = conn.lastByteAt = this.now();
    this.log.info({ conn: this.name, url: redactUrl(conn.url), rollover: conn.rollover, attempt: this._attempt }, 'stream open');
    this.emit('open', { url: conn.url, status, rollover: conn.rollover });
    if (conn.state !== 'open' || this._state === 'stopped') return;
    if (conn === this.cur) {
      this._state = 'open';
      this.armRollover();
    } else if (conn === this.next && !this.cur) {
      this.promote(conn);
    }
    this.armStale();
  }

  /** Hot path: one parsed event. */
  private dispatch(conn: Conn, ev: SseEvent): void {
    if (conn.state === 'closed') return;
    const recvTs = this.now();
    conn.events++;
    this._lastEventAt = recvTs;
    this._lastEventId = ev.lastEventId;
    if (conn === this.next) this.promote(conn);
    else if (conn.events === 1) this._attempt = 0;
    try {
      this.onEvent(ev, recvTs);
    } catch {
      this._eventErrors++;
    }
  }

  /** The replacement stream takes over; the old one is closed. */
  private promote(conn: Conn): void {
    const old = this.cur;
    this.next = undefined;
    this.cur = conn;
    this._attempt = 0;
    this.rolloverAttempt = 0;
    this._state = 'open';
    if (old) {
      this.abort(old);
      this.emit('closed', { reason: 'rolled over', rollover: false });
    }
    this._rollovers++;
    this.log.info({ conn: this.name }, 'stream rolled over');
    this.emit('rollover', { url: conn.url });
    this.armRollover();
  }

  private armRollover(): void {
    if (this.rolloverTimer) clearTimeout(this.rolloverTimer);
    this.rolloverTimer = undefined;
    if (!(this.rolloverMs > 0) || !Number.isFinite(this.rolloverMs)) return;
    this.rolloverTimer = setTimeout(() => {
      this.rolloverTimer = undefined;
      if (this._state === 'open' && this.cur && !this.next) this.openConn(true);
    }, this.rolloverMs);
  }

  private armStale(): void {
    if (this.staleTimer || !(this.staleAfterMs > 0) || !Number.isFinite(this.staleAfterMs)) return;
    const every = Math.max(10, Math.min(1000, Math.floor(this.staleAfterMs / 4)));
    this.staleTimer = setInterval(() => {
      const now = this.now();
      for (const c of [this.cur, this.next]) {
        if (!c || c.state !== 'open') continue;
        const idle = now - c.lastByteAt;
        if (idle > this.staleAfterMs) {
          this.ended(c, 'stale', new TributaryError('TRANSPORT_STALE', `${this.name}: no data for ${idle} ms`, { url: redactUrl(c.url), staleAfterMs: this.staleAfterMs, idleMs: idle }));
        }
      }
      if (!this.cur && !this.next && this.staleTimer) {
        clearInterval(this.staleTimer);
        this.staleTimer = undefined;
      }
    }, every);
  }

  private abort(c: Conn): void {
    c.state = 'closed';
    if (c.connectTimer) clearTimeout(c.connectTimer);
    c.connectTimer = undefined;
    try {
      c.ctrl.abort();
    } catch {
      // already aborted
    }
  }

  /** A request or stream ended (not by us). */
  private ended(conn: Conn, reason: string, error: TributaryError, status?: number, floorMs = 0): void {
    if (conn.state === 'closed') return;
    const wasOpen = conn.state === 'open';
    this.abort(conn);
    if (this._state === 'stopped') return;
    if (conn === this.next) {
      this.next = undefined;
      if (!this.cur) {
        this.failed(error, reason, status, floorMs);
        return;
      }
      this.rolloverFailed(error, floorMs, reason, status);
      return;
    }
    if (conn !== this.cur) return;
    this.cur = undefined;
    if (this.next) {
      // A replacement is on its way: it takes over as soon as it is open.
      this.log.warn({ conn: this.name, reason, status }, 'stream closed during rollover');
      this.emit('error', { error });
      this.emit('closed', status === undefined ? { reason, rollover: false } : { reason, status, rollover: false });
      if (this.next?.state === 'open') this.promote(this.next);
      else if (this.next) this._state = 'connecting';
      return;
    }
    this.log.warn({ conn: this.name, reason, status, wasOpen }, 'stream closed');
    this.failed(error, reason, status, floorMs);
  }

  private failed(error: TributaryError, reason: string, status: number | undefined, floorMs: number): void {
    this.emit('error', { error });
    this.emit('closed', status === undefined ? { reason, rollover: false } : { reason, status, rollover: false });
    this.scheduleReconnect(floorMs);
  }

  private rolloverFailed(error: TributaryError, floorMs: number, reason = 'rollover failed', status?: number): void {
    this.emit('error', { error });
    this.emit('closed', status === undefined ? { reason, rollover: true } : { reason, status, rollover: true });
    if (this._state === 'stopped' || !this.cur) return;
    const attempt = ++this.rolloverAttempt;
    const delayMs = Math.max(floorMs, this.jitter(attempt));
    if (this.rolloverTimer) clearTimeout(this.rolloverTimer);
    this.rolloverTimer = setTimeout(() => {
      this.rolloverTimer = undefined;
      if (this._state !== 'stopped' && this.cur && !this.next) this.openConn(true);
    }, delayMs);
  }

  private jitter(attempt: number): number {
    return backoffDelay(attempt, { baseMs: this.baseMs, capMs: this.capMs, random: this.random });
  }

  private scheduleReconnect(floorMs: number): void {
    if (this._state === 'stopped' || this.reconnectTimer) return;
    this._state = 'reconnecting';
    const attempt = ++this._attempt;
    this._reconnects++;
    const delayMs = Math.max(floorMs, this.serverRetryMs, this.jitter(attempt));
    this.log.info({ conn: this.name, attempt, delayMs }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
    this.emit('reconnecting', { attempt, delayMs });
  }
}
