/**
 * `tributary record` against the venue simulator: the recorder writes the shared recording format, and what
 * it wrote replays through the production pipeline into valid books (record → replay round trip).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { replayDirect } from '../../src/replay/direct.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { getConnector } from '../../src/venues/index.ts';
import { recordingPath } from '../helpers/recordings.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const bybit = recordingPath('bybit.jsonl.gz');

describe.skipIf(!bybit)('e2e: record', () => {
  let sim: Simulator | undefined;
  afterAll(async () => sim?.close());

  it('records a venue session that replays into valid books', async () => {
    sim = await startSimulator({ recordings: [loadRecording(bybit!)], hooks: (v) => getConnector(v)?.replay, speed: 5, loop: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'trib-record-'));
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ venues: { bybit: { wsBase: sim.wsBase('bybit'), restBase: sim.restBase('bybit') } }, log: { level: 'warn' } }));
    const out = join(dir, 'bybit-rec.jsonl.gz');
    const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), 'record', '--venue', 'bybit', '--symbols', 'BTC/USDT:USDT,ETH/USDT', '--out', out, '--duration', '3', '--config', cfg], { cwd: root });
    let text = '';
    child.stdout.on('data', (d) => (text += String(d)));
    child.stderr.on('data', (d) => (text += String(d)));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, text).toBe(0);

    const rec = loadRecording(out);
    expect(rec.header.exchange).toBe('BYBIT');
    const http = rec.records.filter((r) => r.t === 'http');
    expect(http.map((r) => new URL(r.url).searchParams.get('category')).sort()).toEqual(['linear', 'spot']);
    const connects = rec.records.filter((r) => r.t === 'connect').map((r) => new URL(r.addr).pathname).sort();
    expect(connects).toEqual(['/bybit/v5/public/linear', '/bybit/v5/public/spot']);
    const sends = rec.records.filter((r) => r.t === 'send').map((r) => r.data).join('\n');
    expect(sends).toContain('orderbook.200.BTCUSDT');
    const recv = rec.records.filter((r) => r.t === 'recv');
    expect(recv.length).toBeGreaterThan(50);
    expect(recv.some((r) => r.data.includes('"topic":"orderbook.200.ETHUSDT"'))).toBe(true);

    const { runner } = await replayDirect(rec, getConnector('bybit')!);
    const books = Object.fromEntries(runner.sync.books().map((b) => [b.key, b]));
    expect(Object.keys(books).sort()).toEqual(['linear:BTCUSDT', 'spot:ETHUSDT']);
    for (const b of Object.values(books)) {
      expect(b.valid).toBe(true);
      expect(b.stats.gaps).toBe(0);
      expect(b.bids.length).toBeGreaterThan(0);
    }
  }, 40000);
});
