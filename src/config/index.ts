/**
 * Configuration: defaults ← JSON file ← environment ← CLI flags, validated once and frozen.
 * Nothing outside `src/config/` reads `process.env`; each module gets only its slice.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TributaryError } from '../core/errors.ts';
import { DEFAULT_PYTH_FEEDS, DEFAULT_PYTH_SSE_URL } from '../oracle/pyth/wire.ts';

const channel = z.enum(['book', 'trades', 'ticker']);
const port = z.number().int().min(0).max(65535);

const venueSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Canonical symbols (ccxt unified): `BTC/USDT` spot, `BTC/USDT:USDT` linear perpetual. */
    symbols: z.array(z.string().min(3)).min(1).optional(),
    channels: z.array(channel).min(1).default(['book', 'trades', 'ticker']),
    /** Book depth asked of the venue (rounded by the connector to a depth the venue offers). */
    depth: z.number().int().positive().optional(),
    /** Override of the WebSocket base URL (e.g. the simulator). */
    wsBase: z.string().url().optional(),
    /** Override of the REST base URL. */
    restBase: z.string().url().optional(),
    /** REST request budget (token bucket) for this venue's snapshot fetches. */
    rateLimit: z.object({ requestsPerSecond: z.number().positive(), burstSize: z.number().int().positive() }).strict().optional(),
    /** Taker fee in bps used by the arbitrage detector. */
    takerFeeBps: z.number().min(0).max(1000).optional(),
  })
  .strict();

/** The `exchanges` section (the documented JSON shape, snake_case), mapped onto `venues`. */
const exchangeSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Canonical symbols (`BTC/USDT`) or the venue's own symbols (`BTCUSDT`). */
    trading_pairs: z.array(z.string().min(1)).min(1).optional(),
    rate_limit: z.object({ requests_per_second: z.number().positive(), burst_size: z.number().int().positive() }).strict().optional(),
    taker_fee_bps: z.number().min(0).max(1000).optional(),
    channels: z.array(channel).min(1).optional(),
    depth: z.number().int().positive().optional(),
    ws_base: z.string().url().optional(),
    rest_base: z.string().url().optional(),
  })
  .strict();

const aggregationSchema = z
  .object({
    /** At most one summary per consolidated symbol per this many ms. */
    summary_interval_ms: z.number().int().min(10).default(1000),
    /** Levels per side in summaries. */
    max_price_levels: z.number().int().min(1).max(1000).default(20),
    /** A venue book not updated for this long is excluded from consolidation (ms). */
    max_quote_age_ms: z.number().int().positive().default(10000),
    /** Quote-currency equivalence groups, e.g. [["USDT","USD","USDC"]]; off by default. */
    quote_groups: z.array(z.array(z.string().min(1)).min(2)).default([]),
    /** Venues whose books are consolidated (default: all enabled). */
    venues: z.array(z.string()).optional(),
    arbitrage: z
      .object({
        min_net_edge_bps: z.number().default(0),
        default_taker_fee_bps: z.number().min(0).default(10),
      })
      .strict()
      .default({ min_net_edge_bps: 0, default_taker_fee_bps: 10 }),
  })
  .strict();

const monitoringSchema = z
  .object({
    health_check_interval_ms: z.number().int().min(50).default(5000),
    /** `/health` answers 200 only when at least this many venues are healthy. */
    min_healthy_venues: z.number().int().min(0).default(1),
    /** A venue with no update for this long is unhealthy; `/ready` fails when no venue has fresh data (ms). */
    stale_after_ms: z.number().int().positive().default(30000),
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        prometheus: z
          .object({ enabled: z.boolean().default(true), port: port.optional() })
          .strict()
          .default({ enabled: true }),
      })
      .strict()
      .default({ enabled: true, prometheus: { enabled: true } }),
  })
  .strict();

/**
 * Pyth Hermes (oracle prices). Times in ms. Doc: https://docs.pyth.network/price-feeds/how-pyth-works/hermes
 */
