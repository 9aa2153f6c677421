import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { ArbitrageDetector, type ArbitrageDetectorOptions, type ArbitrageOpportunity } from '../../src/pipeline/arbitrage.ts';
import { Bus } from '../../src/bus/bus.ts';
import { Consolidator } from '../../src/pipeline/consolidate.ts';
import { TestBooks } from '../helpers/books.ts';

function instrument(venue: string, base = 'BTC', quote = 'USDT'): Instrument {
  const venueSymbol = `${base}${quote}`;
  return { venue, key: instrumentKey('spot', venueSymbol), venueSymbol, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

const T0 = 1_700_000_000_000;

function setup(opts: Omit<ArbitrageDetectorOptions, 'source'> = {}, consolidator: { maxQuoteAgeMs?: number; quoteGroups?: string[][] } = {}) {
  const bus = new Bus();
  const connected = new Map<string, boolean>();
  // The venues' books as the sync stage keeps them (the read model), published on the bus as book events.
  const books = new TestBooks(bus, 3);
  const c = new Consolidator({ bus, book: books.lookup, ...consolidator, isVenueConnected: (v) => connected.get(v) ?? true });
  const arb = new ArbitrageDetector({ source: c, ...opts });
  const reports: ArbitrageOpportunity[] = [];
  const closed: ArbitrageOpportunity[] = [];
  arb.subscribe(
    (o) => reports.push(o),
    (o) => closed.push(o),
  );
  const feed = (venue: string, base = 'BTC', quote = 'USDT') => books.feed(instrument(venue, base, quote));
  return { bus, c, arb, feed, reports, closed, connected };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('fee-adjusted detection', () => {
  it('does not report a gross edge that the fees eat', () => {
    const { arb, feed, reports } = setup({ fees: { a: 10, b: 10 } });
    feed('a').snapshot([['99', '1']], [['100', '1']]);
    feed('b').snapshot([['100.15', '1']], [['100.5', '1']]); // 15 bps gross, 20 bps fees
    expect(arb.check('BTC/USDT')).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('reports buy-low / sell-high with net profit, prices as venue strings and top-level volume', () => {
    const { arb, feed, reports } = setup({ fees: { a: 5, b: 7.5 }, defaultFeeBps: 10 });
    feed('a').snapshot([['99.00', '4']], [['100.00', '2'], ['100.05', '3']]);
    feed('b').snapshot([['100.30', '1.5'], ['100.20', '5']], [['100.40', '1']]);
    feed('c').snapshot([['99.5', '1']], [['100.6', '1']]); // no edge with anyone
    const [o] = arb.check('BTC/USDT');
    expect(reports).toEqual([o]);
    expect(o).toMatchObject({ symbol: 'BTC/USDT', buyVenue: 'a', sellVenue: 'b', buySymbol: 'BTC/USDT', sellSymbol: 'BTC/USDT', buyPrice: '100.00', sellPrice: '100.30', buyFeeBps: 5, sellFeeBps: 7.5, volume: 1.5, revision: 0, timestamp: T0, firstSeenAt: T0 });
    expect(o.grossBps).toBeCloseTo(30, 9);
    expect(o.profitBps).toBeCloseTo(30 - 12.5, 9);
    // Walking deeper: 1.5 @ (100.00 → 100.30), 0.5 @ (100.00 → 100.20) 7.5 bps net, then 3 @ (100.05 → 100.20)
    // = 14.99 bps gross, 2.49 net: all still ≥ 0 net; a's asks are exhausted after 5.
    expect(o.depthVolume).toBe(5);
    expect(typeof o.id).toBe('string');
  });

  it('applies the minimum net edge and stops the depth walk at it', () => {
    const { arb, feed } = setup({ defaultFeeBps: 0, minNetEdgeBps: 20 });
    feed('a').snapshot([['99', '1']], [['100', '1'], ['100.1', '1']]);
    const b = feed('b').snapshot([['100.25', '1'], ['100.15', '1']], [['101', '1']]);
    let [o] = arb.check('BTC/USDT');
    expect(o.profitBps).toBeCloseTo(25, 9);
    expect(o.volume).toBe(1);
    expect(o.depthVolume).toBe(1); // the next pair (100 → 100.15) is 15 bps < 20
    b.snapshot([['100.15', '1']], [['101', '1']]); // 15 bps < 20
    expect(arb.check('BTC/USDT')).toEqual([]);
    b.snapshot([['100.2', '1']], [['101', '1']]); // exactly 20 bps: reported
    [o] = arb.check('BTC/USDT');
    expect(o.profitBps).toBeCloseTo(20, 9);
  });

  it('uses defaultFeeBps for venues without a configured fee', () => {
    const { arb, feed } = setup({ fees: { a: 1 }, defaultFeeBps: 10 });
    feed('a').snapshot([['99', '1']], [['100', '1']]);
    feed('b').snapshot([['100.1', '1']], [['101', '1']]); // 10 bps gross − 1 − 10 < 0
    expect(arb.check('BTC/USDT')).toEqual([]);
    feed('b').snapshot([['100.2', '1']], [['101', '1']]); // 20 − 11 = 9
    expect(arb.check('BTC/USDT')[0].profitBps).toBeCloseTo(9, 9);
  });
});

describe('legs must be fresh, valid and connected', () => {
  it('drops (closes) an opportunity when a leg is invalid, disconnected or stale', () => {
    const { arb, feed, reports, closed, connected } = setup({ defaultFeeBps: 0 }, { maxQuoteAgeMs: 1000 });
    const a = feed('a').snapshot([['99', '1']], [['100', '1']]);
    feed('b').snapshot([['101', '1']], [['102', '1']]);
    expect(arb.check('BTC/USDT').length).toBe(1);
    a.reset();
    expect(arb.check('BTC/USDT')).toEqual([]);
    expect(closed.map((o) => o.id)).toEqual([reports[0].id]);
    a.snapshot([['99', '1']], [['100', '1']]);
    expect(arb.check('BTC/USDT').length).toBe(1);
    connected.set('b', false);
    expect(arb.check('BTC/USDT')).toEqual([]);
    connected.set('b', true);
    expect(arb.check('BTC/USDT').length).toBe(1);
    vi.setSystemTime(T0 + 1001);
    expect(arb.check('BTC/USDT')).toEqual([]);
    expect(closed.length).toBe(3);
  });
});

describe('de-duplication', () => {
  it('reports a persisting opportunity once, re-reports a material change with the same id, a reappearance with a new id', () => {
    const { arb, feed, reports, closed } = setup({ defaultFeeBps: 0, materialChangeBps: 1 });
    feed('a').snapshot([['99', '1']], [['100', '1']]);
    const b = feed('b').snapshot([['101', '1']], [['102', '1']]);
    arb.check('BTC/USDT');
    arb.check('BTC/USDT');
    expect(reports.length).toBe(1);
    const id = reports[0].id;
    // 100 → 101.005: 100.5 bps vs 100 bps: below the material change, and a size change: not reported.
    b.snapshot([['101.005', '7']], [['102', '1']]);
    arb.check('BTC/USDT');
    expect(reports.length).toBe(1);
    expect(arb.current('BTC/USDT')[0].id).toBe(id);
    // 100 → 101.02: 102 bps, 2 bps away from the last report: re-reported, same id, next revision.
    b.snapshot([['101.02', '1']], [['102', '1']]);
    arb.check('BTC/USDT');
    expect(reports.length).toBe(2);
    expect(reports[1]).toMatchObject({ id, revision: 1, sellPrice: '101.02', firstSeenAt: T0 });
    // Gone, then back: a new id.
    b.snapshot([['99.5', '1']], [['102', '1']]);
    arb.check('BTC/USDT');
    expect(closed.map((o) => o.id)).toEqual([id]);
    expect(arb.current()).toEqual([]);
    b.snapshot([['101', '1']], [['102', '1']]);
    arb.check('BTC/USDT');
    expect(reports.length).toBe(3);
    expect(reports[2].id).not.toBe(id);
    expect(reports[2].revision).toBe(0);
  });

  it('tracks each direction and pair separately', () => {
    const { arb, feed, reports } = setup({ defaultFeeBps: 0 });
    feed('a').snapshot([['99', '1']], [['100', '1']]);
    feed('b').snapshot([['101', '1']], [['102', '1']]);
    feed('c').snapshot([['103', '2']], [['104', '1']]);
    arb.check('BTC/USDT');
    const pairs = reports.map((o) => `${o.buyVenue}>${o.sellVenue}`).sort();
    expect(pairs).toEqual(['a>b', 'a>c', 'b>c']);
    expect(new Set(reports.map((o) => o.id)).size).toBe(3);
    expect(reports.find((o) => o.buyVenue === 'b' && o.sellVenue === 'c')!.profitBps).toBeCloseTo((1 / 102) * 10000, 9);
  });

  it('skips same-venue pairs under quote equivalence', () => {
    const { arb, feed, reports } = setup({ defaultFeeBps: 0 }, { quoteGroups: [['USD', 'USDT', 'USDC']] });
    feed('a', 'BTC', 'USDT').snapshot([['99', '1']], [['100', '1']]);
    feed('a', 'BTC', 'USDC').snapshot([['101', '1']], [['102', '1']]);
    expect(arb.check('BTC/USD')).toEqual([]);
    feed('b', 'BTC', 'USD').snapshot([['101', '1']], [['102', '1']]);
    arb.check('BTC/USD');
    expect(reports.map((o) => [o.symbol, o.buyVenue, o.buySymbol, o.sellVenue, o.sellSymbol])).toEqual([['BTC/USD', 'a', 'BTC/USDT', 'b', 'BTC/USD']]);
  });
});

describe('wiring and history', () => {
  it('checks automatically after the consolidator recomputes, and closes when a leg goes stale', () => {
    const { feed, reports, closed } = setup({ defaultFeeBps: 0 }, { maxQuoteAgeMs: 5000 });
    feed('a').snapshot([['99', '1']], [['100', '1']]);
    const b = feed('b').snapshot([['101', '1']], [['102', '1']]);
    expect(reports).toEqual([]); // nothing on the hot path
    vi.advanceTimersByTime(0);
    expect(reports.length).toBe(1);
    vi.advanceTimersByTime(3000);
    b.snapshot([['101', '2']], [['102', '1']]);
    vi.advanceTimersByTime(2500); // a is 5500 ms old now, dropped by the stale deadline
    expect(closed.length).toBe(1);
  });

  it('keeps a bounded recent list, newest first', () => {
    const { arb, feed } = setup({ defaultFeeBps: 0, recentLimit: 3 });
    feed('a').snapshot([['99', '1']], [['100', '1']]);
    const b = feed('b');
    for (let i = 1; i <= 5; i++) {
      b.snapshot([[String(100 + i), '1']], [['200', '1']]);
      arb.check('BTC/USDT');
    }
    const r = arb.recent(10);
    expect(r.length).toBe(3);
    expect(r.map((o) => o.sellPrice)).toEqual(['105', '104', '103']);
    expect(r.map((o) => o.revision)).toEqual([4, 3, 2]);
    expect(arb.recent(1).map((o) => o.sellPrice)).toEqual(['105']);
  });

  it('accepts a function source', () => {
    const books = new TestBooks(new Bus(), 3);
    const a = books.feed(instrument('a')).snapshot([['99', '1']], [['100', '1']]);
    const b = books.feed(instrument('b')).snapshot([['100.5', '3']], [['102', '1']]);
    const arb = new ArbitrageDetector({
      source: () => [
        { venue: 'a', symbol: 'BTC/USDT', book: a.book },
        { venue: 'b', symbol: 'BTC/USDT', book: b.book },
      ],
      defaultFeeBps: 10,
    });
    const [o] = arb.check('BTC/USDT');
    expect(o.profitBps).toBeCloseTo(30, 9);
    a.reset(); // invalid books are skipped even from a function source
    expect(arb.checkAll()).toEqual([]);
  });
});
