import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Level } from '../../src/core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument, type MarketType } from '../../src/core/instruments.ts';
import { Bus } from '../../src/bus/bus.ts';
import { Consolidator, type Summary } from '../../src/pipeline/consolidate.ts';
import { TestBooks } from '../helpers/books.ts';

function instrument(venue: string, base: string, quote: string, type: MarketType = 'spot'): Instrument {
  const venueSymbol = `${base}${quote}`;
  return { venue, key: instrumentKey(type, venueSymbol), venueSymbol, symbol: canonicalSymbol(base, quote, type), base, quote, type, ...(type === 'spot' ? {} : { settle: quote }) };
}

const T0 = 1_700_000_000_000;

function setup(opts: { quoteGroups?: string[][]; maxQuoteAgeMs?: number; summaryIntervalMs?: number; maxPriceLevels?: number } = {}) {
  const bus = new Bus();
  const connected = new Map<string, boolean>();
  // The venues' books as the sync stage keeps them (the read model), published on the bus as book events.
  const books = new TestBooks(bus, 5);
  const c = new Consolidator({ bus, book: books.lookup, ...opts, isVenueConnected: (v) => connected.get(v) ?? true });
  const feed = (venue: string, base = 'BTC', quote = 'USDT', type: MarketType = 'spot') => books.feed(instrument(venue, base, quote, type));
  return { bus, c, feed, connected, books };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('merged book', () => {
  it('the merged top N is the sorted union of the venues’ books, each level attributed to its venue', () => {
    const { c, feed } = setup();
    let seed = 11;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const union: { bids: { p: number; price: string; size: string; venue: string }[]; asks: { p: number; price: string; size: string; venue: string }[] } = { bids: [], asks: [] };
    for (const venue of ['okx', 'binance', 'kraken', 'bybit']) {
      const bids: Level[] = [];
      const asks: Level[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const b = (9990 - Math.floor(rnd() * 100) / 2).toFixed(1);
        const a = (10001 + Math.floor(rnd() * 100) / 2).toFixed(1);
        const size = String(1 + Math.floor(rnd() * 9));
        if (!seen.has(`b${b}`)) bids.push([b, size]);
        if (!seen.has(`a${a}`)) asks.push([a, size]);
        seen.add(`b${b}`);
        seen.add(`a${a}`);
      }
      feed(venue).snapshot(bids, asks);
      for (const [price, size] of bids) union.bids.push({ p: +price, price, size, venue });
      for (const [price, size] of asks) union.asks.push({ p: +price, price, size, venue });
    }
    const byVenue = (x: { venue: string }, y: { venue: string }) => (x.venue < y.venue ? -1 : x.venue > y.venue ? 1 : 0);
    const strip = ({ price, size, venue }: { price: string; size: string; venue: string }) => ({ price, size, venue });
    const expBids = union.bids.sort((x, y) => y.p - x.p || byVenue(x, y)).slice(0, 25).map(strip);
    const expAsks = union.asks.sort((x, y) => x.p - y.p || byVenue(x, y)).slice(0, 25).map(strip);
    const book = c.getBook('BTC/USDT', 25)!;
    expect(book.bids).toEqual(expBids);
    expect(book.asks).toEqual(expAsks);
    expect(book.venues).toEqual(['binance', 'bybit', 'kraken', 'okx']);
    expect(book.excluded).toEqual([]);
    expect(book.quoteEquivalence).toBeUndefined();
    // Default depth is maxPriceLevels (20).
    expect(c.getBook('BTC/USDT')!.bids).toEqual(expBids.slice(0, 20));
    // The venues' own books are untouched by the merge.
    const refs = c.venueBooks('BTC/USDT');
    expect(refs.map((r) => r.venue)).toEqual(['binance', 'bybit', 'kraken', 'okx']);
    for (const r of refs) {
      expect(r.book.bids.length).toBe(union.bids.filter((l) => l.venue === r.venue).length);
      expect(r.book.asks.length).toBe(union.asks.filter((l) => l.venue === r.venue).length);
    }
  });

  it('keeps equal prices as separate levels ordered by venue, with the venue strings', () => {
    const { c, feed } = setup();
    feed('okx').snapshot([['100.0', '1']], [['101', '2']]);
    feed('binance').snapshot([['100', '3'], ['99', '1']], [['101.00', '4']]);
    const b = c.getBook('BTC/USDT')!;
    expect(b.bids).toEqual([
      { price: '100', size: '3', venue: 'binance' },
      { price: '100.0', size: '1', venue: 'okx' },
      { price: '99', size: '1', venue: 'binance' },
    ]);
    expect(b.asks).toEqual([
      { price: '101.00', size: '4', venue: 'binance' },
      { price: '101', size: '2', venue: 'okx' },
    ]);
    expect(b.nbbo).toEqual({ bid: { price: '100', size: '3', venue: 'binance' }, ask: { price: '101.00', size: '4', venue: 'binance' } });
  });

  it('computes NBBO, spread (abs and bps) and mid across venues', () => {
    const { c, feed } = setup();
    feed('a').snapshot([['100', '1']], [['101', '1']]);
    feed('b').snapshot([['100.5', '2']], [['101.5', '2']]);
    const b = c.getBook('BTC/USDT')!;
    expect(b.nbbo.bid).toEqual({ price: '100.5', size: '2', venue: 'b' });
    expect(b.nbbo.ask).toEqual({ price: '101', size: '1', venue: 'a' });
    expect(b.mid).toBe(100.75);
    expect(b.spread!.abs).toBe(0.5);
    expect(b.spread!.bps).toBeCloseTo((0.5 / 100.75) * 10000, 9);
    expect(b.crossed).toBe(false);
    expect(b.timestamp).toBe(T0);
  });

  it('reports a book crossed across venues as is, with a negative spread', () => {
    const { c, feed } = setup();
    feed('a').snapshot([['102', '1']], [['103', '1']]);
    feed('b').snapshot([['100', '1']], [['101', '1']]);
    const b = c.getBook('BTC/USDT')!;
    expect(b.crossed).toBe(true);
    expect(b.nbbo.bid!.venue).toBe('a');
    expect(b.nbbo.ask!.venue).toBe('b');
    expect(b.spread!.abs).toBe(-1);
    expect(b.spread!.bps).toBeCloseTo((-1 / 101.5) * 10000, 9);
    expect(b.mid).toBe(101.5);
  });

  it('gives a partial NBBO and no spread when a side is empty; undefined for an unknown symbol', () => {
    const { c, feed } = setup();
    feed('a').snapshot([['100', '1']], []);
    const b = c.getBook('BTC/USDT')!;
    expect(b.nbbo).toEqual({ bid: { price: '100', size: '1', venue: 'a' } });
    expect(b.spread).toBeNull();
    expect(b.mid).toBeNull();
    expect(c.getBook('ETH/USDT')).toBeUndefined();
  });
});

describe('exclusion', () => {
  it('excludes an invalid (resyncing) book and re-includes it once rebuilt', () => {
    const { c, feed } = setup();
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    feed('b').snapshot([['99', '1']], [['102', '1']]);
    a.reset('gap');
    let b = c.getBook('BTC/USDT')!;
    expect(b.venues).toEqual(['b']);
    expect(b.excluded).toEqual([{ venue: 'a', reason: 'invalid' }]);
    expect(b.nbbo.bid!.price).toBe('99');
    a.snapshot([['100.5', '1']], [['101', '1']]);
    b = c.getBook('BTC/USDT')!;
    expect(b.venues).toEqual(['a', 'b']);
    expect(b.excluded).toEqual([]);
    expect(b.nbbo.bid).toEqual({ price: '100.5', size: '1', venue: 'a' });
  });

  it('excludes a disconnected venue and re-includes it when connected again', () => {
    const { c, feed, connected } = setup();
    feed('a').snapshot([['100', '1']], [['101', '1']]);
    feed('b').snapshot([['99', '1']], [['102', '1']]);
    connected.set('a', false);
    expect(c.getBook('BTC/USDT')!.excluded).toEqual([{ venue: 'a', reason: 'disconnected' }]);
    expect(c.getBook('BTC/USDT')!.bids.map((l) => l.venue)).toEqual(['b']);
    connected.set('a', true);
    expect(c.getBook('BTC/USDT')!.venues).toEqual(['a', 'b']);
  });

  it('excludes a book older than maxQuoteAgeMs and re-includes it on its next update', () => {
    const { c, feed } = setup({ maxQuoteAgeMs: 5000 });
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    vi.setSystemTime(T0 + 3000);
    feed('b').snapshot([['99', '1']], [['102', '1']]);
    vi.setSystemTime(T0 + 5000); // a is exactly 5000 ms old: still fresh
    expect(c.getBook('BTC/USDT')!.venues).toEqual(['a', 'b']);
    vi.setSystemTime(T0 + 5001);
    let b = c.getBook('BTC/USDT')!;
    expect(b.venues).toEqual(['b']);
    expect(b.excluded).toEqual([{ venue: 'a', reason: 'stale' }]);
    a.delta([['100', '2']], []);
    b = c.getBook('BTC/USDT')!;
    expect(b.venues).toEqual(['a', 'b']);
    expect(b.nbbo.bid).toEqual({ price: '100', size: '2', venue: 'a' });
  });
});

describe('quote equivalence', () => {
  it('is off by default: different quotes stay separate', () => {
    const { c, feed } = setup();
    feed('a', 'BTC', 'USDT').snapshot([['100', '1']], [['101', '1']]);
    feed('b', 'BTC', 'USD').snapshot([['100.2', '1']], [['100.9', '1']]);
    expect(c.symbols().sort()).toEqual(['BTC/USD', 'BTC/USDT']);
    expect(c.getBook('BTC/USDT')!.venues).toEqual(['a']);
    expect(c.getBook('BTC/USDT')!.quoteEquivalence).toBeUndefined();
  });

  it('merges spot quotes of a group under BASE/<first of group> and flags the quotes merged', () => {
    const { c, feed } = setup({ quoteGroups: [['USD', 'USDT', 'USDC']] });
    feed('a', 'BTC', 'USDT').snapshot([['100', '1']], [['101', '1']]);
    feed('b', 'BTC', 'USD').snapshot([['100.2', '1']], [['100.9', '1']]);
    feed('a', 'BTC', 'USDT', 'linear').snapshot([['100.1', '1']], [['100.3', '1']]);
    feed('b', 'BTC', 'USD', 'linear').snapshot([['100.1', '1']], [['100.3', '1']]);
    expect(c.symbols().sort()).toEqual(['BTC/USD', 'BTC/USD:USD', 'BTC/USDT:USDT']);
    const b = c.getBook('BTC/USDT')!; // a member symbol resolves to its key
    expect(b.symbol).toBe('BTC/USD');
    expect(b.quoteEquivalence).toEqual(['USD', 'USDT']);
    expect(b.venues).toEqual(['a', 'b']);
    expect(b.nbbo.bid).toEqual({ price: '100.2', size: '1', venue: 'b', symbol: 'BTC/USD' });
    expect(b.nbbo.ask).toEqual({ price: '100.9', size: '1', venue: 'b', symbol: 'BTC/USD' });
    expect(b.bids[1]).toEqual({ price: '100', size: '1', venue: 'a', symbol: 'BTC/USDT' });
    // Derivatives consolidate only with identical symbols.
    expect(c.getBook('BTC/USDT:USDT')!.venues).toEqual(['a']);
    expect(c.getBook('BTC/USDT:USDT')!.quoteEquivalence).toBeUndefined();
  });

  it('lists only the quotes actually merged, and keeps two instruments of one venue apart', () => {
    const { c, feed } = setup({ quoteGroups: [['USD', 'USDT', 'USDC']] });
    const usdc = feed('a', 'ETH', 'USDC').snapshot([['10', '1']], [['11', '1']]);
    feed('a', 'ETH', 'USDT').snapshot([['10', '2']], [['11', '2']]);
    let b = c.getBook('ETH/USD')!;
    expect(b.quoteEquivalence).toEqual(['USDT', 'USDC']);
    expect(b.venues).toEqual(['a']);
    expect(b.bids).toEqual([
      { price: '10', size: '1', venue: 'a', symbol: 'ETH/USDC' },
      { price: '10', size: '2', venue: 'a', symbol: 'ETH/USDT' },
    ]);
    usdc.reset();
    b = c.getBook('ETH/USD')!;
    expect(b.quoteEquivalence).toEqual(['USDT']);
    expect(b.excluded).toEqual([{ venue: 'a', reason: 'invalid', symbol: 'ETH/USDC' }]);
  });
});

describe('summary stream', () => {
  it('emits on change at most once per symbol per interval, and never loses the final state', () => {
    const { c, feed } = setup({ summaryIntervalMs: 1000, maxPriceLevels: 2 });
    const got: Summary[] = [];
    c.subscribe((s) => got.push(s));
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    const e = feed('a', 'ETH', 'USDT').snapshot([['10', '1']], [['11', '1']]);
    expect(got).toEqual([]); // the hot path only marks dirty
    vi.advanceTimersByTime(0);
    expect(got.map((s) => s.symbol).sort()).toEqual(['BTC/USDT', 'ETH/USDT']); // first change goes out at once
    got.length = 0;
    // A burst within the interval: coalesced into one summary at the end of the interval, with the last state.
    for (let i = 1; i <= 50; i++) {
      vi.advanceTimersByTime(10); // t = T0 + i * 10
      a.delta([['100', String(i + 1)]], []);
    }
    vi.advanceTimersByTime(400); // t = T0 + 900
    expect(got).toEqual([]);
    vi.advanceTimersByTime(100); // t = T0 + 1000
    expect(got.length).toBe(1);
    expect(got[0].symbol).toBe('BTC/USDT');
    expect(got[0].bids[0]).toEqual({ price: '100', size: '51', venue: 'a' });
    expect(got[0].timestamp).toBe(T0 + 1000);
    expect(got[0].bids.length).toBe(1);
    // Over a longer run with continuous updates: one per interval per symbol.
    got.length = 0;
    for (let t = 1010; t <= 5000; t += 10) {
      vi.advanceTimersByTime(10); // t ms after T0
      a.delta([['99', String(t)]], []);
      e.delta([['9', String(t)]], []);
    }
    vi.advanceTimersByTime(1000);
    const perSymbol = (sym: string) => got.filter((s) => s.symbol === sym).map((s) => s.timestamp);
    for (const sym of ['BTC/USDT', 'ETH/USDT']) {
      const ts = perSymbol(sym);
      for (let i = 1; i < ts.length; i++) expect(ts[i] - ts[i - 1]).toBeGreaterThanOrEqual(1000);
      expect(ts.length).toBeGreaterThanOrEqual(4);
    }
    expect(got.filter((s) => s.symbol === 'BTC/USDT').at(-1)!.bids).toEqual([
      { price: '100', size: '51', venue: 'a' },
      { price: '99', size: '5000', venue: 'a' },
    ]);
  });

  it('does not emit when nothing visible changed', () => {
    const { c, feed } = setup({ maxPriceLevels: 1 });
    const got: Summary[] = [];
    c.subscribe((s) => got.push(s));
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    vi.advanceTimersByTime(0);
    expect(got.length).toBe(1);
    a.delta([['90', '1']], []); // below the summary depth
    vi.advanceTimersByTime(5000);
    expect(got.length).toBe(1);
  });

  it('emits when a venue goes stale without any further event, and when it is re-included', () => {
    const { c, feed } = setup({ maxQuoteAgeMs: 3000, summaryIntervalMs: 500 });
    const got: Summary[] = [];
    c.subscribe((s) => got.push(s));
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    vi.advanceTimersByTime(1000);
    const b = feed('b').snapshot([['99', '1']], [['102', '1']]);
    vi.advanceTimersByTime(0);
    expect(got.at(-1)!.venues).toEqual(['a', 'b']);
    // Keep b fresh; a falls silent.
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(500);
      b.delta([['99', String(i + 2)]], []);
    }
    vi.advanceTimersByTime(500);
    const dropped = got.find((s) => s.excluded.length > 0)!;
    expect(dropped.venues).toEqual(['b']);
    expect(dropped.excluded).toEqual([{ venue: 'a', reason: 'stale' }]);
    expect(dropped.timestamp).toBeLessThanOrEqual(T0 + 3001 + 500);
    a.delta([['100', '3']], []);
    vi.advanceTimersByTime(500);
    expect(got.at(-1)!.venues).toEqual(['a', 'b']);
    expect(got.at(-1)!.excluded).toEqual([]);
  });

  it('emits when a book resets and when a venue status changes', () => {
    const { c, feed, bus, connected } = setup();
    const got: Summary[] = [];
    c.subscribe((s) => got.push(s));
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    feed('b').snapshot([['99', '1']], [['102', '1']]);
    vi.advanceTimersByTime(0);
    a.reset();
    vi.advanceTimersByTime(1000);
    expect(got.at(-1)!.excluded).toEqual([{ venue: 'a', reason: 'invalid' }]);
    connected.set('b', false);
    bus.publish('venue_status', { kind: 'venue_status', venue: 'b', connId: 'c0', state: 'closed', detail: null, ts: Date.now() });
    vi.advanceTimersByTime(1000);
    expect(got.at(-1)!.venues).toEqual([]);
    expect(got.at(-1)!.excluded).toEqual([
      { venue: 'a', reason: 'invalid' },
      { venue: 'b', reason: 'disconnected' },
    ]);
    expect(got.at(-1)!.nbbo).toEqual({});
  });

  it('serves summaries through an async iterator, conflated per symbol, ended by return()', async () => {
    const { c, feed } = setup();
    const it = c.stream();
    const a = feed('a').snapshot([['100', '1']], [['101', '1']]);
    vi.advanceTimersByTime(0);
    a.delta([['100', '2']], []);
    vi.advanceTimersByTime(1000);
    a.delta([['100', '3']], []);
    vi.advanceTimersByTime(1000);
    // Three summaries were emitted while nobody read: only the latest of the symbol waits.
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(first.value!.bids[0].size).toBe('3');
    const pending = it.next();
    a.delta([['100', '4']], []);
    vi.advanceTimersByTime(1000);
    expect((await pending).value!.bids[0].size).toBe('4');
    await it.return!();
    expect((await it.next()).done).toBe(true);
  });

  it('close() detaches from the bus and ends streams', async () => {
    const { c, feed } = setup();
    const got: Summary[] = [];
    c.subscribe((s) => got.push(s));
    const it = c.stream();
    const next = it.next();
    c.close();
    expect((await next).done).toBe(true);
    feed('a').snapshot([['100', '1']], [['101', '1']]);
    vi.advanceTimersByTime(5000);
    expect(got).toEqual([]);
  });
});
