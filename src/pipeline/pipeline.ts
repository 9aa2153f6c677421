/**
 * The pipeline: venue ingest (one {@link VenueRunner} per venue: decode → sync → book), consolidation, arbitrage,
 * venue health and the source plug-ins, all publishing domain events on one {@link Bus}; plus the read models and
 * the feed catalog the servers read ({@link GatewayApi}). It owns no server and no socket to clients.
 *
 * Derived events: every emitted summary is published as `summary` (and, while someone watches
 * `consolidated:{key}:book`, a deeper `consolidated_book`), every arbitrage report as `arbitrage`, every health
 * refresh as `health`.
 */
import type { BookView } from '../core/book-view.ts';
import { TributaryError } from '../core/errors.ts';
import { CHANNELS, type ArbitrageOpportunity, type Channel, type ConsolidatedBook, type DomainEvent, type TickerMsg, type VenueHealthReport } from '../core/events.ts';
import type { SourcePlugin } from '../core/plugin.ts';
import { ARBITRAGE_FEED, CONSOLIDATED_VENUE, HEALTH_FEED, formatFeedId, parseFeedId, type FeedInfo } from '../protocol/messages.ts';
import type { Http, VenueEndpoints } from '../venues/connector.ts';
import { getConnector, VENUES } from '../venues/index.ts';
import { Bus } from '../bus/bus.ts';
import { ArbitrageDetector } from './arbitrage.ts';
import { FeedCatalog, type CatalogVenue } from './catalog.ts';
import { DataClock, VenueClocks } from './clock.ts';
import { Consolidator, consolidationKey } from './consolidate.ts';
import { HealthMonitor } from './health.ts';
import { VenueRunner, type IngestLogger, type SubscriptionRequest } from './ingest.ts';
import type { AcquireResult, GatewayApi, GatewayStatus, VenueHealth } from './read-api.ts';

/** Per-venue settings the pipeline uses (the config's `venues.<id>` slice). */
export interface PipelineVenueSettings {
  readonly enabled: boolean;
  readonly wsBase?: string;
  readonly restBase?: string;
  readonly channels?: readonly string[];
  readonly depth?: number;
  readonly takerFeeBps?: number;
  readonly rateLimit?: { requestsPerSecond: number; burstSize: number };
}

/** Settings of the pipeline (slices of the validated config). */
export interface PipelineSettings {
  readonly venues: Readonly<Record<string, PipelineVenueSettings>>;
  /** Canonical symbols per venue to keep subscribed (configured ones). */
  readonly symbolsOf: (venue: string) => readonly string[];
  readonly transport: { connectTimeoutMs?: number; backoffBaseMs?: number; backoffCapMs?: number; httpTimeoutMs?: number };
  readonly aggregation: {
    readonly max_price_levels: number;
    readonly summary_interval_ms: number;
    readonly max_quote_age_ms: number;
    readonly quote_groups: readonly (readonly string[])[];
    readonly venues?: readonly string[];
    readonly arbitrage: { readonly default_taker_fee_bps: number; readonly min_net_edge_bps: number };
  };
  readonly monitoring: { readonly health_check_interval_ms: number; readonly stale_after_ms: number; readonly min_healthy_venues: number };
  /** Grace period (ms) before an on-demand upstream subscription nobody watches is released (default 60000). */
  readonly releaseGraceMs?: number;
}

