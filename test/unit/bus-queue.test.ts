/**
 * Bus queues under a slow subscriber: order below capacity, the depth counter, and each overflow policy —
 * `conflate` (books: what the reader gets rebuilds exactly the books all events build; tickers: the latest value
 * wins), `drop` (trades: exact counts), `disconnect` (the reader's next() rejects with QueueOverflowError).
 */
import { describe, expect, it } from 'vitest';
import type { BookDeltaMsg, BookResetMsg, BookSnapshotMsg, DomainEvent, Level, TickerMsg, TradeMsg } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { parseDecimal } from '../../src/core/decimal.ts';
import { Bus } from '../../src/bus/bus.ts';
import { EventQueue, QueueOverflowError, mergeBookEvents } from '../../src/bus/queue.ts';

const inst = (venue: string, venueSymbol: string, base: string, quote: string): Instrument => ({
  venue, key: `spot:${venueSymbol}`, venueSymbol, symbol: `${base}/${quote}`, base, quote, type: 'spot', tickSize: '0.01', lotSize: '0.0001',
});
const BTC = inst('binance', 'BTCUSDT', 'BTC', 'USDT');
const ETH = inst('kraken', 'ETH/USD', 'ETH', 'USD');

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const trade = (i: number, instrument = BTC): TradeMsg => ({
  kind: 'trade', instrument, price: String(60000 + i), size: '0.01', side: i % 2 ? 'buy' : 'sell', tradeId: `t${i}`, ts: 1000 + i, recvTs: 1001 + i,
});
const ticker = (i: number, instrument = BTC): TickerMsg => ({
  kind: 'ticker', instrument, bidPrice: String(100 + i), bidSize: '1', askPrice: String(101 + i), askSize: '2', last: String(100 + i), volume24h: null, ts: 1000 + i, recvTs: 1001 + i,
});

// ───────────── book model: what a consumer of the book events holds ─────────────

interface RebuiltBook {
  epoch: number;
  bids: Map<number, Level>;
  asks: Map<number, Level>;
}

/** Applies absolute levels by numeric price (as the book engine does); size "0" deletes. */
function applyLevels(side: Map<number, Level>, levels: readonly Level[]): void {
  for (const l of levels) {
    const p = parseDecimal(l[0]);
    if (parseDecimal(l[1]) === 0) side.delete(p);
    else side.set(p, l);
  }
}

/** Rebuilds every book from book events: a snapshot starts its epoch, deltas apply to it, a reset drops the book. */
function rebuild(events: readonly DomainEvent[]): { books: Map<string, { epoch: number; bids: Level[]; asks: Level[] }>; anomalies: string[] } {
  const held = new Map<string, RebuiltBook>();
  const anomalies: string[] = [];
  for (const ev of events) {
    if (ev.kind !== 'book_snapshot' && ev.kind !== 'book_delta' && ev.kind !== 'book_reset') continue;
    const key = `${ev.instrument.venue}|${ev.instrument.key}`;
    if (ev.kind === 'book_snapshot') {
      const b: RebuiltBook = { epoch: ev.epoch, bids: new Map(), asks: new Map() };
      applyLevels(b.bids, ev.bids);
      applyLevels(b.asks, ev.asks);
      held.set(key, b);
    } else if (ev.kind === 'book_reset') {
      held.delete(key);
    } else {
      const b = held.get(key);
      if (b === undefined || b.epoch !== ev.epoch) {
        anomalies.push(`delta of epoch ${ev.epoch} for ${key} holding ${b?.epoch ?? 'nothing'}`);
        continue;
      }
      applyLevels(b.bids, ev.bids);
      applyLevels(b.asks, ev.asks);
    }
  }
  const sorted = (m: Map<number, Level>, desc: boolean) => [...m.entries()].sort((x, y) => (desc ? y[0] - x[0] : x[0] - y[0])).map(([, l]) => l);
  const books = new Map([...held].map(([k, b]) => [k, { epoch: b.epoch, bids: sorted(b.bids, true), asks: sorted(b.asks, false) }] as const));
  return { books, anomalies };
}

/**
 * A realistic stream for one book: snapshot (epoch 1), deltas that add, change and delete levels — sometimes
 * spelling a price with an extra trailing zero, as venues do — then a reset and a rebuild (epoch 2) with more deltas.
 */
