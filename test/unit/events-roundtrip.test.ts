/**
 * Every domain event is a plain value: `JSON.parse(JSON.stringify(ev))` gives an equal event (strictly: no
 * `undefined` fields, no NaN/Infinity, no class instances, no Dates). One realistic example per topic, built by hand;
 * the test fails when a topic of `TOPICS` has no example here.
 */
import { describe, expect, it } from 'vitest';
import { TOPICS, type DomainEvents, type Topic } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';

/** Bybit's BTC linear perpetual, as its connector lists it (settle, tick and lot sizes present). */
const BTC_PERP: Instrument = {
  venue: 'bybit',
  key: 'linear:BTCUSDT',
  venueSymbol: 'BTCUSDT',
  symbol: 'BTC/USDT:USDT',
  base: 'BTC',
  quote: 'USDT',
  settle: 'USDT',
  type: 'linear',
  tickSize: '0.10',
  lotSize: '0.001',
};

/** Kraken spot, as its connector lists it (no settle). */
const ETH_USD: Instrument = {
  venue: 'kraken',
  key: 'spot:ETH/USD',
  venueSymbol: 'ETH/USD',
  symbol: 'ETH/USD',
  base: 'ETH',
  quote: 'USD',
  type: 'spot',
  tickSize: '0.01',
  lotSize: '0.00000001',
};

const T = 1_717_000_000_000; // ms since epoch