/** Options of {@link Pipeline}. */
export interface PipelineOptions {
  readonly settings: PipelineSettings;
  readonly log: IngestLogger & { child?: unknown };
  readonly childLog: (bindings: Record<string, string>) => IngestLogger;
  readonly http: Http;
  /** Venues to run (default: those enabled). */
  readonly venues?: readonly string[];
  /** Per-venue subscription requests (default: configured symbols × channels). Replay passes the recorded ones. */
  readonly requests?: ReadonlyMap<string, readonly SubscriptionRequest[]>;
  /** Per-venue endpoint overrides (the simulator). */
  readonly endpoints?: ReadonlyMap<string, VenueEndpoints>;
  /** Source plug-ins (oracles), built by the composition root. */
  readonly sources?: readonly SourcePlugin[];
  /** Raw-traffic taps of the recorder. */
  readonly taps?: {
    onConnect?: (venue: string, connId: string, url: string, tsMs: number) => void;
    onSent?: (venue: string, connId: string, url: string, data: string, tsMs: number) => void;
    onRecv?: (venue: string, connId: string, data: string, tsMs: number) => void;
  };
  /** Per-venue receive-time mapping of frames (replay: the recording's receive times); default wall time. */
  readonly recvTimes?: ReadonlyMap<string, (data: string, wallRecvTs: number) => number>;
  /** Counts REST budget waits per venue (metrics). */
  readonly onBudgetWait?: (venue: string) => void;
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

/** See the module comment. */
export class Pipeline implements GatewayApi {
  readonly bus = new Bus();
  readonly runners = new Map<string, VenueRunner>();
  readonly startedAt = Date.now();
  readonly consolidator: Consolidator;
  readonly arbitrage: ArbitrageDetector;
  readonly healthMonitor: HealthMonitor;
  /** The data clock of consolidation, arbitrage and health: the latest receive time seen (`clock.ts`). */
  readonly clock = new DataClock();
  /** Per-venue clocks: each venue's freshness is judged against its own receive times. */
  readonly venueClocks = new VenueClocks();
  readonly catalog: FeedCatalog;
  readonly sources: readonly SourcePlugin[];
  private readonly groupMap: Map<string, readonly string[]>;
  private readonly rateHistory = new Map<string, number[]>();
  private rateTimer: NodeJS.Timeout | undefined;
  /** Read model: the latest ticker per venue instrument (`venue|key`). */
  private readonly tickers = new Map<string, TickerMsg>();

