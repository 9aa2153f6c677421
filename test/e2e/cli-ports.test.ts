/**
 * A busy port: `start`, `replay` and `demo` exit with code 2 and one line naming the port and the flag that
 * changes it (`--port`, `--api-port`, `--sim-port`), without a stack trace.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingPath } from '../helpers/recordings.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const bybit = recordingPath('bybit.jsonl.gz');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), ...args], { cwd: root, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((r) => child.on('exit', (code) => r({ code, stdout, stderr })));
}

const LOCAL = ['--host', '127.0.0.1', '--api-host', '127.0.0.1'];

describe('e2e: a busy port', () => {
  let blocker: Server;
  let busy = 0;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    busy = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => new Promise((r) => blocker.close(r)));

  function expectOneLine(res: { code: number | null; stdout: string; stderr: string }, flag: string) {
    const all = `${res.stdout}\n${res.stderr}`;
    expect(res.code, all).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines, all).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^tributary: port ${busy} is already in use \\(.*\\); choose another with ${flag} N$`));
    expect(all).not.toMatch(/^\s+at /m);
  }

  it('start --port', async () => {
    expectOneLine(await run(['start', '--port', String(busy), '--api-port', '0', ...LOCAL, '--venues', 'bybit', '--no-pyth']), '--port');
  });

  it('start --api-port', async () => {
    expectOneLine(await run(['start', '--port', '0', '--api-port', String(busy), ...LOCAL, '--venues', 'bybit', '--no-pyth']), '--api-port');
  });

  it.skipIf(!bybit)('replay --port and --sim-port', async () => {
    expectOneLine(await run(['replay', bybit!, '--port', String(busy), '--api-port', '0', ...LOCAL]), '--port');
    expectOneLine(await run(['replay', bybit!, '--sim-port', String(busy), '--port', '0', '--api-port', '0', ...LOCAL]), '--sim-port');
  }, 40000);

  it.skipIf(!bybit)('demo --api-port', async () => {
    expectOneLine(await run(['demo', '--port', '0', '--api-port', String(busy), ...LOCAL]), '--api-port');
  }, 40000);
});