const EXAMPLES: { [K in Topic]: DomainEvents[K] } = {
  book_snapshot: {
    kind: 'book_snapshot',
    instrument: BTC_PERP,
    epoch: 1,
    seq: 18_522_347,
    ts: T,
    recvTs: T + 4,
    bids: [['67894.30', '1.204'], ['67894.20', '0.050'], ['67893.90', '3.100']],
    asks: [['67894.40', '0.861'], ['67894.50', '2.000']],
  },
  book_delta: {
    kind: 'book_delta',
    instrument: ETH_USD,
    epoch: 3,
    seq: null,
    ts: T + 10,
    recvTs: T + 12,
    // Kraken levels carry the venue's timestamp as a third element; "0" sizes delete (truncation deletions too).
    bids: [['3765.12', '0.00000000', '1717000000.010203'], ['3764.80', '12.50000000', '1717000000.010204']],
    asks: [['3765.13', '4.21000000', '1717000000.010205']],
  },
  book_reset: { kind: 'book_reset', instrument: BTC_PERP, epoch: 1, reason: 'gap', ts: T + 20 },
  trade: { kind: 'trade', instrument: BTC_PERP, price: '67894.40', size: '0.012', side: 'buy', tradeId: 'a4c1f3e2-7d0b-5c1e-9a0f-1b2c3d4e5f60', ts: T + 30, recvTs: T + 33 },
  ticker: {
    kind: 'ticker',
    instrument: ETH_USD,
    bidPrice: '3765.12',
    bidSize: '1.5',
    askPrice: '3765.13',
    askSize: '4.21',
    last: '3765.12',
    volume24h: null, // not sent in this message
    ts: T + 40,
    recvTs: T + 41,
  },
  venue_status: { kind: 'venue_status', venue: 'bybit', connId: 'bybit-linear-0', state: 'reconnecting', detail: 'TRANSPORT_STALE: no frame for 30000 ms', ts: T + 50 },
  consolidated_book: {
    kind: 'consolidated_book',
    symbol: 'BTC/USD',
    bids: [
      { price: '67894.30', size: '1.204', venue: 'bybit', symbol: 'BTC/USDT' },
      { price: '67890.00', size: '0.5', venue: 'coinbase', symbol: 'BTC/USD' },
    ],
    asks: [{ price: '67894.40', size: '0.861', venue: 'bybit', symbol: 'BTC/USDT' }],
    nbbo: { bid: { price: '67894.30', size: '1.204', venue: 'bybit', symbol: 'BTC/USDT' }, ask: { price: '67894.40', size: '0.861', venue: 'bybit', symbol: 'BTC/USDT' } },
    spread: { abs: 0.1, bps: 0.0147287477497 },
    mid: 67894.35,
    crossed: false,
    venues: ['bybit', 'coinbase'],
    excluded: [{ venue: 'kraken', reason: 'stale', symbol: 'BTC/USD' }],
    quoteEquivalence: ['USD', 'USDT'],
    oracle: { source: 'pyth', feedId: '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43', price: 67880.12, confidence: 21.5, publishTime: T - 400, deviationBps: 2.10502436455, stale: false },
    venueSkewMs: 118,
    timestamp: T + 60,
  },
  summary: {
    kind: 'summary',
    symbol: 'ETH/USD',
    bids: [{ price: '3765.12', size: '1.5', venue: 'kraken' }],
    asks: [],
    nbbo: { bid: { price: '3765.12', size: '1.5', venue: 'kraken' } },
    spread: null,
    mid: null,
    crossed: false,
    venues: ['kraken'],
    excluded: [{ venue: 'okx', reason: 'invalid' }],
    timestamp: T + 70,
  },
  arbitrage: {
    kind: 'arbitrage',
    id: 'BTC/USD|coinbase|bybit',
    revision: 2,
    symbol: 'BTC/USD',
    buyVenue: 'coinbase',
    sellVenue: 'bybit',
    buySymbol: 'BTC/USD',
    sellSymbol: 'BTC/USDT',
    buyPrice: '67850.00',
    sellPrice: '67894.30',
    grossBps: 6.52910832719,
    buyFeeBps: 6,
    sellFeeBps: 5.5,
    profitBps: -4.97089167281,
    volume: 0.5,
    depthVolume: 0.75,
    timestamp: T + 80,
    firstSeenAt: T - 1000,
    legSkewMs: 42,
  },
  health: {
    kind: 'health',
    venues: [
      { venue: 'bybit', healthy: true, lastUpdate: T + 85, errorMessage: null, updatesPerSecond: 212.4, latencyMs: 38.2, errorCount: 0, reconnects: 1, gaps: 0, connected: true, books: { total: 6, valid: 6 } },
      { venue: 'kraken', healthy: false, lastUpdate: null, errorMessage: 'TRANSPORT_CONNECT_TIMEOUT', updatesPerSecond: 0, latencyMs: null, errorCount: 3, reconnects: 3, gaps: 0, connected: false, books: { total: 2, valid: 0 } },
    ],
    ts: T + 90,
  },
  oracle_price: {
    kind: 'oracle_price',
    source: 'pyth',
    updates: [
      {
        source: 'pyth',
        id: '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
        price: '6788012000000',
        conf: '2150000000',
        expo: -8,
        publishTime: 1_716_999_999,
        priceNum: 67880.12,
        confNum: 21.5,
        emaPrice: '6787500000000',
        emaConf: '2300000000',
        emaExpo: -8,
        emaPublishTime: 1_716_999_999,
        slot: 150_123_456,
        proofAvailableTime: 1_717_000_000,
        prevPublishTime: 1_716_999_998,
        recvTs: T + 95,
        symbol: 'Crypto.BTC/USD',
        instrument: 'BTC/USD',
        status: 'trading',
      },
    ],
    binary: { encoding: 'hex', data: ['504e41550100000003b801000000040d00'] },
    recvTs: T + 95,
  },
};

const roundTrip = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('domain events are plain values', () => {
  it('there is an example for every topic, and no example for an unknown topic', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual([...TOPICS].sort());
  });

  it.each(TOPICS.map((t) => [t]))('%s survives a JSON round trip unchanged', (topic) => {
    const ev = EXAMPLES[topic];
    expect(ev, `no example for topic ${topic}`).toBeDefined();
    expect(ev.kind).toBe(topic); // the topic name is the event's kind
    expect(roundTrip(ev)).toStrictEqual(ev);
  });

  it('the comparison is strict enough to catch what JSON loses', () => {
    const ev = EXAMPLES.ticker;
    expect(roundTrip({ ...ev, last: undefined })).not.toStrictEqual({ ...ev, last: undefined });
    expect(roundTrip({ ...ev, ts: NaN })).not.toStrictEqual({ ...ev, ts: NaN });
    expect(roundTrip({ ...ev, ts: new Date(T) })).not.toStrictEqual({ ...ev, ts: new Date(T) });
  });
});