function bookStream(instrument: Instrument, mid: number, n: number, rand: () => number): (BookSnapshotMsg | BookDeltaMsg | BookResetMsg)[] {
  const px = (p: number) => (rand() < 0.25 ? p.toFixed(2) + '0' : p.toFixed(2));
  const sz = () => (rand() < 0.3 ? (rand() < 0.5 ? '0' : '0.0000') : (rand() * 5 + 0.0001).toFixed(4));
  const level = (side: 'bid' | 'ask'): Level => {
    const p = side === 'bid' ? mid - 0.01 * (1 + Math.floor(rand() * 40)) : mid + 0.01 * (1 + Math.floor(rand() * 40));
    return [px(p), sz()];
  };
  const out: (BookSnapshotMsg | BookDeltaMsg | BookResetMsg)[] = [];
  let seq = 1000;
  let ts = 1_700_000_000_000;
  const snapshot = (epoch: number): BookSnapshotMsg => ({
    kind: 'book_snapshot', instrument, epoch, seq: ++seq, ts: ++ts, recvTs: ts + 3,
    bids: Array.from({ length: 20 }, (_, i) => [(mid - 0.01 * (i + 1)).toFixed(2), '1.0000'] as Level),
    asks: Array.from({ length: 20 }, (_, i) => [(mid + 0.01 * (i + 1)).toFixed(2), '1.0000'] as Level),
  });
  const deltas = (epoch: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const bids = Array.from({ length: Math.floor(rand() * 4) }, () => level('bid'));
      const asks = Array.from({ length: Math.floor(rand() * 4) }, () => level('ask'));
      out.push({ kind: 'book_delta', instrument, epoch, seq: ++seq, ts: ++ts, recvTs: ts + 3, bids, asks });
    }
  };
  out.push(snapshot(1));
  deltas(1, Math.floor(n / 2));
  out.push({ kind: 'book_reset', instrument, epoch: 1, reason: 'gap', ts: ++ts });
  out.push(snapshot(2));
  deltas(2, n - Math.floor(n / 2));
  return out;
}

/** Interleaves streams at random, keeping each stream's order. */
function interleave<T>(streams: T[][], rand: () => number): T[] {
  const idx = streams.map(() => 0);
  const out: T[] = [];
  for (;;) {
    const live = streams.map((s, i) => i).filter((i) => idx[i] < streams[i].length);
    if (live.length === 0) return out;
    const i = live[Math.floor(rand() * live.length)];
    out.push(streams[i][idx[i]++]);
  }
}

/** Publishes `events` on `bus` (by their kind). */
const publishAll = (bus: Bus, events: readonly DomainEvent[]) => {
  for (const ev of events) bus.publish(ev.kind, ev as never);
};

