/**
 * Bridge from the sinks' plain counters to Prometheus: the hot path (bus queue, runner) only bumps plain numbers;
 * {@link copySinkMetrics} copies them into the `tributary_sink_*` metrics of `obs/metrics.ts` at scrape time (call it
 * from `createMetrics({ beforeCollect })`).
 */
import type { Topic } from '../core/events.ts';
import type { Metrics } from '../obs/metrics.ts';
import type { SinkTopicCounters } from './runner.ts';

/** What the bridge reads from a sink: a `SinkRunner` fits. */
export interface SinkCounterSource {
  /** Metrics label `sink`. */
  readonly name: string;
  /** Events waiting (bus queue + accepted but not written). */
  queueDepth(): number;
  /** Per-topic totals since start (monotonic). */
  topicCounters(): SinkTopicCounters;
}

type Copied = { written: Map<Topic, number>; dropped: Map<Topic, number>; conflated: Map<Topic, number> };

/** Last values copied, per metric set and source (counters are monotonic: only the increase is added). */
const copied = new WeakMap<Metrics, WeakMap<SinkCounterSource, Copied>>();

/**
 * Copies each source's counters into `m`: sets `tributary_sink_queue_depth{sink}` and adds, per topic, the increase
 * since the previous copy to `tributary_sink_events_{written,dropped,conflated}_total{sink,topic}`. Cheap (a few map
 * lookups per topic); call it once per scrape. A source seen for the first time is copied in full.
 */
export function copySinkMetrics(m: Metrics, sources: Iterable<SinkCounterSource>): void {
  let perSet = copied.get(m);
  if (perSet === undefined) copied.set(m, (perSet = new WeakMap()));
  for (const src of sources) {
    let last = perSet.get(src);
    if (last === undefined) perSet.set(src, (last = { written: new Map(), dropped: new Map(), conflated: new Map() }));
    const sink = src.name;
    m.sinkQueueDepth.set({ sink }, src.queueDepth());
    const c = src.topicCounters();
    bump(m.sinkEventsWritten, sink, c.written, last.written);
    bump(m.sinkEventsDropped, sink, c.dropped, last.dropped);
    bump(m.sinkEventsConflated, sink, c.conflated, last.conflated);
  }
}

function bump(
  counter: Metrics['sinkEventsWritten'],
  sink: string,
  now: Readonly<Partial<Record<Topic, number>>>,
  last: Map<Topic, number>,
): void {
  for (const [topic, v] of Object.entries(now) as [Topic, number][]) {
    const prev = last.get(topic) ?? 0;
    if (v > prev) {
      counter.inc({ sink, topic }, v - prev);
      last.set(topic, v);
    }
  }
}
