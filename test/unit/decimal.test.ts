import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../../src/core/decimal.ts';

describe('parseDecimal', () => {
  it('parses plain venue decimals like Number()', () => {
    for (const s of ['65114.20', '0.00000637', '12', '0', '0.0', '1922.55', '77.270', '0.07055', '192121', '100000.00000000']) {
      expect(parseDecimal(s)).toBe(Number(s));
    }
  });

  it('falls back to Number() for other shapes, NaN for garbage', () => {
    for (const s of ['1e5', '-1.5', '+2', '.5', '5.', '12345678901234567.5']) expect(parseDecimal(s)).toBe(Number(s));
    for (const s of ['', 'abc', '1.2.3', '1,5']) expect(parseDecimal(s)).toBeNaN();
  });

  it('keeps the order and distinctness of prices one tick apart', () => {
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 20000; k++) {
      const decimals = 1 + Math.floor(rnd() * 8);
      const tick = 10 ** -decimals;
      const a = (rnd() * 100000).toFixed(decimals);
      const b = (Number(a) + tick).toFixed(decimals);
      expect(parseDecimal(a)).toBeLessThan(parseDecimal(b));
      expect(Math.abs(parseDecimal(a) - Number(a))).toBeLessThanOrEqual(Math.abs(Number(a)) * 2.3e-16);
    }
  });
});
