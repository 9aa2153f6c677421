/**
 * Runs the venue simulator in a child process (see `sim-worker.ts`) and exposes the part of the
 * {@link Simulator} interface `replay` needs. A separate process gives the simulator its own core and heap,
 * so the gateway's CPU and memory figures are its own.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../core/errors.ts';
import type { SimWorkerData } from './sim-worker.ts';

/** A simulator running in its own process. */
export interface SimulatorThread {
  readonly port: number;
  readonly venues: readonly string[];
  wsBase(venue: string): string;
  restBase(venue: string): string;
  /** Resolves when every streaming client has been served all its loops (never with loop 0). */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

interface ChildMessage {
  type: 'ready' | 'ended' | 'error';
  port: number;
  venues: string[];
  bases: Record<string, { ws: string; rest: string }>;
  message: string;
  code?: string;
}

/**
 * Starts the simulator on `data.files` in a child process.
 * @throws TributaryError `RECORDING_INVALID` / `CONFIG_INVALID` as the simulator would.
 */
export function startSimulatorThread(data: SimWorkerData): Promise<SimulatorThread> {
  const child = fork(fileURLToPath(new URL('./worker-boot.mjs', import.meta.url)), [JSON.stringify(data)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(e));
    child.once('exit', (code) => reject(new TributaryError('CONFIG_INVALID', `simulator exited early (code ${code})`)));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'error') {
        reject(new TributaryError(m.code === 'RECORDING_INVALID' ? 'RECORDING_INVALID' : 'CONFIG_INVALID', m.message));
      } else if (m.type === 'ended') {
        endedResolve();
      } else if (m.type === 'ready') {
        const base = (kind: 'ws' | 'rest', venue: string) => {
          const b = m.bases[venue];
          if (!b) throw new TributaryError('CONFIG_INVALID', `simulator: unknown venue ${venue}`);
          return b[kind];
        };
        resolve({
          port: m.port,
          venues: m.venues,
          wsBase: (v) => base('ws', v),
          restBase: (v) => base('rest', v),
          ended,
          close: async () => {
            if (child.exitCode === null && child.connected) child.send({ type: 'close' });
            const t = setTimeout(() => child.kill('SIGKILL'), 2000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
  });
}
