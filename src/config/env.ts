/**
 * The environment variables, in ONE table ({@link ENV_VARS}): the loader reads them from it, `tributary --help`
 * prints {@link renderEnvHelp}, and README's "Environment variables" section is {@link renderEnvMarkdown}
 * (a unit test keeps README equal to it). Each row also names its CLI flag, so CLI overrides are applied through
 * the same table. Source plug-ins add their own rows ({@link SOURCE_ENV_VARS}, from the registry's descriptors).
 */
import { TributaryError } from '../core/errors.ts';
import { SOURCE_PLUGINS } from '../oracles/index.ts';

/** Settings given on the command line (already parsed; undefined = not given). Env values map onto the same keys. */
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
  /** Settings of source plug-ins, under the `key` of their rows in {@link SOURCE_ENV_VARS}. */
  [sourceKey: string]: unknown;
}

/**
 * How a variable's text is read: `string`; `integer`; `boolean` (1/true/yes/on, 0/false/no/off, any case);
 * `list` (comma list); `quote-groups` (`USDT=USD=USDC;EUR=EURC`); `file` (the config file to load);
 * `venue-list` (comma list: only these venues run).
 */
export type EnvType = 'string' | 'integer' | 'boolean' | 'list' | 'quote-groups' | 'file' | 'venue-list';

/** One environment variable. */
export interface EnvVar {
  /** Variable name, e.g. `TRIBUTARY_PORT`. */
  readonly name: string;
  /**
   * Config path it sets (dotted, e.g. `server.port`). `TRIBUTARY_CONFIG` sets none (`''`: it names the file);
   * `TRIBUTARY_VENUES` sets `venues.*.enabled` (listed venues on, the others off).
   */
  readonly path: string;
  readonly type: EnvType;
  /** One line for `--help` and README. */
  readonly description: string;
  /** Its value is a secret: never printed (also not in error messages). */
  readonly secret: boolean;
  /** The {@link CliOverrides} key the value lands on (env and CLI share it; the CLI wins). */
  readonly key: keyof CliOverrides;
  /** The equivalent command-line flag, if any (a boolean's `--no-…` flag is the flag form of its variable set to false). */
  readonly flag?: string;
}

/** The rows source plug-ins add (each descriptor's `envVars`, in registry order). */
export const SOURCE_ENV_VARS: readonly EnvVar[] = SOURCE_PLUGINS.flatMap((d) => d.envVars);

/** Every environment variable Tributary reads (all optional; flags win over env, env over the file). */
export const ENV_VARS: readonly EnvVar[] = [
  { name: 'TRIBUTARY_CONFIG', key: 'config', flag: '--config', path: '', type: 'file', secret: false, description: 'JSON config file to load' },
  { name: 'TRIBUTARY_HOST', key: 'host', flag: '--host', path: 'server.host', type: 'string', secret: false, description: 'WebSocket server interface' },
  { name: 'TRIBUTARY_PORT', key: 'port', flag: '--port', path: 'server.port', type: 'integer', secret: false, description: 'WebSocket server port' },
  { name: 'TRIBUTARY_API_HOST', key: 'apiHost', flag: '--api-host', path: 'api.host', type: 'string', secret: false, description: 'REST API interface' },
  { name: 'TRIBUTARY_API_PORT', key: 'apiPort', flag: '--api-port', path: 'api.port', type: 'integer', secret: false, description: 'REST API port' },
  { name: 'TRIBUTARY_LOG_LEVEL', key: 'logLevel', flag: '--log-level', path: 'log.level', type: 'string', secret: false, description: 'fatal, error, warn, info, debug, trace or silent (any case)' },
  { name: 'TRIBUTARY_SYMBOLS', key: 'symbols', flag: '--symbols', path: 'symbols', type: 'list', secret: false, description: 'default symbols (comma list)' },
  { name: 'TRIBUTARY_VENUES', key: 'venues', flag: '--venues', path: 'venues.*.enabled', type: 'venue-list', secret: false, description: 'only these venues run (comma list)' },
  { name: 'TRIBUTARY_SUMMARY_INTERVAL_MS', key: 'summaryIntervalMs', path: 'aggregation.summary_interval_ms', type: 'integer', secret: false, description: 'at most one summary per symbol per this many ms' },
  { name: 'TRIBUTARY_MAX_PRICE_LEVELS', key: 'maxPriceLevels', path: 'aggregation.max_price_levels', type: 'integer', secret: false, description: 'levels per side in summaries' },
  { name: 'TRIBUTARY_HEALTH_CHECK_INTERVAL_MS', key: 'healthCheckIntervalMs', path: 'monitoring.health_check_interval_ms', type: 'integer', secret: false, description: 'venue health is published this often (ms)' },
  { name: 'TRIBUTARY_QUOTE_GROUPS', key: 'quoteGroups', path: 'aggregation.quote_groups', type: 'quote-groups', secret: false, description: 'quote-currency equivalence, e.g. `USDT=USD=USDC;EUR=EURC`' },
  ...SOURCE_ENV_VARS,
];

