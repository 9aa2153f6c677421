/**
 * Runs one {@link Sink} off the bus: attaches a bounded {@link EventQueue} for the sink's topics (the bus feeds it
 * synchronously, in publish order), drains it in batches into `sink.consume`, retries a failing batch with the
 * project's backoff (`transport/backoff.ts`), then counts and logs it and moves on: a sink never crashes the process
 * and never blocks the bus (a slow sink only makes its own queue apply its overflow policy).
 *
 * On {@link SinkRunner.stop} the queue is detached from the bus, whatever it still holds is written, then the sink
 * is flushed and closed.
 */
import { TOPICS, type DomainEvent, type Topic } from '../core/events.ts';
import { errorMessage } from '../core/errors.ts';
import type { Bus } from '../bus/bus.ts';
import { QueueOverflowError, type EventQueue, type OverflowPolicy } from '../bus/queue.ts';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.ts';
import type { Sink, SinkRunnerHealth } from './sink.ts';

/** Logger shape used by the runner (pino fits). Lifecycle and failures only, never per event. */
export interface SinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link runSink}. */
export interface RunSinkOptions {
  /** Topics fed to the sink (default: every topic, {@link TOPICS}). */
  readonly topics?: readonly Topic[];
  /** Bus queue capacity, events, before the overflow policies apply (default 10000). */
  readonly capacity?: number;
  /** Overflow policy per topic (defaults: `DEFAULT_POLICIES` of `bus/queue.ts`: conflate state, drop trades). */
  readonly policies?: Partial<Record<Topic, OverflowPolicy>>;
  /** Most events per `consume` call (default 1000). */
  readonly batchSize?: number;
  /** Tries per batch, the first included, before the batch is given up and counted as dropped (default 5). */
  readonly attempts?: number;
  /** Backoff between tries (default `{ baseMs: 200, capMs: 5000 }`, full jitter). */
  readonly backoff?: BackoffOptions;
  /** Logger (default: silent). */
  readonly log?: SinkLogger;
}

/** Per-topic totals of one runner since start (read by the metrics bridge, `sinks/metrics.ts`). */
export interface SinkTopicCounters {
  /** Events `consume` accepted. */
  readonly written: Readonly<Partial<Record<Topic, number>>>;
  /** Events lost: dropped by the bus queue (overflow) or in batches given up after every retry. */
  readonly dropped: Readonly<Partial<Record<Topic, number>>>;
  /** Events merged into a newer pending one by the queue's `conflate` policy. */
  readonly conflated: Readonly<Partial<Record<Topic, number>>>;
}

/** A running sink; returned by {@link runSink}. */
export interface SinkRunner {
  readonly sink: Sink;
  /** The sink's name (metrics label `sink`). */
  readonly name: string;
  /** The bus queue currently feeding the sink (a new one replaces it after a `disconnect` overflow). */
  readonly queue: EventQueue;
  /** Health: the sink's own, with the bus queue's depth and losses folded in, and the runner's retry state. */
  health(): SinkRunnerHealth;
  /** Per-topic totals since start (written, dropped, conflated). */
  topicCounters(): SinkTopicCounters;
  /** Events waiting: bus queue depth plus what the sink accepted but has not written yet. */
  queueDepth(): number;
  /**
   * Resolves once every event queued so far has gone through `consume` (written, or given up) and the sink's own
   * `flush()` resolved. Never rejects (a flush error shows in `health().lastError`).
   */
  flush(): Promise<void>;
  /**
   * Detaches from the bus, writes what the queue still holds (a batch that keeps failing gets one last try, no
   * backoff), then flushes and closes the sink. Idempotent; never rejects.
   */
  stop(): Promise<void>;
}

const SILENT: SinkLogger = { info() {}, warn() {}, error() {} };

type Counts = Partial<Record<Topic, number>>;

function add(into: Counts, from: Readonly<Counts>): void {
  for (const [k, v] of Object.entries(from) as [Topic, number][]) into[k] = (into[k] ?? 0) + v;
}

function sum(c: Readonly<Counts>): number {
  let n = 0;
  for (const v of Object.values(c)) n += v ?? 0;
  return n;
}

