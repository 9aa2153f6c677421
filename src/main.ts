/**
 * Composition root: wiring only. Takes the validated config once, builds the pipeline (venues → sync → books →
 * consolidation, on one bus), the source plug-ins, the metrics bridge, the servers and the sinks, and owns their
 * lifecycle. Nothing here is on the data path.
 */
import type { Config } from './config/index.ts';
import { sourceSections, venueSymbols } from './config/index.ts';
import type { SourcePlugin } from './core/plugin.ts';
import { childLogger, type Logger } from './obs/log.ts';
import { createMetrics, type Metrics } from './obs/metrics.ts';
import { buildSourcePlugins, type SourceTaps } from './oracles/index.ts';
import { bridgeMetrics } from './pipeline/metrics-bridge.ts';
import { Pipeline, type BookDump, type PipelineSettings, type PipelineVenueSettings } from './pipeline/pipeline.ts';
import type { SubscriptionRequest } from './pipeline/ingest.ts';
import { startPrometheusListener } from './server/prometheus.ts';
import { startRestServer } from './server/rest.ts';
import { startWsServer } from './server/ws/server.ts';
import { copySinkMetrics, runSink, type SinkRunner, type SinkSpec } from './sinks/index.ts';
import { createHttp } from './transport/http.ts';
import type { Http, VenueEndpoints } from './venues/connector.ts';

export type { BookDump };

export interface GatewayOptions {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  /** Venues to run (default: those enabled in config). */
  readonly venues?: readonly string[];
  /** Per-venue subscription requests (default: config symbols × channels). Replay passes the recorded ones. */
  readonly requests?: ReadonlyMap<string, readonly SubscriptionRequest[]>;
  /** Per-venue endpoint overrides (the simulator). Config `wsBase`/`restBase` apply otherwise. */
  readonly endpoints?: ReadonlyMap<string, VenueEndpoints>;
  /** Start the WS and REST servers (default true). */
  readonly serve?: boolean;
  readonly http?: Http;
  /** Raw-traffic taps (the recorder): venue connections and frames, source events. */
  readonly taps?: {
    onConnect?: (venue: string, connId: string, url: string, tsMs: number) => void;
    onSent?: (venue: string, connId: string, url: string, data: string, tsMs: number) => void;
    onRecv?: (venue: string, connId: string, data: string, tsMs: number) => void;
  } & SourceTaps;
  /**
   * Source plug-in overrides by name: `false` = off; an object = on with those endpoint overrides (the simulator);
   * undefined = as config says, where an unset `enabled` means {@link GatewayOptions.sourcesByDefault}.
   */
  readonly sources?: Readonly<Record<string, false | Record<string, unknown>>>;
  /** Run source plug-ins whose config does not say `enabled` (the `start` command: true; the library: false). */
  readonly sourcesByDefault?: boolean;
  /** Per-venue receive-time mapping of frames (replay: the recording's receive times, so latency reads in its time). */
  readonly recvTimes?: ReadonlyMap<string, (data: string, wallRecvTs: number) => number>;
  /** Sinks fed by the bus (e.g. `jsonl:DIR`). */
  readonly sinks?: readonly SinkSpec[];
}

/** The transport slice of the config, as the pipeline and sources take it (ms). */
function transportSettings(cfg: Readonly<Config>): PipelineSettings['transport'] {
  const t = cfg.transport;
  return { connectTimeoutMs: t.connect_timeout_ms, backoffBaseMs: t.backoff_base_ms, backoffCapMs: t.backoff_cap_ms, httpTimeoutMs: t.http_timeout_ms };
}

/** The venues slice of the config, as the pipeline takes it. */
function venueSettings(cfg: Readonly<Config>): PipelineSettings['venues'] {
  const out: Record<string, PipelineVenueSettings> = {};
  for (const [id, v] of Object.entries(cfg.venues)) {
    const rl = v.rate_limit;
    out[id] = {
      enabled: v.enabled,
      wsBase: v.ws_base,
      restBase: v.rest_base,
      channels: v.channels,
      depth: v.depth,
      takerFeeBps: v.taker_fee_bps,
      rateLimit: rl && { requestsPerSecond: rl.requests_per_second, burstSize: rl.burst_size },
    };
  }
  return out;
}

/** The running gateway: the pipeline plus servers, sinks and metrics. */
export class Gateway {
  readonly metrics: Metrics;
  readonly pipeline: Pipeline;
  readonly sources: readonly SourcePlugin[];
  private readonly bridge: { sync: () => void; close: () => void };
  /** Running sinks (health and metrics). */
  readonly sinks: SinkRunner[] = [];
  private closers: (() => Promise<void>)[] = [];
  wsPort = 0;
  apiPort = 0;
  /** Port of the dedicated Prometheus listener (`monitoring.metrics.prometheus.port`), 0 when none. */
  metricsPort = 0;

