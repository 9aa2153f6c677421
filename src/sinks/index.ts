/**
 * Sinks: the public entry point (`--sink` specs, the sink interface, the runner, the JSON-lines sink).
 *
 * Wiring, for the composition root / CLI:
 * ```ts
 * const spec = parseSinkSpec('jsonl:/var/lib/tributary/events?max_bytes=256m');   // throws CONFIG_INVALID
 * const runner = await runSink(bus, spec.create(), { ...spec.run, log });        // rejects CONFIG_INVALID (bad dir)
 * metrics: createMetrics({ beforeCollect: () => copySinkMetrics(metrics, runners) });
 * health:  runner.health();   shutdown: await runner.stop();   // writes what is queued, then closes
 * ```
 */
import { TOPICS, type Topic } from '../core/events.ts';
import { TributaryError } from '../core/errors.ts';
import { JsonlSink, type JsonlSinkOptions } from './jsonl.ts';
import type { RunSinkOptions } from './runner.ts';
import type { Sink } from './sink.ts';

export type { Sink, SinkHealth, SinkRunnerHealth, SinkState } from './sink.ts';
export { runSink, type RunSinkOptions, type SinkLogger, type SinkRunner, type SinkTopicCounters } from './runner.ts';
export { copySinkMetrics, type SinkCounterSource } from './metrics.ts';
export {
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_BYTES,
  JsonlSink,
  isJsonlFileName,
  jsonlFileName,
  listJsonlFiles,
  readJsonlFile,
  type JsonlFileInfo,
  type JsonlRecord,
  type JsonlSinkOptions,
} from './jsonl.ts';

/** Sink kinds a spec may name (RabbitMQ, PostgreSQL, Redis, NATS come later). */
export const SINK_KINDS = ['jsonl'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** A parsed `--sink` spec: what it names, and how to build and run it. */
export interface SinkSpec {
  readonly kind: SinkKind;
  /** The spec as given. */
  readonly spec: string;
  /** JSON lines: the sink options (directory, rotation, name). */
  readonly options: JsonlSinkOptions;
  /** Runner options taken from the spec (`topics`, `capacity`); spread them into {@link runSink}'s options. */
  readonly run: Pick<RunSinkOptions, 'topics' | 'capacity'>;
  /** A new, not yet started sink (each call builds another one). */
  create(): Sink;
}

/** Usage text of the `--sink` option (CLI help). */
export const SINK_SPEC_HELP =
  'jsonl:DIR[?max_bytes=N[k|m|g]&max_age_ms=MS&topics=T1,T2&capacity=N&name=NAME]  ' +
  'JSON-lines files events-<UTC time>-<n>.jsonl in DIR, rotated at max_bytes (default 64m, binary units) or max_age_ms (default 3600000)';

const UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/**
 * Parses a sink spec: `jsonl:DIR`, optionally followed by `?key=value&...`:
 * - `max_bytes`: rotation size, bytes, an integer ≥ 1 with an optional binary unit `k`, `m`, `g` (`kib`, `mib`,
 *   `gib` and `kb`, `mb`, `gb` mean the same: 1024-based), default 64 MiB;
 * - `max_age_ms`: rotation age, ms, integer ≥ 1, default 3 600 000 (1 h);
 * - `topics`: comma-separated topics to record (default all, see `TOPICS` of `core/events.ts`);
 * - `capacity`: bus queue capacity, events, integer ≥ 1 (default 10 000);
 * - `name`: sink name (metrics label `sink`, default `jsonl`); `[A-Za-z0-9_.-]+`.
 * `DIR` is a file-system path (relative to the working directory, or absolute), taken up to the first `?`;
 * option values are URL-decoded.
 *
 * @throws TributaryError `CONFIG_INVALID` naming the problem: unknown kind, empty directory, unknown or repeated
 *         option, bad number, unknown topic.
 */
export function parseSinkSpec(spec: string): SinkSpec {
  const bad = (why: string): never => {
    throw new TributaryError('CONFIG_INVALID', `invalid sink spec "${spec}": ${why} (expected ${SINK_SPEC_HELP.split('  ')[0]})`, { spec });
  };
  const colon = spec.indexOf(':');
  if (colon <= 0) bad('missing "<kind>:" prefix');
  const kind = spec.slice(0, colon);
  if (!(SINK_KINDS as readonly string[]).includes(kind)) bad(`unknown sink kind "${kind}" (supported: ${SINK_KINDS.join(', ')})`);
  const rest = spec.slice(colon + 1);
  const q = rest.indexOf('?');
  const dir = q < 0 ? rest : rest.slice(0, q);
  if (dir.trim() === '') bad('empty directory');

  const params = new Map<string, string>();
  if (q >= 0 && q < rest.length - 1) {
    for (const part of rest.slice(q + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const rawKey = eq < 0 ? part : part.slice(0, eq);
      let key: string;
      let value: string;
      try {
        key = decodeURIComponent(rawKey);
        value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
      } catch {
        return bad(`bad URL encoding in "${part}"`);
      }
      if (params.has(key)) bad(`option "${key}" given twice`);
      params.set(key, value);
    }
  }

  const int = (key: string, v: string): number => {
    if (!/^\d+$/.test(v)) bad(`${key} must be an integer ≥ 1, got "${v}"`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) bad(`${key} must be an integer ≥ 1, got "${v}"`);
    return n;
  };

  let maxBytes: number | undefined;
  let maxAgeMs: number | undefined;
  let topics: Topic[] | undefined;
  let capacity: number | undefined;
  let name: string | undefined;
  for (const [key, v] of params) {
    switch (key) {
      case 'max_bytes': {
        const m = /^(\d+)\s*([a-z]*)$/i.exec(v);
        const unit = m?.[2].toLowerCase();
        if (!m || unit === undefined || !(unit in UNITS)) return bad(`max_bytes must be an integer with an optional unit k, m or g, got "${v}"`);
        maxBytes = int(key, m[1]) * UNITS[unit];
        if (!Number.isSafeInteger(maxBytes)) bad(`max_bytes too large: "${v}"`);
        break;
      }
      case 'max_age_ms':
        maxAgeMs = int(key, v);
        break;
      case 'capacity':
        capacity = int(key, v);
        break;
      case 'topics': {
        const list = v.split(',').map((t) => t.trim()).filter((t) => t !== '');
        if (list.length === 0) bad('topics is empty');
        const unknown = list.filter((t) => !(TOPICS as readonly string[]).includes(t));
        if (unknown.length > 0) bad(`unknown topic(s) ${unknown.join(', ')} (topics: ${TOPICS.join(', ')})`);
        topics = [...new Set(list)] as Topic[];
        break;
      }
      case 'name':
        if (!/^[A-Za-z0-9_.-]+$/.test(v)) bad(`name must match [A-Za-z0-9_.-]+, got "${v}"`);
        name = v;
        break;
      default:
        bad(`unknown option "${key}" (options: max_bytes, max_age_ms, topics, capacity, name)`);
    }
  }

  const options: JsonlSinkOptions = {
    dir,
    ...(name !== undefined && { name }),
    ...(maxBytes !== undefined && { maxBytes }),
    ...(maxAgeMs !== undefined && { maxAgeMs }),
  };
  return {
    kind: 'jsonl',
    spec,
    options,
    run: { ...(topics !== undefined && { topics }), ...(capacity !== undefined && { capacity }) },
    create: () => new JsonlSink(options),
  };
}
