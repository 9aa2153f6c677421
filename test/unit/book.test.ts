import { describe, expect, it } from 'vitest';
import { BookSide, L2Book } from '../../src/pipeline/book.ts';

describe('BookSide', () => {
  it('keeps bids best-first (descending) with insert, replace and delete', () => {
    const s = new BookSide(true);
    s.set('100.5', '1');
    s.set('101', '2');
    s.set('99', '3');
    s.set('100.50', '4'); // same price, different string: replaces size and keeps the newest string
    expect(s.top()).toEqual([
      ['101', '2'],
      ['100.50', '4'],
      ['99', '3'],
    ]);
    s.set('101', '0');
    s.set('98', '0'); // deleting an absent level is a no-op
    expect(s.top()).toEqual([
      ['100.50', '4'],
      ['99', '3'],
    ]);
  });

  it('keeps asks best-first (ascending) and truncates', () => {
    const s = new BookSide(false);
    for (const p of ['5', '3', '4', '1', '2']) s.set(p, '1');
    expect(s.top().map((l) => l[0])).toEqual(['1', '2', '3', '4', '5']);
    s.truncate(2);
    expect(s.top(10).map((l) => l[0])).toEqual(['1', '2']);
  });

  it('rejects non-numeric and negative input without changing the side', () => {
    const s = new BookSide(false);
    expect(s.set('abc', '1')).toBe(false);
    expect(s.set('1', 'x')).toBe(false);
    expect(s.set('1', '-1')).toBe(false);
    expect(s.length).toBe(0);
  });

  it('matches a naive map-based book on random operations', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const s = new BookSide(true);
    const m = new Map<number, string>();
    for (let i = 0; i < 5000; i++) {
      const p = Math.floor(rnd() * 300) / 10;
      const sz = rnd() < 0.3 ? '0' : String(Math.floor(rnd() * 100) + 1);
      s.set(p.toFixed(1), sz);
      if (sz === '0') m.delete(p);
      else m.set(p, sz);
    }
    const expected = [...m.entries()].sort((a, b) => b[0] - a[0]).map(([p, z]) => [p.toFixed(1), z]);
    expect(s.top()).toEqual(expected);
  });
});

describe('L2Book', () => {
  it('loads a snapshot in any order and detects a crossed book', () => {
    const b = new L2Book('v', 'spot:X', 'X/Y', 'XY');
    b.loadSnapshot(
      [
        ['9', '1'],
        ['10', '1'],
      ],
      [
        ['12', '1'],
        ['11', '2'],
      ],
    );
    expect(b.bids.top(1)).toEqual([['10', '1']]);
    expect(b.asks.top(1)).toEqual([['11', '2']]);
    expect(b.isCrossed()).toBe(false);
    b.applyLevels([['11', '5']], []);
    expect(b.isCrossed()).toBe(true);
    b.reset();
    expect(b.valid).toBe(false);
    expect(b.bids.length + b.asks.length).toBe(0);
  });
});

describe('BookSide.load', () => {
  it('loads sorted and unsorted snapshots identically, skipping zero sizes and keeping the later duplicate', () => {
    const sorted = new BookSide(true);
    sorted.load([['10', '1'], ['9', '2'], ['8', '3']]);
    expect(sorted.top()).toEqual([['10', '1'], ['9', '2'], ['8', '3']]);
    const messy = new BookSide(true);
    expect(messy.load([['9', '2'], ['10', '1'], ['7', '0'], ['8', '5'], ['8', '3'], ['x', '1']])).toBe(1);
    expect(messy.top()).toEqual([['10', '1'], ['9', '2'], ['8', '3']]);
    const asks = new BookSide(false);
    asks.load([['1', '1'], ['2', '0.5'], ['3', '7']]); // '0.5' takes the careful path
    expect(asks.top()).toEqual([['1', '1'], ['2', '0.5'], ['3', '7']]);
    asks.setLevel(['2', '0']);
    asks.setLevel(['1.5', '4']);
    expect(asks.top()).toEqual([['1', '1'], ['1.5', '4'], ['3', '7']]);
  });
});
