/**
 * Pacing and looping shared by the simulator's WebSocket and SSE clients: the validated timing options, the batch
 * limits of one pump, and what a client needs from the server ({@link ClientHost}).
 */
import { TributaryError } from '../../core/errors.ts';
import type { SimulatorLogger, SimulatorOptions } from './types.ts';

/** Logger used when none is given. */
export const noopLog: SimulatorLogger = { debug() {}, info() {}, warn() {} };
/** Most frames sent in one pump before yielding to the event loop. */
export const BATCH_FRAMES = 512;
/** Most bytes sent in one pump before yielding to the event loop. */
export const BATCH_BYTES = 256 * 1024;

/** Pacing options checked and defaulted: `factor` null = as fast as the socket drains. @throws TributaryError `CONFIG_INVALID`. */
export function validateOptions(opts: SimulatorOptions): { factor: number | null; loops: number; settleMs: number; hwm: number } {
  const bad = (why: string): never => {
    throw new TributaryError('CONFIG_INVALID', `simulator: ${why}`);
  };
  const speed = opts.speed ?? 'recorded';
  let factor: number | null;
  if (speed === 'max') factor = null;
  else if (speed === 'recorded') factor = 1;
  else if (typeof speed === 'number' && Number.isFinite(speed) && speed > 0) factor = speed;
  else return bad(`speed must be 'recorded', 'max' or a positive number, got ${String(speed)}`);
  const loops = opts.loop ?? 1;
  if (!Number.isInteger(loops) || loops < 0) bad(`loop must be an integer >= 0, got ${loops}`);
  const settleMs = opts.settleMs ?? 100;
  if (!Number.isFinite(settleMs) || settleMs < 0) bad(`settleMs must be >= 0, got ${settleMs}`);
  const hwm = opts.highWaterMark ?? 1024 * 1024;
  if (!Number.isFinite(hwm) || hwm <= 0) bad(`highWaterMark must be > 0, got ${hwm}`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) bad(`port must be 0..65535, got ${port}`);
  return { factor, loops, settleMs, hwm };
}

/** Where a client is in its walk: waiting for a subscription, settling, streaming, parked (nothing to send), done, closed. */
export type ClientState = 'idle' | 'settling' | 'streaming' | 'parked' | 'finished' | 'closed';

/** What a client connection needs from the simulator. */
export interface ClientHost {
  readonly factor: number | null;
  readonly loops: number;
  readonly settleMs: number;
  readonly hwm: number;
  counters: { framesSent: number; bytesSent: number; repliesSent: number; ignoredClientFrames: number };
  onStreaming(): void;
  onDone(): void;
}
