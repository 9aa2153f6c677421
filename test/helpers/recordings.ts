import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** `../shared/recordings` next to the repository. */
export const RECORDINGS_DIR = resolve(fileURLToPath(new URL('../../', import.meta.url)), '../shared/recordings');

/**
 * Path of a shared recording, or `undefined` when it is absent on a developer's machine.
 * With `CI=true` a missing recording is a failure, never a skip.
 */
export function recordingPath(name: string): string | undefined {
  const p = resolve(RECORDINGS_DIR, name);
  if (existsSync(p)) return p;
  if (process.env.CI === 'true') throw new Error(`CI=true but the shared recording ${p} is missing`);
  console.warn(`[skip] shared recording ${p} not found: recording-based tests are skipped (they run in CI)`);
  return undefined;
}
