import { describe, expect, it } from 'vitest';
import { Bus } from '../../src/bus/bus.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { DataClock } from '../../src/pipeline/clock.ts';

/** A controllable wall clock. */
function wallClock(start: number) {
  let t = start;
  return { wall: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}

const WALL = 1_796_000_000_000; // "today"
const REC = 1_786_310_817_601; // a recording's time, ~116 days earlier

const BTC: Instrument = { venue: 'bybit', key: 'spot:BTCUSDT', venueSymbol: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot' };

describe('DataClock', () => {
  it('is the wall clock until a receive time is observed', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    expect(c.started).toBe(false);
    expect(c.now()).toBe(WALL);
    w.advance(250);
    expect(c.now()).toBe(WALL + 250);
  });

  it('the first observation sets it, even to an earlier time (a replayed recording)', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    c.observe(REC);
    expect(c.started).toBe(true);
    expect(c.now()).toBe(REC);
  });

  it('advances with the wall time elapsed since the latest receive time, so staleness grows when frames stop', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    c.observe(REC);
    w.advance(1500);
    expect(c.now()).toBe(REC + 1500);
    w.advance(60_000);
    expect(c.now()).toBe(REC + 61_500);
  });

  it('jumps forward to a newer receive time (replay faster than the recorded pace)', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    c.observe(REC);
    w.advance(10);
    c.observe(REC + 5000); // 5 s of recording played in 10 ms
    expect(c.now()).toBe(REC + 5000);
    w.advance(10);
    expect(c.now()).toBe(REC + 5010);
  });

  it('never goes backwards: an older receive time (a queued event, an older recording) does not move it', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    c.observe(REC + 10_000);
    w.advance(100);
    c.observe(REC); // e.g. a venue recorded earlier than the first
    expect(c.now()).toBe(REC + 10_100);
    c.observe(REC + 10_050); // behind now() (10 100) though ahead of the last jump
    expect(c.now()).toBe(REC + 10_100);
    c.observe(REC + 10_200);
    expect(c.now()).toBe(REC + 10_200);
  });

  it('live: receive times are wall times, so it tracks the wall clock', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    for (let i = 0; i < 5; i++) {
      c.observe(w.wall());
      w.advance(3);
      expect(c.now()).toBe(w.wall());
    }
    // A frame that waited 2 ms before being observed leaves the clock on the wall clock.
    w.advance(7);
    c.observe(w.wall() - 2);
    expect(c.now()).toBe(w.wall());
  });

  it('ignores unknown or absurd receive times', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    for (const bad of [0, -5, Number.NaN, Infinity, -Infinity]) c.observe(bad);
    expect(c.started).toBe(false);
    expect(c.now()).toBe(WALL);
  });

  it('does not run backwards when the wall clock steps back', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    c.observe(REC);
    w.advance(1000);
    expect(c.now()).toBe(REC + 1000);
    w.set(WALL - 5000);
    expect(c.now()).toBe(REC);
    c.observe(REC + 1); // ahead of now() again: jumps
    expect(c.now()).toBe(REC + 1);
  });

  it('now and observe are bound (passed around as plain functions)', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    const { now, observe } = c;
    observe(REC);
    expect(now()).toBe(REC);
  });

  it('attach(bus) follows the recvTs of book snapshots, deltas, trades and tickers; detach stops it', () => {
    const w = wallClock(WALL);
    const c = new DataClock({ wall: w.wall });
    const bus = new Bus();
    const detach = c.attach(bus);
    bus.publish('book_snapshot', { kind: 'book_snapshot', instrument: BTC, epoch: 1, seq: 1, ts: REC - 50, recvTs: REC, bids: [['100', '1']], asks: [['101', '1']] });
    expect(c.now()).toBe(REC);
    bus.publish('book_delta', { kind: 'book_delta', instrument: BTC, epoch: 1, seq: 2, ts: REC + 950, recvTs: REC + 1000, bids: [], asks: [] });
    expect(c.now()).toBe(REC + 1000);
    bus.publish('trade', { kind: 'trade', instrument: BTC, price: '100', size: '1', side: 'buy', tradeId: 't1', ts: REC + 1990, recvTs: REC + 2000 });
    expect(c.now()).toBe(REC + 2000);
    bus.publish('ticker', {
      kind: 'ticker', instrument: BTC, bidPrice: '100', bidSize: '1', askPrice: '101', askSize: '1', last: null, volume24h: null, ts: REC + 2990, recvTs: REC + 3000,
    });
    expect(c.now()).toBe(REC + 3000);
    // Other topics do not move it.
    bus.publish('venue_status', { kind: 'venue_status', venue: 'bybit', connId: 'c', state: 'open', detail: null, ts: REC + 99_000 });
    expect(c.now()).toBe(REC + 3000);
    detach();
    bus.publish('trade', { kind: 'trade', instrument: BTC, price: '100', size: '1', side: 'buy', tradeId: 't2', ts: REC + 9000, recvTs: REC + 9000 });
    expect(c.now()).toBe(REC + 3000);
  });
});
