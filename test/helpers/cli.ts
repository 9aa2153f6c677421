/**
 * Running the `tributary` command line as a child process in tests, and local ports for them.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** A local port with nothing listening on it (bound once, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Runs `tributary ARGS...` to its exit; resolves with the exit code and what it printed. */
export function runCli(args: readonly string[], env: Record<string, string> = { TRIBUTARY_LOG_LEVEL: 'silent' }): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/tributary.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  return new Promise((r) => child.on('exit', (code) => r({ code, out, err })));
}
