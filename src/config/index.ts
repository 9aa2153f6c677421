/**
 * Configuration: defaults ← JSON file ← environment ← CLI flags, validated once and frozen.
 * Nothing outside `src/config/` reads `process.env`; each module gets only its slice.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TributaryError } from '../core/errors.ts';

const channel = z.enum(['book', 'trades', 'ticker']);

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
  })
  .strict();

const port = z.number().int().min(0).max(65535);

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

const list = (v: string | undefined): string[] | undefined =>
  v === undefined || v.trim() === '' ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);

/** Turns a flat override set (from env or CLI) into a partial config object. */
function overridesToPartial(o: CliOverrides): Json {
  const p: Json = {};
  if (o.host !== undefined || o.port !== undefined) p.server = { host: o.host, port: o.port };
  if (o.apiHost !== undefined || o.apiPort !== undefined) p.api = { host: o.apiHost, port: o.apiPort };
  if (o.logLevel !== undefined) p.log = { level: o.logLevel };
  if (o.symbols !== undefined) p.symbols = o.symbols;
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
  const fromEnv = envOverrides(env);
  const file = cli.config ?? fromEnv.config;
  let raw: Json = {};
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
  const cfg = parsed.data;
  const only = cli.venues ?? fromEnv.venues;
  if (only) {
    for (const v of only) if (!(v in cfg.venues)) cfg.venues[v] = { enabled: true, channels: ['book', 'trades', 'ticker'] };
    for (const [id, v] of Object.entries(cfg.venues)) v.enabled = only.includes(id);
  }
  return deepFreeze(cfg);
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
