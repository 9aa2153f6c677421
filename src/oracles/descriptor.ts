/**
 * What a source plug-in registers in `index.ts` (the registry): its name, its configuration section (a zod schema
 * that carries the section's defaults), its rows of the environment-variable table with their CLI flags, its
 * `--help` lines, its recording and replay hooks, and how to create it. Shared code (config, CLI, main, the
 * simulator) handles sources only through these descriptors and the registry's functions, never by name.
 */
import type { z } from 'zod';
import type { EventPublisher } from '../core/events.ts';
import type { SourcePlugin } from '../core/plugin.ts';
import type { Http, SseReplayHooks } from '../core/transport-types.ts';
import type { Metrics } from '../obs/metrics.ts';
import type { SseEvent } from '../transport/sse.ts';

/** Raw-traffic taps of source plug-ins (the recorder): every SSE event received. */
export interface SourceTaps {
  onSse?: (connId: string, url: string, ev: SseEvent, tsMs: number) => void;
}

/**
 * One row a plug-in adds to the environment-variable table (`config/env.ts`, same shape): the loader reads the
 * variable, the CLI offers the flag, `--help` and README list both.
 */
export interface SourceEnvVar {
  /** Variable name, e.g. `TRIBUTARY_<SOURCE>_FEEDS`. */
  readonly name: string;
  /** The key the value lands on in the CLI / env overrides (env and CLI share it; the CLI wins). */
  readonly key: string;
  /** The equivalent flag; a `boolean` row's `--no-…` flag sets false, any other boolean flag sets true. */
  readonly flag?: string;
  /** Config path it sets, from the root: `<source name>.<field>`. */
  readonly path: string;
  /** How the text is read (as in `config/env.ts`): `list` is a comma list. */
  readonly type: 'string' | 'integer' | 'boolean' | 'list';
  /** One line for `--help` and README. */
  readonly description: string;
  /** Its value is a secret: never printed. */
  readonly secret: boolean;
}

/** A `tributary --help` line of a plug-in flag: the flag with its argument (`--x-url URL`) and what it does. */
export type SourceFlagHelp = readonly [flag: string, text: string];

/** Every source's config section has `enabled`: unset means as the command decides (`start` on, the library off). */
export interface SourceSection {
  readonly enabled?: boolean | undefined;
}

/** Logger handed to a plug-in (pino fits). */
export interface SourceLog {
  child(bindings: object): unknown;
  info(o: object, m?: string): void;
}

/** Transport settings from the configuration (ms). */
export interface SourceTransportSettings {
  readonly connectTimeoutMs?: number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly httpTimeoutMs?: number;
}

/** What {@link SourcePluginDescriptor.create} gets. */
export interface SourceCreateContext<C> {
  /** The plug-in's own config section, parsed by its schema (defaults filled in). */
  readonly config: C;
  /** Endpoint overrides (the simulator, the recorder), as the plug-in's recording hooks made them; undefined: the config's. */
  readonly override: Readonly<Record<string, unknown>> | undefined;
  readonly bus: EventPublisher;
  readonly log: SourceLog;
  readonly metrics?: Metrics;
  readonly transport: SourceTransportSettings;
  /** HTTP client to use (tests, the recorder); default: the plug-in makes its own. */
  readonly http?: Http;
  readonly taps?: SourceTaps;
}

/** How a source records its traffic and is replayed from a recording (the recording header's `exchange` is its name). */
export interface SourceRecordingHooks<C> {
  /** The simulator's hooks for the source's SSE records. */
  readonly sseHooks?: SseReplayHooks;
  /** Feed ids a recorded stream request (its URL) asked for; the replayed source streams those. */
  feedsOf?(streamUrl: URL): Iterable<string>;
  /** The endpoint override that points the source at the simulator (`simBase`: its base URL for this source). */
  replayOverride(simBase: string, feeds: readonly string[]): Record<string, unknown>;
  /** `record`: the override the recorded source runs with, request headers of its HTTP client, header fields. */
  record(config: C): { override: Record<string, unknown>; headers?: Readonly<Record<string, string>>; meta: Record<string, unknown> };
  /** Recordings `demo` adds (paths from the project root), e.g. a generated fixture. */
  readonly demo?: readonly string[];
}

/**
 * A source plug-in as registered. `N` is its name (lower case: the config section, the recording's `exchange`, the
 * `venue` of its feeds); `S` its section's schema.
 */
export interface SourcePluginDescriptor<N extends string = string, S extends z.ZodType<SourceSection> = z.ZodType<SourceSection>> {
  readonly name: N;
  /** The section's schema with its defaults (config adds it as `<name>: schema.prefault({})`). */
  readonly configSchema: S;
  /** Its rows of the environment-variable table (with their CLI flags). */
  readonly envVars: readonly SourceEnvVar[];
  /** `--help` lines of its flags, given the section in effect (for the defaults). */
  flagHelp?(config: z.output<S>): readonly SourceFlagHelp[];
  readonly recording?: SourceRecordingHooks<z.output<S>>;
  /** The plug-in. @throws TributaryError `CONFIG_INVALID`. */
  create(ctx: SourceCreateContext<z.output<S>>): SourcePlugin;
}
