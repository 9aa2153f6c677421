/**
 * Every Prometheus metric Tributary exports, defined in this one module on a dedicated registry
 * (never prom-client's global one), so tests can make as many fresh sets as they like.
 *
 * Naming: prefix `tributary_`; labels `venue`, `type`, `code`, `reason`, `outcome`, `stage`, `source` (oracle), `kind`,
 * `symbol` (consolidated symbols only: a configured handful).
 * Never label by instrument (cardinality).
 *
 * Hot path: resolve label children once and keep them. {@link Metrics.forVenue} returns a cached
 * object of pre-bound children for one venue (one Map lookup per call; keep the result in the
 * connection / session), and {@link Metrics.stage} / {@link Metrics.dropped} / {@link Metrics.clientError}
 * return cached children, so an increment is a plain method call with no label hashing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Registry };

/** A counter child bound to all its labels: `inc(n = 1)`. */
export interface BoundCounter {
  inc(value?: number): void;
}

/** A gauge child bound to all its labels. */
export interface BoundGauge {
  set(value: number): void;
  inc(value?: number): void;
  dec(value?: number): void;
}

/** A histogram child bound to all its labels: `observe(seconds)`. */
export interface BoundHistogram {
  observe(value: number): void;
}

/** Pre-bound metric children for one venue (see {@link Metrics.forVenue}). */
export interface VenueMetrics {
  readonly venue: string;
  /** `tributary_frames_received_total{venue}`: inbound frames (any kind). */
  readonly framesReceived: BoundCounter;
  /** `tributary_book_gaps_total{venue}`. */
  readonly bookGaps: BoundCounter;
  /** `tributary_book_resyncs_total{venue}`. */
  readonly bookResyncs: BoundCounter;
  /** `tributary_checksum_failures_total{venue}`. */
  readonly checksumFailures: BoundCounter;
  /** `tributary_reconnects_total{venue}`. */
  readonly reconnects: BoundCounter;
  /** `tributary_venue_connected{venue}`: 1 when at least one connection of the venue is open, else 0. */
  readonly connected: BoundGauge;
  /** `tributary_venue_healthy{venue}`: 1 when the health monitor rates the venue healthy. */
  readonly healthy: BoundGauge;
  /** `tributary_venue_latency_ms{venue}`: mean receive time − venue time over the last health interval (ms). */
  readonly latencyMs: BoundGauge;
  /** `tributary_venue_updates_per_second{venue}` over the last health interval. */
  readonly updatesPerSecond: BoundGauge;
  /** `tributary_events_total{venue,type}` child, `type` = normalized event type (`book_delta`, `trade`, ...). Cached. */
  events(type: string): BoundCounter;
  /** `tributary_decode_errors_total{venue,code}` child, `code` = error catalog code. Cached. */
  decodeErrors(code: string): BoundCounter;
  /** `tributary_frames_ignored_total{venue,reason}` child. Cached. */
  framesIgnored(reason: string): BoundCounter;
  /** `tributary_http_requests_total{venue,outcome}` child (venue REST calls), `outcome` e.g. `ok`, `error`, `rate_limited`. Cached. */
  httpRequests(outcome: string): BoundCounter;
}

