/**
 * Pyth as a source plug-in (`core/plugin.ts`): its feeds in the gateway's catalog (ids `0x` + 64 hex, `symbol` as the
 * canonical `BTC/USD` with Pyth's own `Crypto.BTC/USD` kept as `source_symbol`), its prices on the bus (`oracle_price`),
 * its health, metrics and, as a server plug-in, the Hermes-compatible API (REST and SSE in `hermes/routes.ts`,
 * WebSocket in `hermes/ws.ts`). {@link pythPlugin} is what the registry (`../index.ts`) lists: config section, env
 * rows and flags, recording hooks, and the factory.
 */
import type { FastifyInstance } from 'fastify';
import { TributaryError } from '../../core/errors.ts';
import type { DomainEvent } from '../../core/events.ts';
import type { PluginServerContext, PluginWsHandler, RouteRegistrar, SourcePlugin } from '../../core/plugin.ts';
import type { Metrics } from '../../obs/metrics.ts';
import type { FeedInfo } from '../../protocol/messages.ts';
import { createHttp } from '../../transport/http.ts';
import type { SourcePluginDescriptor } from '../descriptor.ts';
import { PYTH_ENV_VARS, pythConfigSchema, pythFlagHelp } from './config.ts';
import type { HermesApi } from './hermes/api.ts';
import { registerHermesRoutes } from './hermes/routes.ts';
import { hermesWsHandler } from './hermes/ws.ts';
import { PYTH_SOURCE, parsePythFeedId } from './ids.ts';
import { PythSource } from './source.ts';
import { pythSseReplayHooks, requestedIds, type PythFeedMeta } from './decode.ts';
import { HERMES_STREAM_PATH } from './wire.ts';

/** Options of {@link PythPlugin}. */
export interface PythPluginOptions {
  readonly source: PythSource;
  readonly metrics?: Metrics;
  /** Keep-alive comment interval of the Hermes-compatible SSE streams (ms). */
  readonly keepAliveMs?: number;
}

/** The plug-in. */
export class PythPlugin implements SourcePlugin {
  readonly name = PYTH_SOURCE;
  private readonly last = new Map<string, number>();

  constructor(readonly o: PythPluginOptions) {}

  get source(): PythSource {
    return this.o.source;
  }

