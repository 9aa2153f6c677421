import { describe, expect, it } from 'vitest';
import { PushIterable, PushOverflowError, subscriptionIterable } from '../../src/core/async-iter.ts';

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('PushIterable', () => {
  it('delivers pushed values in order, to a waiting reader too, and ends after close once drained', async () => {
    const it = new PushIterable<number>();
    const first = it.next();
    expect(it.push(1)).toBe(true);
    expect(await first).toEqual({ value: 1, done: false });
    it.push(2);
    it.push(3);
    it.close();
    expect(it.push(4)).toBe(false);
    const seen: number[] = [];
    for await (const v of it) seen.push(v);
    expect(seen).toEqual([2, 3]);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('close() ends a waiting reader', async () => {
    const it = new PushIterable<number>();
    const p = it.next();
    it.close();
    expect(await p).toEqual({ value: undefined, done: true });
  });

  it('error() discards waiting values and makes reads reject, a waiting one included', async () => {
    const it = new PushIterable<number>();
    const p = it.next();
    const boom = new Error('boom');
    it.error(boom);
    await expect(p).rejects.toBe(boom);
    const it2 = new PushIterable<number>();
    it2.push(1);
    it2.error(boom);
    expect(it2.pending).toBe(0);
    await expect(it2.next()).rejects.toBe(boom);
    await expect(it2.next()).rejects.toBe(boom);
  });

  it('bounded: drop-oldest (default), drop-newest, or error', async () => {
    const oldest = new PushIterable<number>({ limit: 2 });
    for (const v of [1, 2, 3, 4]) oldest.push(v);
    expect(oldest.dropped).toBe(2);
    expect(await take(oldest, 2)).toEqual([3, 4]);

    const newest = new PushIterable<number>({ limit: 2, overflow: 'drop-newest' });
    expect([1, 2, 3].map((v) => newest.push(v))).toEqual([true, true, false]);
    expect(await take(newest, 2)).toEqual([1, 2]);

    const strict = new PushIterable<number>({ limit: 2, overflow: 'error' });
    expect([1, 2, 3].map((v) => strict.push(v))).toEqual([true, true, false]);
    expect(strict.closed).toBe(true);
    await expect(strict.next()).rejects.toBeInstanceOf(PushOverflowError);
  });

  it('conflates by key in place (only the latest value of a key waits) and can merge instead', async () => {
    const it = new PushIterable<{ k: string; v: number }>({ key: (x) => x.k, limit: 2 });
    it.push({ k: 'a', v: 1 });
    it.push({ k: 'b', v: 1 });
    it.push({ k: 'a', v: 2 }); // replaces a:1, keeps its place, no overflow
    expect(it.conflated).toBe(1);
    expect(it.dropped).toBe(0);
    expect(await take(it, 2)).toEqual([{ k: 'a', v: 2 }, { k: 'b', v: 1 }]);
    it.push({ k: 'a', v: 3 }); // a is no longer waiting: queued anew
    expect(await take(it, 1)).toEqual([{ k: 'a', v: 3 }]);

    const sum = new PushIterable<{ k: string; v: number }>({ key: (x) => x.k, merge: (a, b) => ({ k: a.k, v: a.v + b.v }) });
    for (const v of [1, 2, 3]) sum.push({ k: 'x', v });
    expect(await take(sum, 1)).toEqual([{ k: 'x', v: 6 }]);
  });

  it('return() (break) discards waiting values and calls onEnd exactly once', async () => {
    let ends = 0;
    const it = new PushIterable<number>({ onEnd: () => ends++ });
    for (const v of [1, 2, 3]) it.push(v);
    for await (const v of it) {
      expect(v).toBe(1);
      break;
    }
    expect(it.pending).toBe(0);
    expect(await it.next()).toEqual({ value: undefined, done: true });
    it.close();
    it.error(new Error('late'));
    expect(ends).toBe(1);
  });

  it('an abort signal closes it (already aborted too)', async () => {
    const ac = new AbortController();
    const it = new PushIterable<number>({ signal: ac.signal });
    it.push(1);
    ac.abort();
    expect(it.push(2)).toBe(false);
    expect(await take(it, 5)).toEqual([1]);
    const pre = new PushIterable<number>({ signal: AbortSignal.abort() });
    expect(pre.closed).toBe(true);
  });

  it('keeps order across many values (internal compaction)', async () => {
    const it = new PushIterable<number>({ key: (v) => String(v % 7) === '0' ? `k${v}` : undefined });
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      it.push(i);
      if (i % 3 === 0) out.push(...(await take(it, Math.min(2, it.pending))));
    }
    it.close();
    for await (const v of it) out.push(v);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});

describe('subscriptionIterable', () => {
  function emitter() {
    const listeners = new Set<(v: number) => void>();
    return {
      listeners,
      subscribe(fn: (v: number) => void) {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
      emit(v: number) {
        for (const l of listeners) l(v);
      },
    };
  }

  it('subscribes, yields emitted values and unsubscribes on break', async () => {
    const e = emitter();
    const it = subscriptionIterable(e.subscribe);
    expect(e.listeners.size).toBe(1);
    e.emit(1);
    e.emit(2);
    const seen: number[] = [];
    for await (const v of it) {
      seen.push(v);
      if (v === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(e.listeners.size).toBe(0);
  });

  it('unsubscribes on close, error and abort; never subscribes when already aborted', () => {
    for (const end of ['close', 'error', 'abort'] as const) {
      const e = emitter();
      const ac = new AbortController();
      const it = subscriptionIterable(e.subscribe, { signal: ac.signal });
      if (end === 'close') it.close();
      else if (end === 'error') it.error(new Error('x'));
      else ac.abort();
      expect(e.listeners.size, end).toBe(0);
    }
    const e = emitter();
    subscriptionIterable(e.subscribe, { signal: AbortSignal.abort() });
    expect(e.listeners.size).toBe(0);
  });
});
