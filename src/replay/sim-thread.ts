/**
 * Runs the venue simulator in a worker thread (see `sim-worker.ts`) and exposes the part of the
 * {@link Simulator} interface `replay` needs.
 */
import { Worker } from 'node:worker_threads';
import { TributaryError } from '../core/errors.ts';
import type { SimWorkerData } from './sim-worker.ts';

/** A simulator running in its own thread. */
export interface SimulatorThread {
  readonly port: number;
  readonly venues: readonly string[];
  wsBase(venue: string): string;
  restBase(venue: string): string;
  /** Resolves when every streaming client has been served all its loops (never with loop 0). */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the simulator on `files` in a worker thread.
 * @throws TributaryError `RECORDING_INVALID` / `CONFIG_INVALID` as the simulator would.
 */
export function startSimulatorThread(data: SimWorkerData): Promise<SimulatorThread> {
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data });
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    worker.on('error', (e) => reject(e));
    worker.on('message', (m: { type: string; port: number; venues: string[]; bases: Record<string, { ws: string; rest: string }>; message: string; code?: string }) => {
      if (m.type === 'error') {
        reject(new TributaryError(m.code === 'RECORDING_INVALID' ? 'RECORDING_INVALID' : 'CONFIG_INVALID', m.message));
        void worker.terminate();
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
            worker.postMessage({ type: 'close' });
            const t = setTimeout(() => void worker.terminate(), 2000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
  });
}
