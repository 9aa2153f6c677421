/**
 * One managed venue WebSocket connection: connect (with a timeout), send the plan's subscribe frames,
 * keep the connection alive (protocol or application heartbeat), detect a stale connection, and
 * reconnect with capped exponential backoff and full jitter. The plan function is re-run on every
 * (re)connect, so a reconnect resubscribes to whatever the plan says now.
 *
 * Nothing here throws out of a timer or a socket handler, and an unreachable venue (DNS failure,
 * ECONNREFUSED, bad URL) never crashes the process: the socket just keeps retrying until `stop()`.
 */
import WebSocket, { type ClientOptions, type RawData } from 'ws';
import type { ConnectionPlan } from '../core/transport-types.ts';
import { TributaryError, errorMessage } from '../core/errors.ts';
import { backoffDelay } from './backoff.ts';

/** Lifecycle state of a {@link ManagedSocket}. */
export type SocketState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'stopped';

/** Events a {@link ManagedSocket} emits, by name, with their payloads. None is per inbound frame. */
export interface ManagedSocketEvents {
  /** A connection attempt starts. `attempt` is 0 for the first attempt after a healthy connection (or start), n for the n-th retry. */
  connecting: { readonly attempt: number; readonly url: string };
  /** The handshake completed. Emitted before the subscribe frames are sent; `plan` is the plan this connection uses. */
  open: { readonly url: string; readonly plan: ConnectionPlan };
  /** The connection ended (or a connection attempt failed). `code` is the WebSocket close code when the peer/network closed it. */
  closed: { readonly reason: string; readonly code?: number };
  /** A reconnect is scheduled in `delayMs` ms; `attempt` is the retry number it will run as (1-based). */
  reconnecting: { readonly attempt: number; readonly delayMs: number };
  /** A transport failure: `TRANSPORT_CONNECT_TIMEOUT`, `TRANSPORT_CLOSED` or `TRANSPORT_STALE`. A reconnect follows. */
  error: { readonly error: TributaryError };
  /** A frame was written to the socket (subscribe frames, app heartbeats, `send()`); `ts` is ms since epoch. For the recorder. */
  sent: { readonly data: string; readonly ts: number };
}

/** Minimal logger shape (a pino logger or child fits). */
export interface TransportLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of a {@link ManagedSocket}. */
export interface ManagedSocketOptions {
  /**
   * Returns the plan to connect with, or a promise of it (async preparation such as a venue token).
   * Called on every connect and reconnect (resubscribe = re-run plan). May throw or reject: counted as a failed attempt.
   */
  readonly plan: () => ConnectionPlan | Promise<ConnectionPlan>;
  /**
   * Called once per inbound frame with the frame decoded as UTF-8 text (binary frames too) and the local
   * receive time (ms since epoch). Hot path: keep it fast. If it throws, the error is swallowed and
   * counted in {@link ManagedSocket.frameErrors} (the first one per connection is logged).
   */
  readonly onFrame: (data: string, recvTs: number) => void;
  /** The handshake must complete within this many ms, else the attempt is aborted and retried. Default 10000. */
  readonly connectTimeoutMs?: number;
  /**
   * Reconnect backoff ({@link backoffDelay}, full jitter): delay = random() * min(capMs, baseMs * 2^(attempt-1)).
   * Defaults 500 / 30000 ms; a `capMs` below `baseMs` is raised to it.
   */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** Source of jitter in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Clock, ms since epoch. Default `Date.now`. Used for `recvTs`, `lastFrameAt` and stale detection. */
  readonly now?: () => number;
  /** Extra options passed to the `ws` client. `autoPong` is always forced on (server pings are answered). */
  readonly wsOptions?: ClientOptions;
  /** How long `stop()` waits for the closing handshake before terminating the socket. Default 1000 ms. */
  readonly closeTimeoutMs?: number;
  /** Name used in logs, e.g. `bybit/linear-0`. */
  readonly name?: string;
  /** Logger for lifecycle messages (never per frame). Default: silent. */
  readonly log?: TransportLogger;
}

type Listener<K extends keyof ManagedSocketEvents> = (event: ManagedSocketEvents[K]) => void;
type ListenerMap = { [K in keyof ManagedSocketEvents]: Listener<K>[] };