/** The full metric set on its own registry; returned by {@link createMetrics}. */
export interface Metrics {
  /** The dedicated registry; `registry.metrics()` renders the Prometheus text format. */
  readonly registry: Registry;
  readonly framesReceived: Counter<'venue'>;
  readonly events: Counter<'venue' | 'type'>;
  readonly decodeErrors: Counter<'venue' | 'code'>;
  readonly framesIgnored: Counter<'venue' | 'reason'>;
  readonly bookGaps: Counter<'venue'>;
  readonly bookResyncs: Counter<'venue'>;
  readonly checksumFailures: Counter<'venue'>;
  readonly reconnects: Counter<'venue'>;
  readonly venueConnected: Gauge<'venue'>;
  readonly httpRequests: Counter<'venue' | 'outcome'>;
  /** `tributary_ws_clients`: connected WebSocket clients. */
  readonly wsClients: Gauge;
  /** `tributary_ws_messages_sent_total`: messages written to WebSocket clients (one per client per message). */
  readonly wsMessagesSent: Counter;
  /** `tributary_ws_messages_dropped_total{reason}`: messages not sent to a client (e.g. `backpressure` conflation). */
  readonly wsMessagesDropped: Counter<'reason'>;
  /** `tributary_client_errors_total{code}`: `error` messages sent to clients. */
  readonly clientErrors: Counter<'code'>;
  /** `tributary_stage_latency_seconds{stage}`: time spent per pipeline stage, seconds (buckets 10 µs .. 1 s). */
  readonly stageLatency: Histogram<'stage'>;
  /** `tributary_summaries_emitted_total`: consolidated summaries emitted. */
  readonly summariesEmitted: Counter;
  /** `tributary_consolidated_spread_bps{symbol}`: NBBO spread of each consolidated symbol, bps (negative when crossed). */
  readonly consolidatedSpreadBps: Gauge<'symbol'>;
  /** `tributary_consolidated_venues{symbol}`: venues included in each consolidated book. */
  readonly consolidatedVenues: Gauge<'symbol'>;
  /** `tributary_arbitrage_opportunities_total`: opportunities reported (new or materially changed). */
  readonly arbitrageOpportunities: Counter;
  /** `tributary_rest_budget_waits_total{venue}`: REST requests that waited for the venue's request budget. */
  readonly restBudgetWaits: Counter<'venue'>;
  /** `tributary_oracle_events_total{source}`: upstream oracle stream events received (e.g. SSE events of any type). */
  readonly oracleEvents: Counter<'source'>;
  /** `tributary_oracle_price_updates_total{source}`: oracle prices accepted (one per feed per new price). */
  readonly oracleUpdates: Counter<'source'>;
  /** `tributary_oracle_dropped_total{source,reason}`: oracle input dropped (`malformed_event`, `malformed_entry`, `duplicate`, `out_of_order`, `unsubscribed`, `unknown_event`). */
  readonly oracleDropped: Counter<'source' | 'reason'>;
  /** `tributary_oracle_errors_total{source,code}`: oracle transport / catalog / stream errors, by error catalog code. */
  readonly oracleErrors: Counter<'source' | 'code'>;
  /** `tributary_oracle_reconnects_total{source}`: oracle stream reconnects. */
  readonly oracleReconnects: Counter<'source'>;
  /** `tributary_oracle_connected{source}`: 1 while an oracle stream is open. */
  readonly oracleConnected: Gauge<'source'>;
  /** `tributary_oracle_stale_feeds{source}`: oracle feeds whose publish time stopped advancing. */
  readonly oracleStaleFeeds: Gauge<'source'>;
  /** `tributary_oracle_deviation_bps{symbol}`: (consolidated mid − oracle price) / oracle price × 10 000, per consolidated symbol. */
  readonly oracleDeviationBps: Gauge<'symbol'>;
  /** `tributary_source_api_clients{source,kind}`: clients of a source plug-in's own compatible API (e.g. `sse` streams, `ws` connections with subscriptions in its protocol). */
  readonly sourceApiClients: Gauge<'source' | 'kind'>;
  /** `tributary_sink_queue_depth{sink}`: events waiting for a sink (its bus queue plus what it accepted but has not written). */
  readonly sinkQueueDepth: Gauge<'sink'>;
  /** `tributary_sink_events_written_total{sink,topic}`: events a sink wrote. */
  readonly sinkEventsWritten: Counter<'sink' | 'topic'>;
  /** `tributary_sink_events_dropped_total{sink,topic}`: events a sink lost (queue overflow `drop` / `disconnect`, batches given up after retries). */
  readonly sinkEventsDropped: Counter<'sink' | 'topic'>;
  /** `tributary_sink_events_conflated_total{sink,topic}`: events merged into a newer pending one by a sink queue's `conflate` policy. */
  readonly sinkEventsConflated: Counter<'sink' | 'topic'>;
  /** Cached pre-bound children for one venue. */
  forVenue(venue: string): VenueMetrics;
  /** Cached `stage_latency_seconds{stage}` child. */
  stage(stage: string): BoundHistogram;
  /** Cached `ws_messages_dropped_total{reason}` child. */
  dropped(reason: string): BoundCounter;
  /** Cached `client_errors_total{code}` child. */
  clientError(code: string): BoundCounter;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also collect prom-client's default process / Node.js metrics on the registry (unprefixed names). Default true. */
  defaultMetrics?: boolean;
  /**
   * Called at the start of every scrape, before any series is read: lets the composition root copy plain
   * hot-path counters into the metrics so the hot path never touches prom-client.
   */
  beforeCollect?: () => void;
}

/** Histogram buckets (seconds) for per-stage latency: 10 µs .. 1 s, roughly 1-2.5-5 per decade. */
export const STAGE_LATENCY_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Memoizes a one-argument child factory. */
function cached<T>(make: (key: string) => T): (key: string) => T {
  const m = new Map<string, T>();
  return (key: string) => {
    let v = m.get(key);
    if (v === undefined) {
      v = make(key);
      m.set(key, v);
    }
    return v;
  };
}

