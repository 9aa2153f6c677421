/**
 * `replay --exit-on-end --symbols`: symbols no recorded session subscribed to end the run with exit code 2 and a
 * message listing what was recorded; recorded symbols play to the end.
 */
import { describe, expect, it } from 'vitest';
import { recordingPath } from '../helpers/recordings.ts';
import { runCli as run } from '../helpers/cli.ts';

const bybit = recordingPath('bybit.jsonl.gz');


const ARGS = ['--speed', 'max', '--exit-on-end', '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1'];

describe.skipIf(!bybit)('e2e: replay --exit-on-end --symbols', () => {
  it('exits 2 and says what was recorded when no recorded subscription matches', async () => {
    const r = await run(['replay', bybit!, '--symbols', 'NOPE/USDT', ...ARGS]);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err.trim()).toMatch(/^tributary: --symbols NOPE\/USDT matched no recorded subscription \(recorded: bybit .*BTC\/USDT:USDT.*\)$/);
    expect(r.out).not.toContain('replay finished');
  }, 40000);

  it('plays to the end when a symbol was recorded', async () => {
    const r = await run(['replay', bybit!, '--symbols', 'ETH/USDT', ...ARGS]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/replay finished: [1-9]\d* frames, [1-9]\d*\/\d+ books valid/);
  }, 60000);
});
