/**
 * The one retry backoff of the project: exponential with full jitter and a cap
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). Every reconnect, snapshot refetch,
 * instrument reload and catalog reload uses it.
 */

/** Backoff settings: first ceiling `baseMs`, doubling per attempt up to `capMs`; `minFraction` keeps a floor. */
export interface BackoffOptions {
  /** Ceiling of the first retry, ms (default 500). */
  readonly baseMs?: number;
  /** Largest ceiling, ms (default 30000). */
  readonly capMs?: number;
  /** Lowest fraction of the ceiling drawn (default 0: full jitter). */
  readonly minFraction?: number;
  /** Random source in [0, 1) (default `Math.random`; tests pass a fixed one). */
  readonly random?: () => number;
}

/**
 * Delay (ms, integer) before retry `attempt` (1-based): a uniform draw in
 * `[minFraction, 1] × min(capMs, baseMs × 2^(attempt − 1))`. Out-of-range random values are clamped.
 */
export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  const base = o.baseMs ?? 500;
  const cap = Math.max(o.capMs ?? 30_000, base);
  const ceiling = Math.min(cap, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  let r = (o.random ?? Math.random)();
  if (!(r >= 0)) r = 0;
  else if (r > 1) r = 1;
  const lo = o.minFraction ?? 0;
  return Math.round(Math.max(lo, r) * ceiling);
}
