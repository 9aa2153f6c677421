/**
 * The REST API (fastify): health, status, feeds, book snapshots and Prometheus metrics.
 *
 * Routes:
 * - `GET /health` → `{status: 'ok'|'degraded'|'down', venues: VenueHealth[]}`; HTTP 200 when at least one
 *   venue is connected, else 503. `ok` = every venue connected, `degraded` = some, `down` = none.
 * - `GET /status` → {@link GatewayStatus}.
 * - `GET /feeds?query=` → `{feeds: FeedInfo[]}` (oracle feeds included; `query` filters and searches each oracle's catalog).
 * - `GET /v1/books/:venue/<symbol>?depth=N` → {@link BookResponse}. `<symbol>` is the canonical symbol, raw
 *   (`BTC/USDT:USDT`) or URL-encoded (`BTC%2FUSDT%3AUSDT`). `depth` levels per side, default 50, 1..5000.
 *   400 on an invalid depth, 404 on an unknown venue or symbol.
 * - `GET /metrics` → Prometheus text exposition of the metrics registry.
 * - Routes of source plug-ins (e.g. an oracle's own compatible API), registered by the plug-ins.
 *
 * Every body is snake_case, built by `server/encode.ts` (the same field names as the WebSocket messages).
 *
 * Errors are JSON `{error, code}` with a code from the error catalog (`CLIENT_BAD_REQUEST`,
 * `INSTRUMENT_UNKNOWN`) or `INTERNAL_ERROR` for unexpected failures (logged).
 * Request logging is off: fastify logs through our pino logger only for errors.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Metrics } from '../obs/metrics.ts';
import type { Bus } from '../bus/bus.ts';
import type { SourcePlugin } from '../core/plugin.ts';
import type { PriceSize } from '../protocol/messages.ts';
import type { GatewayApi, VenueHealth } from '../pipeline/read-api.ts';
import { arbitrageBody, bookSnapshotFromView, consolidatedBody, healthBody, snakeKeys } from './encode.ts';

/** Options of {@link buildRestApp}. */
export interface RestAppOptions {
  api: GatewayApi;
  metrics: Metrics;
  /** When given, fastify logs (errors only; no per-request lines) through a child of it. */
  log?: Logger;
  /** The bus: needed by source plug-ins' streaming routes. */
  bus?: Bus;
  /** Source plug-ins whose own REST API is served here too. */
  plugins?: readonly SourcePlugin[];
}

/** Options of {@link startRestServer}. */
export interface RestServerOptions extends RestAppOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
}

/** A running REST server. */
export interface RestServer {
  readonly app: FastifyInstance;
  /** The port actually listened on. */
  readonly port: number;
  close(): Promise<void>;
}

/** `GET /health` body. */
export interface HealthResponse {
  status: 'ok' | 'degraded' | 'down';
  venues: VenueHealth[];
}

/** `GET /v1/books/:venue/*` body. Prices in quote currency, sizes in base units, venue decimal strings; best first. */
export interface BookResponse {
  venue: string;
  /** Canonical symbol. */
  symbol: string;
  venue_symbol: string;
  /** False while the book is being (re)built; the levels are then not to be trusted. */
  valid: boolean;
  /** Rebuild counter of the book (as `epoch` in WebSocket book messages). */
  epoch: number;
  /** Venue book sequence, or null when the venue has none. */
  seq: number | null;
  /** Venue time (ms) of the last applied message. */
  ts: number;
  /** Receive time (ms) of the last applied message. */
  recv_ts: number;
  bids: PriceSize[];
  asks: PriceSize[];
}

const silentLog = { info() {}, warn() {}, error() {}, debug() {} };

/** Default and maximum `depth` of `GET /v1/books`. */
export const DEFAULT_BOOK_DEPTH = 50;
export const MAX_BOOK_DEPTH = 5000;

/** Parses `?depth=`: undefined → default; a decimal integer 1..MAX → it; anything else → null. */
function parseDepth(v: unknown): number | null {
  if (v === undefined) return DEFAULT_BOOK_DEPTH;
  if (typeof v !== 'string' || !/^[0-9]{1,5}$/.test(v)) return null;
  const n = Number(v);
  return n >= 1 && n <= MAX_BOOK_DEPTH ? n : null;
}