  constructor(private readonly o: PipelineOptions) {
    const cfg = o.settings;
    this.sources = o.sources ?? [];
    this.bus.onHandlerError = (topic, err) => o.log.error({ topic, err: String(err) }, 'bus handler threw');
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
        cfg.symbolsOf(venue).flatMap((symbol) => (vc?.channels ?? CHANNELS).map((channel) => ({ symbol, channel: channel as Channel, depth: vc?.depth })));
      const taps = o.taps;
      this.runners.set(
        venue,
        new VenueRunner({
          connector,
          endpoints,
          http: o.http,
          bus: this.bus,
          log: o.childLog({ venue }),
          requests,
          transport: cfg.transport,
          rateLimit: vc?.rateLimit,
          isWatched: (key) => this.isWatched(venue, key),
          onBudgetWait: () => o.onBudgetWait?.(venue),
          recvTime: o.recvTimes?.get(venue),
          onConnect: taps?.onConnect && ((id, url, ts) => taps.onConnect!(venue, id, url, ts)),
          onSent: taps?.onSent && ((id, url, data, ts) => taps.onSent!(venue, id, url, data, ts)),
          onRecv: taps?.onRecv && ((id, data, ts) => taps.onRecv!(venue, id, data, ts)),
        }),
      );
    }
    const agg = cfg.aggregation;
    const mon = cfg.monitoring;
    const quoteGroups = agg.quote_groups.map((g) => g.map((q) => q.toUpperCase()));
    this.groupMap = new Map(quoteGroups.filter((g) => g.length > 1).flatMap((g) => g.map((q) => [q, g] as const)));
    this.clock.attach(this.bus); // first subscriber: the clock has seen an event before any stage handles it
    const vc = this.venueClocks;
    this.bus.on('book_snapshot', (e) => vc.observe(e.instrument.venue, e.recvTs));
    this.bus.on('book_delta', (e) => vc.observe(e.instrument.venue, e.recvTs));
    this.bus.on('trade', (e) => vc.observe(e.instrument.venue, e.recvTs));
    this.bus.on('ticker', (e) => vc.observe(e.instrument.venue, e.recvTs));
    this.consolidator = new Consolidator({
      bus: this.bus,
      book: (venue, key) => this.runners.get(venue)?.sync.book(key),
      maxPriceLevels: agg.max_price_levels,
      summaryIntervalMs: agg.summary_interval_ms,
      maxQuoteAgeMs: agg.max_quote_age_ms,
      quoteGroups,
      venues: agg.venues,
      isVenueConnected: (v) => this.runners.get(v)?.connections().some((c) => c.state === 'open') ?? false,
      oracleInstrument: (source, id) => this.sources.find((s) => s.name === source)?.instrumentOf?.(id),
      now: this.clock.now,
      venueNow: vc.now,
    });
    const fees: Record<string, number> = {};
    for (const [id, v] of Object.entries(cfg.venues)) if (v.takerFeeBps !== undefined) fees[id] = v.takerFeeBps;
    this.arbitrage = new ArbitrageDetector({
      source: this.consolidator,
      fees,
      defaultFeeBps: agg.arbitrage.default_taker_fee_bps,
      minNetEdgeBps: agg.arbitrage.min_net_edge_bps,
      maxLegSkewMs: agg.max_quote_age_ms,
      now: this.clock.now,
    });
    this.healthMonitor = new HealthMonitor({
      intervalMs: mon.health_check_interval_ms,
      staleAfterMs: mon.stale_after_ms,
      now: this.clock.now,
      venueNow: vc.now,
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
    this.catalog = new FeedCatalog({
      venues: new Map([...this.runners].map(([v, r]) => [v, catalogVenue(r)])),
      sources: this.sources,
      consolidationKey: (s) => consolidationKey(s, this.groupMap),
      aggregationVenues: agg.venues,
      releaseGraceMs: cfg.releaseGraceMs,
    });
    this.bus.on('ticker', (t) => this.tickers.set(`${t.instrument.venue}|${t.instrument.key}`, t));
    this.consolidator.subscribe((s) => this.onSummary(s));
    this.arbitrage.subscribe((a) => this.bus.publish('arbitrage', { kind: 'arbitrage', ...a }));
    this.healthMonitor.subscribe((reports) => this.bus.publish('health', { kind: 'health', venues: reports, ts: this.clock.now() }));
  }

  /** True when a client watches a feed of this instrument (its own feeds or its consolidated ones). */
  private isWatched(venue: string, key: string): boolean {
    if (this.catalog.idle) return false;
    const inst = this.runners.get(venue)?.instruments.get(key);
    if (!inst) return false;
    for (const ch of CHANNELS) if (this.catalog.watched(formatFeedId(venue, inst.symbol, ch))) return true;
    const ck = consolidationKey(inst.symbol, this.groupMap);
    return this.catalog.watched(formatFeedId(CONSOLIDATED_VENUE, ck, 'book')) || this.catalog.watched(formatFeedId(CONSOLIDATED_VENUE, ck, 'summary'));
  }

  private onSummary(s: ConsolidatedBook): void {
    this.bus.publish('summary', { kind: 'summary', ...s });
    if (this.catalog.watched(formatFeedId(CONSOLIDATED_VENUE, s.symbol, 'book'))) {
      const b = this.consolidatedBook(s.symbol);
      if (b) this.bus.publish('consolidated_book', { kind: 'consolidated_book', ...b });
    }
  }

  /** The consolidated book of a key, at least 100 levels deep. */
  consolidatedBook(symbol: string): ConsolidatedBook | undefined {
    return this.consolidator.getBook(symbol, Math.max(100, this.consolidator.maxPriceLevels));
  }

  /** Starts venues (instrument loading retries in the background when offline), sources and the health refresh. */
  async start(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.start()));
    for (const s of this.sources) s.start();
    this.healthMonitor.start();
    this.rateTimer = setInterval(() => this.tickRates(), 1000);
    this.rateTimer.unref();
  }

  /** Once a second: frame counts for the message rates of `/status`. */
  private tickRates(): void {
    for (const [venue, r] of this.runners) {
      const h = this.rateHistory.get(venue) ?? [];
      h.push(r.counters.frames);
      if (h.length > 11) h.shift();
      this.rateHistory.set(venue, h);
    }
  }

  // ---- GatewayApi (read models and catalog) ------------------------------------------------------

  listFeeds(query?: string): FeedInfo[] {
    return this.catalog.list(query);
  }

  getFeed(feedId: string): FeedInfo | undefined {
    return this.catalog.get(feedId);
  }

  acquire(feedId: string): AcquireResult {
    return this.catalog.acquire(feedId);
  }

  release(feedId: string): void {
    this.catalog.release(feedId);
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
    return {
      startedAt: this.startedAt,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      venues: [...this.runners.keys()],
      instruments,
      messageRates,
      ...(oracles.length > 0 ? { oracles } : {}),
    };
  }

  /** Source plug-ins' health. */
  oracles(): object[] {
    return this.sources.map((s) => s.health());
  }

