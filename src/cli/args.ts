/**
 * Shared flag parsing of the `tributary` command line: one option table for every command, typed readers for
 * numeric, list and speed flags, and the mapping of flags onto configuration overrides (applied by
 * `src/config`, where flags win over env and env over the file).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SOURCE_ENV_VARS, type CliOverrides } from '../config/index.ts';
import { TributaryError } from '../core/errors.ts';
import { parseSinkSpec, type SinkSpec } from '../sinks/index.ts';
import type { SimulatorSpeed } from '../replay/simulator.ts';

/** The gateway's own flags (`node:util` parseArgs options). */
const BASE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'log-level': { type: 'string' },
  config: { type: 'string' },
  'print-config': { type: 'boolean' },
  symbols: { type: 'string' },
  venues: { type: 'string' },
  speed: { type: 'string' },
  loop: { type: 'string' },
  'sim-port': { type: 'string' },
  'exit-on-end': { type: 'boolean' },
  'dump-books': { type: 'string' },
  'print-summaries': { type: 'boolean' },
  sink: { type: 'string', multiple: true },
  venue: { type: 'string' },
  out: { type: 'string' },
  duration: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

/** A source plug-in's flag: its name without `--`, and its row of the env table. */
const sourceFlags = SOURCE_ENV_VARS.flatMap((e) => (e.flag ? [{ name: e.flag.replace(/^--/, ''), row: e }] : []));

/**
 * Every flag of every command (unknown flags are an error): the gateway's own and those of source plug-ins (from
 * their env rows: a `boolean` row's flag takes no value). Typed as the gateway's own: plug-in flags are read
 * through their rows ({@link overrides}), never by name.
 */
export const OPTIONS: typeof BASE_OPTIONS = {
  ...BASE_OPTIONS,
  ...Object.fromEntries(sourceFlags.map(({ name, row }) => [name, { type: row.type === 'boolean' ? 'boolean' : 'string' }])),
};

/** Parsed flags (strings and booleans as given; undefined when absent). */
export type Values = ReturnType<typeof parse>['values'];

/**
 * Parses `argv` (without node and script): flags into `values`, the command and its FILEs into `positionals`.
 * @throws TypeError (from node:util) for an unknown flag or a missing flag value.
 */
export function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
}

/**
 * A non-negative integer flag (`--port`, `--loop`, …); undefined when absent.
 * @throws TributaryError `CONFIG_INVALID` naming the flag.
 */
export function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new TributaryError('CONFIG_INVALID', `--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * `--speed`: `recorded` (default), `max`, or a positive multiple of the recorded pace.
 * @throws TributaryError `CONFIG_INVALID` for anything else.
 */
export function parseSpeed(v: string | undefined): SimulatorSpeed {
  if (v === undefined || v === 'recorded') return 'recorded';
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new TributaryError('CONFIG_INVALID', `--speed must be recorded, max or a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** A comma-list flag: trimmed, blanks dropped; undefined when absent. */
export function csv(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The configuration overrides the flags give (undefined = not given).
 * @throws TributaryError `CONFIG_INVALID` for a malformed `--port` / `--api-port`.
 */
export function overrides(v: Values): CliOverrides {
  return {
    config: v.config,
    host: v.host,
    port: intFlag('port', v.port),
    apiHost: v['api-host'],
    apiPort: intFlag('api-port', v['api-port']),
    logLevel: v['log-level'],
    symbols: csv(v.symbols),
    venues: csv(v.venues),
    ...sourceFlagOverrides(v),
  };
}

/**
 * The overrides source plug-ins' flags give, under their rows' keys: a `boolean` flag sets false when it is a
 * `--no-…` flag, else true; `list` is a comma list; `integer` a non-negative integer.
 * @throws TributaryError `CONFIG_INVALID` for a malformed integer.
 */
function sourceFlagOverrides(v: Values): Record<string, unknown> {
  const given = v as Readonly<Record<string, string | boolean | undefined>>;
  const out: Record<string, unknown> = {};
  for (const { name, row } of sourceFlags) {
    const x = given[name];
    if (x === undefined || x === false) continue;
    if (row.type === 'boolean') out[row.key] = !name.startsWith('no-');
    else if (row.type === 'list') out[row.key] = csv(String(x));
    else if (row.type === 'integer') out[row.key] = intFlag(name, String(x));
    else out[row.key] = String(x);
  }
  return out;
}

/**
 * `--sink SPEC` (repeatable): the sinks fed by the bus, e.g. `jsonl:DIR`.
 * @throws TributaryError `CONFIG_INVALID` for a bad spec (see `parseSinkSpec`).
 */
export function sinkFlags(v: { sink?: string[] }): SinkSpec[] {
  return (v.sink ?? []).map((s) => parseSinkSpec(s));
}
