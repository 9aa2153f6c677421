/**
 * Composition root: takes the validated config once, wires venues → sync → bus → servers, owns lifecycle.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/index.ts';
import { venueSymbols } from './config/index.ts';
import { CHANNELS, type Channel } from './core/events.ts';
import { childLogger, type Logger } from './obs/log.ts';
import { createMetrics, type Metrics } from './obs/metrics.ts';
import type { BookView } from './pipeline/book.ts';
import { Bus } from './pipeline/bus.ts';
import { VenueRunner, type SubscriptionRequest } from './pipeline/ingest.ts';
import { ARBITRAGE_FEED, CONSOLIDATED_VENUE, HEALTH_FEED, PYTH_SOURCE, formatFeedId, parsePythFeedId, type FeedInfo } from './protocol/messages.ts';
import { priceUpdateMessage } from './oracle/pyth/decode.ts';
import { PythSource } from './oracle/pyth/source.ts';
import type { SseEvent } from './transport/sse.ts';
import type { HermesApi } from './server/hermes.ts';
import { ArbitrageDetector, type ArbitrageOpportunity } from './pipeline/arbitrage.ts';
import { Consolidator, consolidationKey, type Summary } from './pipeline/consolidate.ts';
import { HealthMonitor, type VenueHealthReport } from './pipeline/health.ts';
import type { GatewayApi, GatewayStatus, VenueHealth } from './server/gateway-api.ts';
import { startRestServer } from './server/rest.ts';
import { startWsServer } from './server/ws.ts';
import { createHttp } from './transport/http.ts';
import type { Http, VenueEndpoints } from './venues/connector.ts';
import { VENUES, getConnector } from './venues/index.ts';
import { TributaryError } from './core/errors.ts';

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
  /** Raw-traffic taps (the recorder): connection opens, frames sent and frames received, per venue; Pyth SSE events. */
  readonly taps?: {
    onConnect?: (venue: string, connId: string, url: string, tsMs: number) => void;
    onSent?: (venue: string, connId: string, url: string, data: string, tsMs: number) => void;
    onRecv?: (venue: string, connId: string, data: string, tsMs: number) => void;
    onSse?: (connId: string, url: string, ev: SseEvent, tsMs: number) => void;
  };
  /**
   * Pyth Hermes: `false` = off; endpoint overrides (the simulator: SSE URL, REST base, feeds) = on with them;
   * undefined = as config `pyth` says, where an unset `pyth.enabled` means {@link GatewayOptions.pythByDefault}.
   */
  readonly pyth?: false | { readonly sseUrl: string; readonly restBase?: string; readonly feeds?: readonly string[] };
  /** Run Pyth when config `pyth.enabled` is not set (the `start` command: true; the library: false). Default false. */
  readonly pythByDefault?: boolean;
}

/** Final state of one book, as written by `--dump-books`. Prices/sizes are the venue's decimal strings, best first. */
export interface BookDump {
  venue: string;
  symbol: string;
  venueSymbol: string;
  bids: [string, string][];
  asks: [string, string][];
  valid: boolean;
  seq: number | null;
  stats: { deltas: number; snapshots: number; gaps: number; resyncs: number; checksumsOk: number; checksumFailures: number };
}

/** The running gateway. Implements what the servers need ({@link GatewayApi}). */
export class Gateway implements GatewayApi {
  readonly bus = new Bus();
  readonly metrics: Metrics;
  readonly runners = new Map<string, VenueRunner>();
  readonly startedAt = Date.now();
  /** Cross-venue books and the summary stream. */
  readonly consolidator: Consolidator;
  readonly arbitrage: ArbitrageDetector;
  readonly healthMonitor: HealthMonitor;
  /** Pyth Hermes oracle prices (undefined when off). */
  readonly pyth: PythSource | undefined;
  private feeds = new Map<string, FeedInfo>();
  private feedsVersion = -1;
  private readonly interest = new Map<string, number>();
  private rateTimer: NodeJS.Timeout | undefined;
  private readonly rateHistory = new Map<string, number[]>();
  private readonly lastMetric = new Map<string, number>();
  private closers: (() => Promise<void>)[] = [];
  wsPort = 0;
  apiPort = 0;
  /** Port of the dedicated Prometheus listener (`monitoring.metrics.prometheus.port`), 0 when none. */
  metricsPort = 0;

