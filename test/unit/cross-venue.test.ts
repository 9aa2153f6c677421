/**
 * Honest cross-venue data (issue P5 point 10): the pipeline's data clock in replay, the venue-time skew of summaries
 * and the exclusion of lagging venues, arbitrage only between legs seen at about the same venue time, stale oracle
 * prices flagged.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../src/bus/bus.ts';
import type { Level, OraclePrice } from '../../src/core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { createMetrics } from '../../src/obs/metrics.ts';
import { SummaryMessageSchema } from '../../src/protocol/messages.ts';
import { ArbitrageDetector, type ArbitrageOpportunity } from '../../src/pipeline/arbitrage.ts';
import { L2Book } from '../../src/pipeline/book.ts';
import { DataClock } from '../../src/pipeline/clock.ts';
import { Consolidator, type Summary, type VenueBookRef } from '../../src/pipeline/consolidate.ts';
import { HealthMonitor } from '../../src/pipeline/health.ts';
import { bridgeMetrics } from '../../src/pipeline/metrics-bridge.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { summaryMessage } from '../../src/server/encode.ts';
import { getConnector } from '../../src/venues/index.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

/** A recording's time (Bybit recording, Aug 2026): what replay's receive and venue times look like. */
const REC = 1_786_310_817_000;
const MAX_AGE = 10_000;