/** The canonical symbol from the route wildcard: accepts it raw or (once more) URL-encoded. */
function decodeSymbol(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Builds the fastify app (not listening). Tests may use `app.inject` or listen themselves. */
export function buildRestApp(opts: RestAppOptions): FastifyInstance {
  const { api, metrics } = opts;
  const app = Fastify({
    ...(opts.log !== undefined ? { loggerInstance: opts.log.child({ module: 'rest' }) as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 500 },
  });

  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err: err.message, url: req.url }, 'request failed');
      return reply.code(status).send({ error: 'internal error', code: 'INTERNAL_ERROR' });
    }
    return reply.code(status).send({ error: err.message ?? 'bad request', code: 'CLIENT_BAD_REQUEST' });
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'CLIENT_BAD_REQUEST' }));

  app.get('/health', async (_req, reply) => {
    const venues = api.health();
    let connected = 0;
    for (const v of venues) if (v.connected) connected++;
    const status: HealthResponse['status'] = connected === 0 ? 'down' : connected === venues.length ? 'ok' : 'degraded';
    // With a health monitor: 200 only when enough venues are healthy; else: when any venue is connected.
    const ok = api.healthy ? api.healthy() : connected > 0;
    const body: HealthResponse = { status: ok ? status : status === 'ok' ? 'degraded' : status, venues };
    const oracles = api.oracles?.();
    const health = api.venueReports ? api.venueReports().map(healthBody) : undefined;
    return reply.code(ok ? 200 : 503).send(snakeKeys({ ...body, ...(health ? { health } : {}), ...(oracles && oracles.length > 0 ? { oracles } : {}) }));
  });

  app.get('/ready', async (_req, reply) => {
    const r = api.ready ? api.ready() : { ready: api.health().some((v) => v.connected) };
    return reply.code(r.ready ? 200 : 503).send(r);
  });

  app.get<{ Params: { '*': string } }>('/v1/summary/*', async (req, reply) => {
    const symbol = decodeSymbol(req.params['*'] ?? '');
    const s = api.summary?.(symbol);
    if (s === undefined) return reply.code(404).send({ error: `no consolidated summary for "${symbol}"`, code: 'INSTRUMENT_UNKNOWN' });
    return consolidatedBody(s);
  });

  app.get('/v1/summaries', async () => ({ summaries: (api.summaries?.() ?? []).map(consolidatedBody) }));

  app.get<{ Querystring: { limit?: unknown } }>('/v1/arbitrage', async (req, reply) => {
    const raw = req.query.limit;
    const limit = raw === undefined ? 100 : typeof raw === 'string' && /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
    if (!(limit >= 1 && limit <= 1000)) return reply.code(400).send({ error: 'limit must be an integer from 1 to 1000', code: 'CLIENT_BAD_REQUEST' });
    return { opportunities: (api.arbitrageRecent?.(limit) ?? []).map(arbitrageBody) };
  });

  app.get('/v1/venues', async () => ({ venues: api.venueReports ? api.venueReports().map(healthBody) : snakeKeys(api.health()) }));

  app.get('/status', async () => snakeKeys(api.status()));

  app.get<{ Querystring: { query?: unknown } }>('/feeds', async (req, reply) => {
    const q = req.query.query;
    if (q === undefined) return { feeds: api.listFeeds() };
    if (typeof q !== 'string' || q.length === 0 || q.length > 64) return reply.code(400).send({ error: 'query must be 1 to 64 characters', code: 'CLIENT_BAD_REQUEST' });
    return { feeds: api.listFeeds(q) };
  });

  const bus = opts.bus;
  if (bus) {
    const ctx = { bus, badRequest: () => metrics.clientError('CLIENT_BAD_REQUEST').inc(), log: opts.log ?? silentLog };
    for (const p of opts.plugins ?? []) p.registerRoutes?.(app, ctx);
  }

  app.get<{ Params: { venue: string; '*': string }; Querystring: { depth?: unknown } }>('/v1/books/:venue/*', async (req, reply) => {
    const depth = parseDepth(req.query.depth);
    if (depth === null) {
      return reply.code(400).send({ error: `depth must be an integer from 1 to ${MAX_BOOK_DEPTH}`, code: 'CLIENT_BAD_REQUEST' });
    }
    const venue = req.params.venue;
    const symbol = decodeSymbol(req.params['*'] ?? '');
    if (!api.status().venues.includes(venue)) {
      return reply.code(404).send({ error: `unknown venue "${venue}"`, code: 'INSTRUMENT_UNKNOWN' });
    }
    const book = symbol === '' ? undefined : api.getBook(venue, symbol);
    if (book === undefined) {
      return reply.code(404).send({ error: `no book for "${symbol}" on ${venue}`, code: 'INSTRUMENT_UNKNOWN' });
    }
    const snap = bookSnapshotFromView('', book, depth);
    const body: BookResponse = {
      venue: snap.venue,
      symbol: snap.symbol,
      venue_symbol: snap.venue_symbol,
      valid: book.valid,
      epoch: snap.epoch,
      seq: snap.seq,
      ts: snap.ts,
      recv_ts: snap.recv_ts,
      bids: snap.bids,
      asks: snap.asks,
    };
    return body;
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  return app;
}

/** Builds the app and listens. Resolves once listening; rejects if the port cannot be bound. */
export async function startRestServer(opts: RestServerOptions): Promise<RestServer> {
  const app = buildRestApp(opts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 8080);
  opts.log?.info({ host, port }, 'rest server listening');
  let closing: Promise<void> | undefined;
  return {
    app,
    port,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
