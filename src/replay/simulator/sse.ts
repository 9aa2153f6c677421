/**
 * The simulator's Server-Sent Events client: recorded events of one path streamed as `text/event-stream`, with
 * `id: <n>` sequence numbers (resumable through `Last-Event-ID`), the per-request filter, and keep-alive comments.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { SseFrame } from './recordings.ts';
import { BATCH_BYTES, BATCH_FRAMES, type ClientHost, type ClientState } from './pacing.ts';

/** One SSE client: its walk over the recorded events of one path (same pacing and looping as `SimClient` in `./ws-client.ts`). */
export class SseSimClient {
  state: ClientState = 'idle';
  blocked = false;
  private idx = 0;
  private loopsDone = 0;
  private sentThisPass = 0;
  private startAt = 0;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly t0: number;

  constructor(
    readonly res: ServerResponse,
    private readonly frames: readonly SseFrame[],
    private readonly host: ClientHost,
    private readonly filter: ((data: string) => string | undefined) | undefined,
    private readonly keepAliveMs: number,
  ) {
    this.t0 = frames.length > 0 ? frames[0].ts : 0;
  }

  /**
   * Starts streaming after `lastEventId` (a sequence number this simulator sent; undefined = from the start).
   * Returns false when nothing is left to play (the caller answers 204: "do not reconnect").
   */
  start(lastEventId: string | undefined): boolean {
    const n = this.frames.length;
    const last = lastEventId !== undefined && /^[0-9]{1,15}$/.test(lastEventId) ? Number(lastEventId) : -1;
    const next = last + 1;
    if (n > 0) {
      this.loopsDone = Math.floor(next / n);
      this.idx = next % n;
    }
    if (n === 0 || (this.host.loops !== 0 && this.loopsDone >= this.host.loops)) return false;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.res.flushHeaders();
    this.lastWriteAt = performance.now();
    this.keepAlive = setInterval(() => {
      if (this.state === 'closed' || this.res.writableEnded) return;
      if (performance.now() - this.lastWriteAt >= this.keepAliveMs) this.write(':\n\n');
    }, Math.max(10, Math.floor(this.keepAliveMs / 2)));
    this.keepAlive.unref();
    this.state = 'settling';
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state !== 'settling') return;
      this.state = 'streaming';
      this.host.onStreaming();
      this.resumeClock(performance.now());
      this.pump();
    }, this.host.settleMs);
    return true;
  }

  /** Sets the pass clock so that frame `idx` is due now (resumed streams and loop starts). */
  private resumeClock(now: number): void {
    const f = this.frames[this.idx];
    this.startAt = this.host.factor === null || f === undefined ? now : now - ((f.ts - this.t0) * 1000) / this.host.factor;
  }

  private write(s: string): void {
    this.lastWriteAt = performance.now();
    if (!this.res.write(s) && !this.blocked) {
      this.blocked = true;
      this.res.once('drain', () => {
        this.blocked = false;
        if (this.state === 'streaming' && !this.timer && !this.immediate) this.immediate = setImmediate(this.pump);
      });
    }
  }

  private readonly pump = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.state !== 'streaming' || this.blocked) return;
    const { factor } = this.host;
    const frames = this.frames;
    const n = frames.length;
    const now = performance.now();
    let budget = BATCH_FRAMES;
    let out = '';
    const flush = (): void => {
      if (out.length > 0) this.write(out);
      out = '';
    };
    for (;;) {
      if (this.idx >= n) {
        this.loopsDone++;
        if (this.host.loops !== 0 && this.loopsDone >= this.host.loops) {
          flush();
          this.finish();
          return;
        }
        if (this.host.loops === 0 && this.sentThisPass === 0) {
          flush();
          this.state = 'parked'; // nothing this client wants: keep-alives only
          return;
        }
        this.idx = 0;
        this.sentThisPass = 0;
        this.resumeClock(now);
        flush();
        this.immediate = setImmediate(this.pump);
        return;
      }
      const f = frames[this.idx];
      if (factor !== null) {
        const due = this.startAt + ((f.ts - this.t0) * 1000) / factor;
        if (due > now + 0.5) {
          flush();
          this.timer = setTimeout(this.pump, Math.max(1, Math.ceil(due - now)));
          return;
        }
      }
      const seq = this.loopsDone * n + this.idx;
      this.idx++;
      const data = this.filter ? this.filter(f.data) : f.data;
      if (data !== undefined) {
        let ev = `id: ${seq}\n`;
        if (f.event !== undefined) ev += `event: ${f.event}\n`;
        for (const line of data.split('\n')) ev += `data: ${line}\n`;
        ev += '\n';
        out += ev;
        this.sentThisPass++;
        this.host.counters.framesSent++;
        this.host.counters.bytesSent += ev.length;
      }
      if (--budget <= 0 || out.length >= BATCH_BYTES) {
        flush();
        if (!this.blocked) this.immediate = setImmediate(this.pump);
        return;
      }
    }
  };

  private finish(): void {
    this.state = 'finished';
    this.stopTimers();
    this.res.end();
    this.host.onDone();
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.timer = undefined;
    this.immediate = undefined;
    this.keepAlive = undefined;
  }

  /** Stops all timers; nothing more is written. */
  stop(): void {
    this.state = 'closed';
    this.stopTimers();
  }

  /** True while the client still has events to stream (or is about to start). */
  get active(): boolean {
    return this.state === 'settling' || this.state === 'streaming' || this.state === 'parked';
  }
}
