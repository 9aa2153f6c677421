/**
 * Loading: schema defaults ← JSON file (or library object) ← environment ← CLI flags, validated once, frozen.
 * Environment variables and flags are applied through the one table in `env.ts`.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { TributaryError } from '../core/errors.ts';
import { ENV_VARS, envOverrides, type CliOverrides } from './env.ts';
import { normalizeLegacyKeys } from './legacy.ts';
import { DEFAULT_VENUE_IDS, SOURCE_SECTION_NAMES, VENUE_CHANNELS, configSchema, type ParsedConfig, type VenueEntry } from './schema.ts';

/** One venue's resolved settings (defaults applied, `trading_pairs` folded into `symbols`). */
export type VenueConfig = Omit<VenueEntry, 'trading_pairs' | 'enabled' | 'channels'> & {
  enabled: boolean;
  channels: (typeof VENUE_CHANNELS)[number][];
};

/** The loaded configuration: the file shape in snake_case (one casing) with `exchanges` merged into `venues`. */
export type Config = Omit<ParsedConfig, 'venues' | 'exchanges'> & {
  venues: Record<string, VenueConfig>;
};

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isObj(v) && isObj(cur) ? deepMerge(cur, v) : v;
  }
  return out;
}

function setPath(o: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) {
    if (!isObj(cur[p])) cur[p] = {};
    cur = cur[p] as Json;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Turns an override set (from env or CLI) into a partial config object, through the env table's paths. */
function overridesToPartial(o: CliOverrides): Json {
  const p: Json = {};
  for (const spec of ENV_VARS) {
    const v = o[spec.key];
    if (v === undefined || spec.type === 'file' || spec.type === 'venue-list') continue;
    setPath(p, spec.path, v);
  }
  return p;
}

function formatZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Loads the configuration: defaults ← file (`cli.config`, else `TRIBUTARY_CONFIG`) ← env ← CLI.
 * @param cli flags already parsed by the CLI (undefined fields = not given)
 * @param env the environment (default `process.env`; tests pass their own)
 * @returns the frozen configuration
 * @throws TributaryError `CONFIG_INVALID` naming the file and every invalid field.
 */
export function loadConfig(cli: CliOverrides = {}, env: Readonly<Record<string, string | undefined>> = process.env): Readonly<Config> {
  return buildConfig(undefined, cli, env);
}

/**
 * Validates a configuration object in the config-file shape (the library API), then applies env and CLI
 * overrides like {@link loadConfig} (no env by default). @throws TributaryError `CONFIG_INVALID` naming every invalid field.
 */
export function configFromObject(obj: Record<string, unknown>, cli: CliOverrides = {}, env: Readonly<Record<string, string | undefined>> = {}): Readonly<Config> {
  return buildConfig(obj, cli, env);
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `cannot read config file ${file}: ${(e as Error).message}`, { file });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObj(parsed)) throw new Error('top level must be an object');
    return parsed;
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
}

function buildConfig(obj: Record<string, unknown> | undefined, cli: CliOverrides, env: Readonly<Record<string, string | undefined>>): Readonly<Config> {
  const fromEnv = envOverrides(env);
  const file = obj === undefined ? (cli.config ?? fromEnv.config) : undefined;
  let raw: Json;
  try {
    raw = normalizeLegacyKeys(file ? readConfigFile(file) : (obj ?? {}));
  } catch (e) {
    if (e instanceof TributaryError && file && !e.message.includes(file)) throw new TributaryError(e.code, `invalid configuration (${file}): ${e.message}`, { file });
    throw e;
  }
  const merged = deepMerge(deepMerge(raw, overridesToPartial(fromEnv)), overridesToPartial(cli));
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new TributaryError('CONFIG_INVALID', `invalid configuration${file ? ` (${file})` : ''}: ${formatZodError(parsed.error)}`, { file });
  }
  // zod may hand out its default values by reference: clone before adjusting and freezing.
  const { venues: _v, exchanges: _e, ...rest } = structuredClone(parsed.data);
  const cfg = { ...rest, venues: resolveVenues(parsed.data) } as Config;
  const only = cli.venues ?? fromEnv.venues;
  if (only) {
    for (const v of only) if (!(v in cfg.venues)) cfg.venues[v] = venueDefaults();
    for (const [id, v] of Object.entries(cfg.venues)) v.enabled = only.includes(id);
  }
  return deepFreeze(cfg);
}

/** The defaults of a venue entry (defined here only): enabled, every channel. */
function venueDefaults(): VenueConfig {
  return { enabled: true, channels: [...VENUE_CHANNELS] };
}

/** A parsed entry with the defaults applied and `trading_pairs` folded into `symbols`. */
function resolveEntry(e: VenueEntry | undefined, base: VenueConfig = venueDefaults()): VenueConfig {
  if (!e) return base;
  const { trading_pairs, ...rest } = structuredClone(e);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (trading_pairs) out.symbols = trading_pairs;
  return out as unknown as VenueConfig;
}

/**
 * The effective venues: `venues` (default {@link DEFAULT_VENUE_IDS} when neither section is given), then each
 * `exchanges` entry laid over the `venues` entry of the same id field by field. When the file lists `exchanges`
 * but no `venues`, the default venues it does not list are disabled.
 */
function resolveVenues(p: ParsedConfig): Record<string, VenueConfig> {
  const out: Record<string, VenueConfig> = {};
  if (p.venues) {
    for (const [id, e] of Object.entries(p.venues)) out[id] = resolveEntry(e);
  } else {
    for (const id of DEFAULT_VENUE_IDS) out[id] = venueDefaults();
    if (p.exchanges) for (const v of Object.values(out)) v.enabled = false;
  }
  for (const [id, e] of Object.entries(p.exchanges ?? {})) out[id] = resolveEntry({ enabled: true, ...e }, out[id] ?? venueDefaults());
  return out;
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

/** Ids of the venues the configuration enables (what `start` runs), in configuration order. */
export function enabledVenues(cfg: Readonly<Config>): string[] {
  return Object.entries(cfg.venues).filter(([, v]) => v.enabled).map(([id]) => id);
}

/** The config sections of the source plug-ins, by source name (each plug-in parses its own with its schema). */
export function sourceSections(cfg: Readonly<Config>): Readonly<Record<string, unknown>> {
  const all = cfg as unknown as Readonly<Record<string, unknown>>;
  return Object.fromEntries(SOURCE_SECTION_NAMES.map((name) => [name, all[name]]));
}
