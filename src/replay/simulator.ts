/**
 * The venue simulator's entry point: re-exports `./simulator/index.ts` (the module doc is there), so importers keep
 * `replay/simulator.ts`.
 */
export * from './simulator/index.ts';
