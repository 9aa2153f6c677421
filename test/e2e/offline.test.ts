/**
 * `tributary start` with every venue unreachable: the gateway stays up, retries with backoff, and
 * `/health` reports the venues as disconnected (503) instead of crashing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { closedPort } from '../helpers/cli.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));


describe('e2e: start while every venue is unreachable', () => {
  it('keeps running, retries, and reports venues disconnected in /health', async () => {
    const dead = await closedPort();
    const cfgPath = join(mkdtempSync(join(tmpdir(), 'trib-offline-')), 'config.json');
    writeFileSync(
      cfgPath,
      JSON.stringify({
        venues: {
          bybit: { wsBase: `ws://127.0.0.1:${dead}`, restBase: `http://127.0.0.1:${dead}` },
          binance: { wsBase: `ws://127.0.0.1:${dead}`, restBase: `http://127.0.0.1:${dead}` },
        },
        transport: { backoffBaseMs: 50, backoffCapMs: 200 },
      }),
    );
    const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), 'start', '--config', cfgPath, '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1'], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    let exited = false;
    child.on('exit', () => (exited = true));
    try {
      const line = await waitFor(() => out.split('\n').find((l) => l.includes('tributary started')), 15000, `start; output: ${out}`);
      const api = /"api":"(http:\/\/[^"]+)"/.exec(line)![1];
      // Several failed instrument loads later, the process is alive and healthy-but-degraded.
      await waitFor(() => (out.match(/instrument load failed; retrying/g) ?? []).length >= 6, 15000, 'repeated retries');
      const res = await fetch(`${api}/health`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; venues: { venue: string; connected: boolean }[] };
      expect(body.status).toBe('down');
      expect(body.venues.map((v) => [v.venue, v.connected]).sort()).toEqual([['binance', false], ['bybit', false]]);
      expect(exited).toBe(false);
    } finally {
      child.kill('SIGTERM');
      await waitFor(() => exited, 5000, 'exit after SIGTERM');
    }
  }, 40000);
});
