/**
 * The simulator's WebSocket client: subscriptions changed by client frames (through the venue's replay hooks),
 * catch-up of topics subscribed mid-stream, and the paced, batched walk over the recorded frames with backpressure.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import type { ReplayHooks } from '../../venues/connector.ts';
import type { Frame } from './recordings.ts';
import { BATCH_BYTES, BATCH_FRAMES, type ClientHost, type ClientState } from './pacing.ts';

const CLOSE_GRACE_MS = 250;

/** One WebSocket client: its subscriptions and its walk over the frame list. */
export class SimClient {
  state: ClientState = 'idle';
  blocked = false;
  private readonly topics = new Set<string>();
  private idx = 0;
  private loopsDone = 0;
  private sentThisPass = 0;
  private startAt = 0;
  private outstanding = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly t0: number;
  /** Recorded frames sent on this socket (for `rewriteFrame`). */
  private nth = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly hooks: ReplayHooks,
    private readonly frames: readonly Frame[],
    private readonly host: ClientHost,
    readonly venue = '',
    readonly path = '',
  ) {
    this.t0 = frames.length > 0 ? frames[0].ts : 0;
  }

  /** The topics subscribed now, sorted. */
  topicsNow(): string[] {
    return [...this.topics].sort();
  }

  /** Applies the connection URL's topics. */
  start(urlTopics: readonly string[]): void {
    this.subscribe(urlTopics);
  }

  /** Handles one client frame: subscribe/unsubscribe and replies. Never throws. */
  onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (isBinary) {
      this.host.counters.ignoredClientFrames++;
      return;
    }
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    let r: ReturnType<ReplayHooks['onClientFrame']>;
    try {
      r = this.hooks.onClientFrame(text);
    } catch {
      this.host.counters.ignoredClientFrames++;
      return;
    }
    if (!r || (!r.subscribe?.length && !r.unsubscribe?.length && !r.replies?.length)) {
      this.host.counters.ignoredClientFrames++;
      return;
    }
    for (const t of r.unsubscribe ?? []) this.topics.delete(t);
    for (const reply of r.replies ?? []) {
      this.host.counters.repliesSent++;
      this.send(Buffer.from(reply, 'utf8'));
    }
    if (r.subscribe?.length) this.subscribe(r.subscribe);
  }

  private subscribe(topics: readonly string[]): void {
    if (topics.length === 0) return;
    const fresh = new Set<string>();
    for (const t of topics) {
      if (!this.topics.has(t)) fresh.add(t);
      this.topics.add(t);
    }
    if ((this.state === 'streaming' || this.state === 'finished') && fresh.size > 0) this.catchUp(fresh);
    if (this.state === 'idle') {
      this.state = 'settling';
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.beginStreaming();
      }, this.host.settleMs);
    } else if (this.state === 'parked') {
      this.state = 'streaming';
      this.newPass(performance.now());
      this.schedule();
    }
  }

  /**
   * A topic subscribed mid-stream first gets, in one burst, its frames the walk already passed in this pass (for a
   * book: the recorded snapshot and every update since), so the client holds what a venue would send on a subscribe.
   */
  private catchUp(fresh: ReadonlySet<string>): void {
    const end = Math.min(this.idx, this.frames.length);
    if (end === 0) return;
    const sock = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    sock?.cork();
    try {
      const rewrite = this.hooks.rewriteFrame;
      for (let i = 0; i < end; i++) {
        const f = this.frames[i];
        if (!fresh.has(f.topic)) continue;
        this.send(rewrite ? Buffer.from(rewrite.call(this.hooks, f.buf.toString('utf8'), this.nth++), 'utf8') : f.buf);
        this.sentThisPass++;
        this.host.counters.framesSent++;
        this.host.counters.bytesSent += f.buf.length;
      }
    } finally {
      sock?.uncork();
    }
  }

  private beginStreaming(): void {
    if (this.state !== 'settling') return;
    this.state = 'streaming';
    this.host.onStreaming();
    if (this.frames.length === 0) {
      this.finish();
      return;
    }
    this.newPass(performance.now());
    this.pump();
  }

  private newPass(now: number): void {
    this.idx = 0;
    this.sentThisPass = 0;
    this.startAt = now;
  }

  private schedule(): void {
    if (this.immediate || this.timer || this.state !== 'streaming') return;
    this.immediate = setImmediate(this.pump);
  }

  /** Sends what is due, in batches; re-arms itself by timer (recorded pace), setImmediate (batch) or drain. */
  private readonly pump = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.state !== 'streaming' || this.blocked) return;
    // One write syscall per batch instead of one per frame: `ws` corks/uncorks around each frame, which only
    // flushes when the outermost cork is released. `_socket` is ws's (undocumented) underlying net.Socket.
    const sock = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    sock?.cork();
    try {
      this.pumpBatch();
    } finally {
      sock?.uncork();
    }
  };

  private pumpBatch(): void {
    const { factor, hwm } = this.host;
    const frames = this.frames;
    const now = performance.now();
    let budget = BATCH_FRAMES;
    let bytes = 0;
    for (;;) {
      if (this.idx >= frames.length) {
        this.loopsDone++;
        if (this.host.loops !== 0 && this.loopsDone >= this.host.loops) {
          this.finish();
          return;
        }
        if (this.host.loops === 0 && this.sentThisPass === 0) {
          // Forever-loop with nothing subscribed that exists: idle until the subscriptions change.
          this.state = 'parked';
          return;
        }
        this.newPass(now);
        this.immediate = setImmediate(this.pump);
        return;
      }
      if (this.outstanding > hwm) {
        this.blocked = true;
        return;
      }
      const f = frames[this.idx];
      if (factor !== null) {
        const due = this.startAt + ((f.ts - this.t0) * 1000) / factor;
        if (due > now + 0.5) {
          this.timer = setTimeout(this.pump, Math.max(1, Math.ceil(due - now)));
          return;
        }
      }
      this.idx++;
      if (this.topics.has(f.topic)) {
        const rewrite = this.hooks.rewriteFrame;
        this.send(rewrite ? Buffer.from(rewrite.call(this.hooks, f.buf.toString('utf8'), this.nth++), 'utf8') : f.buf);
        this.sentThisPass++;
        this.host.counters.framesSent++;
        this.host.counters.bytesSent += f.buf.length;
        bytes += f.buf.length;
      }
      if (--budget <= 0 || bytes >= BATCH_BYTES) {
        this.immediate = setImmediate(this.pump);
        return;
      }
    }
  }

  /** Sends a text frame, counting its bytes as outstanding until the socket has written them. */
  private send(buf: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const n = buf.length;
    this.outstanding += n;
    this.ws.send(buf, { binary: false }, () => {
      this.outstanding -= n;
      if (this.blocked && this.outstanding <= this.host.hwm / 2) {
        this.blocked = false;
        this.schedule();
      }
    });
  }

  private finish(): void {
    this.state = 'finished';
    this.host.onDone();
  }

  /** Stops all timers; the client will send nothing more. */
  stop(): void {
    this.state = 'closed';
    this.blocked = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** True while the client still has frames to stream (or is about to start). */
  get active(): boolean {
    return this.state === 'settling' || this.state === 'streaming' || this.state === 'parked';
  }
}

/** Close frame, then terminate if the peer has not closed within the grace period. */
export function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    const t = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      ws.close(1001, 'simulator closing');
    } catch {
      ws.terminate();
    }
  });
}
