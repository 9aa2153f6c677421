/**
 * Oracle vs market: a Pyth price on the bus attaches to the consolidated summary of its instrument (directly, or
 * through a quote-equivalence group) with the mid's deviation in bps, and a new oracle price re-emits the summary.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { decodeParsedEntry } from '../../src/oracle/pyth/decode.ts';
import { L2Book } from '../../src/pipeline/book.ts';
import { Bus, type OraclePrice } from '../../src/pipeline/bus.ts';
import { Consolidator, type Summary } from '../../src/pipeline/consolidate.ts';
import { ConsolidatedBookSchema } from '../../src/protocol/messages.ts';

const BTC = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
const T0 = 1_786_310_820_000;

function instrument(venue: string, base: string, quote: string): Instrument {
  return { venue, key: instrumentKey('spot', `${base}${quote}`), venueSymbol: `${base}${quote}`, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

function book(bus: Bus, inst: Instrument, bid: string, ask: string): void {
  const b = new L2Book(inst.venue, inst.key, inst.symbol, inst.venueSymbol);
  b.loadSnapshot([[bid, '1']], [[ask, '1']]);
  b.valid = true;
  b.ts = b.recvTs = Date.now();
  bus.publish('book', { kind: 'snapshot', instrument: inst, book: b, bids: [[bid, '1']], asks: [[ask, '1']] });
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
  const c = new Consolidator({ bus, summaryIntervalMs: 100, quoteGroups, isVenueConnected: () => true, oracleInstrument: (_s, id) => (id === BTC ? 'BTC/USD' : undefined) });
  const seen: Summary[] = [];
  c.subscribe((s) => seen.push(s));
  return { bus, c, seen };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe('oracle deviation on summaries', () => {
  it('attaches the Pyth price and the mid deviation (bps) to the same instrument', () => {
    const { bus, c, seen } = setup();
    book(bus, instrument('coinbase', 'BTC', 'USD'), '65090', '65110'); // mid 65100
    bus.publish('oracle_price', { source: 'pyth', updates: [oracle('6509000000000', 1786310820)], binary: null, recvTs: Date.now() }); // 65090
    vi.advanceTimersByTime(150);
    const s = c.getSummary('BTC/USD')!;
    expect(s.oracle).toEqual({ source: 'pyth', feedId: BTC, price: 65090, confidence: 20, publishTime: 1786310820_000, deviationBps: Number((((65100 - 65090) / 65090) * 10000).toPrecision(12)) });
    expect(s.oracle!.deviationBps).toBeCloseTo(1.5363, 3);
    expect(seen[seen.length - 1].oracle?.price).toBe(65090);
    expect(() => ConsolidatedBookSchema.parse({ ...s, type: 'consolidated_book', feed_id: 'consolidated:BTC/USD:book' })).not.toThrow();
  });

  it('meets BTC/USDT books under a USDT = USD quote group, and re-emits when only the oracle moves', () => {
    const { bus, c, seen } = setup([['USDT', 'USD', 'USDC']]);
    book(bus, instrument('bybit', 'BTC', 'USDT'), '65120', '65130'); // mid 65125
    vi.advanceTimersByTime(150);
    expect(c.getSummary('BTC/USDT')!.oracle).toBeUndefined();
    const before = seen.length;
    bus.publish('oracle_price', { source: 'pyth', updates: [oracle('6510000000000', 1786310821)], binary: null, recvTs: Date.now() });
    vi.advanceTimersByTime(150);
    expect(seen.length).toBe(before + 1);
    const s = seen[seen.length - 1];
    expect(s.symbol).toBe('BTC/USDT');
    expect(s.oracle?.deviationBps).toBeCloseTo(((65125 - 65100) / 65100) * 10000, 9);
    // An oracle for an instrument no venue trades attaches nowhere.
    const other = { ...oracle('100', 1), id: '0x' + 'ab'.repeat(32) };
    bus.publish('oracle_price', { source: 'pyth', updates: [other], binary: null, recvTs: Date.now() });
    vi.advanceTimersByTime(150);
    expect(c.getAllSummaries().map((x) => x.oracle?.feedId)).toEqual([BTC]);
  });

  it('has no deviation without a mid', () => {
    const { bus, c } = setup();
    const inst = instrument('coinbase', 'BTC', 'USD');
    const b = new L2Book(inst.venue, inst.key, inst.symbol, inst.venueSymbol);
    b.loadSnapshot([['65000', '1']], []);
    b.valid = true;
    b.recvTs = Date.now();
    bus.publish('book', { kind: 'snapshot', instrument: inst, book: b, bids: [['65000', '1']], asks: [] });
    bus.publish('oracle_price', { source: 'pyth', updates: [oracle('6509000000000', 1786310820)], binary: null, recvTs: Date.now() });
    expect(c.getSummary('BTC/USD')!.oracle?.deviationBps).toBeNull();
  });
});