  constructor(private readonly o: GatewayOptions) {
    const cfg = o.config;
    this.metrics = createMetrics({
      beforeCollect: () => {
        this.bridge.sync();
        copySinkMetrics(this.metrics, this.sinks);
      },
    });
    const transport = transportSettings(cfg);
    const http = o.http ?? createHttp({ timeoutMs: transport.httpTimeoutMs });
    let publish: Pipeline['bus'] | undefined = undefined; // set once the pipeline exists (sources are built first)
    this.sources = buildSourcePlugins({
      sections: sourceSections(cfg),
      overrides: o.sources ?? {},
      byDefault: o.sourcesByDefault ?? false,
      bus: { publish: (t, ev) => publish?.publish(t, ev), has: (t) => publish?.has(t) ?? false },
      log: o.log,
      metrics: this.metrics,
      transport,
      http: o.http,
      taps: o.taps,
    });
    this.pipeline = new Pipeline({
      settings: {
        venues: venueSettings(cfg),
        symbolsOf: (venue) => venueSymbols(cfg, venue),
        transport,
        aggregation: cfg.aggregation,
        monitoring: cfg.monitoring,
        releaseGraceMs: cfg.server.release_grace_ms,
      },
      log: o.log,
      childLog: (b) => childLogger(o.log, b),
      http,
      venues: o.venues,
      requests: o.requests,
      endpoints: o.endpoints,
      sources: this.sources,
      taps: o.taps,
      recvTimes: o.recvTimes,
      onBudgetWait: (venue) => this.metrics.restBudgetWaits.labels({ venue }).inc(),
    });
    publish = this.pipeline.bus;
    this.bridge = bridgeMetrics(this.pipeline, this.metrics);
  }

  /** Starts servers (rejects with the bind error, e.g. `EADDRINUSE`), sinks, then venues and sources. */
  async start(): Promise<void> {
    const cfg = this.o.config;
    const p = this.pipeline;
    if (this.o.serve !== false) {
      const ws = await startWsServer({
        host: cfg.server.host,
        port: cfg.server.port,
        bus: p.bus,
        api: p,
        plugins: this.sources,
        metrics: this.metrics,
        log: this.o.log,
        maxClientFrameBytes: cfg.server.max_client_frame_bytes,
        maxBufferedBytes: cfg.server.max_buffered_bytes,
      });
      this.wsPort = ws.port;
      this.closers.push(() => ws.close());
      const rest = await startRestServer({ host: cfg.api.host, port: cfg.api.port, api: p, plugins: this.sources, metrics: this.metrics, log: this.o.log, bus: p.bus });
      this.apiPort = rest.port;
      this.closers.push(() => rest.close());
      const prom = cfg.monitoring.metrics;
      if (prom.enabled && prom.prometheus.enabled && prom.prometheus.port !== undefined) {
        const l = await startPrometheusListener(this.metrics, cfg.api.host, prom.prometheus.port);
        this.metricsPort = l.port;
        this.closers.push(() => l.close());
      }
    }
    for (const spec of this.o.sinks ?? []) {
      const runner = await runSink(p.bus, spec.create(), { ...spec.run, log: this.o.log });
      this.sinks.push(runner);
      this.closers.unshift(() => runner.stop()); // closed last: after the pipeline stopped publishing
    }
    await p.start();
  }

  // Convenience accessors used by the CLI, the library and tests.
  get bus(): Pipeline['bus'] {
    return this.pipeline.bus;
  }
  get runners(): Pipeline['runners'] {
    return this.pipeline.runners;
  }
  get consolidator(): Pipeline['consolidator'] {
    return this.pipeline.consolidator;
  }
  get arbitrage(): Pipeline['arbitrage'] {
    return this.pipeline.arbitrage;
  }
  get healthMonitor(): Pipeline['healthMonitor'] {
    return this.pipeline.healthMonitor;
  }

  /** Copies counters into the metrics now. */
  syncMetrics(): void {
    this.bridge.sync();
  }

  /** Frames received over all venues and sources. */
  totalFrames(): number {
    return this.pipeline.totalFrames();
  }

  /** Every book's final state (`--dump-books`). */
  dumpBooks(): { books: BookDump[] } {
    return this.pipeline.dumpBooks();
  }

  async stop(): Promise<void> {
    this.bridge.close();
    await this.pipeline.stop();
    for (const c of this.closers.reverse()) await c().catch(() => {});
    this.closers = [];
  }
}
