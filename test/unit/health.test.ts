import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Level } from '../../src/core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { L2Book } from '../../src/pipeline/book.ts';
import { Bus } from '../../src/bus/bus.ts';
import { HealthMonitor, type VenueCounters, type VenueHealthReport } from '../../src/pipeline/health.ts';
import { publishBook as publishBookEvent, publishDelta, publishReset } from '../helpers/books.ts';

function instrument(venue: string, base = 'BTC', quote = 'USDT'): Instrument {
  const venueSymbol = `${base}${quote}`;
  return { venue, key: instrumentKey('spot', venueSymbol), venueSymbol, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

/** Loads a real book (a rebuild) and publishes it on the bus as a `book_snapshot` with the given venue and receive times. */
function publishBook(bus: Bus, inst: Instrument, book: L2Book, ts: number, recvTs: number, levels: { bids: Level[]; asks: Level[] } = { bids: [['100', '1']], asks: [['101', '1']] }): void {
  book.loadSnapshot(levels.bids, levels.asks);
  book.valid = true;
  book.epoch++;
  book.ts = ts;
  book.recvTs = recvTs;
  publishBookEvent(bus, inst, book);
}

const T0 = 1_700_000_000_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

const byVenue = (rs: readonly VenueHealthReport[], v: string) => rs.find((r) => r.venue === v)!;

describe('health math', () => {
  it('computes updates per second over the refresh interval and mean latency (receive − venue time)', () => {
    const bus = new Bus();
    const h = new HealthMonitor({ intervalMs: 5000, staleAfterMs: 10000, bus, venues: ['a'] });
    const inst = instrument('a');
    const book = new L2Book('a', inst.key, inst.symbol, inst.venueSymbol);
    const reports: VenueHealthReport[][] = [];
    h.subscribe((r) => reports.push([...r]));
    h.start();
    // 50 book updates over 5 s, latencies alternating 10 and 30 ms; plus 25 trades with 20 ms.
    for (let i = 0; i < 50; i++) {
      const now = Date.now(); // T0 + i * 100
      publishBook(bus, inst, book, now - (i % 2 === 0 ? 10 : 30), now);
      if (i % 2 === 0) {
        bus.publish('trade', { kind: 'trade', instrument: inst, price: '100', size: '1', side: 'buy', tradeId: String(i), ts: now - 20, recvTs: now });
      }
      vi.advanceTimersByTime(100);
    }
    expect(reports.length).toBe(1); // the timer fired at T0 + 5000
    const r = byVenue(reports[0], 'a');
    expect(r.updatesPerSecond).toBe(15); // 75 updates / 5 s
    expect(r.latencyMs).toBe(20);
    expect(r.lastUpdate).toBe(T0 + 4900);
    expect(r.healthy).toBe(true);
    expect(r.errorMessage).toBeNull();
    expect(r.books).toEqual({ total: 1, valid: 1 });
    expect(h.snapshot()).toEqual(reports[0]);
    // Next interval: 10 updates with 50 ms latency.
    for (let i = 0; i < 10; i++) {
      h.onFrame('a', Date.now() - 50, Date.now());
      vi.advanceTimersByTime(500);
    }
    expect(reports.length).toBe(2);
    expect(byVenue(reports[1], 'a').updatesPerSecond).toBe(2);
    expect(byVenue(reports[1], 'a').latencyMs).toBe(50);
    h.stop();
  });

  it('counts book deltas and tickers from the bus as updates too, each with its own venue and receive time', () => {
    const bus = new Bus();
    const h = new HealthMonitor({ intervalMs: 1000, staleAfterMs: 10000, bus, venues: ['a'] });
    const inst = instrument('a');
    const book = new L2Book('a', inst.key, inst.symbol, inst.venueSymbol);
    publishBook(bus, inst, book, T0 - 10, T0); // latency 10
    vi.advanceTimersByTime(500);
    book.applyLevels([['100', '2']], []);
    book.ts = Date.now() - 30;
    book.recvTs = Date.now();
    publishDelta(bus, inst, book, [['100', '2']], []); // latency 30
    bus.publish('ticker', { kind: 'ticker', instrument: inst, bidPrice: '100', bidSize: '2', askPrice: '101', askSize: '1', last: null, volume24h: null, ts: Date.now() - 20, recvTs: Date.now() }); // latency 20
    vi.advanceTimersByTime(500);
    const r = byVenue(h.refresh(), 'a');
    expect(r.updatesPerSecond).toBe(3); // 3 updates in 1 s
    expect(r.latencyMs).toBe(20);
    expect(r.lastUpdate).toBe(T0 + 500);
    expect(r.books).toEqual({ total: 1, valid: 1 });
    expect(r.healthy).toBe(true);
  });

  it('turns a venue unhealthy when its updates stop for longer than staleAfterMs, and healthy again on the next update', () => {
    const h = new HealthMonitor({ intervalMs: 1000, staleAfterMs: 3000, venues: ['a', 'b'] });
    h.start();
    h.onFrame('a', T0 - 5, T0);
    vi.advanceTimersByTime(1000);
    expect(byVenue(h.snapshot(), 'a').healthy).toBe(true);
    expect(byVenue(h.snapshot(), 'b')).toMatchObject({ healthy: false, lastUpdate: null, errorMessage: 'no update yet', latencyMs: null, updatesPerSecond: 0 });
    expect(h.ready(1)).toBe(true);
    expect(h.ready(2)).toBe(false);
    vi.advanceTimersByTime(2000); // a is 3000 ms old: still fresh
    expect(byVenue(h.snapshot(), 'a').healthy).toBe(true);
    vi.advanceTimersByTime(1000);
    const a = byVenue(h.snapshot(), 'a');
    expect(a.healthy).toBe(false);
    expect(a.errorMessage).toBe('no update for 4000 ms');
    expect(a.latencyMs).toBe(5); // last known value is kept
    expect(h.ready(1)).toBe(false);
    h.onFrame('a', Date.now() - 5, Date.now());
    vi.advanceTimersByTime(1000);
    expect(byVenue(h.snapshot(), 'a').healthy).toBe(true);
    h.stop();
  });

  it('follows connection state from venue_status and counts reconnects', () => {
    const bus = new Bus();
    const h = new HealthMonitor({ bus, staleAfterMs: 60000 });
    h.onFrame('a', T0, T0);
    bus.publish('venue_status', { kind: 'venue_status', venue: 'a', connId: 'spot-0', state: 'open', detail: null, ts: T0 });
    bus.publish('venue_status', { kind: 'venue_status', venue: 'a', connId: 'spot-1', state: 'open', detail: null, ts: T0 });
    expect(byVenue(h.refresh(), 'a')).toMatchObject({ healthy: true, connected: true, reconnects: 0 });
    bus.publish('venue_status', { kind: 'venue_status', venue: 'a', connId: 'spot-1', state: 'closed', detail: 'code 1006', ts: T0 });
    bus.publish('venue_status', { kind: 'venue_status', venue: 'a', connId: 'spot-1', state: 'reconnecting', detail: 'attempt 1 in 500 ms', ts: T0 });
    let r = byVenue(h.refresh(), 'a');
    expect(r).toMatchObject({ healthy: false, connected: false, reconnects: 1 });
    expect(r.errorMessage).toBe('disconnected (spot-1 reconnecting: attempt 1 in 500 ms)');
    bus.publish('venue_status', { kind: 'venue_status', venue: 'a', connId: 'spot-1', state: 'open', detail: null, ts: T0 });
    r = byVenue(h.refresh(), 'a');
    expect(r).toMatchObject({ healthy: true, connected: true, reconnects: 1 });
  });

  it('is unhealthy while every book of the venue resyncs, and counts gaps', () => {
    const bus = new Bus();
    const h = new HealthMonitor({ bus });
    const x = instrument('a', 'BTC');
    const y = instrument('a', 'ETH');
    const bx = new L2Book('a', x.key, x.symbol, x.venueSymbol);
    const by = new L2Book('a', y.key, y.symbol, y.venueSymbol);
    publishBook(bus, x, bx, T0, T0);
    publishBook(bus, y, by, T0, T0);
    bx.reset();
    publishReset(bus, x, bx, 'gap', T0);
    let r = byVenue(h.refresh(), 'a');
    expect(r).toMatchObject({ healthy: true, gaps: 1, books: { total: 2, valid: 1 } });
    by.reset();
    publishReset(bus, y, by, 'checksum', T0);
    r = byVenue(h.refresh(), 'a');
    expect(r).toMatchObject({ healthy: false, gaps: 1, books: { total: 2, valid: 0 }, errorMessage: 'all 2 books resyncing' });
    publishBook(bus, y, by, T0, T0);
    expect(byVenue(h.refresh(), 'a').healthy).toBe(true);
  });

  it('uses pulled counters and errors when given', () => {
    const pulled: Record<string, VenueCounters> = { a: { errors: 7, reconnects: 2, gaps: 3, lastError: 'venue said no' } };
    const h = new HealthMonitor({ counters: (v) => pulled[v] });
    h.onFrame('a', T0, T0);
    h.onFrame('b', T0, T0);
    h.onError('b', 'bad frame');
    const rs = h.refresh();
    expect(byVenue(rs, 'a')).toMatchObject({ healthy: true, errorCount: 7, reconnects: 2, gaps: 3, errorMessage: 'venue said no' });
    expect(byVenue(rs, 'b')).toMatchObject({ healthy: true, errorCount: 1, reconnects: 0, gaps: 0, errorMessage: 'bad frame' });
    pulled.a = { ...pulled.a, connected: false };
    expect(byVenue(h.refresh(), 'a')).toMatchObject({ healthy: false, connected: false, errorMessage: 'disconnected; last error: venue said no' });
  });

  it('snapshot() returns the last refresh until the timer refreshes it', () => {
    const h = new HealthMonitor({ intervalMs: 2000, staleAfterMs: 1000 });
    h.onFrame('a', T0, T0);
    expect(h.snapshot()[0].healthy).toBe(true);
    h.start();
    vi.advanceTimersByTime(1999);
    expect(h.snapshot()[0].healthy).toBe(true); // not refreshed yet
    vi.advanceTimersByTime(1);
    expect(h.snapshot()[0].healthy).toBe(false);
    h.stop();
  });
});
