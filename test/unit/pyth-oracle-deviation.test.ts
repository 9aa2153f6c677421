/**
 * Oracle vs market: a Pyth price on the bus attaches to the consolidated summary of its instrument (directly, or
 * through a quote-equivalence group) with the mid's deviation in bps, and a new oracle price re-emits the summary.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import type { OraclePrice } from '../../src/core/events.ts';
import { decodeParsedEntry } from '../../src/oracles/pyth/decode.ts';
import { Bus } from '../../src/bus/bus.ts';
import { Consolidator, type Summary } from '../../src/pipeline/consolidate.ts';
import { ConsolidatedBookSchema } from '../../src/protocol/messages.ts';
import { consolidatedBookMessage } from '../../src/server/encode.ts';
import { TestBooks } from '../helpers/books.ts';

const BTC = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
const T0 = 1_786_310_820_000;

function instrument(venue: string, base: string, quote: string): Instrument {
  return { venue, key: instrumentKey('spot', `${base}${quote}`), venueSymbol: `${base}${quote}`, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

/** Loads a one-level book of `inst` (its venue time = receive time = now) and publishes it as a `book_snapshot`. */
function book(books: TestBooks, inst: Instrument, bid: string, ask: string): void {
  books.feed(inst).snapshot([[bid, '1']], [[ask, '1']], Date.now(), Date.now());
}

function oracle(price: string, publish: number): OraclePrice {
  return decodeParsedEntry(
    {
      id: BTC,
      price: { price, conf: '2000000000', expo: -8, publish_time: publish },
      ema_price: { price, conf: '2000000000', expo: -8, publish_time: publish },
      metadata: { slot: publish, proof_available_time: publish, prev_publish_time: publish - 1 },
    },
    Date.now(),
  )!;
}

function setup(quoteGroups: string[][] = []) {
  const bus = new Bus();
  const books = new TestBooks(bus);
  const c = new Consolidator({ bus, book: books.lookup, summaryIntervalMs: 100, quoteGroups, isVenueConnected: () => true, oracleInstrument: (_s, id) => (id === BTC ? 'BTC/USD' : undefined) });
  const seen: Summary[] = [];
  c.subscribe((s) => seen.push(s));
  return { bus, books, c, seen };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe('oracle deviation on summaries', () => {
  it('attaches the Pyth price and the mid deviation (bps) to the same instrument', () => {
    const { bus, books, c, seen } = setup();
    book(books, instrument('coinbase', 'BTC', 'USD'), '65090', '65110'); // mid 65100
    bus.publish('oracle_price', { kind: 'oracle_price', source: 'pyth', updates: [oracle('6509000000000', 1786310820)], binary: null, recvTs: Date.now() }); // 65090
    vi.advanceTimersByTime(150);
    const s = c.getSummary('BTC/USD')!;
    const deviationBps = Number((((65100 - 65090) / 65090) * 10000).toPrecision(12));
    expect(s.oracle).toEqual({ source: 'pyth', feedId: BTC, price: 65090, confidence: 20, publishTime: 1786310820_000, deviationBps });
    expect(s.oracle!.deviationBps).toBeCloseTo(1.5363, 3);
    expect(seen[seen.length - 1].oracle?.price).toBe(65090);
    // On the wire (snake_case, the one encoder): the oracle block, with `stale` always present.
    const wire = consolidatedBookMessage('consolidated:BTC/USD:book', s) as Record<string, unknown>;
    expect(() => ConsolidatedBookSchema.parse(wire)).not.toThrow();
    expect(wire.oracle).toEqual({ source: 'pyth', feed_id: BTC, price: 65090, confidence: 20, publish_time: 1786310820_000, deviation_bps: deviationBps, stale: false });
    expect(wire).toMatchObject({ spread: 20, mid: 65100 });
    expect(wire.spread_bps).toBeCloseTo((20 / 65100) * 10000, 9);
  });

  it('meets BTC/USDT books under a USDT = USD quote group, and re-emits when only the oracle moves', () => {
    const { bus, books, c, seen } = setup([['USDT', 'USD', 'USDC']]);
    book(books, instrument('bybit', 'BTC', 'USDT'), '65120', '65130'); // mid 65125
    vi.advanceTimersByTime(150);
    expect(c.getSummary('BTC/USDT')!.oracle).toBeUndefined();
    const before = seen.length;
    bus.publish('oracle_price', { kind: 'oracle_price', source: 'pyth', updates: [oracle('6510000000000', 1786310821)], binary: null, recvTs: Date.now() });
    vi.advanceTimersByTime(150);
    expect(seen.length).toBe(before + 1);
    const s = seen[seen.length - 1];
    expect(s.symbol).toBe('BTC/USDT');
    expect(s.oracle?.deviationBps).toBeCloseTo(((65125 - 65100) / 65100) * 10000, 9);
    // An oracle for an instrument no venue trades attaches nowhere.
    const other = { ...oracle('100', 1), id: '0x' + 'ab'.repeat(32) };
    bus.publish('oracle_price', { kind: 'oracle_price', source: 'pyth', updates: [other], binary: null, recvTs: Date.now() });
    vi.advanceTimersByTime(150);
    expect(c.getAllSummaries().map((x) => x.oracle?.feedId)).toEqual([BTC]);
  });

  it('has no deviation without a mid', () => {
    const { bus, books, c } = setup();
    const inst = instrument('coinbase', 'BTC', 'USD');
    books.feed(inst).snapshot([['65000', '1']], [], Date.now(), 0);
    bus.publish('oracle_price', { kind: 'oracle_price', source: 'pyth', updates: [oracle('6509000000000', 1786310820)], binary: null, recvTs: Date.now() });
    expect(c.getSummary('BTC/USD')!.oracle?.deviationBps).toBeNull();
  });
});