function spot(venue: string, base = 'BTC', quote = 'USDT'): Instrument {
  const venueSymbol = `${base}${quote}`;
  return { venue, key: instrumentKey('spot', venueSymbol), venueSymbol, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

/** One venue book, published on the bus as the sync stage does (`book_snapshot` / `book_delta`). */
class Feed {
  readonly book: L2Book;
  private seq = 0;
  constructor(
    private readonly bus: Bus,
    readonly instrument: Instrument,
  ) {
    this.book = new L2Book(instrument.venue, instrument.key, instrument.symbol, instrument.venueSymbol);
  }

  /** Venue time `ts`, receive time `recvTs` (ms). */
  snapshot(bids: Level[], asks: Level[], ts: number, recvTs: number): this {
    this.book.loadSnapshot(bids, asks);
    this.book.valid = true;
    this.book.epoch++;
    this.book.seq = ++this.seq;
    this.book.ts = ts;
    this.book.recvTs = recvTs;
    this.bus.publish('book_snapshot', { kind: 'book_snapshot', instrument: this.instrument, epoch: this.book.epoch, seq: this.seq, ts, recvTs, bids, asks });
    return this;
  }

  delta(bids: Level[], asks: Level[], ts: number, recvTs: number): this {
    this.book.applyLevels(bids, asks);
    this.book.seq = ++this.seq;
    this.book.ts = ts;
    this.book.recvTs = recvTs;
    this.bus.publish('book_delta', { kind: 'book_delta', instrument: this.instrument, epoch: this.book.epoch, seq: this.seq, ts, recvTs, bids, asks });
    return this;
  }
}

/** A controllable wall clock for the data clock. */
function wallClock(start: number) {
  let t = start;
  return { wall: () => t, advance: (ms: number) => void (t += ms) };
}

/**
 * Bus + data clock (fed from the bus, as the pipeline wires it) + consolidator reading the feeds' books.
 * `wall` defaults to the real clock (timer-driven summaries need it).
 */
function setup(opts: { wall?: () => number; summaryIntervalMs?: number; oracle?: boolean } = {}) {
  const bus = new Bus();
  const clock = new DataClock({ wall: opts.wall });
  clock.attach(bus);
  const feeds = new Map<string, Feed>();
  const book = (venue: string, key: string) => feeds.get(`${venue}|${key}`)?.book;
  const consolidator = new Consolidator({
    bus,
    book,
    maxQuoteAgeMs: MAX_AGE,
    summaryIntervalMs: opts.summaryIntervalMs ?? 1_000_000,
    isVenueConnected: () => true,
    now: clock.now,
    ...(opts.oracle ? { oracleInstrument: (source: string) => (source === 'pyth' ? 'BTC/USDT' : undefined) } : {}),
  });
  /** The BTC/USDT feed of `venue` (created on first use). */
  const feed = (venue: string): Feed => {
    const inst = spot(venue);
    let f = feeds.get(`${venue}|${inst.key}`);
    if (f === undefined) {
      f = new Feed(bus, inst);
      feeds.set(`${venue}|${inst.key}`, f);
    }
    return f;
  };
  return { bus, clock, consolidator, feed, book };
}

describe('data clock: freshness on the data\'s time', () => {
  it('books replayed from a recording are fresh on the data clock (they would all be stale on the wall clock)', () => {
    const w = wallClock(Date.now());
    const { bus, consolidator, feed, book } = setup({ wall: w.wall });
    // The same books judged on the wall clock (what the consolidator did before the data clock).
    const wallJudged = new Consolidator({ bus, book, isVenueConnected: () => true, maxQuoteAgeMs: MAX_AGE, summaryIntervalMs: 1_000_000 });
    feed('a').snapshot([['100', '1']], [['101', '1']], REC - 40, REC);
    feed('b').snapshot([['100.5', '1']], [['101.5', '1']], REC + 960, REC + 1000);
    const s = consolidator.getSummary('BTC/USDT')!;
    expect(s.venues).toEqual(['a', 'b']);
    expect(s.excluded).toEqual([]);
    expect(s.timestamp).toBe(REC + 1000);
    const wallSummary = wallJudged.getSummary('BTC/USDT')!;
    expect(wallSummary.venues).toEqual([]);
    expect(wallSummary.excluded).toEqual([{ venue: 'a', reason: 'stale' }, { venue: 'b', reason: 'stale' }]);
    wallJudged.close();
  });

  it('staleness still grows when frames stop: a silent venue is dropped once max_quote_age_ms has passed', () => {
    const w = wallClock(Date.now());
    const { consolidator, feed } = setup({ wall: w.wall });
    feed('a').snapshot([['100', '1']], [['101', '1']], REC - 40, REC);
    w.advance(MAX_AGE);
    expect(consolidator.getSummary('BTC/USDT')!.venues).toEqual(['a']);
    w.advance(1);
    const s = consolidator.getSummary('BTC/USDT')!;
    expect(s.venues).toEqual([]);
    expect(s.excluded).toEqual([{ venue: 'a', reason: 'stale' }]);
    expect(s.timestamp).toBe(REC + MAX_AGE + 1);
  });
});

describe('summaries: venue-time skew and lagging venues', () => {
  it('reports the skew between the venues merged and leaves out a venue lagging by more than max_quote_age_ms', async () => {
    const { consolidator, feed } = setup({ summaryIntervalMs: 10 });
    const seen: Summary[] = [];
    consolidator.subscribe((s) => seen.push(s));
    const a = feed('a').snapshot([['100', '1']], [['101', '1']], REC, REC + 20);
    const b = feed('b').snapshot([['100.5', '2']], [['101.5', '2']], REC - 3000, REC + 25);
    const both = await waitFor(() => seen.find((s) => s.venues.length === 2), 5000, 'a summary of both venues');
    expect(both.venueSkewMs).toBe(3000);
    expect(both.excluded).toEqual([]);
    expect(both.nbbo.bid).toEqual({ price: '100.5', size: '2', venue: 'b' });

    // b keeps sending (fresh receive times) but its venue time falls 15 s behind a's.
    a.delta([['100.1', '1']], [], REC + 12_000, REC + 12_010);
    b.delta([['100.6', '1']], [], REC + 12_010 - 15_000, REC + 12_011);
    const lag = await waitFor(() => seen.find((s) => s.excluded.length > 0), 5000, 'a summary excluding b');
    expect(lag.venues).toEqual(['a']);
    expect(lag.excluded).toEqual([{ venue: 'b', reason: 'lagging' }]);
    expect(lag.venueSkewMs).toBeUndefined(); // one book merged
    expect(lag.nbbo.bid).toEqual({ price: '100.1', size: '1', venue: 'a' });
    expect(consolidator.venueBooks('BTC/USDT').map((r) => r.venue)).toEqual(['a']); // what arbitrage sees

    // b catches up: merged again.
    b.delta([], [], REC + 11_500, REC + 12_020);
    const back = await waitFor(() => seen.find((s, i) => i > seen.indexOf(lag) && s.venues.length === 2), 5000, 'b back');
    expect(back.venueSkewMs).toBe(500);
    expect(back.excluded).toEqual([]);
    consolidator.close();
  });

  it('venues recorded at different times (the demo) are not merged: the older recordings are lagging', () => {
    const now = Date.now();
    const { consolidator, feed } = setup({ wall: () => now });
    // Replayed through the simulator: received now, venue times from recordings ~116 days and ~4.5 years old.
    feed('bybit').snapshot([['65114.2', '1']], [['65114.3', '1']], REC, now);
    feed('binance').snapshot([['57000', '1']], [['57001', '1']], 1_633_998_511_000, now);
    const s = consolidator.getSummary('BTC/USDT')!;
    expect(s.venues).toEqual(['bybit']);
    expect(s.excluded).toEqual([{ venue: 'binance', reason: 'lagging' }]);
    expect(s.crossed).toBe(false);
  });

  it('the skew is measured at the edge of max_quote_age_ms inclusively; books without a venue time take no part', () => {
    const w = wallClock(Date.now());
    const { consolidator, feed } = setup({ wall: w.wall });
    feed('a').snapshot([['100', '1']], [['101', '1']], REC, REC);
    feed('b').snapshot([['100', '1']], [['101', '1']], REC - MAX_AGE, REC);
    feed('c').snapshot([['100', '1']], [['101', '1']], 0, REC); // no venue time
    let s = consolidator.getSummary('BTC/USDT')!;
    expect(s.venues).toEqual(['a', 'b', 'c']);
    expect(s.venueSkewMs).toBe(MAX_AGE);
    feed('b').delta([], [], REC - MAX_AGE - 1, REC);
    s = consolidator.getSummary('BTC/USDT')!;
    expect(s.venues).toEqual(['a', 'c']);
    expect(s.excluded).toEqual([{ venue: 'b', reason: 'lagging' }]);
    expect(s.venueSkewMs).toBeUndefined(); // a alone has a venue time
  });

  it('a stale venue (by receive time) does not make the others lag', () => {
    const w = wallClock(Date.now());
    const { consolidator, feed } = setup({ wall: w.wall });
    feed('a').snapshot([['100', '1']], [['101', '1']], REC + 30_000, REC); // venue clock far ahead, then silent
    w.advance(MAX_AGE + 5);
    feed('b').snapshot([['100', '1']], [['101', '1']], REC + 10_000, REC + MAX_AGE + 5);
    const s = consolidator.getSummary('BTC/USDT')!;
    expect(s.venues).toEqual(['b']);
    expect(s.excluded).toEqual([{ venue: 'a', reason: 'stale' }]);
  });

  it('the encoded summary carries venue_skew_ms and the lagging reason, valid for the protocol schema', () => {
    const w = wallClock(Date.now());
    const { consolidator, feed } = setup({ wall: w.wall });
    feed('a').snapshot([['100', '1']], [['101', '1']], REC, REC);
    feed('b').snapshot([['100', '1']], [['101', '1']], REC - 2500, REC);
    feed('c').snapshot([['100', '1']], [['101', '1']], REC - 60_000, REC);
    const msg = summaryMessage('consolidated:BTC/USDT:summary', consolidator.getSummary('BTC/USDT')!) as Record<string, unknown>;
    expect(msg.venue_skew_ms).toBe(2500);
    expect(msg.excluded).toEqual([{ venue: 'c', reason: 'lagging' }]);
    expect(SummaryMessageSchema.safeParse(msg).success).toBe(true);
    expect(SummaryMessageSchema.safeParse({ ...msg, excluded: [{ venue: 'c', reason: 'sleepy' }] }).success).toBe(false);
  });
});

describe('arbitrage across skewed legs', () => {
  /** a asks 100, b bids 102: a 200 bps cross. */
  function crossed(setupOut: ReturnType<typeof setup>, tsA: number, tsB: number) {
    const a = setupOut.feed('a').snapshot([['99', '1']], [['100', '1']], tsA, REC);
    const b = setupOut.feed('b').snapshot([['102', '2']], [['103', '2']], tsB, REC);
    return { a, b };
  }

  it('is reported between legs within max_quote_age_ms, with legSkewMs', () => {
    const w = wallClock(Date.now());
    const s = setup({ wall: w.wall });
    const arb = new ArbitrageDetector({ source: s.consolidator, defaultFeeBps: 0, autoCheck: false, now: s.clock.now });
    expect(arb.maxLegSkewMs).toBe(MAX_AGE); // the consolidator's max_quote_age_ms
    crossed(s, REC, REC - 2000);
    const [o] = arb.check('BTC/USDT');
    expect(o).toMatchObject({ buyVenue: 'a', sellVenue: 'b', buyPrice: '100', sellPrice: '102', legSkewMs: 2000, timestamp: REC, firstSeenAt: REC });
    expect(arb.check('BTC/USDT')).toHaveLength(1);
  });

  it('is never reported between legs whose venue times differ by more than max_quote_age_ms', () => {
    const w = wallClock(Date.now());
    const s = setup({ wall: w.wall });
    const arb = new ArbitrageDetector({ source: s.consolidator, defaultFeeBps: 0, autoCheck: false, now: s.clock.now });
    const reports: ArbitrageOpportunity[] = [];
    arb.subscribe((o) => reports.push(o));
    crossed(s, REC, REC - MAX_AGE - 1);
    expect(arb.check('BTC/USDT')).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('checks the legs itself (a source that includes skewed books): closes the opportunity when the legs drift apart', () => {
    const w = wallClock(Date.now());
    const s = setup({ wall: w.wall });
    const books = new Map<string, VenueBookRef>();
    const arb = new ArbitrageDetector({ source: () => [...books.values()], defaultFeeBps: 0, maxLegSkewMs: 1000, now: s.clock.now });
    const reports: ArbitrageOpportunity[] = [];
    const closed: ArbitrageOpportunity[] = [];
    arb.subscribe((o) => reports.push(o), (o) => closed.push(o));
    const { a, b } = crossed(s, REC, REC - 3000);
    books.set('a', { venue: 'a', symbol: 'BTC/USDT', book: a.book });
    books.set('b', { venue: 'b', symbol: 'BTC/USDT', book: b.book });
    expect(arb.check('BTC/USDT')).toEqual([]); // 3000 ms apart > 1000

    b.delta([], [], REC - 400, REC + 1);
    expect(arb.check('BTC/USDT')).toHaveLength(1);
    expect(reports.map((o) => o.legSkewMs)).toEqual([400]);

    a.delta([], [], REC + 2000, REC + 2);
    expect(arb.check('BTC/USDT')).toEqual([]);
    expect(closed.map((o) => o.id)).toEqual([reports[0].id]);
  });

  it('a leg without a venue time is not skew-checked and the report has no legSkewMs', () => {
    const w = wallClock(Date.now());
    const s = setup({ wall: w.wall });
    const arb = new ArbitrageDetector({ source: s.consolidator, defaultFeeBps: 0, autoCheck: false, now: s.clock.now });
    crossed(s, REC, 0);
    const [o] = arb.check('BTC/USDT');
    expect(o.buyVenue).toBe('a');
    expect('legSkewMs' in o).toBe(false);
  });
});

describe('stale oracle', () => {
  function oraclePrice(status: 'trading' | 'stale', publishTime: number): OraclePrice {
    return {
      source: 'pyth', id: `0x${'e6'.repeat(32)}`, price: '10000000000', conf: '5000000', expo: -8, publishTime, priceNum: 100, confNum: 0.05,
      emaPrice: '10000000000', emaConf: '5000000', emaExpo: -8, emaPublishTime: publishTime, slot: null, proofAvailableTime: null, prevPublishTime: null,
      recvTs: REC, symbol: 'Crypto.BTC/USD', instrument: 'BTC/USDT', status,
    };
  }

  it('is flagged in the summary, and the oracle-deviation metric is not updated from it', async () => {
    const w = wallClock(Date.now());
    const { bus, consolidator, feed } = setup({ wall: w.wall, oracle: true });
    const metrics = createMetrics();
    const bridge = bridgeMetrics({ bus, runners: new Map(), sources: [] } as unknown as Pipeline, metrics);
    const deviation = async () => (await metrics.oracleDeviationBps.get()).values.find((v) => v.labels.symbol === 'BTC/USDT')?.value;
    feed('a').snapshot([['100', '1']], [['101', '1']], REC, REC);

    bus.publish('oracle_price', { kind: 'oracle_price', source: 'pyth', updates: [oraclePrice('trading', REC / 1000)], binary: null, recvTs: REC });
    const fresh = consolidator.getSummary('BTC/USDT')!;
    expect(fresh.oracle).toMatchObject({ price: 100, deviationBps: 50 });
    expect(fresh.oracle!.stale).toBeUndefined();
    bus.publish('summary', { kind: 'summary', ...fresh });
    expect(await deviation()).toBe(50);

    feed('a').delta([['100', '0'], ['102', '1']], [['101', '0'], ['103', '1']], REC + 1, REC + 1); // mid 102.5
    bus.publish('oracle_price', { kind: 'oracle_price', source: 'pyth', updates: [oraclePrice('stale', REC / 1000)], binary: null, recvTs: REC + 1 });
    const stale = consolidator.getSummary('BTC/USDT')!;
    expect(stale.oracle).toMatchObject({ stale: true, deviationBps: 250 });
    expect((summaryMessage('consolidated:BTC/USDT:summary', stale) as { oracle: { stale: boolean } }).oracle.stale).toBe(true);
    bus.publish('summary', { kind: 'summary', ...stale });
    expect(await deviation()).toBe(50); // not updated from the stale oracle
    bridge.close();
  });
});

const bybitPath = recordingPath('bybit.jsonl.gz');

describe.skipIf(!bybitPath)('health of a replayed recording', () => {
  it('latency and staleness are computed on the recording\'s clock', async () => {
    const bus = new Bus();
    const clock = new DataClock();
    clock.attach(bus);
    const health = new HealthMonitor({ bus, now: clock.now });
    const wallHealth = new HealthMonitor({ bus }); // the wall clock, for contrast
    const rec = loadRecording(bybitPath!);
    const recorded = rec.records.flatMap((r) => (r.t === 'recv' ? [r.ts * 1000] : []));
    const { frames } = await replayDirect(rec, getConnector('bybit')!, { bus });
    expect(frames).toBeGreaterThan(1000);

    const [r] = health.refresh();
    expect(r.venue).toBe('bybit');
    expect(r.latencyMs).not.toBeNull();
    expect(Math.abs(r.latencyMs!)).toBeLessThan(5000); // the latency the recording saw, not months
    expect(r.lastUpdate).toBeGreaterThanOrEqual(Math.min(...recorded));
    expect(r.lastUpdate).toBeLessThanOrEqual(Math.max(...recorded));
    expect(r.healthy).toBe(true);
    expect(clock.now() - r.lastUpdate!).toBeLessThan(5000);

    // On the wall clock the same recording looks months old.
    const [wr] = wallHealth.refresh();
    expect(wr.healthy).toBe(false);
    expect(Date.now() - wr.lastUpdate!).toBeGreaterThan(86_400_000);
  });
});
