/**
 * One client WebSocket connection: its feeds, liveness, and backpressure with conflation.
 *
 * When the client's `bufferedAmount` exceeds `maxBufferedBytes` it is marked congested and gets no data messages
 * (each one counted as dropped). Once its buffer drains below half the limit, `onDrained` runs (the server resends
 * fresh state: a `book_snapshot` or `book_reset` per book feed, the latest state of the other feeds), so it never
 * holds a wrong book. Replies to its own requests are still sent, up to twice the limit; a client past that is not
 * reading at all and is terminated. Nothing is ever queued here.
 */
import { WebSocket } from 'ws';
import type { PluginWsSession } from '../../core/plugin.ts';

/** Limits and hooks of a session. */
export interface SessionOptions {
  readonly maxBufferedBytes: number;
  readonly drainCheckMs: number;
  /** A data message was not sent (congested or closed). */
  readonly onDropped: (n: number) => void;
  /** Messages written to the socket. */
  readonly onSent: (n: number) => void;
  /** The buffer drained after congestion: resend state. */
  readonly onDrained: (s: ClientSession) => void;
  /** The client is not reading at all: it is being terminated. */
  readonly onStuck: (s: ClientSession) => void;
}

/** See the module comment. */
export class ClientSession implements PluginWsSession {
  /** Feed ids this client is subscribed to. */
  readonly feeds = new Set<string>();
  /** Answered the last ping. */
  alive = true;
  /** Over the buffer limit: data messages are dropped until it drains. */
  congested = false;
  closed = false;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    private readonly o: SessionOptions,
  ) {}

  /** True when data can be written now. */
  get writable(): boolean {
    return !this.congested && this.ws.readyState === WebSocket.OPEN;
  }

  /** Writes an already-serialized data message unless congested; returns false if dropped. */
  sendData(data: string): boolean {
    if (!this.writable) {
      this.o.onDropped(1);
      return false;
    }
    this.ws.send(data);
    this.o.onSent(1);
    if (this.ws.bufferedAmount > this.o.maxBufferedBytes) this.markCongested();
    return true;
  }

  /** Writes without counting (fan-out counts in bulk); the caller checked {@link writable}. */
  write(data: string): void {
    this.ws.send(data);
    if (this.ws.bufferedAmount > this.o.maxBufferedBytes) this.markCongested();
  }

  /** Writes a reply (not conflated). A client buffering past twice the limit is terminated. */
  sendControl(text: string): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.o.maxBufferedBytes * 2) {
      this.o.onStuck(this);
      this.ws.terminate();
      return;
    }
    this.ws.send(text);
    this.o.onSent(1);
  }

  private markCongested(): void {
    if (this.congested) return;
    this.congested = true;
    const low = this.o.maxBufferedBytes / 2;
    this.drainTimer = setInterval(() => {
      if (this.closed) return;
      if (this.ws.bufferedAmount <= low) {
        clearInterval(this.drainTimer);
        this.drainTimer = undefined;
        this.congested = false;
        this.o.onDrained(this);
      }
    }, this.o.drainCheckMs);
    this.drainTimer.unref();
  }

  /** Stops timers; idempotent. Returns false when already closed. */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    if (this.drainTimer !== undefined) clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    return true;
  }
}
