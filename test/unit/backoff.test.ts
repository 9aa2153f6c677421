import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/transport/backoff.ts';

const fixed = (r: number) => () => r;

describe('backoffDelay', () => {
  it('attempt 1 waits at most base; random = 1 gives exactly the ceiling', () => {
    expect(backoffDelay(1, { baseMs: 100, capMs: 10_000, random: fixed(1) })).toBe(100);
    expect(backoffDelay(1, { baseMs: 100, capMs: 10_000, random: fixed(0.5) })).toBe(50);
    expect(backoffDelay(1, { baseMs: 100, capMs: 10_000, random: fixed(0) })).toBe(0);
  });

  it('doubles the ceiling per attempt up to the cap, then stays there', () => {
    const o = { baseMs: 100, capMs: 1000, random: fixed(1) };
    expect([1, 2, 3, 4, 5, 6, 50, 10_000].map((a) => backoffDelay(a, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('full jitter: every delay lies in [0, ceiling] and the draws cover the range', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(2000, 50 * 2 ** (attempt - 1));
      const ds = Array.from({ length: 200 }, () => backoffDelay(attempt, { baseMs: 50, capMs: 2000, random }));
      for (const d of ds) {
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
      expect(Math.min(...ds)).toBeLessThan(ceiling * 0.1);
      expect(Math.max(...ds)).toBeGreaterThan(ceiling * 0.9);
    }
  });

  it('minFraction keeps a floor of the ceiling', () => {
    expect(backoffDelay(3, { baseMs: 100, capMs: 10_000, minFraction: 0.5, random: fixed(0) })).toBe(200);
    expect(backoffDelay(3, { baseMs: 100, capMs: 10_000, minFraction: 0.5, random: fixed(0.75) })).toBe(300);
    expect(backoffDelay(3, { baseMs: 100, capMs: 10_000, minFraction: 0.5, random: fixed(1) })).toBe(400);
  });

  it('clamps out-of-range input: random outside [0, 1] or NaN, attempt below 1, cap below base', () => {
    const o = { baseMs: 100, capMs: 1000 };
    expect(backoffDelay(2, { ...o, random: fixed(-3) })).toBe(0);
    expect(backoffDelay(2, { ...o, random: fixed(Number.NaN) })).toBe(0);
    expect(backoffDelay(2, { ...o, random: fixed(7) })).toBe(200);
    expect(backoffDelay(0, { ...o, random: fixed(1) })).toBe(100);
    expect(backoffDelay(-5, { ...o, random: fixed(1) })).toBe(100);
    expect(backoffDelay(3, { baseMs: 500, capMs: 100, random: fixed(1) })).toBe(500);
  });

  it('defaults: base 500 ms, cap 30 s, Math.random', () => {
    expect(backoffDelay(1, { random: fixed(1) })).toBe(500);
    expect(backoffDelay(100, { random: fixed(1) })).toBe(30_000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(4);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});
