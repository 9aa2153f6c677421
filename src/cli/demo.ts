/**
 * `tributary demo [FILE...]`: `replay` of every shared recording (`../shared/recordings/*.jsonl.gz`: real traffic
 * of each venue, recorded at different times) plus the project's generated oracle fixture, looping, with
 * `config/demo.json`, printing summaries and venue health every few seconds.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../core/errors.ts';
import { ORACLE_DEMO_RECORDINGS } from '../oracles/index.ts';
import type { Values } from './args.ts';

/** The project root (where `config/`, `test/fixtures/` and `../shared/` are found). */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the demo's recordings live, one per venue. */
export const SHARED_RECORDINGS = join(PROJECT_ROOT, '../shared/recordings');
/** The demo's configuration (used unless `--config` / `TRIBUTARY_CONFIG` names another). */
export const DEMO_CONFIG = join(PROJECT_ROOT, 'config/demo.json');
/** Oracle recordings the source plug-ins add (generated fixtures, not captured traffic), from the source registry. */
export const ORACLE_FIXTURES: readonly string[] = ORACLE_DEMO_RECORDINGS.map((f) => join(PROJECT_ROOT, f));

/** The recordings `demo` plays without FILEs: every `*.jsonl.gz` of {@link SHARED_RECORDINGS}, sorted, plus the oracle fixtures. */
export function demoRecordings(): string[] {
  const files = existsSync(SHARED_RECORDINGS) ? readdirSync(SHARED_RECORDINGS).filter((f) => f.endsWith('.jsonl.gz')).sort().map((f) => join(SHARED_RECORDINGS, f)) : [];
  if (files.length > 0) for (const f of ORACLE_FIXTURES) if (existsSync(f)) files.push(f);
  return files;
}

/**
 * Runs the demo on FILEs (default {@link demoRecordings}); `--loop` defaults to 0 (forever).
 * @throws TributaryError `CONFIG_INVALID` when there is nothing to play; what `replay` throws.
 */
export async function demoCommand(files: string[], v: Values): Promise<void> {
  const recordings = files.length > 0 ? files : demoRecordings();
  if (recordings.length === 0) {
    throw new TributaryError('CONFIG_INVALID', `no recordings found in ${SHARED_RECORDINGS}; pass FILE... (make one with: tributary record --venue V --out FILE.jsonl.gz --duration 60)`);
  }
  console.log(
    'note: these are real recordings of each venue, taken at different times (different days; two of them about 20 minutes apart on the same day), ' +
      'not at one moment. Receive times and latencies are replayed on each recording\'s own clock; a consolidated summary reports the ' +
      "venue-time skew of the books it merges, and leaves out (\"lagging\") a venue more than max_quote_age_ms behind the freshest one (the demo allows 30 min).",
  );
  const { replayCommand } = await import('./replay.ts');
  await replayCommand(recordings, v, { defaultConfigFile: DEMO_CONFIG, defaultLoop: 0, printSummaries: true });
}