  constructor(private readonly o: GatewayOptions) {
    this.metrics = createMetrics({ beforeCollect: () => this.syncMetrics() });
    const log = o.log;
    this.bus.onHandlerError = (topic, err) => log.error({ topic, err: String(err) }, 'bus handler threw');
    const cfg = o.config;
    const venues = o.venues ?? Object.entries(cfg.venues).filter(([, v]) => v.enabled).map(([id]) => id);
    for (const venue of venues) {
      const connector = getConnector(venue);
      if (!connector) throw new TributaryError('CONFIG_INVALID', `unknown venue "${venue}" (known: ${Object.keys(VENUES).join(', ')})`, { venue });
      const vc = cfg.venues[venue];
      const endpoints: VenueEndpoints = o.endpoints?.get(venue) ?? {
        wsBase: vc?.wsBase ?? connector.defaultEndpoints.wsBase,
        restBase: vc?.restBase ?? connector.defaultEndpoints.restBase,
      };
      const requests =
        o.requests?.get(venue) ??
        venueSymbols(cfg, venue).flatMap((symbol) => (vc?.channels ?? CHANNELS).map((channel) => ({ symbol, channel: channel as Channel, depth: vc?.depth })));
      const vlog = childLogger(log, { venue });
      this.runners.set(
        venue,
        new VenueRunner({
          connector,
          endpoints,
          http: o.http ?? createHttp({ timeoutMs: cfg.transport.httpTimeoutMs }),
          bus: this.bus,
          log: vlog,
          requests,
          transport: cfg.transport,
          rateLimit: vc?.rateLimit,
          isWatched: (key) => this.isWatched(venue, key),
          onBudgetWait: () => this.metrics.restBudgetWaits.labels({ venue }).inc(),
          onConnect: o.taps?.onConnect && ((id, url, ts) => o.taps!.onConnect!(venue, id, url, ts)),
          onSent: o.taps?.onSent && ((id, url, data, ts) => o.taps!.onSent!(venue, id, url, data, ts)),
          onRecv: o.taps?.onRecv && ((id, data, ts) => o.taps!.onRecv!(venue, id, data, ts)),
        }),
      );
    }
    const pc = cfg.pyth;
    const po = o.pyth;
    const pythOn = po !== false && (po !== undefined || (pc.enabled ?? o.pythByDefault ?? false));
    this.pyth = !pythOn
      ? undefined
      : new PythSource({
          sseUrl: po ? po.sseUrl : pc.sse_url,
          restBase: po ? po.restBase : pc.rest_base,
          feeds: (po ? po.feeds : undefined) ?? pc.feeds,
          http: o.http ?? createHttp({ timeoutMs: cfg.transport.httpTimeoutMs, headers: pc.headers }),
          bus: this.bus,
          log: childLogger(log, { source: PYTH_SOURCE }),
          staleAfterMs: pc.stale_after_ms,
          idleTimeoutMs: pc.idle_timeout_ms,
          rolloverMs: pc.rollover_ms,
          catalogRefreshMs: pc.catalog_refresh_ms,
          rateLimitDelayMs: pc.rate_limit_delay_ms,
          connectTimeoutMs: cfg.transport.connectTimeoutMs,
          backoff: { baseMs: cfg.transport.backoffBaseMs, capMs: cfg.transport.backoffCapMs },
          keepBinary: pc.keep_binary,
          headers: pc.headers,
          maxFeeds: pc.max_feeds,
          onStale: (id) => this.onOracleStale(id),
          onEvent: o.taps?.onSse,
        });
    const agg = cfg.aggregation;
    const mon = cfg.monitoring;
    const quoteGroups = agg.quote_groups.map((g) => g.map((q) => q.toUpperCase()));
    this.groupMap = new Map(quoteGroups.filter((g) => g.length > 1).flatMap((g) => g.map((q) => [q, g] as const)));
    this.consolidator = new Consolidator({
      bus: this.bus,
      maxPriceLevels: agg.max_price_levels,
      summaryIntervalMs: agg.summary_interval_ms,
      maxQuoteAgeMs: agg.max_quote_age_ms,
      quoteGroups,
      venues: agg.venues,
      isVenueConnected: (v) => this.runners.get(v)?.connections().some((c) => c.state === 'open') ?? false,
      oracleInstrument: (_source, id) => this.pyth?.meta(id)?.instrument,
    });
    const fees: Record<string, number> = {};
    for (const [id, v] of Object.entries(cfg.venues)) if (v.takerFeeBps !== undefined) fees[id] = v.takerFeeBps;
    this.arbitrage = new ArbitrageDetector({
      source: this.consolidator,
      fees,
      defaultFeeBps: agg.arbitrage.default_taker_fee_bps,
      minNetEdgeBps: agg.arbitrage.min_net_edge_bps,
    });
    this.healthMonitor = new HealthMonitor({
      intervalMs: mon.health_check_interval_ms,
      staleAfterMs: mon.stale_after_ms,
      bus: this.bus,
      venues: [...this.runners.keys()],
      counters: (venue) => {
        const r = this.runners.get(venue);
        if (!r) return undefined;
        let errors = 0;
        for (const n of Object.values(r.counters.errors)) errors += n ?? 0;
        let gaps = 0;
        for (const b of r.sync.books()) gaps += b.stats.gaps;
        return { errors, reconnects: r.counters.reconnects, gaps, lastError: r.lastError, connected: r.connections().some((c) => c.state === 'open') };
      },
    });
    this.consolidator.subscribe((summary) => this.onSummary(summary));
    this.arbitrage.subscribe((o) => this.onOpportunity(o));
    this.healthMonitor.subscribe((reports) => this.onHealth(reports));
    if (this.pyth) this.bus.on('oracle_price', (b) => this.onOracle(b.updates));
  }