  /** The latest ticker of a venue instrument (canonical symbol), or undefined. */
  latestTicker(venue: string, symbol: string): TickerMsg | undefined {
    const inst = this.runners.get(venue)?.instruments.bySymbolName(symbol);
    return inst && this.tickers.get(`${venue}|${inst.key}`);
  }

  feedState(feedId: string): DomainEvent | undefined {
    for (const s of this.sources) {
      if (s.getFeed(feedId) !== undefined) return s.feedState(feedId);
    }
    if (feedId === HEALTH_FEED) return { kind: 'health', venues: this.healthMonitor.snapshot(), ts: this.clock.now() };
    if (feedId === ARBITRAGE_FEED) return undefined; // opportunities stream as they appear; REST has the recent ones
    const p = parseFeedId(feedId);
    if (p !== null && p.channel === 'ticker') return this.latestTicker(p.venue, p.symbol);
    if (p === null || p.venue !== CONSOLIDATED_VENUE) return undefined;
    if (p.channel === 'summary') {
      const s = this.consolidator.getSummary(p.symbol);
      return s && { kind: 'summary', ...s };
    }
    const b = this.consolidatedBook(p.symbol);
    return b && { kind: 'consolidated_book', ...b };
  }

  summary(symbol: string): ConsolidatedBook | undefined {
    return this.consolidator.getSummary(symbol);
  }

  summaries(): ConsolidatedBook[] {
    return this.consolidator.getAllSummaries();
  }

  arbitrageRecent(limit: number): ArbitrageOpportunity[] {
    return [...this.arbitrage.recent(limit)];
  }

  venueReports(): VenueHealthReport[] {
    return [...this.healthMonitor.snapshot()];
  }

  /**
   * `/health`: at least `monitoring.min_healthy_venues` venues are healthy, and every source plug-in is healthy.
   * With no venue at all, the sources alone decide (an oracle-only gateway is unhealthy while its source is down).
   */
  healthy(): boolean {
    const min = this.o.settings.monitoring.min_healthy_venues;
    const venuesOk = this.healthMonitor.snapshot().filter((r) => r.healthy).length >= Math.min(min, this.runners.size);
    const sourcesOk = this.sources.every((s) => s.healthy());
    return venuesOk && sourcesOk;
  }

  /** `/ready`: some venue (or source) delivers fresh data (last update within `monitoring.stale_after_ms`). */
  ready(): { ready: boolean; reason?: string } {
    const reports = this.healthMonitor.snapshot();
    const stale = this.o.settings.monitoring.stale_after_ms;
    const fresh = reports.filter((r) => r.lastUpdate !== null && this.venueClocks.now(r.venue) - r.lastUpdate <= stale);
    if (fresh.length === 0 && !(this.runners.size === 0 && this.sources.some((s) => s.healthy()))) {
      return { ready: false, reason: `no venue delivered data in the last ${stale} ms` };
    }
    return { ready: true };
  }

  /** Frames received over all venues and sources. */
  totalFrames(): number {
    let n = 0;
    for (const s of this.sources) n += s.framesReceived;
    for (const r of this.runners.values()) n += r.counters.frames;
    return n;
  }

  /** Every book's final state (`--dump-books`). */
  dumpBooks(): { books: BookDump[] } {
    const books: BookDump[] = [];
    for (const [venue, r] of this.runners) {
      for (const b of r.sync.books()) {
        books.push({ venue, symbol: b.symbol, venueSymbol: b.venueSymbol, bids: b.bids.top(), asks: b.asks.top(), valid: b.valid, seq: b.seq ?? null, stats: { ...b.stats } });
      }
    }
    return { books };
  }

  async stop(): Promise<void> {
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.catalog.close();
    this.healthMonitor.stop();
    this.arbitrage.close();
    this.consolidator.close();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    for (const s of this.sources) await s.stop();
  }
}

/** A venue runner as the feed catalog sees it. */
function catalogVenue(r: VenueRunner): CatalogVenue {
  return {
    get subscriptions() {
      return r.subscriptions;
    },
    listed: () => r.instruments.all(),
    get version() {
      return r.subscriptionVersion * 1_000_003 + r.instruments.size;
    },
    find: (symbol) => r.instruments.bySymbolName(symbol),
    demand: (symbol, channel) => r.demand(symbol, channel),
    undemand: (symbol, channel) => r.undemand(symbol, channel),
  };
}