const list = (v: string): string[] | undefined => {
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
};

/** `USDT=USD=USDC;EUR=EURC` → [["USDT","USD","USDC"],["EUR","EURC"]] (upper-cased, blanks dropped). */
export function parseQuoteGroups(v: string): string[][] {
  return v
    .split(';')
    .map((g) => g.split('=').map((q) => q.trim().toUpperCase()).filter(Boolean))
    .filter((g) => g.length > 0);
}

/**
 * Reads one variable's text as its {@link EnvType}. Empty text counts as unset.
 * @throws TributaryError `CONFIG_INVALID` naming the variable (and the value, unless secret).
 */
export function parseEnvValue(spec: EnvVar, text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  const got = spec.secret ? '' : `, got ${JSON.stringify(text)}`;
  switch (spec.type) {
    case 'integer': {
      const n = Number(text);
      if (!Number.isInteger(n)) throw new TributaryError('CONFIG_INVALID', `${spec.name} must be an integer${got}`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(text.trim())) return true;
      if (/^(0|false|no|off)$/i.test(text.trim())) return false;
      throw new TributaryError('CONFIG_INVALID', `${spec.name} must be true or false${got}`);
    case 'list':
    case 'venue-list':
      return list(text);
    case 'quote-groups':
      return parseQuoteGroups(text);
    case 'string':
    case 'file':
      return text;
  }
}

/**
 * The overrides the environment gives, read through {@link ENV_VARS}; variables not in the table are ignored.
 * @throws TributaryError `CONFIG_INVALID` for a value of the wrong type.
 */
export function envOverrides(env: Readonly<Record<string, string | undefined>>): CliOverrides {
  const out: Record<string, unknown> = {};
  for (const spec of ENV_VARS) {
    const v = parseEnvValue(spec, env[spec.name]);
    if (v !== undefined) out[spec.key] = v;
  }
  return out as CliOverrides;
}

/** The `Environment` block of `tributary --help`: one line per variable (name, flag, config path, description). */
export function renderEnvHelp(): string {
  const w = Math.max(...ENV_VARS.map((e) => e.name.length)) + 2;
  const lines = ENV_VARS.map((e) => {
    const where = [e.flag, e.path ? `sets ${e.path}` : undefined].filter(Boolean).join('; ');
    return `  ${e.name.padEnd(w)}${e.description.replaceAll('`', '')}${where ? `  [${where}]` : ''}${e.secret ? ' (secret)' : ''}`;
  });
  return ['Environment (flags win over env, env over the config file):', ...lines].join('\n');
}

/** README's environment table (Markdown), exactly as README carries it between its `env-table` markers. */
export function renderEnvMarkdown(): string {
  const rows = ENV_VARS.map((e) => {
    const path = e.path ? `\`${e.path}\`` : '(the file itself)';
    const flag = e.flag ? `\`${e.flag}\`` : '—';
    return `| \`${e.name}\` | ${flag} | ${path} | ${e.type} | ${e.description}${e.secret ? ' (secret: never printed)' : ''} |`;
  });
  return ['| variable | flag | sets | type | what |', '|---|---|---|---|---|', ...rows].join('\n');
}
