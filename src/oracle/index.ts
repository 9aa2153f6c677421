/**
 * Oracle sources (not venues: they publish reference prices, not books, over their own transports). Today: Pyth
 * Hermes (`pyth/`). This registry lets shared code (CLI, simulator) handle an oracle's recordings without naming it.
 */
import { PYTH_SOURCE } from '../protocol/messages.ts';
import { pythSseReplayHooks } from './pyth/decode.ts';
import type { SseReplayHooks } from '../replay/simulator.ts';

/** Oracle source ids (the recording header's `exchange`, lower case). */
export const ORACLE_SOURCES: readonly string[] = [PYTH_SOURCE];

/** True when a recording's source id is an oracle (served over SSE by the simulator, run by the gateway's oracle source). */
export function isOracleSource(id: string): boolean {
  return ORACLE_SOURCES.includes(id);
}

/** The simulator's SSE hooks of an oracle source, or undefined. */
export function oracleSseHooks(id: string): SseReplayHooks | undefined {
  return id === PYTH_SOURCE ? pythSseReplayHooks : undefined;
}
