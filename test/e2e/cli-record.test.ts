/** `record` that receives nothing (venue unreachable) exits with code 1 and says so. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/cli.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));


describe('e2e: record with nothing to record', () => {
  it('exits 1 with a message when 0 frames were recorded', async () => {
    const dead = await closedPort();
    const d = mkdtempSync(join(tmpdir(), 'trib-rec0-'));
    const cfg = join(d, 'config.json');
    writeFileSync(cfg, JSON.stringify({ venues: { bybit: { ws_base: `ws://127.0.0.1:${dead}`, rest_base: `http://127.0.0.1:${dead}` } }, transport: { backoff_base_ms: 50, backoff_cap_ms: 200 }, log: { level: 'silent' } }));
    const out = join(d, 'empty.jsonl.gz');
    const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), 'record', '--venue', 'bybit', '--out', out, '--duration', '1', '--config', cfg], { cwd: root });
    let text = '';
    let err = '';
    child.stdout.on('data', (x) => (text += String(x)));
    child.stderr.on('data', (x) => (err += String(x)));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, text + err).toBe(1);
    expect(text).toContain(`recorded 0 frames from bybit to ${out}`);
    expect(err.trim()).toMatch(/^tributary: nothing was recorded from bybit \(.*\); .* holds no traffic$/);
  }, 30000);
});