  private readonly groupMap: Map<string, readonly string[]>;

  /** True when a client subscribes to a feed of this instrument (its own feeds or its consolidated ones). */
  private isWatched(venue: string, key: string): boolean {
    if (this.interest.size === 0) return false;
    const inst = this.runners.get(venue)?.instruments.get(key);
    if (!inst) return false;
    for (const ch of CHANNELS) if (this.interest.has(formatFeedId(venue, inst.symbol, ch))) return true;
    const ck = consolidationKey(inst.symbol, this.groupMap);
    return this.interest.has(formatFeedId(CONSOLIDATED_VENUE, ck, 'book')) || this.interest.has(formatFeedId(CONSOLIDATED_VENUE, ck, 'summary'));
  }

  // ---- aggregated feeds ----------------------------------------------------------------------

  // ---- oracle feeds (Pyth) ---------------------------------------------------------------------

  /** The client-protocol `price_update` of a streamed Pyth feed's latest price, or undefined before the first. */
  private priceMessage(id: string): object | undefined {
    const st = this.pyth?.state(id);
    if (!st?.last) return undefined;
    return priceUpdateMessage(st.last, st.status === 'stale' ? 'stale' : 'trading', this.pyth!.meta(id)?.symbol || null);
  }

  /** New prices → `price_update` for the feeds clients watch (built only then). */
  private onOracle(updates: readonly { readonly id: string }[]): void {
    if (this.interest.size === 0) return;
    for (const u of updates) {
      if (!this.interest.has(u.id)) continue;
      const message = this.priceMessage(u.id);
      if (message) this.bus.publish('feed_data', { feedId: u.id, message });
    }
  }

  private onOracleStale(id: string): void {
    if (!this.interest.has(id)) return;
    const message = this.priceMessage(id);
    if (message) this.bus.publish('feed_data', { feedId: id, message });
  }

  /** `FeedInfo` of a Pyth feed: `{feed_id, id, venue: 'pyth', symbol (Pyth's), channel: 'price', price, conf, expo, status, ...}`. */
  private pythFeedInfo(id: string): FeedInfo {
    const p = this.pyth!;
    const meta = p.meta(id);
    const last = p.state(id)?.last;
    return {
      feed_id: id,
      id,
      venue: PYTH_SOURCE,
      symbol: meta?.symbol ?? '',
      venue_symbol: meta?.symbol ?? '',
      channel: 'price',
      price: last ? last.priceNum : null,
      conf: last ? last.confNum : null,
      expo: last ? last.expo : null,
      status: p.status(id),
      price_raw: last ? last.price : null,
      conf_raw: last ? last.conf : null,
      ...(meta?.assetType ? { asset_type: meta.assetType } : {}),
    };
  }