const NOOP = (): void => {};
const SILENT: TransportLogger = { info: NOOP, warn: NOOP };

/**
 * A single venue WebSocket connection that keeps itself open until {@link ManagedSocket.stop}.
 *
 * Typical wiring: create a decoder session on `open` (from `event.plan`), decode in `onFrame`,
 * send decoder replies with `send()`, call `forceReconnect()` when the venue asks for it.
 */
export class ManagedSocket {
  private readonly planFn: () => ConnectionPlan | Promise<ConnectionPlan>;
  private readonly onFrame: (data: string, recvTs: number) => void;
  private readonly connectTimeoutMs: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly wsOptions: ClientOptions;
  private readonly closeTimeoutMs: number;
  private readonly name: string;
  private readonly log: TransportLogger;
  private readonly listeners: ListenerMap = {
    connecting: [], open: [], closed: [], reconnecting: [], error: [], sent: [],
  };

  private _state: SocketState = 'idle';
  private _attempt = 0;
  private _reconnects = 0;
  private _lastFrameAt = 0;
  private _frameErrors = 0;
  private _plan: ConnectionPlan | undefined;
  private ws: WebSocket | null = null;
  /** Set once the current connection has delivered a frame (resets the backoff attempt counter). */
  private healthy = false;
  private frameErrorLogged = false;
  private openedAt = 0;
  private lastPongAt = 0;
  private lastError: Error | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  /** Bumped per connect attempt, so a late async plan of an abandoned attempt is ignored. */
  private connectGen = 0;

  constructor(opts: ManagedSocketOptions) {
    this.planFn = opts.plan;
    this.onFrame = opts.onFrame;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.baseMs = opts.backoff?.baseMs ?? 500;
    this.capMs = opts.backoff?.capMs ?? 30_000;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.wsOptions = opts.wsOptions ?? {};
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 1000;
    this.name = opts.name ?? 'ws';
    this.log = opts.log ?? SILENT;
  }

  /** Current lifecycle state. */
  get state(): SocketState { return this._state; }
  /** Consecutive retry number: 0 after start or after a connection that delivered a frame, n during the n-th retry. */
  get attempt(): number { return this._attempt; }
  /** Reconnects scheduled since construction (every retry counts). */
  get reconnects(): number { return this._reconnects; }
  /** Receive time (ms since epoch) of the last inbound frame; 0 if none yet. */
  get lastFrameAt(): number { return this._lastFrameAt; }
  /** URL of the current (or last) connection; '' before the first connect. */
  get url(): string { return this._plan?.url ?? ''; }
  /** The plan of the current (or last) connection. */
  get plan(): ConnectionPlan | undefined { return this._plan; }
  /** How many times `onFrame` threw (the frames are dropped; the connection stays up). */
  get frameErrors(): number { return this._frameErrors; }