const pythSchema = z
  .object({
    /**
     * Stream Pyth prices. Unset: on for `start`, off for the library API; `replay` runs Pyth only from a Pyth
     * recording; `record --venue pyth` always.
     */
    enabled: z.boolean().optional(),
    /** Hermes SSE stream URL (`--pyth-sse-url`, `TRIBUTARY_PYTH_SSE_URL`). */
    sse_url: z.string().url().default(DEFAULT_PYTH_SSE_URL),
    /** Base URL for `/v2/price_feeds` (default: `sse_url` without `/v2/updates/price/stream`). */
    rest_base: z.string().url().optional(),
    /** Feed ids (with or without 0x) or Pyth symbols (`Crypto.BTC/USD`) to stream. Default BTC/USD, ETH/USD, SOL/USD. */
    feeds: z.array(z.string().min(1)).min(1).default(DEFAULT_PYTH_FEEDS.map((f) => f.id)),
    /** A feed whose publish_time has not advanced for this long is reported `stale`. */
    stale_after_ms: z.number().int().min(10).default(30000),
    /** The stream is reopened when no byte (events or keep-alive comments) arrives for this long. */
    idle_timeout_ms: z.number().int().min(10).default(60000),
    /** A replacement stream is opened this long after a stream opened (Hermes closes streams after 24 h). */
    rollover_ms: z.number().int().min(100).default(23 * 3600 * 1000),
    /** The feed catalog is refreshed this often. */
    catalog_refresh_ms: z.number().int().min(1000).default(600000),
    /** Wait after HTTP 429 when Hermes sends no Retry-After (its penalty lasts 60 s). */
    rate_limit_delay_ms: z.number().int().min(0).default(60000),
    /** Keep the upstream binary update (the Hermes-compatible API serves it). */
    keep_binary: z.boolean().default(true),
    /** Most feeds streamed at once (configured plus those clients ask for). */
    max_feeds: z.number().int().min(1).max(500).default(100),
    /** Extra request headers for Hermes (e.g. an API key); never logged. */
    headers: z.record(z.string(), z.string()).optional(),
    /** Keep-alive comment interval of the Hermes-compatible SSE endpoint served to clients. */
    serve_keepalive_ms: z.number().int().min(10).default(15000),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(8765),
        /** Client frames larger than this get an error message (bytes). */
        maxClientFrameBytes: z.number().int().positive().default(4096),
        /** A client whose send buffer exceeds this is conflated (bytes). */
        maxBufferedBytes: z.number().int().positive().default(4 * 1024 * 1024),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8765, maxClientFrameBytes: 4096, maxBufferedBytes: 4 * 1024 * 1024 }),
    api: z
      .object({ host: z.string().default('0.0.0.0'), port: port.default(8080) })
      .strict()
      .default({ host: '0.0.0.0', port: 8080 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Pretty logs; default: when stdout is a TTY. */
        pretty: z.boolean().optional(),
      })
      .strict()
      .default({ level: 'info' }),
    /** Default symbols for venues that do not list their own. */
    symbols: z.array(z.string().min(3)).min(1).default(['BTC/USDT', 'ETH/USDT']),
    venues: z.record(z.string(), venueSchema).default({ bybit: { enabled: true, channels: ['book', 'trades', 'ticker'] }, binance: { enabled: true, channels: ['book', 'trades', 'ticker'] } }),
    /** The documented `exchanges` shape; entries override `venues`. */
    exchanges: z.record(z.string(), exchangeSchema).optional(),
    aggregation: aggregationSchema.default(aggregationSchema.parse({})),
    pyth: pythSchema.default(pythSchema.parse({})),
    monitoring: monitoringSchema.default(monitoringSchema.parse({})),
    transport: z
      .object({
        connectTimeoutMs: z.number().int().positive().default(10000),
        backoffBaseMs: z.number().int().positive().default(500),
        backoffCapMs: z.number().int().positive().default(30000),
        httpTimeoutMs: z.number().int().positive().default(10000),
      })
      .strict()
      .default({ connectTimeoutMs: 10000, backoffBaseMs: 500, backoffCapMs: 30000, httpTimeoutMs: 10000 }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type VenueConfig = z.infer<typeof venueSchema>;
export type PythConfig = z.infer<typeof pythSchema>;

/** Flags the CLI passes in (already parsed; undefined = not given). */
export interface CliOverrides {
  config?: string;
  host?: string;
  port?: number;
  apiHost?: string;
  apiPort?: number;
  logLevel?: string;
  symbols?: string[];
  venues?: string[];
  summaryIntervalMs?: number;
  maxPriceLevels?: number;
  healthCheckIntervalMs?: number;
  quoteGroups?: string[][];
  /** `--pyth-sse-url` / `TRIBUTARY_PYTH_SSE_URL`. */
  pythSseUrl?: string;
  /** `--pyth-feeds` / `TRIBUTARY_PYTH_FEEDS` (comma list of ids or Pyth symbols). */
  pythFeeds?: string[];
  /** `--no-pyth` (false) / `TRIBUTARY_PYTH_ENABLED`. */
  pythEnabled?: boolean;
}

type Json = Record<string, unknown>;

function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? deepMerge(cur as Json, v as Json) : v;
  }
  return out;
}

function intEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new TributaryError('CONFIG_INVALID', `${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

function boolEnv(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new TributaryError('CONFIG_INVALID', `${name} must be true or false, got ${JSON.stringify(v)}`);
}

const list = (v: string | undefined): string[] | undefined =>
  v === undefined || v.trim() === '' ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);

/** `USDT=USD=USDC;EUR=EURC` → [["USDT","USD","USDC"],["EUR","EURC"]]. */
export function parseQuoteGroups(v: string): string[][] {
  return v
    .split(';')
    .map((g) => g.split('=').map((q) => q.trim().toUpperCase()).filter(Boolean))
    .filter((g) => g.length > 0);
}

/** Turns a flat override set (from env or CLI) into a partial config object. */
function overridesToPartial(o: CliOverrides): Json {
  const p: Json = {};
  if (o.host !== undefined || o.port !== undefined) p.server = { host: o.host, port: o.port };
  if (o.apiHost !== undefined || o.apiPort !== undefined) p.api = { host: o.apiHost, port: o.apiPort };
  if (o.logLevel !== undefined) p.log = { level: o.logLevel };
  if (o.symbols !== undefined) p.symbols = o.symbols;
  if (o.summaryIntervalMs !== undefined || o.maxPriceLevels !== undefined || o.quoteGroups !== undefined) {
    p.aggregation = { summary_interval_ms: o.summaryIntervalMs, max_price_levels: o.maxPriceLevels, quote_groups: o.quoteGroups };
  }
  if (o.healthCheckIntervalMs !== undefined) p.monitoring = { health_check_interval_ms: o.healthCheckIntervalMs };
  if (o.pythSseUrl !== undefined || o.pythFeeds !== undefined || o.pythEnabled !== undefined) {
    p.pyth = { sse_url: o.pythSseUrl, feeds: o.pythFeeds, enabled: o.pythEnabled };
  }
  return p;
}

/** Environment variables read (all optional): see README "Configuration". */
export function envOverrides(env: NodeJS.ProcessEnv): CliOverrides {
  return {
    config: env.TRIBUTARY_CONFIG || undefined,
    host: env.TRIBUTARY_HOST || undefined,
    port: intEnv(env, 'TRIBUTARY_PORT'),
    apiHost: env.TRIBUTARY_API_HOST || undefined,
    apiPort: intEnv(env, 'TRIBUTARY_API_PORT'),
    logLevel: env.TRIBUTARY_LOG_LEVEL || undefined,
    symbols: list(env.TRIBUTARY_SYMBOLS),
    venues: list(env.TRIBUTARY_VENUES),
    summaryIntervalMs: intEnv(env, 'TRIBUTARY_SUMMARY_INTERVAL_MS'),
    maxPriceLevels: intEnv(env, 'TRIBUTARY_MAX_PRICE_LEVELS'),
    healthCheckIntervalMs: intEnv(env, 'TRIBUTARY_HEALTH_CHECK_INTERVAL_MS'),
    quoteGroups: env.TRIBUTARY_QUOTE_GROUPS ? parseQuoteGroups(env.TRIBUTARY_QUOTE_GROUPS) : undefined,
    pythSseUrl: env.TRIBUTARY_PYTH_SSE_URL || undefined,
    pythFeeds: list(env.TRIBUTARY_PYTH_FEEDS),
    pythEnabled: boolEnv(env, 'TRIBUTARY_PYTH_ENABLED'),
  };
}

function formatZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Loads the configuration: defaults ← file (`cli.config` or `TRIBUTARY_CONFIG`) ← env ← CLI.
 * @throws TributaryError `CONFIG_INVALID` naming the file and every invalid field.
 */
export function loadConfig(cli: CliOverrides = {}, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  return buildConfig(undefined, cli, env);
}

/**
 * Validates a configuration object in the config-file shape (the library API), then applies env and CLI
 * overrides like `loadConfig`. @throws TributaryError `CONFIG_INVALID` naming every invalid field.
 */
export function configFromObject(obj: Record<string, unknown>, cli: CliOverrides = {}, env: NodeJS.ProcessEnv = {}): Readonly<Config> {
  return buildConfig(obj, cli, env);
}

function buildConfig(obj: Record<string, unknown> | undefined, cli: CliOverrides, env: NodeJS.ProcessEnv): Readonly<Config> {
  const fromEnv = envOverrides(env);
  const file = obj === undefined ? (cli.config ?? fromEnv.config) : undefined;
  let raw: Json = obj ?? {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new TributaryError('CONFIG_INVALID', `cannot read config file ${file}: ${(e as Error).message}`, { file });
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('top level must be an object');
      raw = parsed as Json;
    } catch (e) {
      throw new TributaryError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${(e as Error).message}`, { file });
    }
  }
  let merged = deepMerge(raw, overridesToPartial(fromEnv));
  merged = deepMerge(merged, overridesToPartial(cli));
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new TributaryError('CONFIG_INVALID', `invalid configuration${file ? ` (${file})` : ''}: ${formatZodError(parsed.error)}`, { file });
  }
  // zod returns its `.default()` objects by reference: clone before adjusting and freezing.
  const cfg = structuredClone(parsed.data);
  applyExchanges(cfg, raw.venues !== undefined);
  const only = cli.venues ?? fromEnv.venues;
  if (only) {
    for (const v of only) if (!(v in cfg.venues)) cfg.venues[v] = { enabled: true, channels: ['book', 'trades', 'ticker'] };
    for (const [id, v] of Object.entries(cfg.venues)) v.enabled = only.includes(id);
  }
  return deepFreeze(cfg);
}