  private onSummary(summary: Summary): void {
    const m = this.metrics;
    m.summariesEmitted.inc();
    if (summary.spread) m.consolidatedSpreadBps.labels({ symbol: summary.symbol }).set(summary.spread.bps);
    if (summary.oracle && summary.oracle.deviationBps !== null) m.oracleDeviationBps.labels({ symbol: summary.symbol }).set(summary.oracle.deviationBps);
    m.consolidatedVenues.labels({ symbol: summary.symbol }).set(summary.venues.length);
    const sumFeed = formatFeedId(CONSOLIDATED_VENUE, summary.symbol, 'summary');
    if (this.interest.has(sumFeed)) this.bus.publish('feed_data', { feedId: sumFeed, message: { type: 'summary', feed_id: sumFeed, ...summary } });
    const bookFeed = formatFeedId(CONSOLIDATED_VENUE, summary.symbol, 'book');
    if (this.interest.has(bookFeed)) this.bus.publish('feed_data', { feedId: bookFeed, message: this.consolidatedBookMessage(summary.symbol)! });
  }

  private consolidatedBookMessage(symbol: string): object | undefined {
    const b = this.consolidator.getBook(symbol, Math.max(100, this.consolidator.maxPriceLevels));
    return b && { type: 'consolidated_book', feed_id: formatFeedId(CONSOLIDATED_VENUE, b.symbol, 'book'), ...b };
  }

  private onOpportunity(o: ArbitrageOpportunity): void {
    this.metrics.arbitrageOpportunities.inc();
    this.bus.publish('feed_data', { feedId: ARBITRAGE_FEED, message: { type: 'arbitrage', feed_id: ARBITRAGE_FEED, ...o } });
  }

  private healthMessage(reports: readonly VenueHealthReport[]): object {
    return { type: 'health', feed_id: HEALTH_FEED, venues: reports, timestamp: Date.now() };
  }

  private onHealth(reports: readonly VenueHealthReport[]): void {
    for (const r of reports) {
      const v = this.metrics.forVenue(r.venue);
      v.healthy.set(r.healthy ? 1 : 0);
      if (r.latencyMs !== null) v.latencyMs.set(r.latencyMs);
      v.updatesPerSecond.set(r.updatesPerSecond);
    }
    this.bus.publish('feed_data', { feedId: HEALTH_FEED, message: this.healthMessage(reports) });
  }

