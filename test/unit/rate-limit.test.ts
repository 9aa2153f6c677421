import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/transport/rate-limit.ts';

describe('TokenBucket', () => {
  it('allows a burst, then one request per 1/rate seconds', () => {
    let t = 0;
    const b = new TokenBucket(2, 3, () => t);
    expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0]);
    expect(b.take()).toBe(500); // empty: next token in 1/2 s
    t = 499;
    expect(b.take()).toBe(2);
    t = 500;
    expect(b.take()).toBe(0);
    t = 10_000; // refills up to the burst size only
    expect([b.take(), b.take(), b.take(), b.take() > 0]).toEqual([0, 0, 0, true]);
  });
});