/**
 * Maps the documented `exchanges` section onto `venues` (an `exchanges` entry wins over a `venues` entry).
 * When the file lists `exchanges` but no `venues`, the venues it does not list are disabled.
 */
function applyExchanges(cfg: Config, explicitVenues: boolean): void {
  if (!cfg.exchanges) return;
  if (!explicitVenues) for (const [id, v] of Object.entries(cfg.venues)) if (!(id in cfg.exchanges)) v.enabled = false;
  for (const [id, ex] of Object.entries(cfg.exchanges)) {
    const v: VenueConfig = cfg.venues[id] ?? { enabled: true, channels: ['book', 'trades', 'ticker'] };
    v.enabled = ex.enabled;
    if (ex.trading_pairs) v.symbols = ex.trading_pairs;
    if (ex.channels) v.channels = ex.channels;
    if (ex.depth !== undefined) v.depth = ex.depth;
    if (ex.ws_base) v.wsBase = ex.ws_base;
    if (ex.rest_base) v.restBase = ex.rest_base;
    if (ex.rate_limit) v.rateLimit = { requestsPerSecond: ex.rate_limit.requests_per_second, burstSize: ex.rate_limit.burst_size };
    if (ex.taker_fee_bps !== undefined) v.takerFeeBps = ex.taker_fee_bps;
    cfg.venues[id] = v;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Symbols a venue subscribes to: its own list, else the global default. */
export function venueSymbols(cfg: Readonly<Config>, venue: string): readonly string[] {
  return cfg.venues[venue]?.symbols ?? cfg.symbols;
}