  /** Starts servers, then venues (instrument loading retries in the background when offline). */
  async start(): Promise<void> {
    const cfg = this.o.config;
    if (this.o.serve !== false) {
      const ws = await startWsServer({
        host: cfg.server.host,
        port: cfg.server.port,
        bus: this.bus,
        api: this,
        metrics: this.metrics,
        log: this.o.log,
        maxClientFrameBytes: cfg.server.maxClientFrameBytes,
        maxBufferedBytes: cfg.server.maxBufferedBytes,
      });
      this.wsPort = ws.port;
      this.closers.push(() => ws.close());
      const rest = await startRestServer({
        host: cfg.api.host,
        port: cfg.api.port,
        api: this,
        metrics: this.metrics,
        log: this.o.log,
        bus: this.bus,
        hermesKeepAliveMs: cfg.pyth.serve_keepalive_ms,
      });
      this.apiPort = rest.port;
      this.closers.push(() => rest.close());
      const prom = cfg.monitoring.metrics;
      if (prom.enabled && prom.prometheus.enabled && prom.prometheus.port !== undefined) {
        // A dedicated Prometheus listener (the API's /metrics stays available too).
        const server = createServer((req, res) => {
          if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
            res.writeHead(404).end();
            return;
          }
          this.metrics.registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
            () => res.writeHead(500).end(),
          );
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(prom.prometheus.port, cfg.api.host, () => resolve());
        });
        this.metricsPort = (server.address() as AddressInfo).port;
        this.closers.push(() => new Promise((r) => server.close(() => r())));
      }
    }
    await Promise.all([...this.runners.values()].map((r) => r.start()));
    this.pyth?.start();
    this.healthMonitor.start();
    this.rateTimer = setInterval(() => this.tick(), 1000);
    this.rateTimer.unref();
  }

  /** Once a second: frame rates and metric sync from the ingest counters. */
  private tick(): void {
    for (const [venue, r] of this.runners) {
      const h = this.rateHistory.get(venue) ?? [];
      h.push(r.counters.frames);
      if (h.length > 11) h.shift();
      this.rateHistory.set(venue, h);
    }
    this.syncMetrics();
  }

  private inc(key: string, value: number, bump: (d: number) => void): void {
    const prev = this.lastMetric.get(key) ?? 0;
    if (value > prev) bump(value - prev);
    this.lastMetric.set(key, value);
  }

  /** Copies ingest counters into Prometheus metrics (kept off the per-frame hot path). */
  syncMetrics(): void {
    for (const [venue, r] of this.runners) {
      const m = this.metrics.forVenue(venue);
      const c = r.counters;
      this.inc(`${venue}|frames`, c.frames, (d) => m.framesReceived.inc(d));
      for (const [t, n] of Object.entries(c.events)) this.inc(`${venue}|ev|${t}`, n, (d) => m.events(t).inc(d));
      for (const [code, n] of Object.entries(c.errors)) this.inc(`${venue}|err|${code}`, n ?? 0, (d) => m.decodeErrors(code).inc(d));
      for (const [reason, n] of Object.entries(c.ignored)) this.inc(`${venue}|ign|${reason}`, n, (d) => m.framesIgnored(reason).inc(d));
      this.inc(`${venue}|reconnects`, c.reconnects, (d) => m.reconnects.inc(d));
      let gaps = 0;
      let resyncs = 0;
      let ck = 0;
      for (const b of r.sync.books()) {
        gaps += b.stats.gaps;
        resyncs += b.stats.resyncs;
        ck += b.stats.checksumFailures;
      }
      this.inc(`${venue}|gaps`, gaps, (d) => m.bookGaps.inc(d));
      this.inc(`${venue}|resyncs`, resyncs, (d) => m.bookResyncs.inc(d));
      this.inc(`${venue}|ck`, ck, (d) => m.checksumFailures.inc(d));
      this.inc(`${venue}|snap_ok`, c.snapshotRequests - c.snapshotFailures, (d) => m.httpRequests('ok').inc(d));
      this.inc(`${venue}|snap_err`, c.snapshotFailures, (d) => m.httpRequests('error').inc(d));
      m.connected.set(r.connections().some((x) => x.state === 'open') ? 1 : 0);
      const stage = this.metrics.stage('ingest');
      for (const s of c.stageSamples.splice(0)) stage.observe(s);
    }
    const p = this.pyth;
    if (p) {
      const m = this.metrics;
      const source = PYTH_SOURCE;
      const c = p.counters;
      this.inc('pyth|events', c.events, (d) => m.oracleEvents.labels({ source }).inc(d));
      this.inc('pyth|updates', c.updates, (d) => m.oracleUpdates.labels({ source }).inc(d));
      for (const [reason, n] of Object.entries(c.dropped)) this.inc(`pyth|drop|${reason}`, n, (d) => m.oracleDropped.labels({ source, reason }).inc(d));
      for (const [code, n] of Object.entries(c.errors)) this.inc(`pyth|err|${code}`, n ?? 0, (d) => m.oracleErrors.labels({ source, code }).inc(d));
      this.inc('pyth|reconnects', p.reconnects, (d) => m.oracleReconnects.labels({ source }).inc(d));
      m.oracleConnected.labels({ source }).set(p.connected ? 1 : 0);
      m.oracleStaleFeeds.labels({ source }).set(p.staleFeeds);
    }
  }

  // ---- GatewayApi ----------------------------------------------------------------------------

  private feedMap(): Map<string, FeedInfo> {
    let version = 0;
    for (const r of this.runners.values()) version += r.subscriptions.length;
    if (version !== this.feedsVersion) {
      const m = new Map<string, FeedInfo>();
      const consolidated = new Set<string>();
      const aggVenues = this.o.config.aggregation.venues;
      for (const [venue, r] of this.runners) {
        for (const s of r.subscriptions) {
          const feed_id = formatFeedId(venue, s.instrument.symbol, s.channel);
          m.set(feed_id, { feed_id, venue, symbol: s.instrument.symbol, venue_symbol: s.instrument.venueSymbol, channel: s.channel });
          if (s.channel === 'book' && (!aggVenues || aggVenues.includes(venue))) consolidated.add(consolidationKey(s.instrument.symbol, this.groupMap));
        }
      }
      for (const symbol of [...consolidated].sort()) {
        for (const channel of ['book', 'summary'] as const) {
          const feed_id = formatFeedId(CONSOLIDATED_VENUE, symbol, channel);
          m.set(feed_id, { feed_id, venue: CONSOLIDATED_VENUE, symbol, venue_symbol: '', channel, derived: true });
        }
      }
      m.set(ARBITRAGE_FEED, { feed_id: ARBITRAGE_FEED, venue: '*', symbol: '*', venue_symbol: '', channel: 'arbitrage', derived: true });
      m.set(HEALTH_FEED, { feed_id: HEALTH_FEED, venue: '*', symbol: '*', venue_symbol: '', channel: 'health', derived: true });
      this.feeds = m;
      this.feedsVersion = version;
    }
    return this.feeds;
  }

  listFeeds(query?: string): FeedInfo[] {
    const out = [...this.feedMap().values()];
    const p = this.pyth;
    if (p) for (const id of p.feedIds()) out.push(this.pythFeedInfo(id));
    if (query === undefined) return out;
    const q = query.toLowerCase();
    const hits = out.filter((f) => f.feed_id.toLowerCase().includes(q) || f.symbol.toLowerCase().includes(q) || f.venue_symbol.toLowerCase().includes(q));
    if (p) {
      // The whole Pyth catalog is searchable (a client may subscribe to any of it).
      const seen = new Set(hits.map((f) => f.feed_id));
      for (const m of p.search(query, undefined, 200)) if (!seen.has(m.id)) hits.push(this.pythFeedInfo(m.id));
    }
    return hits;
  }

  getFeed(feedId: string): FeedInfo | undefined {
    const f = this.feedMap().get(feedId);
    if (f !== undefined || this.pyth === undefined) return f;
    const id = parsePythFeedId(feedId);
    return id !== null && this.pyth.known(id) ? this.pythFeedInfo(id) : undefined;
  }

  /**
   * Venue feeds are subscribed upstream once at start (many clients on a feed cost one venue subscription); interest
   * is counted. A Pyth feed not streamed yet is added to the stream.
   * @throws TributaryError `CLIENT_BAD_REQUEST` when a Pyth feed cannot be streamed (not in the catalog, or `pyth.max_feeds` reached).
   */
  acquire(feedId: string): void {
    const p = this.pyth;
    if (p && !p.streams(feedId) && parsePythFeedId(feedId) === feedId && !p.addFeed(feedId)) {
      throw new TributaryError('CLIENT_BAD_REQUEST', `Pyth feed ${feedId} cannot be streamed (not in the Hermes catalog, or pyth.max_feeds reached)`, { feed: feedId });
    }
    this.interest.set(feedId, (this.interest.get(feedId) ?? 0) + 1);
  }

  release(feedId: string): void {
    const n = (this.interest.get(feedId) ?? 0) - 1;
    if (n <= 0) this.interest.delete(feedId);
    else this.interest.set(feedId, n);
  }

  getBook(venue: string, symbol: string): BookView | undefined {
    const r = this.runners.get(venue);
    if (!r) return undefined;
    const inst = r.instruments.bySymbolName(symbol);
    return inst ? r.sync.book(inst.key) : undefined;
  }

  health(): VenueHealth[] {
    return [...this.runners.entries()].map(([venue, r]) => {
      const connections = r.connections();
      const open = connections.filter((c) => c.state === 'open').length;
      const books = r.sync.books();
      const state = open === 0 ? (r.state === 'loading' ? 'loading' : 'down') : open === connections.length ? 'open' : 'degraded';
      return {
        venue,
        connected: open > 0,
        state,
        connections,
        instruments: r.instruments.size,
        books: { total: books.length, valid: books.filter((b) => b.valid).length },
        ...(r.lastError ? { lastError: r.lastError } : {}),
      };
    });
  }

  status(): GatewayStatus {
    const messageRates: Record<string, number> = {};
    for (const [venue, h] of this.rateHistory) {
      messageRates[venue] = h.length > 1 ? Math.round(((h[h.length - 1] - h[0]) / (h.length - 1)) * 10) / 10 : 0;
    }
    let instruments = 0;
    for (const r of this.runners.values()) instruments += r.instruments.size;
    const oracles = this.oracles();
    return { startedAt: this.startedAt, venues: [...this.runners.keys()], instruments, messageRates, ...(oracles.length > 0 ? { oracles } : {}) };
  }

  /** Oracle sources' health (Pyth), empty when off. */
  oracles(): object[] {
    return this.pyth ? [this.pyth.health()] : [];
  }

  /** The Hermes-compatible API over the Pyth source (undefined when Pyth is off). */
  hermes(): HermesApi | undefined {
    const p = this.pyth;
    if (!p) return undefined;
    return {
      priceFeeds: (query, assetType) => p.catalogEntries(query, assetType),
      known: (id) => p.known(id),
      latest: (id) => {
        const st = p.state(id);
        return st?.last ? { price: st.last, binary: st.binary } : undefined;
      },
      acquire: (id) => this.acquire(id),
      release: (id) => this.release(id),
    };
  }

  feedSnapshot(feedId: string): object | undefined {
    if (this.pyth?.streams(feedId)) return this.priceMessage(feedId);
    const info = this.getFeed(feedId);
    if (!info?.derived) return undefined;
    if (feedId === HEALTH_FEED) return this.healthMessage(this.healthMonitor.snapshot());
    if (feedId === ARBITRAGE_FEED) return undefined; // opportunities stream as they appear; REST has the recent ones
    if (info.channel === 'summary') {
      const s = this.consolidator.getSummary(info.symbol);
      return s && { type: 'summary', feed_id: feedId, ...s };
    }
    return this.consolidatedBookMessage(info.symbol);
  }

  summary(symbol: string): object | undefined {
    return this.consolidator.getSummary(symbol);
  }

  summaries(): object[] {
    return this.consolidator.getAllSummaries();
  }

  arbitrageRecent(limit: number): object[] {
    return this.arbitrage.recent(limit);
  }

  venueReports(): object[] {
    return this.healthMonitor.snapshot() as object[];
  }

  /** `/health`: at least `monitoring.min_healthy_venues` venues are healthy. */
  healthy(): boolean {
    const min = this.o.config.monitoring.min_healthy_venues;
    return this.healthMonitor.snapshot().filter((r) => r.healthy).length >= Math.min(min, this.runners.size);
  }

  /** `/ready`: some venue delivers fresh data (last update within `monitoring.stale_after_ms`). */
  ready(): { ready: boolean; reason?: string } {
    const reports = this.healthMonitor.snapshot();
    const stale = this.o.config.monitoring.stale_after_ms;
    const now = Date.now();
    const fresh = reports.filter((r) => r.lastUpdate !== null && now - r.lastUpdate <= stale);
    if (fresh.length === 0) return { ready: false, reason: `no venue delivered data in the last ${stale} ms` };
    return { ready: true };
  }

  /** Frames received over all venues. */
  totalFrames(): number {
    let n = this.pyth?.counters.events ?? 0;
    for (const r of this.runners.values()) n += r.counters.frames;
    return n;
  }

  /** Every book's final state (`--dump-books`). */
  dumpBooks(): { books: BookDump[] } {
    const books: BookDump[] = [];
    for (const [venue, r] of this.runners) {
      for (const b of r.sync.books()) {
        books.push({
          venue,
          symbol: b.symbol,
          venueSymbol: b.venueSymbol,
          bids: b.bids.top(),
          asks: b.asks.top(),
          valid: b.valid,
          seq: b.seq ?? null,
          stats: { ...b.stats },
        });
      }
    }
    return { books };
  }

  async stop(): Promise<void> {
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.healthMonitor.stop();
    this.arbitrage.close();
    this.consolidator.close();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    await this.pyth?.stop();
    for (const c of this.closers.reverse()) await c().catch(() => {});
    this.closers = [];
  }
}