  /** Subscribes to a lifecycle event. Returns a function that unsubscribes. Listener errors are caught and logged. */
  on<K extends keyof ManagedSocketEvents>(event: K, listener: Listener<K>): () => void {
    (this.listeners[event] as Listener<K>[]).push(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof ManagedSocketEvents>(event: K, listener: Listener<K>): void {
    const list = this.listeners[event] as Listener<K>[];
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  }

  /** Starts connecting (no-op unless `idle` or `stopped`). Failures are retried, never thrown. */
  start(): void {
    if (this._state !== 'idle' && this._state !== 'stopped') return;
    this.stopping = undefined;
    this._attempt = 0;
    this.connect();
  }

  /**
   * Closes the connection gracefully (close code 1000, terminated after `closeTimeoutMs` if the peer does
   * not answer) and cancels every timer; no reconnect follows. Resolves once the socket is closed.
   * Idempotent; never rejects.
   */
  stop(): Promise<void> {
    if (this._state === 'stopped') return this.stopping ?? Promise.resolve();
    this._state = 'stopped';
    this.clearConnectionTimers();
    if (this.reconnectTimer) { clearTimeout(this.reconnectTimer); this.reconnectTimer = undefined; }
    const ws = this.ws;
    this.ws = null;
    if (!ws) return (this.stopping = Promise.resolve());
    ws.removeAllListeners();
    ws.on('error', NOOP);
    this.stopping = new Promise<void>((resolve) => {
      let fallback: NodeJS.Timeout | undefined;
      ws.once('close', (code: number) => {
        if (fallback) clearTimeout(fallback);
        this.emit('closed', { reason: 'stopped', code });
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) {
        fallback = setTimeout(() => ws.terminate(), this.closeTimeoutMs);
        ws.close(1000, 'stop');
      } else {
        ws.terminate();
      }
    });
    return this.stopping;
  }

  /** Sends a text frame. Returns false (and sends nothing) if the socket is not open. */
  send(data: string): boolean {
    const ws = this.ws;
    if (this._state !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) return false;
    return this.write(ws, data);
  }

  /**
   * Closes the current connection now and reconnects through the normal backoff (used when a venue asks
   * us to reconnect). No-op when idle, stopped, or already waiting to reconnect.
   */
  forceReconnect(reason: string): void {
    if (this._state !== 'open' && this._state !== 'connecting') return;
    this.log.info({ conn: this.name, reason }, 'forced reconnect');
    this.drop(reason, undefined, undefined);
  }

  // ---- internals -------------------------------------------------------------------------------

  private emit<K extends keyof ManagedSocketEvents>(event: K, payload: ManagedSocketEvents[K]): void {
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

  private write(ws: WebSocket, data: string): boolean {
    try {
      ws.send(data);
    } catch (e) {
      this.log.warn({ conn: this.name, err: errorMessage(e) }, 'send failed');
      return false;
    }
    if (this.listeners.sent.length > 0) this.emit('sent', { data, ts: this.now() });
    return true;
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this._state === 'stopped') return;
    this._state = 'connecting';
    this.healthy = false;
    this.frameErrorLogged = false;
    this.lastError = undefined;

    let planned: ConnectionPlan | Promise<ConnectionPlan>;
    try {
      planned = this.planFn();
    } catch (e) {
      this.failAttempt('plan failed: ' + errorMessage(e), e);
      return;
    }
    if (planned instanceof Promise) {
      // Async preparation (e.g. a venue token fetched over REST before every connect).
      const gen = ++this.connectGen;
      planned.then(
        (plan) => {
          if (gen === this.connectGen && this._state === 'connecting') this.connectWith(plan);
        },
        (e: unknown) => {
          if (gen === this.connectGen && this._state === 'connecting') this.failAttempt('plan failed: ' + errorMessage(e), e);
        },
      );
      return;
    }
    this.connectWith(planned);
  }

  private connectWith(plan: ConnectionPlan): void {
    this._plan = plan;
    this.emit('connecting', { attempt: this._attempt, url: plan.url });
    if (this._state !== 'connecting') return; // a listener stopped us

    let ws: WebSocket;
    try {
      ws = new WebSocket(plan.url, { skipUTF8Validation: true, ...this.wsOptions, autoPong: true });
    } catch (e) {
      // e.g. an invalid URL: ws throws synchronously
      this.failAttempt('connect failed: ' + errorMessage(e), e);
      return;
    }
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    this.connectTimer = setTimeout(() => this.onConnectTimeout(ws), this.connectTimeoutMs);

    ws.on('open', () => this.onOpen(ws, plan));
    ws.on('message', (data: RawData) => {
      // Hot path. binaryType is 'nodebuffer', so `data` is a Buffer for text and binary frames alike.
      const recvTs = this.now();
      this._lastFrameAt = recvTs;
      if (!this.healthy) { this.healthy = true; this._attempt = 0; }
      try {
        this.onFrame((data as Buffer).toString('utf8'), recvTs);
      } catch (e) {
        this.onFrameError(e);
      }
    });
    ws.on('pong', () => { this.lastPongAt = this.now(); });
    ws.on('ping', () => { this.lastPongAt = this.now(); }); // a peer that pings us is alive too
    ws.on('error', (err: Error) => { this.lastError = err; }); // 'close' always follows
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      const why = this.lastError
        ? errorMessage(this.lastError)
        : `closed by peer (${code}${reason.length > 0 ? ' ' + reason.toString() : ''})`;
      this.drop(why, code, new TributaryError('TRANSPORT_CLOSED', `${this.name}: ${why}`, { url: plan.url, code }, { cause: this.lastError }));
    });
  }

  private onOpen(ws: WebSocket, plan: ConnectionPlan): void {
    if (this.ws !== ws) return;
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = undefined; }
    this._state = 'open';
    this.openedAt = this.now();
    this.lastPongAt = 0;
    this.log.info({ conn: this.name, url: plan.url, attempt: this._attempt }, 'connected');
    this.emit('open', { url: plan.url, plan });
    if (this.ws !== ws || this._state !== 'open') return; // a listener closed or stopped us

    for (const frame of plan.subscribeFrames) {
      if (!this.write(ws, frame)) break;
    }

    const hb = plan.heartbeat;
    if (hb.kind === 'ws-ping') {
      this.heartbeatTimer = setInterval(() => {
        try { ws.ping(); } catch { /* closing; the close handler reconnects */ }
      }, hb.intervalMs);
    } else if (hb.kind === 'app') {
      this.heartbeatTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        let frame: string;
        try {
          frame = hb.frame();
        } catch (e) {
          this.log.warn({ conn: this.name, err: errorMessage(e) }, 'heartbeat frame() threw');
          return;
        }
        this.write(ws, frame);
      }, hb.intervalMs);
    }

    const staleAfter = plan.staleAfterMs;
    if (staleAfter > 0 && Number.isFinite(staleAfter)) {
      // Poll instead of re-arming a timer per frame: the hot path only stores a timestamp.
      const every = Math.max(10, Math.min(1000, Math.floor(staleAfter / 4)));
      this.staleTimer = setInterval(() => {
        const last = Math.max(this._lastFrameAt, this.lastPongAt, this.openedAt);
        const idle = this.now() - last;
        if (idle > staleAfter && this.ws === ws) {
          const err = new TributaryError('TRANSPORT_STALE', `${this.name}: no frame for ${idle} ms`, {
            url: plan.url, staleAfterMs: staleAfter, idleMs: idle,
          });
          this.drop('stale', undefined, err);
        }
      }, every);
    }
  }

  private onConnectTimeout(ws: WebSocket): void {
    this.connectTimer = undefined;
    if (this.ws !== ws || this._state !== 'connecting') return;
    const url = this._plan?.url ?? '';
    const err = new TributaryError('TRANSPORT_CONNECT_TIMEOUT', `${this.name}: no handshake within ${this.connectTimeoutMs} ms`, {
      url, connectTimeoutMs: this.connectTimeoutMs,
    });
    this.drop('connect-timeout', undefined, err);
  }

  private onFrameError(e: unknown): void {
    this._frameErrors++;
    if (!this.frameErrorLogged) {
      this.frameErrorLogged = true;
      this.log.warn({ conn: this.name, err: errorMessage(e) }, 'onFrame threw (further errors on this connection not logged)');
    }
  }

  /** A connection attempt failed before a socket existed (plan threw, bad URL). */
  private failAttempt(reason: string, cause: unknown): void {
    const err = new TributaryError('TRANSPORT_CLOSED', `${this.name}: ${reason}`, { url: this._plan?.url }, { cause });
    this.emit('error', { error: err });
    this.emit('closed', { reason });
    this.scheduleReconnect();
  }

  /** Ends the current connection (if any), reports it, and schedules a reconnect unless stopped. */
  private drop(reason: string, code: number | undefined, error: TributaryError | undefined): void {
    const ws = this.ws;
    this.ws = null;
    this.clearConnectionTimers();
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', NOOP);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    }
    if (this._state === 'stopped') return;
    this.log.warn({ conn: this.name, reason, code }, 'connection closed');
    if (error) this.emit('error', { error });
    this.emit('closed', code === undefined ? { reason } : { reason, code });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this._state === 'stopped' || this.reconnectTimer) return;
    this._state = 'reconnecting';
    const attempt = ++this._attempt;
    this._reconnects++;
    const delayMs = backoffDelay(attempt, { baseMs: this.baseMs, capMs: this.capMs, random: this.random });
    this.log.info({ conn: this.name, attempt, delayMs }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
    this.emit('reconnecting', { attempt, delayMs });
  }

  private clearConnectionTimers(): void {
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = undefined; }
    if (this.heartbeatTimer) { clearInterval(this.heartbeatTimer); this.heartbeatTimer = undefined; }
    if (this.staleTimer) { clearInterval(this.staleTimer); this.staleTimer = undefined; }
  }
}
