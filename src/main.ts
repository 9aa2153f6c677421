/**
 * Composition root: takes the validated config once, wires venues → sync → bus → servers, owns lifecycle.
 */
import type { Config } from './config/index.ts';
import { venueSymbols } from './config/index.ts';
import { CHANNELS, type Channel } from './core/events.ts';
import { childLogger, type Logger } from './obs/log.ts';
import { createMetrics, type Metrics } from './obs/metrics.ts';
import type { BookView } from './pipeline/book.ts';
import { Bus } from './pipeline/bus.ts';
import { VenueRunner, type SubscriptionRequest } from './pipeline/ingest.ts';
import { formatFeedId, type FeedInfo } from './protocol/messages.ts';
import type { GatewayApi, GatewayStatus, VenueHealth } from './server/gateway-api.ts';
import { startRestServer } from './server/rest.ts';
import { startWsServer } from './server/ws.ts';
import { createHttp } from './transport/http.ts';
import type { Http, VenueEndpoints } from './venues/connector.ts';
import { getConnector } from './venues/index.ts';

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
  /** Raw-traffic taps (the recorder): connection opens, frames sent and frames received, per venue. */
  readonly taps?: {
    onConnect?: (venue: string, connId: string, url: string, tsMs: number) => void;
    onSent?: (venue: string, connId: string, url: string, data: string, tsMs: number) => void;
    onRecv?: (venue: string, connId: string, data: string, tsMs: number) => void;
  };
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
  private feeds = new Map<string, FeedInfo>();
  private feedsVersion = -1;
  private readonly interest = new Map<string, number>();
  private rateTimer: NodeJS.Timeout | undefined;
  private readonly rateHistory = new Map<string, number[]>();
  private readonly lastMetric = new Map<string, number>();
  private closers: (() => Promise<void>)[] = [];
  wsPort = 0;
  apiPort = 0;

  constructor(private readonly o: GatewayOptions) {
    this.metrics = createMetrics({ beforeCollect: () => this.syncMetrics() });
    const log = o.log;
    this.bus.onHandlerError = (topic, err) => log.error({ topic, err: String(err) }, 'bus handler threw');
    const cfg = o.config;
    const venues = o.venues ?? Object.entries(cfg.venues).filter(([, v]) => v.enabled).map(([id]) => id);
    for (const venue of venues) {
      const connector = getConnector(venue);
      if (!connector) throw new Error(`unknown venue ${venue}`);
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
          onConnect: o.taps?.onConnect && ((id, url, ts) => o.taps!.onConnect!(venue, id, url, ts)),
          onSent: o.taps?.onSent && ((id, url, data, ts) => o.taps!.onSent!(venue, id, url, data, ts)),
          onRecv: o.taps?.onRecv && ((id, data, ts) => o.taps!.onRecv!(venue, id, data, ts)),
        }),
      );
    }
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
      const rest = await startRestServer({ host: cfg.api.host, port: cfg.api.port, api: this, metrics: this.metrics, log: this.o.log });
      this.apiPort = rest.port;
      this.closers.push(() => rest.close());
    }
    await Promise.all([...this.runners.values()].map((r) => r.start()));
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
  }

  // ---- GatewayApi ----------------------------------------------------------------------------

  private feedMap(): Map<string, FeedInfo> {
    let version = 0;
    for (const r of this.runners.values()) version += r.subscriptions.length;
    if (version !== this.feedsVersion) {
      const m = new Map<string, FeedInfo>();
      for (const [venue, r] of this.runners) {
        for (const s of r.subscriptions) {
          const feed_id = formatFeedId(venue, s.instrument.symbol, s.channel);
          m.set(feed_id, { feed_id, venue, symbol: s.instrument.symbol, venue_symbol: s.instrument.venueSymbol, channel: s.channel });
        }
      }
      this.feeds = m;
      this.feedsVersion = version;
    }
    return this.feeds;
  }

  listFeeds(): FeedInfo[] {
    return [...this.feedMap().values()];
  }

  getFeed(feedId: string): FeedInfo | undefined {
    return this.feedMap().get(feedId);
  }

  /** Feeds are subscribed upstream once at start (many clients on a feed cost one venue subscription); interest is counted. */
  acquire(feedId: string): void {
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
    return { startedAt: this.startedAt, venues: [...this.runners.keys()], instruments, messageRates };
  }

  /** Frames received over all venues. */
  totalFrames(): number {
    let n = 0;
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
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    for (const c of this.closers.reverse()) await c().catch(() => {});
    this.closers = [];
  }
}
