/**
 * The source registry: oracle sources (not venues: they publish reference prices, not books, over their own
 * transports). Today: Pyth Hermes (`pyth/`). Each registers a {@link SourcePluginDescriptor} (`descriptor.ts`):
 * `src/config` composes the config schema and the env table from {@link SOURCE_PLUGINS}, the CLI its flags and help,
 * and shared code (main, CLI, simulator) builds, records and replays sources through the functions here, without
 * naming one.
 */
import { TributaryError } from '../core/errors.ts';
import type { SourcePlugin } from '../core/plugin.ts';
import type { SseReplayHooks } from '../core/transport-types.ts';
import type { SourceCreateContext, SourceFlagHelp, SourcePluginDescriptor, SourceSection } from './descriptor.ts';
import { pythPlugin } from './pyth/plugin.ts';

export type { SourceCreateContext, SourceEnvVar, SourceFlagHelp, SourcePluginDescriptor, SourceSection, SourceTaps } from './descriptor.ts';

/** Every source plug-in, in config-section and env-table order (a tuple, so `src/config` types each section). */
export const SOURCE_PLUGINS = [pythPlugin] as const;

/** The descriptors without their section types, for code that handles any source. */
const ALL: readonly SourcePluginDescriptor[] = SOURCE_PLUGINS;

/** Oracle source ids (the recording header's `exchange`, lower case). */
export const ORACLE_SOURCES: readonly string[] = ALL.map((d) => d.name);

function descriptorOf(id: string): SourcePluginDescriptor | undefined {
  return ALL.find((d) => d.name === id);
}

/** True when a recording's source id is an oracle (served over SSE by the simulator, run by the gateway's oracle source). */
export function isOracleSource(id: string): boolean {
  return descriptorOf(id) !== undefined;
}

/** The simulator's SSE hooks of an oracle source, or undefined. */
export function oracleSseHooks(id: string): SseReplayHooks | undefined {
  return descriptorOf(id)?.recording?.sseHooks;
}

/** The feed ids the recorded stream requests (`sse` records' URLs) of source `id` asked for, canonical. */
export function oracleRecordedFeeds(id: string, streamUrls: Iterable<string>): string[] {
  const feedsOf = descriptorOf(id)?.recording?.feedsOf;
  const out = new Set<string>();
  if (feedsOf) for (const u of streamUrls) for (const f of feedsOf(new URL(u))) out.add(f);
  return [...out];
}

/** The source override that points source `id` at the simulator (`simBase`: the simulator's base URL for it). */
export function oracleReplayOverride(id: string, simBase: string, feeds: readonly string[]): Record<string, unknown> {
  const rec = descriptorOf(id)?.recording;
  return rec ? rec.replayOverride(simBase, feeds) : { restBase: simBase };
}

/**
 * How `record` runs source `id` with its config `section`: the source override, the request headers of the HTTP
 * client, and fields for the recording header. @throws TributaryError `CONFIG_INVALID` for an unknown source or section.
 */
export function oracleRecordSettings(id: string, section: unknown): { override: Record<string, unknown>; headers?: Readonly<Record<string, string>>; meta: Record<string, unknown> } {
  const d = descriptorOf(id);
  if (!d?.recording) throw new TributaryError('CONFIG_INVALID', `source ${JSON.stringify(id)} cannot be recorded`);
  return d.recording.record(parseSection(d, section));
}

/** Recordings `demo` adds (paths from the project root). */
export const ORACLE_DEMO_RECORDINGS: readonly string[] = ALL.flatMap((d) => d.recording?.demo ?? []);

/** `--help` lines of every source's flags, with the defaults of the sections in `sections` (by source name). */
export function sourceFlagHelp(sections: Readonly<Record<string, unknown>>): SourceFlagHelp[] {
  return ALL.flatMap((d) => [...(d.flagHelp?.(parseSection(d, sections[d.name])) ?? [])]);
}

/** A section parsed by its plug-in's schema (absent: the defaults). @throws TributaryError `CONFIG_INVALID`. */
function parseSection(d: SourcePluginDescriptor, section: unknown): SourceSection {
  const r = d.configSchema.safeParse(section ?? {});
  if (!r.success) {
    const why = r.error.issues.map((i) => `${[d.name, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
    throw new TributaryError('CONFIG_INVALID', `invalid configuration: ${why}`);
  }
  return r.data;
}

/** What {@link buildSourcePlugins} needs. */
export interface SourcePluginContext extends Omit<SourceCreateContext<unknown>, 'config' | 'override'> {
  /** Each source's config section by source name (as loaded; each is parsed again by its plug-in's schema). */
  readonly sections: Readonly<Record<string, unknown>>;
  /** Per-source overrides: `false` = off; an object = on with those endpoint overrides (see the recording hooks). */
  readonly overrides: Readonly<Record<string, false | Record<string, unknown>>>;
  /** Whether a source whose config leaves `enabled` unset runs. */
  readonly byDefault: boolean;
}

/** Builds the enabled source plug-ins from their config sections and the overrides. @throws TributaryError `CONFIG_INVALID`. */
export function buildSourcePlugins(ctx: SourcePluginContext): SourcePlugin[] {
  const out: SourcePlugin[] = [];
  const { sections, overrides, byDefault, ...rest } = ctx;
  for (const d of ALL) {
    const override = overrides[d.name];
    if (override === false) continue;
    const config = parseSection(d, sections[d.name]);
    if (override === undefined && !(config.enabled ?? byDefault)) continue;
    out.push(d.create({ ...rest, config, override }));
  }
  return out;
}