describe('bus queue below capacity', () => {
  it('keeps every event, in publish order, the very same values', async () => {
    const bus = new Bus();
    const q = bus.queue(['trade', 'ticker', 'book_snapshot', 'book_delta'], { name: 'test', capacity: 100 });
    const rand = rng(1);
    const published = interleave<DomainEvent>([Array.from({ length: 30 }, (_, i) => trade(i)), Array.from({ length: 30 }, (_, i) => ticker(i, ETH)), bookStream(BTC, 100, 60, rand).filter((e) => e.kind !== 'book_reset')], rand).slice(0, 100);
    publishAll(bus, published);
    expect(q.depth).toBe(100);
    const got: DomainEvent[] = [];
    for (let i = 0; i < 10; i++) got.push((await q.next()).value as DomainEvent);
    got.push(...q.drain());
    expect(got.length).toBe(published.length);
    got.forEach((ev, i) => expect(ev).toBe(published[i]));
    expect(q.counters).toEqual({ enqueued: 100, dropped: {}, conflated: {} });
  });

  it('counts its depth: up on publish, down on read, 0 when a waiting reader is handed the event', async () => {
    const bus = new Bus();
    const q = bus.queue(['trade'], { name: 'depth', capacity: 5 });
    expect(q.depth).toBe(0);
    publishAll(bus, [trade(1), trade(2), trade(3)]);
    expect(q.depth).toBe(3);
    await q.next();
    expect(q.depth).toBe(2);
    expect(q.drain().length).toBe(2);
    expect(q.depth).toBe(0);
    const waiting = q.next();
    bus.publish('trade', trade(4));
    expect(q.depth).toBe(0);
    expect((await waiting).value).toEqual(trade(4));
    publishAll(bus, Array.from({ length: 9 }, (_, i) => trade(10 + i)));
    expect(q.depth).toBe(5); // capped: trades beyond capacity are dropped
    q.close();
    expect(q.drain().length).toBe(5);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('several pending next() calls are all answered, in order', async () => {
    const q = new EventQueue({ name: 'multi' });
    const a = q.next();
    const b = q.next();
    q.push(trade(1));
    q.push(trade(2));
    const c = q.next();
    q.close();
    expect((await a).value).toEqual(trade(1));
    expect((await b).value).toEqual(trade(2));
    expect((await c).done).toBe(true);
  });
});

describe('overflow policy: conflate', () => {
  it('books: a slow reader rebuilds exactly the books that applying every event builds', async () => {
    const rand = rng(42);
    const bus = new Bus();
    const all: DomainEvent[] = [];
    for (const t of ['book_snapshot', 'book_delta', 'book_reset'] as const) bus.on(t, (ev) => all.push(ev));
    const capacity = 16;
    const q = bus.queue(['book_snapshot', 'book_delta', 'book_reset'], { name: 'slow', capacity });
    const SOL = inst('okx', 'SOL-USDT', 'SOL', 'USDT');
    const events = interleave<DomainEvent>([bookStream(BTC, 60000, 400, rand), bookStream(ETH, 3000, 300, rand), bookStream(SOL, 150, 200, rand)], rand);
    const got: DomainEvent[] = [];
    let maxDepth = 0;
    for (let i = 0; i < events.length; i++) {
      publishAll(bus, [events[i]]);
      maxDepth = Math.max(maxDepth, q.depth);
      if (i % 9 === 0) got.push((await q.next()).value as DomainEvent); // one read per 9 publishes
    }
    got.push(...q.drain());

    expect(all).toEqual(events);
    const truth = rebuild(all);
    const seen = rebuild(got);
    expect(truth.anomalies).toEqual([]);
    expect(seen.anomalies).toEqual([]);
    expect([...seen.books.keys()].sort()).toEqual([...truth.books.keys()].sort());
    for (const [k, b] of truth.books) expect(seen.books.get(k), k).toEqual(b);
    expect(seen.books.size).toBe(3);

    // It did conflate, and the queue stayed bounded (capacity + at most one extra event per book).
    const conflated = (q.counters.conflated.book_delta ?? 0) + (q.counters.conflated.book_snapshot ?? 0) + (q.counters.conflated.book_reset ?? 0);
    expect(conflated).toBeGreaterThan(500);
    expect(got.length + conflated).toBe(events.length);
    expect(maxDepth).toBeLessThanOrEqual(capacity + 3);
    expect(q.counters.dropped).toEqual({});
    expect(q.counters.enqueued).toBe(events.length);
  });

  it('books: levels merge by numeric price, whatever the venue spelling ("100.5" vs "100.50")', () => {
    const snap: BookSnapshotMsg = { kind: 'book_snapshot', instrument: BTC, epoch: 1, seq: 1, ts: 1, recvTs: 1, bids: [['100.5', '2'], ['100.4', '1']], asks: [['100.6', '1']] };
    const d1: BookDeltaMsg = { kind: 'book_delta', instrument: BTC, epoch: 1, seq: 2, ts: 2, recvTs: 2, bids: [['100.50', '0'], ['100.40', '3']], asks: [] };
    const d2: BookDeltaMsg = { kind: 'book_delta', instrument: BTC, epoch: 1, seq: 3, ts: 3, recvTs: 3, bids: [['100.4', '0'], ['100.3', '7']], asks: [['100.60', '0.5']] };
    const merged = mergeBookEvents(snap, d1);
    expect(merged).toMatchObject({ kind: 'book_snapshot', seq: 2, bids: [['100.40', '3']], asks: [['100.6', '1']] });
    const deltas = mergeBookEvents(d1, d2);
    expect(rebuild([snap, deltas]).books).toEqual(rebuild([snap, d1, d2]).books);
    expect(rebuild([snap, deltas]).books.get('binance|spot:BTCUSDT')).toEqual({ epoch: 1, bids: [['100.3', '7']], asks: [['100.60', '0.5']] });
    // A level the book engine would ignore (size not a number) does not override the previous change.
    const bad: BookDeltaMsg = { ...d2, seq: 4, bids: [['100.30', 'n/a']], asks: [] };
    expect(mergeBookEvents(d2, bad)).toMatchObject({ seq: 4, bids: [['100.4', '0'], ['100.3', '7']] });
  });

  it('tickers: the latest value replaces the pending one of the same instrument', () => {
    const bus = new Bus();
    const q = bus.queue(['ticker', 'trade'], { name: 'tickers', capacity: 3 });
    publishAll(bus, [trade(1), ticker(1, BTC), ticker(1, ETH)]); // full
    publishAll(bus, [ticker(2, BTC), ticker(3, BTC), ticker(2, ETH), ticker(4, BTC)]);
    expect(q.depth).toBe(3);
    const got = q.drain();
    expect(got).toEqual([trade(1), ticker(4, BTC), ticker(2, ETH)]);
    expect(q.counters.conflated).toEqual({ ticker: 4 });
    expect(q.counters.dropped).toEqual({});
  });

  it('tickers: an instrument with nothing pending is still queued past capacity (one extra per key)', () => {
    const bus = new Bus();
    const q = bus.queue(['ticker', 'trade'], { name: 'tickers', capacity: 2 });
    const SOL = inst('okx', 'SOL-USDT', 'SOL', 'USDT');
    publishAll(bus, [trade(1), trade(2), ticker(1, BTC), ticker(1, ETH), ticker(2, BTC), ticker(1, SOL), ticker(3, ETH)]);
    expect(q.drain()).toEqual([trade(1), trade(2), ticker(2, BTC), ticker(3, ETH), ticker(1, SOL)]);
    expect(q.counters.conflated).toEqual({ ticker: 2 });
  });
});

describe('overflow policy: drop (trades)', () => {
  it('keeps the first `capacity` trades in order and counts every dropped one exactly', async () => {
    const bus = new Bus();
    const q = bus.queue(['trade'], { name: 'trades', capacity: 10 });
    publishAll(bus, Array.from({ length: 25 }, (_, i) => trade(i)));
    expect(q.depth).toBe(10);
    expect(q.counters.dropped).toEqual({ trade: 15 });
    for (let i = 0; i < 4; i++) expect((await q.next()).value).toEqual(trade(i));
    publishAll(bus, Array.from({ length: 7 }, (_, i) => trade(100 + i)));
    expect(q.counters.dropped).toEqual({ trade: 18 });
    expect(q.counters.enqueued).toBe(14);
    expect(q.drain().map((e) => (e as TradeMsg).tradeId)).toEqual(['t4', 't5', 't6', 't7', 't8', 't9', 't100', 't101', 't102', 't103']);
    expect(q.counters.conflated).toEqual({});
  });
});

describe('overflow policy: disconnect', () => {
  it('the reader next() rejects with QueueOverflowError; the loss is counted; other subscribers are unaffected', async () => {
    const bus = new Bus();
    const other: DomainEvent[] = [];
    const q = bus.queue(['trade'], { name: 'account', capacity: 3, policies: { trade: 'disconnect' } });
    bus.on('trade', (t) => other.push(t));
    const first = q.next();
    bus.publish('trade', trade(0)); // handed to the waiting reader
    expect((await first).value).toEqual(trade(0));
    publishAll(bus, [trade(1), trade(2), trade(3), trade(4)]); // the 4th pending one overflows
    expect(q.closed).toBe(true);
    expect(q.error).toBeInstanceOf(QueueOverflowError);
    const err = await q.next().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(QueueOverflowError);
    expect(err).toMatchObject({ queue: 'account', topic: 'trade', capacity: 3 });
    await expect(q.next()).rejects.toBeInstanceOf(QueueOverflowError); // and keeps rejecting
    expect(q.drain()).toEqual([]);
    expect(q.depth).toBe(0);
    // 3 discarded + the overflowing one; events offered until the consumer closes it are counted too.
    expect(q.counters.dropped).toEqual({ trade: 4 });
    bus.publish('trade', trade(5));
    expect(q.counters.dropped).toEqual({ trade: 5 });
    expect(other.length).toBe(6);
    q.close(); // the consumer lets go: detached from the bus
    expect(bus.attachedQueues()).not.toContain(q);
    expect(bus.has('trade')).toBe(true);
    bus.publish('trade', trade(6));
    expect(q.counters.dropped).toEqual({ trade: 5 });
    expect(other.length).toBe(7);
  });

  it('applies to whatever topic declares it (a ticker here)', async () => {
    const q = new EventQueue({ name: 'tickers', capacity: 1, policies: { ticker: 'disconnect' } });
    q.push(ticker(1));
    const r1 = await q.next();
    expect(r1.value).toEqual(ticker(1));
    q.push(ticker(2));
    q.push(ticker(3)); // overflow: pending discarded
    await expect(q.next()).rejects.toBeInstanceOf(QueueOverflowError);
  });
});

describe('bus subscriptions', () => {
  it('a handler removed during publish does not make the next handler miss the event', () => {
    const bus = new Bus();
    const seen: string[] = [];
    const off = bus.on('trade', () => {
      seen.push('a');
      off();
    });
    bus.on('trade', () => seen.push('b'));
    bus.publish('trade', trade(1));
    bus.publish('trade', trade(2));
    expect(seen).toEqual(['a', 'b', 'b']);
  });

  it('a queue closed from a handler while publishing leaves the other subscribers their event', () => {
    const bus = new Bus();
    const q = bus.queue(['trade'], { name: 'closing' });
    bus.on('trade', () => q.close());
    const seen: DomainEvent[] = [];
    bus.on('trade', (t) => seen.push(t));
    bus.publish('trade', trade(1));
    expect(seen).toEqual([trade(1)]);
    expect(bus.attachedQueues()).toEqual([]);
  });
});