class Runner implements SinkRunner {
  readonly name: string;
  queue: EventQueue;
  private readonly topics: readonly Topic[];
  private readonly batchSize: number;
  private readonly attempts: number;
  private readonly backoff: BackoffOptions;
  private readonly log: SinkLogger;
  private readonly written: Counts = {};
  /** Batches given up, per topic. */
  private readonly lost: Counts = {};
  /** Counters of queues replaced after an overflow. */
  private readonly retired = { dropped: {} as Counts, conflated: {} as Counts };
  private failures = 0;
  private failedBatches = 0;
  private failing = false;
  private lastError: string | null = null;
  private inFlight = 0;
  /** The loop awaits `queue.next()`; `waitMark` is the queue's `enqueued` counter when it started waiting. */
  private waiting = false;
  private waitMark = 0;
  private stopping = false;
  private closed = false;
  private stopPromise: Promise<void> | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly bus: Bus,
    readonly sink: Sink,
    private readonly opts: RunSinkOptions,
  ) {
    this.name = sink.name;
    this.topics = opts.topics ?? TOPICS;
    this.batchSize = Math.max(1, opts.batchSize ?? 1000);
    this.attempts = Math.max(1, opts.attempts ?? 5);
    this.backoff = opts.backoff ?? { baseMs: 200, capMs: 5000 };
    this.log = opts.log ?? SILENT;
    this.queue = this.attach();
  }

  private attach(): EventQueue {
    return this.bus.queue(this.topics, { name: this.name, capacity: this.opts.capacity, policies: this.opts.policies });
  }

  start(): void {
    this.loopDone = this.loop().catch((err) => {
      // A bug in the runner itself: keep the process alive, report it.
      this.failing = true;
      this.lastError = errorMessage(err);
      this.log.error({ sink: this.name, err: this.lastError }, 'sink runner stopped unexpectedly');
      this.queue.close();
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      let batch: DomainEvent[] = this.queue.drain(this.batchSize);
      if (batch.length === 0) {
        this.notifyIdle();
        let r: IteratorResult<DomainEvent>;
        this.waiting = true;
        this.waitMark = this.queue.counters.enqueued;
        try {
          r = await this.queue.next();
        } catch (err) {
          this.waiting = false;
          if (!(err instanceof QueueOverflowError)) throw err;
          this.onOverflow(err);
          if (this.stopping) break;
          continue;
        }
        this.waiting = false;
        if (r.done) break;
        batch = this.queue.drain(this.batchSize - 1);
        batch.unshift(r.value);
      }
      this.inFlight = batch.length;
      await this.deliver(batch);
      this.inFlight = 0;
    }
    this.notifyIdle();
  }

  /** A `disconnect` topic overflowed: the queue lost what it held. Count it, then start over on a fresh queue. */
  private onOverflow(err: QueueOverflowError): void {
    const old = this.queue;
    this.failing = true;
    this.lastError = err.message;
    this.log.error({ sink: this.name, code: 'SINK_OVERFLOW', topic: err.topic, capacity: err.capacity }, 'sink queue overflowed: pending events lost, reattaching');
    // Detach the dead queue and attach the new one in the same tick: no event published in between goes uncounted.
    old.close();
    if (this.stopping) return; // it stays the runner's queue (its counters are still read from it)
    add(this.retired.dropped, old.counters.dropped);
    add(this.retired.conflated, old.counters.conflated);
    this.queue = this.attach();
  }

  private async deliver(batch: readonly DomainEvent[]): Promise<void> {
    let finalTry = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.consume(batch);
        for (const ev of batch) this.written[ev.kind] = (this.written[ev.kind] ?? 0) + 1;
        this.failing = false;
        return;
      } catch (err) {
        this.failures++;
        this.failing = true;
        this.lastError = errorMessage(err);
        if (attempt >= this.attempts || finalTry) {
          this.failedBatches++;
          for (const ev of batch) this.lost[ev.kind] = (this.lost[ev.kind] ?? 0) + 1;
          this.log.error({ sink: this.name, code: 'SINK_WRITE_FAILED', events: batch.length, attempts: attempt, err: this.lastError }, 'sink batch given up after retries');
          return;
        }
        if (attempt === 1) this.log.warn({ sink: this.name, code: 'SINK_WRITE_FAILED', events: batch.length, err: this.lastError }, 'sink write failed, retrying');
        if (this.stopping) finalTry = true;
        else {
          await this.sleep(backoffDelay(attempt, this.backoff));
          if (this.stopping) finalTry = true;
        }
      }
    }
  }

  /** Waits `ms`, or less when {@link stop} wakes it. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    if (w.length === 0) return;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Events taken off the queue but not yet in a batch: one handed to the waiting loop that has not resumed yet. */
  private get handedOver(): number {
    return this.waiting && this.queue.counters.enqueued !== this.waitMark ? 1 : 0;
  }

  private drained(): Promise<void> {
    if (this.closed || this.queue.depth + this.inFlight + this.handedOver === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async flush(): Promise<void> {
    await this.drained();
    if (this.closed) return;
    try {
      await this.sink.flush();
    } catch (err) {
      this.failing = true;
      this.lastError = errorMessage(err);
    }
  }

  stop(): Promise<void> {
    if (this.stopPromise !== undefined) return this.stopPromise;
    this.stopping = true;
    this.queue.close();
    this.wake?.();
    this.stopPromise = (async () => {
      await this.loopDone;
      try {
        await this.sink.flush();
      } catch (err) {
        this.failing = true;
        this.lastError = errorMessage(err);
        this.log.error({ sink: this.name, err: this.lastError }, 'sink flush failed on close');
      }
      try {
        await this.sink.close();
      } catch (err) {
        this.lastError = errorMessage(err);
        this.log.error({ sink: this.name, err: this.lastError }, 'sink close failed');
      }
      this.closed = true;
      this.notifyIdle();
      this.log.info({ sink: this.name, written: sum(this.written), dropped: this.health().dropped }, 'sink closed');
    })();
    return this.stopPromise;
  }

  topicCounters(): SinkTopicCounters {
    const dropped: Counts = { ...this.retired.dropped };
    add(dropped, this.queue.counters.dropped);
    add(dropped, this.lost);
    const conflated: Counts = { ...this.retired.conflated };
    add(conflated, this.queue.counters.conflated);
    return { written: { ...this.written }, dropped, conflated };
  }

  queueDepth(): number {
    return this.queue.depth + this.handedOver + this.inFlight + this.sink.health().queueDepth;
  }

  health(): SinkRunnerHealth {
    const h = this.sink.health();
    const c = this.topicCounters();
    const state = this.closed ? 'closed' : h.state === 'closed' || h.state === 'starting' ? h.state : this.failing ? 'failing' : h.state;
    return {
      name: this.name,
      state,
      written: h.written,
      dropped: h.dropped + sum(c.dropped),
      lastError: this.lastError ?? h.lastError,
      queueDepth: this.queue.depth + this.handedOver + this.inFlight + h.queueDepth,
      conflated: sum(c.conflated),
      failures: this.failures,
      failedBatches: this.failedBatches,
    };
  }
}

/**
 * Starts `sink` on `bus`: attaches its bus queue right away (so nothing published while the sink starts is missed),
 * awaits `sink.start()`, then drains the queue in batches of up to `batchSize` events into `sink.consume`.
 *
 * A failing `consume` is retried (`attempts` tries in all, `backoffDelay` between them); a batch that still fails
 * is counted in `health().dropped` and the `dropped` topic counters and logged, and the runner goes on with the next
 * batch. A `disconnect` overflow of the queue is counted and logged, and a fresh queue is attached.
 *
 * @returns the running sink; call {@link SinkRunner.stop} on shutdown.
 * @throws (rejects with) whatever `sink.start()` rejects with (e.g. `TributaryError` `CONFIG_INVALID`), after
 *         detaching the queue and closing the sink.
 */
export async function runSink(bus: Bus, sink: Sink, opts: RunSinkOptions = {}): Promise<SinkRunner> {
  const r = new Runner(bus, sink, opts);
  try {
    await sink.start();
  } catch (err) {
    r.queue.close();
    await sink.close().catch(() => {});
    (opts.log ?? SILENT).error({ sink: sink.name, err: errorMessage(err) }, 'sink failed to start');
    throw err;
  }
  r.start();
  (opts.log ?? SILENT).info({ sink: sink.name, topics: opts.topics ?? 'all', capacity: r.queue.capacity }, 'sink started');
  return r;
}
