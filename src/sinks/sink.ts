/**
 * The one interface every sink implements (JSON lines now; RabbitMQ, PostgreSQL, Redis, NATS later).
 *
 * A sink never subscribes to the bus itself: {@link runSink} (`sinks/runner.ts`) attaches a bounded bus queue for
 * it, drains that queue in batches into {@link Sink.consume}, retries failed batches with backoff, and closes the
 * sink cleanly on stop. The sink only turns batches of domain events (plain values, `core/events.ts`) into writes.
 *
 * Life cycle: `start()` once → `consume(batch)` any number of times, never two at once → `flush()` whenever the
 * runner wants everything accepted so far to be written → `close()` once (flushes first). `health()` may be called at
 * any time, from any state, and must be cheap (it is read on every metrics scrape and health request).
 */
import type { DomainEvent } from '../core/events.ts';

/**
 * State of a sink:
 * - `starting`: created, `start()` not finished yet;
 * - `running`: writing normally;
 * - `failing`: the last write (or start) failed; the runner is retrying or has given up on a batch (`lastError`);
 *   the state returns to `running` after the next successful write;
 * - `closed`: `close()` finished; nothing more is written.
 */
export type SinkState = 'starting' | 'running' | 'failing' | 'closed';

/** Health of one sink, as reported by {@link Sink.health} (and, with the bus queue folded in, by the runner). */
export interface SinkHealth {
  /** Sink name: the metrics label `sink` (e.g. `jsonl`). */
  readonly name: string;
  readonly state: SinkState;
  /** Events written for good (JSON lines: handed to the file system and acknowledged), since start. */
  readonly written: number;
  /**
   * Events lost, since start. From the sink alone: events it gave up on. From the runner: plus events of batches
   * that still failed after every retry, plus events the bus queue dropped on overflow (`drop` / `disconnect`
   * policies; conflated events are not lost state and are counted apart, see {@link SinkRunnerHealth}).
   */
  readonly dropped: number;
  /** Message of the last error (write, start, retry given up, queue overflow), null if none yet. */
  readonly lastError: string | null;
  /**
   * Events waiting to be written. From the sink alone: events accepted by `consume` not yet acknowledged by the
   * destination. From the runner: plus events waiting in the bus queue.
   */
  readonly queueDepth: number;
}

/** The runner's view of a sink: {@link SinkHealth} plus queue and retry counters. */
export interface SinkRunnerHealth extends SinkHealth {
  /** Events merged into a newer pending one by the bus queue's `conflate` policy (state kept, events fewer). */
  readonly conflated: number;
  /** `consume` calls that failed (each retry counts). */
  readonly failures: number;
  /** Batches given up after the last retry (their events are counted in `dropped`). */
  readonly failedBatches: number;
}

/**
 * A destination of domain events.
 *
 * Implementations must be safe to `close()` in any state (also after a failed `start()`), must not throw
 * synchronously from any method (reject instead), and must never keep references to the events they are given
 * beyond what they need to write them (events are immutable and shared with the rest of the pipeline).
 */
export interface Sink {
  /** Name used in logs, health and as the metrics label `sink` (stable, low cardinality: e.g. `jsonl`). */
  readonly name: string;

  /**
   * Prepares the destination (create a directory, connect, declare exchanges / tables).
   * Rejects when the sink cannot work at all (e.g. `TributaryError` `CONFIG_INVALID` for an unusable directory).
   */
  start(): Promise<void>;

  /**
   * Writes one batch of events, in the given order (bus publish order, after the queue's overflow policy). The topic
   * of each event is its `kind`. Resolves once the batch is accepted: a sink applies backpressure by resolving later
   * (the runner does not call `consume` again before it resolves; meanwhile the bus queue fills and applies its
   * overflow policy). Rejects when the batch could not be written; the runner then retries the same batch, so a sink
   * should make a partly written batch safe to write again (at-least-once delivery).
   */
  consume(events: readonly DomainEvent[]): Promise<void>;

  /** Resolves once everything accepted so far is written to the destination (not necessarily fsynced). */
  flush(): Promise<void>;

  /** Flushes, then releases the destination. Idempotent; resolves (never rejects) once closed. */
  close(): Promise<void>;

  /** Current health (cheap, synchronous). */
  health(): SinkHealth;
}
