/**
 * `start --log-level DEBUG` (any case) with a seed-shaped config carrying `api_key` / `api_secret`: the gateway
 * starts, logs its configuration at debug, and no secret appears anywhere in its output.
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


describe('e2e: secrets are never logged', () => {
  it('logs the configuration at debug with api_key / api_secret redacted', async () => {
    const dead = await closedPort();
    const cfg = join(mkdtempSync(join(tmpdir(), 'trib-secret-')), 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        exchanges: { bybit: { trading_pairs: ['BTC/USDT'], api_key: 'AKIA-LOGGED-KEY', api_secret: 'LOGGED-SECRET', ws_base: `ws://127.0.0.1:${dead}`, rest_base: `http://127.0.0.1:${dead}` } },
        transport: { backoff_base_ms: 50, backoff_cap_ms: 200 },
      }),
    );
    const args = ['start', '--config', cfg, '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1', '--no-pyth', '--log-level', 'DEBUG'];
    const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), ...args], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await waitFor(() => out.includes('tributary started'), 15000, `start; output: ${out}`);
      const line = out.split('\n').find((l) => l.includes('"msg":"configuration"'));
      expect(line, out).toBeDefined();
      expect(JSON.parse(line!).config.venues.bybit).toMatchObject({ api_key: '[redacted]', api_secret: '[redacted]', symbols: ['BTC/USDT'] });
      expect(out).not.toContain('AKIA-LOGGED-KEY');
      expect(out).not.toContain('LOGGED-SECRET');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 30000);
});
