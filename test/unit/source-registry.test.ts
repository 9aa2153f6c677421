/**
 * The source registry (`src/oracles/index.ts`): every folder under `src/oracles/` is registered under its name, and
 * what the descriptors declare reaches shared code without it naming a source: config sections and env rows
 * (`src/config`), CLI flags and help (`src/cli`), building, recording and replaying (`buildSourcePlugins`, the
 * `oracle*` functions).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OPTIONS, overrides, parse } from '../../src/cli/args.ts';
import { helpText } from '../../src/cli/index.ts';
import { ENV_VARS, SOURCE_ENV_VARS, SOURCE_SECTION_NAMES, configFromObject, sourceSections } from '../../src/config/index.ts';
import {
  ORACLE_SOURCES,
  SOURCE_PLUGINS,
  buildSourcePlugins,
  isOracleSource,
  oracleRecordSettings,
  oracleRecordedFeeds,
  oracleReplayOverride,
  oracleSseHooks,
  sourceFlagHelp,
  type SourcePluginContext,
} from '../../src/oracles/index.ts';

const ORACLES_DIR = fileURLToPath(new URL('../../src/oracles/', import.meta.url));
const folders = readdirSync(ORACLES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const BTC = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
const silent = { child: () => silent, info: () => {}, warn: () => {}, debug: () => {}, error: () => {} };

function ctx(sections: Record<string, unknown>, more: Partial<SourcePluginContext> = {}): SourcePluginContext {
  return { sections, overrides: {}, byDefault: false, bus: { publish: () => {}, has: () => false }, log: silent, transport: {}, ...more };
}

describe('source registry', () => {
  it('registers every folder under src/oracles/ under its name, and nothing else', () => {
    expect([...ORACLE_SOURCES].sort()).toEqual(folders);
    for (const id of ORACLE_SOURCES) expect(isOracleSource(id)).toBe(true);
    expect(isOracleSource('bybit')).toBe(false);
  });

  it('gives every source a config section with its defaults, and its env rows and flags', () => {
    const d = configFromObject({});
    expect([...SOURCE_SECTION_NAMES]).toEqual(SOURCE_PLUGINS.map((p) => p.name));
    const sections = sourceSections(d);
    for (const p of SOURCE_PLUGINS) {
      expect(sections[p.name]).toEqual(p.configSchema.parse({}));
      for (const row of p.envVars) {
        expect(ENV_VARS).toContainEqual(row);
        expect(row.path.startsWith(`${p.name}.`)).toBe(true);
        if (row.flag) expect(Object.keys(OPTIONS)).toContain(row.flag.slice(2));
      }
    }
    expect(ENV_VARS.slice(-SOURCE_ENV_VARS.length)).toEqual(SOURCE_ENV_VARS);
    const help = helpText();
    for (const [flag, text] of sourceFlagHelp(sections)) expect(help).toContain(`  ${flag.padEnd(23)}${text}`);
  });

  it('maps source flags onto their rows: values, comma lists, and `--no-…` as false', () => {
    for (const row of SOURCE_ENV_VARS.filter((r) => r.flag)) {
      const flag = row.flag!;
      const argv = row.type === 'boolean' ? [flag] : [flag, row.type === 'list' ? 'a, b' : row.type === 'integer' ? '7' : 'x'];
      const want = row.type === 'boolean' ? !flag.startsWith('--no-') : row.type === 'list' ? ['a', 'b'] : row.type === 'integer' ? 7 : 'x';
      expect(overrides(parse(['start', ...argv]).values)[row.key]).toEqual(want);
    }
  });

  it('builds a source when its section or an override turns it on, not otherwise', () => {
    for (const name of ORACLE_SOURCES) {
      expect(buildSourcePlugins(ctx({}))).toEqual([]);
      expect(buildSourcePlugins(ctx({}, { byDefault: true, overrides: { [name]: false } }))).toEqual([]);
      expect(buildSourcePlugins(ctx({ [name]: { enabled: false } }, { byDefault: true }))).toEqual([]);
      expect(buildSourcePlugins(ctx({ [name]: { enabled: true } })).map((s) => s.name)).toEqual([name]);
      expect(buildSourcePlugins(ctx({}, { overrides: { [name]: {} } })).map((s) => s.name)).toEqual([name]);
      expect(() => buildSourcePlugins(ctx({ [name]: { enabled: 'yes' } }))).toThrow(new RegExp(`${name}\\.enabled`));
    }
  });

  it('records and replays a source through its hooks', () => {
    const [name] = ORACLE_SOURCES;
    const sim = 'http://127.0.0.1:9/x';
    const section = sourceSections(configFromObject({}))[name!];
    const rec = oracleRecordSettings(name!, section);
    expect(rec.override).toBeTypeOf('object');
    expect(rec.meta).toBeTypeOf('object');
    const override = oracleReplayOverride(name!, sim, [BTC]);
    expect(override).toMatchObject({ restBase: sim, feeds: [BTC] });
    expect(oracleReplayOverride(name!, sim, [])).not.toHaveProperty('feeds');
    expect(oracleSseHooks(name!)).toBeDefined();
    expect(oracleRecordedFeeds(name!, [`${String(override.sseUrl)}?ids[]=${BTC.slice(2)}`, `${sim}?ids[]=nope`])).toEqual([BTC]);
    expect(() => oracleRecordSettings('nope', {})).toThrow(/cannot be recorded/);
  });
});