  /** `FeedInfo` of a feed: `{feed_id, id, venue: 'pyth', symbol (canonical, `BTC/USD`), source_symbol, channel: 'price', price, conf, ...}`. */
  private info(id: string, meta = this.o.source.meta(id)): FeedInfo {
    const p = this.o.source;
    const last = p.state(id)?.last;
    return {
      feed_id: id,
      id,
      venue: PYTH_SOURCE,
      symbol: meta?.instrument ?? meta?.symbol ?? '',
      source_symbol: meta?.symbol ?? '',
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

  listFeeds(): FeedInfo[] {
    return this.o.source.feedIds().map((id) => this.info(id));
  }

  searchFeeds(query: string, limit: number): FeedInfo[] {
    return this.o.source.search(query, undefined, limit).map((m: PythFeedMeta) => this.info(m.id, m));
  }

  getFeed(feedId: string): FeedInfo | undefined {
    const id = parsePythFeedId(feedId);
    return id !== null && this.o.source.known(id) ? this.info(id) : undefined;
  }

  acquire(feedId: string): void {
    const id = parsePythFeedId(feedId);
    const p = this.o.source;
    if (id === null || (!p.streams(id) && !p.addFeed(id))) {
      throw new TributaryError('CLIENT_BAD_REQUEST', `Pyth feed ${feedId} cannot be streamed (not in the Hermes catalog, or pyth.max_feeds reached)`, { feed: feedId });
    }
  }

  release(): void {
    // Feeds stay streamed once added (bounded by pyth.max_feeds).
  }

  feedState(feedId: string): DomainEvent | undefined {
    const id = parsePythFeedId(feedId);
    const st = id === null ? undefined : this.o.source.state(id);
    if (!st?.last) return undefined;
    return { kind: 'oracle_price', source: PYTH_SOURCE, updates: [st.last], binary: st.binary, recvTs: st.last.recvTs };
  }

  instrumentOf(feedId: string): string | undefined {
    return this.o.source.meta(feedId)?.instrument;
  }

  start(): void {
    this.o.source.start();
  }

  stop(): Promise<void> {
    return this.o.source.stop();
  }

  health(): object {
    return this.o.source.health();
  }

  /** Healthy while the stream is open and not every streamed feed is stale. */
  healthy(): boolean {
    const p = this.o.source;
    const n = p.feedIds().length;
    return p.connected && (n === 0 || p.staleFeeds < n);
  }

  get framesReceived(): number {
    return this.o.source.counters.events;
  }

  /** The Hermes-compatible API over the source. */
  hermes(): HermesApi {
    const p = this.o.source;
    return {
      priceFeeds: (query, assetType) => p.catalogEntries(query, assetType),
      known: (id) => p.known(id),
      latest: (id) => {
        const st = p.state(id);
        return st?.last ? { price: st.last, binary: st.binary } : undefined;
      },
      acquire: (id) => this.acquire(id),
      release: () => {},
    };
  }

  registerRoutes(app: RouteRegistrar, ctx: PluginServerContext): void {
    if (!this.o.metrics) return;
    // The REST server is fastify (`RouteRegistrar` is the part of it every plug-in needs; streams need the rest).
    registerHermesRoutes(app as unknown as FastifyInstance, { hermes: this.hermes(), bus: ctx.bus, metrics: this.o.metrics, log: ctx.log as never, keepAliveMs: this.o.keepAliveMs });
  }

  wsHandler(ctx: PluginServerContext): PluginWsHandler {
    return hermesWsHandler(this.hermes(), ctx, this.o.metrics!);
  }

  syncMetrics(): void {
    const m = this.o.metrics;
    if (!m) return;
    const p = this.o.source;
    const source = PYTH_SOURCE;
    const c = p.counters;
    const inc = (key: string, value: number, bump: (d: number) => void): void => {
      const prev = this.last.get(key) ?? 0;
      if (value > prev) bump(value - prev);
      this.last.set(key, value);
    };
    inc('events', c.events, (d) => m.oracleEvents.labels({ source }).inc(d));
    inc('updates', c.updates, (d) => m.oracleUpdates.labels({ source }).inc(d));
    for (const [reason, n] of Object.entries(c.dropped)) inc(`drop|${reason}`, n, (d) => m.oracleDropped.labels({ source, reason }).inc(d));
    for (const [code, n] of Object.entries(c.errors)) inc(`err|${code}`, n ?? 0, (d) => m.oracleErrors.labels({ source, code }).inc(d));
    inc('reconnects', p.reconnects, (d) => m.oracleReconnects.labels({ source }).inc(d));
    m.oracleConnected.labels({ source }).set(p.connected ? 1 : 0);
    m.oracleStaleFeeds.labels({ source }).set(p.staleFeeds);
  }
}

/** Endpoint overrides of the Pyth source (the simulator, the recorder). */
interface PythOverride {
  readonly sseUrl?: string;
  readonly restBase?: string;
  readonly feeds?: readonly string[];
}

/** Pyth's entry in the source registry. */
export const pythPlugin: SourcePluginDescriptor<typeof PYTH_SOURCE, typeof pythConfigSchema> = {
  name: PYTH_SOURCE,
  configSchema: pythConfigSchema,
  envVars: PYTH_ENV_VARS,
  flagHelp: pythFlagHelp,
  recording: {
    sseHooks: pythSseReplayHooks,
    feedsOf: requestedIds,
    replayOverride: (base, feeds) => ({ sseUrl: `${base}${HERMES_STREAM_PATH}`, restBase: base, ...(feeds.length > 0 ? { feeds: [...feeds] } : {}) }),
    record: (pc) => ({ override: { sseUrl: pc.sse_url, restBase: pc.rest_base, feeds: pc.feeds }, headers: pc.headers, meta: { feeds: pc.feeds } }),
    demo: ['test/fixtures/pyth/hermes.jsonl'],
  },
  create(ctx) {
    const pc = ctx.config;
    const po = ctx.override as PythOverride | undefined;
    const source = new PythSource({
      sseUrl: po?.sseUrl ?? pc.sse_url,
      restBase: po ? po.restBase : pc.rest_base,
      feeds: po?.feeds ?? pc.feeds,
      http: ctx.http ?? createHttp({ timeoutMs: ctx.transport.httpTimeoutMs, headers: pc.headers }),
      bus: ctx.bus,
      log: ctx.log.child({ source: PYTH_SOURCE }) as never,
      staleAfterMs: pc.stale_after_ms,
      idleTimeoutMs: pc.idle_timeout_ms,
      rolloverMs: pc.rollover_ms,
      catalogRefreshMs: pc.catalog_refresh_ms,
      rateLimitDelayMs: pc.rate_limit_delay_ms,
      connectTimeoutMs: ctx.transport.connectTimeoutMs,
      backoff: { baseMs: ctx.transport.backoffBaseMs, capMs: ctx.transport.backoffCapMs },
      keepBinary: pc.keep_binary,
      headers: pc.headers,
      maxFeeds: pc.max_feeds,
      onEvent: ctx.taps?.onSse,
    });
    return new PythPlugin({ source, metrics: ctx.metrics, keepAliveMs: pc.serve_keepalive_ms });
  },
};