/** Creates a fresh metric set on a new registry. The composition root makes one; tests make their own. */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const P = 'tributary_';

  const startedAt = Date.now();
  const beforeCollect = opts.beforeCollect;
  // Registered first, so its collect hook runs before the other series are read.
  new Gauge({
    name: `${P}uptime_seconds`,
    help: 'Seconds since the gateway started.',
    registers,
    collect() {
      beforeCollect?.();
      this.set((Date.now() - startedAt) / 1000);
    },
  });
  const framesReceived = new Counter({ name: `${P}frames_received_total`, help: 'Inbound venue frames received.', labelNames: ['venue'] as const, registers });
  const events = new Counter({ name: `${P}events_total`, help: 'Normalized events decoded, by event type.', labelNames: ['venue', 'type'] as const, registers });
  const decodeErrors = new Counter({ name: `${P}decode_errors_total`, help: 'Frames that could not be decoded, by error code.', labelNames: ['venue', 'code'] as const, registers });
  const framesIgnored = new Counter({ name: `${P}frames_ignored_total`, help: 'Known frames deliberately not used, by reason.', labelNames: ['venue', 'reason'] as const, registers });
  const bookGaps = new Counter({ name: `${P}book_gaps_total`, help: 'Book sequence gaps detected.', labelNames: ['venue'] as const, registers });
  const bookResyncs = new Counter({ name: `${P}book_resyncs_total`, help: 'Book resyncs started (one instrument each).', labelNames: ['venue'] as const, registers });
  const checksumFailures = new Counter({ name: `${P}checksum_failures_total`, help: 'Book checksum mismatches.', labelNames: ['venue'] as const, registers });
  const reconnects = new Counter({ name: `${P}reconnects_total`, help: 'Venue connection reconnect attempts.', labelNames: ['venue'] as const, registers });
  const venueConnected = new Gauge({ name: `${P}venue_connected`, help: '1 when the venue has at least one open connection, else 0.', labelNames: ['venue'] as const, registers });
  const venueHealthy = new Gauge({ name: `${P}venue_healthy`, help: '1 when the venue is rated healthy (connected, fresh, not resyncing everything).', labelNames: ['venue'] as const, registers });
  const venueLatency = new Gauge({ name: `${P}venue_latency_ms`, help: 'Mean receive time minus venue time over the last health interval, ms.', labelNames: ['venue'] as const, registers });
  const venueUpdates = new Gauge({ name: `${P}venue_updates_per_second`, help: 'Updates per second over the last health interval.', labelNames: ['venue'] as const, registers });
  const summariesEmitted = new Counter({ name: `${P}summaries_emitted_total`, help: 'Consolidated summaries emitted.', registers });
  const consolidatedSpreadBps = new Gauge({ name: `${P}consolidated_spread_bps`, help: 'NBBO spread of a consolidated symbol, bps (negative when crossed across venues).', labelNames: ['symbol'] as const, registers });
  const consolidatedVenues = new Gauge({ name: `${P}consolidated_venues`, help: 'Venues included in a consolidated book.', labelNames: ['symbol'] as const, registers });
  const arbitrageOpportunities = new Counter({ name: `${P}arbitrage_opportunities_total`, help: 'Arbitrage opportunities reported (new or materially changed).', registers });
  const restBudgetWaits = new Counter({ name: `${P}rest_budget_waits_total`, help: 'Venue REST requests that waited for the request budget (token bucket).', labelNames: ['venue'] as const, registers });
  const oracleEvents = new Counter({ name: `${P}oracle_events_total`, help: 'Upstream oracle stream events received.', labelNames: ['source'] as const, registers });
  const oracleUpdates = new Counter({ name: `${P}oracle_price_updates_total`, help: 'Oracle prices accepted.', labelNames: ['source'] as const, registers });
  const oracleDropped = new Counter({ name: `${P}oracle_dropped_total`, help: 'Oracle input dropped, by reason.', labelNames: ['source', 'reason'] as const, registers });
  const oracleErrors = new Counter({ name: `${P}oracle_errors_total`, help: 'Oracle transport, catalog and stream errors, by code.', labelNames: ['source', 'code'] as const, registers });
  const oracleReconnects = new Counter({ name: `${P}oracle_reconnects_total`, help: 'Oracle stream reconnects.', labelNames: ['source'] as const, registers });
  const oracleConnected = new Gauge({ name: `${P}oracle_connected`, help: '1 while an oracle stream is open, else 0.', labelNames: ['source'] as const, registers });
  const oracleStaleFeeds = new Gauge({ name: `${P}oracle_stale_feeds`, help: 'Oracle feeds whose publish time stopped advancing.', labelNames: ['source'] as const, registers });
  const oracleDeviationBps = new Gauge({ name: `${P}oracle_deviation_bps`, help: 'Consolidated mid minus oracle price, bps of the oracle price.', labelNames: ['symbol'] as const, registers });
  const sourceApiClients = new Gauge({ name: `${P}source_api_clients`, help: "Clients of a source plug-in's own compatible API, by source and kind (sse, ws).", labelNames: ['source', 'kind'] as const, registers });
  const sinkQueueDepth = new Gauge({ name: `${P}sink_queue_depth`, help: 'Events waiting for a sink (bus queue plus accepted but not yet written).', labelNames: ['sink'] as const, registers });
  const sinkEventsWritten = new Counter({ name: `${P}sink_events_written_total`, help: 'Events written by a sink, by topic.', labelNames: ['sink', 'topic'] as const, registers });
  const sinkEventsDropped = new Counter({ name: `${P}sink_events_dropped_total`, help: 'Events a sink lost (queue overflow, batches given up after retries), by topic.', labelNames: ['sink', 'topic'] as const, registers });
  const sinkEventsConflated = new Counter({ name: `${P}sink_events_conflated_total`, help: "Events merged into a newer pending one by a sink queue's conflate policy, by topic.", labelNames: ['sink', 'topic'] as const, registers });
  const httpRequests = new Counter({ name: `${P}http_requests_total`, help: 'Venue REST requests, by outcome.', labelNames: ['venue', 'outcome'] as const, registers });
  const wsClients = new Gauge({ name: `${P}ws_clients`, help: 'Connected WebSocket clients.', registers });
  const wsMessagesSent = new Counter({ name: `${P}ws_messages_sent_total`, help: 'Messages sent to WebSocket clients (per client).', registers });
  const wsMessagesDropped = new Counter({ name: `${P}ws_messages_dropped_total`, help: 'Messages not sent to a WebSocket client, by reason (backpressure conflation).', labelNames: ['reason'] as const, registers });
  const clientErrors = new Counter({ name: `${P}client_errors_total`, help: 'Error messages sent to clients, by code.', labelNames: ['code'] as const, registers });
  const stageLatency = new Histogram({
    name: `${P}stage_latency_seconds`,
    help: 'Time spent in a pipeline stage, seconds.',
    labelNames: ['stage'] as const,
    buckets: [...STAGE_LATENCY_BUCKETS],
    registers,
  });

  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const forVenue = cached((venue: string): VenueMetrics => ({
    venue,
    framesReceived: framesReceived.labels({ venue }),
    bookGaps: bookGaps.labels({ venue }),
    bookResyncs: bookResyncs.labels({ venue }),
    checksumFailures: checksumFailures.labels({ venue }),
    reconnects: reconnects.labels({ venue }),
    connected: venueConnected.labels({ venue }),
    healthy: venueHealthy.labels({ venue }),
    latencyMs: venueLatency.labels({ venue }),
    updatesPerSecond: venueUpdates.labels({ venue }),
    events: cached((type) => events.labels({ venue, type })),
    decodeErrors: cached((code) => decodeErrors.labels({ venue, code })),
    framesIgnored: cached((reason) => framesIgnored.labels({ venue, reason })),
    httpRequests: cached((outcome) => httpRequests.labels({ venue, outcome })),
  }));

  return {
    registry,
    framesReceived,
    events,
    decodeErrors,
    framesIgnored,
    bookGaps,
    bookResyncs,
    checksumFailures,
    reconnects,
    venueConnected,
    httpRequests,
    wsClients,
    wsMessagesSent,
    wsMessagesDropped,
    clientErrors,
    stageLatency,
    summariesEmitted,
    consolidatedSpreadBps,
    consolidatedVenues,
    arbitrageOpportunities,
    restBudgetWaits,
    oracleEvents,
    oracleUpdates,
    oracleDropped,
    oracleErrors,
    oracleReconnects,
    oracleConnected,
    oracleStaleFeeds,
    oracleDeviationBps,
    sourceApiClients,
    sinkQueueDepth,
    sinkEventsWritten,
    sinkEventsDropped,
    sinkEventsConflated,
    forVenue,
    stage: cached((stage) => stageLatency.labels({ stage })),
    dropped: cached((reason) => wsMessagesDropped.labels({ reason })),
    clientError: cached((code) => clientErrors.labels({ code })),
  };
}
