/**
 * WebSocket and REST servers over real sockets on 127.0.0.1, against a fake GatewayApi holding real
 * L2Book objects (the read model) and a real Bus carrying the domain events (`core/events.ts`). Every message and body
 * is checked in the protocol's snake_case (protocol version 2).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { BookView } from '../../src/core/book-view.ts';
import type { ArbitrageOpportunity, ConsolidatedBook, DomainEvent, Level, VenueHealthReport } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { L2Book } from '../../src/pipeline/book.ts';
import { Bus } from '../../src/bus/bus.ts';
import { createLogger } from '../../src/obs/log.ts';
import { createMetrics, type Metrics } from '../../src/obs/metrics.ts';
import { formatFeedId, PROTOCOL_VERSION, ServerMessageSchema, type FeedChannel, type FeedInfo } from '../../src/protocol/messages.ts';
import type { AcquireResult, GatewayApi, GatewayStatus, VenueHealth } from '../../src/pipeline/read-api.ts';
import { startWsServer, type WsServer, type WsServerOptions } from '../../src/server/ws/server.ts';
import { startRestServer, type RestServer } from '../../src/server/rest.ts';
import { publishBook, publishDelta as publishDeltaEvent } from '../helpers/books.ts';
import { waitFor } from '../helpers/wait.ts';

// ───────────── fixtures ─────────────

const BYBIT: Instrument = { venue: 'bybit', key: 'linear:BTCUSDT', venueSymbol: 'BTCUSDT', symbol: 'BTC/USDT:USDT', base: 'BTC', quote: 'USDT', settle: 'USDT', type: 'linear' };
const BINANCE: Instrument = { venue: 'binance', key: 'spot:BTCUSDT', venueSymbol: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot' };
const fid = (i: Instrument, ch: FeedChannel): string => formatFeedId(i.venue, i.symbol, ch);
const T = 1_700_000_000_000;
const SUMMARY_FEED = 'consolidated:BTC/USDT:summary';
const CBOOK_FEED = 'consolidated:BTC/USDT:book';
const PYTH_ID = '0x' + 'ab'.repeat(32);

/** A consolidated summary as the consolidator computes it (camelCase inside the process)... */
const SUMMARY: ConsolidatedBook = {
  symbol: 'BTC/USDT',
  bids: [{ price: '100.5', size: '1', venue: 'bybit' }, { price: '100.4', size: '2', venue: 'binance' }],
  asks: [{ price: '101', size: '1.5', venue: 'bybit' }],
  nbbo: { bid: { price: '100.5', size: '1', venue: 'bybit' }, ask: { price: '101', size: '1.5', venue: 'bybit' } },
  spread: { abs: 0.5, bps: 49.6277915633 },
  mid: 100.75,
  crossed: false,
  venues: ['binance', 'bybit'],
  excluded: [{ venue: 'okx', reason: 'stale' }],
  oracle: { source: 'pyth', feedId: PYTH_ID, price: 100.7, confidence: 0.05, publishTime: T, deviationBps: 4.96524329692 },
  venueSkewMs: 7,
  timestamp: T + 100,
};
/** ...and on the wire: snake_case, `spread` the absolute number beside `spread_bps`, oracle `stale` always present. */
const SUMMARY_WIRE = {
  symbol: 'BTC/USDT',
  bids: SUMMARY.bids,
  asks: SUMMARY.asks,
  nbbo: SUMMARY.nbbo,
  spread: 0.5,
  spread_bps: 49.6277915633,
  mid: 100.75,
  crossed: false,
  venues: ['binance', 'bybit'],
  excluded: [{ venue: 'okx', reason: 'stale' }],
  oracle: { source: 'pyth', feed_id: PYTH_ID, price: 100.7, confidence: 0.05, publish_time: T, deviation_bps: 4.96524329692, stale: false },
  venue_skew_ms: 7,
  timestamp: T + 100,
};
const ARB: ArbitrageOpportunity = {
  id: 'arb-1',
  revision: 2,
  symbol: 'BTC/USDT',
  buyVenue: 'binance',
  sellVenue: 'bybit',
  buySymbol: 'BTC/USDT',
  sellSymbol: 'BTC/USDT',
  buyPrice: '100.00',
  sellPrice: '100.30',
  grossBps: 30,
  buyFeeBps: 5,
  sellFeeBps: 7.5,
  profitBps: 17.5,
  volume: 1.5,
  depthVolume: 5,
  timestamp: T + 200,
  firstSeenAt: T - 1000,
  legSkewMs: 3,
};
const ARB_WIRE = {
  id: 'arb-1',
  revision: 2,
  symbol: 'BTC/USDT',
  buy_venue: 'binance',
  sell_venue: 'bybit',
  buy_symbol: 'BTC/USDT',
  sell_symbol: 'BTC/USDT',
  buy_price: '100.00',
  sell_price: '100.30',
  gross_bps: 30,
  buy_fee_bps: 5,
  sell_fee_bps: 7.5,
  profit_bps: 17.5,
  profit_percentage: 0.175, // profit_bps / 100
  volume: 1.5,
  depth_volume: 5,
  leg_skew_ms: 3,
  timestamp: T + 200,
  first_seen_at: T - 1000,
};
const REPORT: VenueHealthReport = {
  venue: 'bybit',
  healthy: true,
  lastUpdate: T,
  errorMessage: null,
  updatesPerSecond: 15,
  latencyMs: 20,
  errorCount: 1,
  reconnects: 2,
  gaps: 3,
  connected: true,
  books: { total: 1, valid: 1 },
};
const REPORT_WIRE = {
  venue: 'bybit',
  healthy: true,
  last_update: T,
  error_message: null,
  updates_per_second: 15,
  latency_ms: 20,
  error_count: 1,
  reconnects: 2,
  gaps: 3,
  connected: true,
  books: { total: 1, valid: 1 },
};

/** A GatewayApi over real books and fixed derived read models; records acquire / release calls. */
class FakeGateway implements GatewayApi {
  readonly books = new Map<string, L2Book>();
  readonly feeds = new Map<string, FeedInfo>();
  readonly acquired: string[] = [];
  readonly released: string[] = [];
  /** Feeds whose venue is "not up yet": acquire answers pending with this reason. */
  readonly pending = new Map<string, string>();
  readonly arbitrageLimits: number[] = [];
  venueHealth: VenueHealth[] = [];

  constructor(readonly instruments: Instrument[]) {
    for (const i of instruments) {
      const book = new L2Book(i.venue, i.key, i.symbol, i.venueSymbol);
      this.books.set(`${i.venue}|${i.symbol}`, book);
      for (const channel of ['book', 'trades', 'ticker'] as const) {
        const feed_id = fid(i, channel);
        this.feeds.set(feed_id, { feed_id, venue: i.venue, symbol: i.symbol, venue_symbol: i.venueSymbol, channel });
      }
    }
    for (const [feed_id, channel] of [[SUMMARY_FEED, 'summary'], [CBOOK_FEED, 'book']] as const) {
      this.feeds.set(feed_id, { feed_id, venue: 'consolidated', symbol: 'BTC/USDT', venue_symbol: '', channel, derived: true });
    }
    this.feeds.set('arbitrage', { feed_id: 'arbitrage', venue: '*', symbol: '*', venue_symbol: '', channel: 'arbitrage', derived: true });
    this.feeds.set('health', { feed_id: 'health', venue: '*', symbol: '*', venue_symbol: '', channel: 'health', derived: true });
    this.setConnected({ bybit: true, binance: true });
  }

  setConnected(state: Record<string, boolean>): void {
    this.venueHealth = Object.entries(state).map(([venue, connected]) => ({
      venue,
      connected,
      state: connected ? 'open' : 'reconnecting',
      connections: [{ id: 'c0', state: connected ? 'open' : 'closed', url: `ws://127.0.0.1/${venue}`, reconnects: 0, lastFrameAt: null }],
      instruments: 1,
      books: { total: 1, valid: connected ? 1 : 0 },
    }));
  }

  book(i: Instrument): L2Book {
    return this.books.get(`${i.venue}|${i.symbol}`)!;
  }

  listFeeds(): FeedInfo[] {
    return [...this.feeds.values()];
  }
  getFeed(feedId: string): FeedInfo | undefined {
    return this.feeds.get(feedId);
  }
  acquire(feedId: string): AcquireResult {
    this.acquired.push(feedId);
    const reason = this.pending.get(feedId);
    return reason === undefined ? { state: 'active' } : { state: 'pending', reason };
  }
  release(feedId: string): void {
    this.released.push(feedId);
  }
  getBook(venue: string, symbol: string): BookView | undefined {
    return this.books.get(`${venue}|${symbol}`);
  }
  health(): VenueHealth[] {
    return this.venueHealth;
  }
  status(): GatewayStatus {
    return { startedAt: 1_700_000_000_000, uptimeS: 42, venues: ['bybit', 'binance'], instruments: this.instruments.length, messageRates: { bybit: 1.5, binance: 0 } };
  }
  feedState(feedId: string): DomainEvent | undefined {
    if (feedId === SUMMARY_FEED) return { kind: 'summary', ...SUMMARY };
    if (feedId === CBOOK_FEED) return { kind: 'consolidated_book', ...SUMMARY };
    if (feedId === 'health') return { kind: 'health', venues: [REPORT], ts: T + 300 };
    return undefined;
  }
  summary(symbol: string): ConsolidatedBook | undefined {
    return symbol === 'BTC/USDT' ? SUMMARY : undefined;
  }
  summaries(): ConsolidatedBook[] {
    return [SUMMARY];
  }
  arbitrageRecent(limit: number): ArbitrageOpportunity[] {
    this.arbitrageLimits.push(limit);
    return [ARB];
  }
  venueReports(): VenueHealthReport[] {
    return [REPORT];
  }
}

type Msg = Record<string, unknown> & { type: string };

/** A ws client that records every message (validated against the protocol schema) and waits on them in order. */
class Client {
  readonly msgs: Msg[] = [];
  readonly invalid: unknown[] = [];
  /** Index after the last message returned by {@link next}. */
  cursor = 0;
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      if (!ServerMessageSchema.safeParse(m).success) this.invalid.push(m);
      this.msgs.push(m);
    });
    ws.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(port: number): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const c = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await c.next((m) => m.type === 'connection_established');
    return c;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** Waits for the next message (after the cursor) matching `pred`; moves the cursor past it. */
  async next(pred: (m: Msg) => boolean, what = 'message', timeoutMs = 5000): Promise<Msg> {
    const i = await waitFor(
      () => {
        for (let k = this.cursor; k < this.msgs.length; k++) if (pred(this.msgs[k])) return k + 1;
        return 0;
      },
      timeoutMs,
      what,
    );
    this.cursor = i;
    return this.msgs[i - 1];
  }

  /** Messages of a type received so far. */
  ofType(type: string): Msg[] {
    return this.msgs.filter((m) => m.type === type);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await waitFor(() => this.closed, 5000, 'client close');
  }
}

const L = (p: string, s: string): Level => [p, s];

function seedBook(book: L2Book): void {
  book.loadSnapshot([L('100.5', '1'), L('100', '2'), L('99.5', '3')], [L('101', '1.5'), L('101.5', '2.5')]);
  book.valid = true;
  book.epoch = 1;
  book.seq = 10;
  book.ts = 1_700_000_000_000;
  book.recvTs = 1_700_000_000_005;
}

/** Applies a delta to the real book and publishes it as a `book_delta` like the sync stage would. */
function publishDelta(bus: Bus, inst: Instrument, book: L2Book, bids: Level[], asks: Level[], seq: number): void {
  book.applyLevels(bids, asks);
  book.seq = seq;
  book.ts += 1;
  book.recvTs += 1;
  publishDeltaEvent(bus, inst, book, bids, asks);
}

async function counterValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) return 0;
  const got = await (m as { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }).get();
  return got.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

// ───────────── WebSocket server ─────────────

describe('ws server', () => {
  let bus: Bus;
  let api: FakeGateway;
  let metrics: Metrics;
  let server: WsServer;
  const clients: Client[] = [];
  const log = createLogger({ level: 'silent' });

  async function start(extra: Partial<WsServerOptions> = {}): Promise<void> {
    server = await startWsServer({ host: '127.0.0.1', port: 0, bus, api, metrics, log, ...extra });
  }
  async function connect(): Promise<Client> {
    const c = await Client.connect(server.port);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    bus = new Bus();
    api = new FakeGateway([BYBIT, BINANCE]);
    metrics = createMetrics({ defaultMetrics: false });
    seedBook(api.book(BYBIT));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await server?.close();
  });

  it('greets with connection_established and a uuid client_id', async () => {
    await start();
    const c = await connect();
    const hello = c.msgs[0];
    expect(hello.type).toBe('connection_established');
    expect(hello.client_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(typeof hello.message).toBe('string');
    expect(hello.protocol_version).toBe(PROTOCOL_VERSION);
    expect(PROTOCOL_VERSION).toBe(2);
    expect(c.invalid).toEqual([]);
    await waitFor(() => server.clientCount === 1, 5000, 'client counted');
  });

  it('book feed: confirmation, snapshot of the book, then deltas in order, snapshots and resets', async () => {
    await start();
    const c = await connect();
    const feed = fid(BYBIT, 'book');
    c.send({ type: 'subscribe', feed_id: feed });
    await c.next((m) => m.type === 'subscription_confirmed' && m.feed_id === feed, 'confirm');
    const snap = await c.next((m) => m.type === 'book_snapshot', 'snapshot');
    expect(snap).toMatchObject({
      feed_id: feed,
      venue: 'bybit',
      symbol: 'BTC/USDT:USDT',
      venue_symbol: 'BTCUSDT',
      epoch: 1,
      seq: 10,
      ts: 1_700_000_000_000,
      recv_ts: 1_700_000_000_005,
      bids: [['100.5', '1'], ['100', '2'], ['99.5', '3']],
      asks: [['101', '1.5'], ['101.5', '2.5']],
    });
    expect(api.acquired).toEqual([feed]);

    const book = api.book(BYBIT);
    publishDelta(bus, BYBIT, book, [L('100.5', '0')], [], 11);
    publishDelta(bus, BYBIT, book, [['100.7', '4', 'extra'] as Level], [L('101', '0.5')], 12);
    publishDelta(bus, BYBIT, book, [], [L('102', '9')], 13);
    const u1 = await c.next((m) => m.type === 'book_update', 'update 1');
    const u2 = await c.next((m) => m.type === 'book_update', 'update 2');
    const u3 = await c.next((m) => m.type === 'book_update', 'update 3');
    expect(u1).toMatchObject({ feed_id: feed, venue: 'bybit', symbol: 'BTC/USDT:USDT', epoch: 1, seq: 11, bids: [['100.5', '0']], asks: [] });
    expect(u2).toMatchObject({ epoch: 1, seq: 12, bids: [['100.7', '4']], asks: [['101', '0.5']] });
    expect(u3).toMatchObject({ epoch: 1, seq: 13, bids: [], asks: [['102', '9']] });
    expect(u3.ts).toBe(1_700_000_000_003);
    expect(u3.recv_ts).toBe(1_700_000_000_008);

    book.reset();
    bus.publish('book_reset', { kind: 'book_reset', instrument: BYBIT, epoch: 1, reason: 'gap', ts: 123 });
    const reset = await c.next((m) => m.type === 'book_reset', 'reset');
    expect(reset).toEqual({ type: 'book_reset', feed_id: feed, venue: 'bybit', symbol: 'BTC/USDT:USDT', epoch: 1, reason: 'gap', ts: 123 });

    // The rebuilt book is a new epoch.
    book.loadSnapshot([L('50', '1')], [L('51', '1')]);
    book.valid = true;
    book.epoch = 2;
    book.seq = 100;
    publishBook(bus, BYBIT, book);
    const snap2 = await c.next((m) => m.type === 'book_snapshot', 'second snapshot');
    expect(snap2).toMatchObject({ epoch: 2, seq: 100, bids: [['50', '1']], asks: [['51', '1']] });

    // Another instrument's deltas are not sent to this client.
    publishDeltaEvent(bus, BINANCE, api.book(BINANCE), [L('1', '1')], []);
    publishDelta(bus, BYBIT, book, [L('49', '1')], [], 101);
    const u4 = await c.next((m) => m.type === 'book_update', 'update 4');
    expect(u4.feed_id).toBe(feed);
    expect(u4).toMatchObject({ epoch: 2, seq: 101, bids: [['49', '1']] });
    expect(c.msgs.some((m) => m.feed_id === fid(BINANCE, 'book'))).toBe(false);
    expect(c.invalid).toEqual([]);
  });

  it('no snapshot on subscribe while the book is not valid; the next bus snapshot arrives', async () => {
    await start();
    const c = await connect();
    const feed = fid(BINANCE, 'book');
    c.send({ type: 'subscribe', feed_id: feed });
    await c.next((m) => m.type === 'subscription_confirmed', 'confirm');
    const book = api.book(BINANCE);
    book.loadSnapshot([L('10', '1')], [L('11', '1')]);
    book.valid = true;
    book.epoch = 1;
    book.seq = 5;
    publishBook(bus, BINANCE, book);
    const snap = await c.next((m) => m.type === 'book_snapshot', 'snapshot');
    expect(snap).toMatchObject({ feed_id: feed, venue_symbol: 'BTCUSDT', epoch: 1, seq: 5, bids: [['10', '1']], asks: [['11', '1']] });
    expect(c.msgs.filter((m) => m.type === 'book_snapshot')).toHaveLength(1);
  });

  it('trades and tickers go only to subscribers of that feed', async () => {
    await start();
    const a = await connect();
    const b = await connect();
    const fence = fid(BINANCE, 'trades');
    for (const [c, f] of [
      [a, fid(BYBIT, 'trades')],
      [b, fid(BYBIT, 'ticker')],
      [a, fence],
      [b, fence],
    ] as const) {
      c.send({ type: 'subscribe', feed_id: f });
      await c.next((m) => m.type === 'subscription_confirmed' && m.feed_id === f, `confirm ${f}`);
    }
    bus.publish('trade', { kind: 'trade', instrument: BYBIT, price: '100.5', size: '0.25', side: 'sell', tradeId: 't-1', ts: 1000, recvTs: 1001 });
    bus.publish('ticker', {
      kind: 'ticker',
      instrument: BYBIT,
      bidPrice: '100',
      bidSize: '1',
      askPrice: '101',
      askSize: '2',
      last: null,
      volume24h: '17573.912',
      ts: 2000,
      recvTs: 2001,
    });
    bus.publish('trade', { kind: 'trade', instrument: BINANCE, price: '1', size: '1', side: 'buy', tradeId: 'fence', ts: 3000, recvTs: 3001 });
    await a.next((m) => m.trade_id === 'fence', 'fence a');
    await b.next((m) => m.trade_id === 'fence', 'fence b');

    expect(a.ofType('trade')).toEqual([
      { type: 'trade', feed_id: fid(BYBIT, 'trades'), venue: 'bybit', symbol: 'BTC/USDT:USDT', price: '100.5', size: '0.25', side: 'sell', trade_id: 't-1', ts: 1000, recv_ts: 1001 },
      expect.objectContaining({ trade_id: 'fence', feed_id: fence }),
    ]);
    expect(a.ofType('ticker')).toEqual([]);
    expect(b.ofType('ticker')).toEqual([
      {
        type: 'ticker',
        feed_id: fid(BYBIT, 'ticker'),
        venue: 'bybit',
        symbol: 'BTC/USDT:USDT',
        bid_price: '100',
        bid_size: '1',
        ask_price: '101',
        ask_size: '2',
        last: null,
        volume_24h: '17573.912',
        ts: 2000,
        recv_ts: 2001,
      },
    ]);
    expect(b.ofType('trade').map((m) => m.trade_id)).toEqual(['fence']);
    expect(a.invalid).toEqual([]);
    expect(b.invalid).toEqual([]);
  });

  it('shares upstream: acquire once for two clients, release once after both leave', async () => {
    await start();
    const feed = fid(BYBIT, 'trades');
    const a = await connect();
    const b = await connect();
    a.send({ type: 'subscribe', feed_id: feed });
    await a.next((m) => m.type === 'subscription_confirmed', 'a confirm');
    b.send({ type: 'subscribe', feed_id: feed });
    await b.next((m) => m.type === 'subscription_confirmed', 'b confirm');
    // Subscribing twice: confirmed again, no duplicate delivery.
    a.send({ type: 'subscribe', feed_id: feed });
    await a.next((m) => m.type === 'subscription_confirmed', 'a confirm again');
    expect(api.acquired).toEqual([feed]);

    bus.publish('trade', { kind: 'trade', instrument: BYBIT, price: '1', size: '1', side: 'buy', tradeId: 'x1', ts: 1, recvTs: 1 });
    await a.next((m) => m.trade_id === 'x1', 'a trade');
    await b.next((m) => m.trade_id === 'x1', 'b trade');

    a.send({ type: 'unsubscribe', feed_id: feed });
    await a.next((m) => m.type === 'unsubscription_confirmed' && m.feed_id === feed, 'a unsub');
    expect(api.released).toEqual([]);

    bus.publish('trade', { kind: 'trade', instrument: BYBIT, price: '1', size: '1', side: 'buy', tradeId: 'x2', ts: 1, recvTs: 1 });
    await b.next((m) => m.trade_id === 'x2', 'b trade 2');

    await b.close(); // disconnect releases b's feeds
    await waitFor(() => api.released.length === 1, 5000, 'release');
    expect(api.released).toEqual([feed]);
    expect(api.acquired).toEqual([feed]);
    expect(a.ofType('trade').map((m) => m.trade_id)).toEqual(['x1']);

    // A new subscriber acquires again.
    a.send({ type: 'subscribe', feed_id: feed });
    await a.next((m) => m.type === 'subscription_confirmed', 'a resubscribe');
    expect(api.acquired).toEqual([feed, feed]);
  });

  it('a feed whose venue is not up yet is answered subscription_pending; its data flows once the venue publishes', async () => {
    await start();
    const c = await connect();
    const feed = fid(BINANCE, 'trades');
    api.pending.set(feed, 'venue binance is loading its instruments');
    c.send({ type: 'subscribe', feed_id: feed });
    const p = await c.next((m) => m.type === 'subscription_pending', 'pending');
    expect(p).toEqual({ type: 'subscription_pending', feed_id: feed, reason: 'venue binance is loading its instruments' });
    expect(api.acquired).toEqual([feed]);
    bus.publish('trade', { kind: 'trade', instrument: BINANCE, price: '2', size: '3', side: 'sell', tradeId: 'late', ts: 5, recvTs: 6 });
    const t = await c.next((m) => m.type === 'trade', 'trade after pending');
    expect(t).toEqual({ type: 'trade', feed_id: feed, venue: 'binance', symbol: 'BTC/USDT', price: '2', size: '3', side: 'sell', trade_id: 'late', ts: 5, recv_ts: 6 });
    // Data flowing means the venue is up: the confirmation comes first, once.
    expect(c.ofType('subscription_confirmed')).toEqual([{ type: 'subscription_confirmed', feed_id: feed }]);
    const order = c.msgs.map((m) => m.type).filter((t) => t !== 'connection_established');
    expect(order).toEqual(['subscription_pending', 'subscription_confirmed', 'trade']);
    // A second client joining while data flows is confirmed at once.
    const d = await connect();
    d.send({ type: 'subscribe', feed_id: feed });
    expect(await d.next((m) => m.type === 'subscription_confirmed' || m.type === 'subscription_pending', 'second')).toEqual({ type: 'subscription_confirmed', feed_id: feed });
    expect(c.invalid).toEqual([]);
  });

  it('a second client joining a feed that is still pending is told pending too', async () => {
    await start();
    const c = await connect();
    const d = await connect();
    const feed = fid(BINANCE, 'trades');
    api.pending.set(feed, 'venue binance is down');
    c.send({ type: 'subscribe', feed_id: feed });
    await c.next((m) => m.type === 'subscription_pending', 'pending c');
    d.send({ type: 'subscribe', feed_id: feed });
    expect(await d.next((m) => m.type === 'subscription_pending' || m.type === 'subscription_confirmed', 'pending d')).toEqual({ type: 'subscription_pending', feed_id: feed, reason: 'venue binance is down' });
    expect(api.acquired).toEqual([feed]);
  });

  it('derived feeds in snake_case: summary and consolidated book (state on subscribe, then bus events), arbitrage, health', async () => {
    await start();
    const c = await connect();
    const subscribe = async (feed: string) => {
      c.send({ type: 'subscribe', feed_id: feed });
      await c.next((m) => m.type === 'subscription_confirmed' && m.feed_id === feed, `confirm ${feed}`);
    };

    await subscribe(SUMMARY_FEED);
    expect(await c.next((m) => m.type === 'summary', 'summary state')).toEqual({ type: 'summary', feed_id: SUMMARY_FEED, ...SUMMARY_WIRE });
    bus.publish('summary', { kind: 'summary', ...SUMMARY, symbol: 'ETH/USDT' }); // another key: not this feed
    bus.publish('summary', { kind: 'summary', ...SUMMARY, spread: { abs: 0.4, bps: 39.7022332506 }, mid: 100.8, oracle: { ...SUMMARY.oracle!, stale: true }, timestamp: T + 1100 });
    const s2 = await c.next((m) => m.type === 'summary', 'summary update');
    expect(s2).toEqual({
      type: 'summary',
      feed_id: SUMMARY_FEED,
      ...SUMMARY_WIRE,
      spread: 0.4,
      spread_bps: 39.7022332506,
      mid: 100.8,
      oracle: { ...SUMMARY_WIRE.oracle, stale: true },
      timestamp: T + 1100,
    });

    await subscribe(CBOOK_FEED);
    expect(await c.next((m) => m.type === 'consolidated_book', 'book state')).toEqual({ type: 'consolidated_book', feed_id: CBOOK_FEED, ...SUMMARY_WIRE });
    // Without both sides: no spread, no mid; optional blocks absent.
    const oneSided: ConsolidatedBook = { ...SUMMARY, asks: [], nbbo: { bid: SUMMARY.nbbo.bid }, spread: null, mid: null, oracle: undefined, venueSkewMs: undefined };
    bus.publish('consolidated_book', { kind: 'consolidated_book', ...oneSided });
    const cb = await c.next((m) => m.type === 'consolidated_book', 'book update');
    expect(cb).toMatchObject({ spread: null, spread_bps: null, mid: null, asks: [] });
    expect(cb).not.toHaveProperty('oracle');
    expect(cb).not.toHaveProperty('venue_skew_ms');

    await subscribe('arbitrage');
    bus.publish('arbitrage', { kind: 'arbitrage', ...ARB });
    const a = await c.next((m) => m.type === 'arbitrage', 'arbitrage');
    expect(a).toEqual({ type: 'arbitrage', feed_id: 'arbitrage', ...ARB_WIRE });
    expect(a.profit_percentage).toBeCloseTo((a.profit_bps as number) / 100, 12);

    await subscribe('health');
    expect(await c.next((m) => m.type === 'health', 'health state')).toEqual({ type: 'health', feed_id: 'health', venues: [REPORT_WIRE], timestamp: T + 300 });
    bus.publish('health', { kind: 'health', venues: [{ ...REPORT, healthy: false, errorMessage: 'no update for 31000 ms', connected: false }], ts: T + 400 });
    expect(await c.next((m) => m.type === 'health', 'health update')).toEqual({
      type: 'health',
      feed_id: 'health',
      venues: [{ ...REPORT_WIRE, healthy: false, error_message: 'no update for 31000 ms', connected: false }],
      timestamp: T + 400,
    });
    expect(c.invalid).toEqual([]);
  });

  it('get_available_feeds lists every feed', async () => {
    await start();
    const c = await connect();
    c.send({ type: 'get_available_feeds' });
    const m = await c.next((x) => x.type === 'available_feeds', 'feeds');
    expect(m.feeds).toEqual(api.listFeeds());
    expect((m.feeds as FeedInfo[]).map((f) => f.feed_id)).toContain('bybit:BTC/USDT:USDT:book');
  });

  it('bad frames get an error and the connection keeps working', async () => {
    await start();
    const c = await connect();
    const bad: [string, () => void, RegExp, string?][] = [
      ['invalid JSON', () => c.send('{"type":'), /invalid JSON/],
      ['unknown type', () => c.send({ type: 'dance' }), /unknown message type/],
      ['missing feed_id', () => c.send({ type: 'subscribe' }), /feed_id/],
      ['unknown feed', () => c.send({ type: 'subscribe', feed_id: 'nowhere:BTC/USDT:book' }), /unknown feed/, 'nowhere:BTC/USDT:book'],
      ['unknown feed unsubscribe', () => c.send({ type: 'unsubscribe', feed_id: 'bybit:NOPE/USDT:book' }), /unknown feed/, 'bybit:NOPE/USDT:book'],
      ['oversized', () => c.send({ type: 'subscribe', feed_id: fid(BYBIT, 'book'), pad: 'x'.repeat(10 * 1024) }), /too large/],
      ['binary', () => c.ws.send(Buffer.from(JSON.stringify({ type: 'get_available_feeds' })), { binary: true }), /binary/],
    ];
    for (const [what, send, re, feedId] of bad) {
      send();
      const err = await c.next((m) => m.type === 'error', what);
      expect(err.code, what).toBe('CLIENT_BAD_REQUEST');
      expect(err.message, what).toMatch(re);
      if (feedId !== undefined) expect(err.feed_id, what).toBe(feedId);
    }
    expect(c.closed).toBe(false);
    expect(api.acquired).toEqual([]);
    expect(await counterValue(metrics, 'tributary_client_errors_total', { code: 'CLIENT_BAD_REQUEST' })).toBe(bad.length);

    c.send({ type: 'subscribe', feed_id: fid(BYBIT, 'book') });
    await c.next((m) => m.type === 'subscription_confirmed', 'subscribe after errors');
    await c.next((m) => m.type === 'book_snapshot', 'snapshot after errors');
    expect(c.invalid).toEqual([]);
  });

  it('conflates a client that stops reading, then resends the current book', async () => {
    await start({ maxBufferedBytes: 64 * 1024 });
    const feed = fid(BYBIT, 'book');
    const slow = await connect();
    const fast = await connect();
    for (const c of [slow, fast]) {
      c.send({ type: 'subscribe', feed_id: feed });
      await c.next((m) => m.type === 'book_snapshot', 'initial snapshot');
    }
    const book = api.book(BYBIT);

    slow.ws.pause(); // stop reading: the server's send buffer for it grows
    const levels = (n: number, from: number): Level[] => Array.from({ length: 200 }, (_, i) => L(String(from + i), `${n}.${String(i).padStart(16, '7')}`));
    let seq = 10;
    for (let batch = 0; batch < 200 && (await counterValue(metrics, 'tributary_ws_messages_dropped_total', { reason: 'backpressure' })) === 0; batch++) {
      for (let k = 0; k < 50; k++) {
        seq++;
        publishDelta(bus, BYBIT, book, levels(seq, 1000), levels(seq, 5000), seq);
      }
      await new Promise((r) => setImmediate(r)); // let sockets write
    }
    const droppedWhilePaused = await counterValue(metrics, 'tributary_ws_messages_dropped_total', { reason: 'backpressure' });
    expect(droppedWhilePaused).toBeGreaterThan(0);
    // A few more while still paused: all dropped for the slow client, none queued.
    for (let k = 0; k < 5; k++) {
      seq++;
      publishDelta(bus, BYBIT, book, levels(seq, 1000), levels(seq, 5000), seq);
    }
    expect(await counterValue(metrics, 'tributary_ws_messages_dropped_total')).toBeGreaterThanOrEqual(droppedWhilePaused + 5);
    const receivedBeforeResume = slow.msgs.length;

    slow.ws.resume();
    const expected = { seq: book.seq, bids: book.bids.top(), asks: book.asks.top() };
    const resent = await slow.next(
      (m) => m.type === 'book_snapshot' && m.seq === expected.seq,
      'snapshot after drain',
      15_000,
    );
    expect(resent.bids).toEqual(expected.bids);
    expect(resent.asks).toEqual(expected.asks);
    expect(slow.msgs.length).toBeGreaterThan(receivedBeforeResume);
    const published = seq - 10;
    expect(slow.ofType('book_update').length).toBeLessThan(published); // some were dropped, not queued

    // Replaying everything each client received yields the server's book (nobody holds a wrong book).
    for (const c of [slow, fast]) {
      await waitFor(() => c.msgs.some((m) => (m.type === 'book_update' || m.type === 'book_snapshot') && m.seq === expected.seq), 15_000, 'last seq');
      const local = new L2Book('x', 'x', 'x', 'x');
      for (const m of c.msgs) {
        if (m.type === 'book_snapshot') local.loadSnapshot(m.bids as Level[], m.asks as Level[]);
        else if (m.type === 'book_update') local.applyLevels(m.bids as Level[], m.asks as Level[]);
      }
      expect(local.bids.top()).toEqual(expected.bids);
      expect(local.asks.top()).toEqual(expected.asks);
      expect(c.msgs.filter((m) => m.type === 'book_update' || m.type === 'book_snapshot').every((m) => m.epoch === 1)).toBe(true);
      expect(c.invalid).toEqual([]);
    }

    // Live again after draining.
    publishDelta(bus, BYBIT, book, [L('1', '1')], [], ++seq);
    await slow.next((m) => m.type === 'book_update' && m.seq === seq, 'live update after drain');
  });

  it('releases feeds and disconnects clients on close', async () => {
    await start();
    const c = await connect();
    c.send({ type: 'subscribe', feed_id: fid(BYBIT, 'ticker') });
    await c.next((m) => m.type === 'subscription_confirmed', 'confirm');
    await server.close();
    await waitFor(() => c.closed, 5000, 'client closed by server');
    expect(api.released).toEqual([fid(BYBIT, 'ticker')]);
    expect(server.clientCount).toBe(0);
  });

  it('terminates clients that do not answer pings', async () => {
    await start({ pingIntervalMs: 100 });
    const c = await connect();
    // Stop automatic pong replies by not reading: a paused socket never sees the ping.
    c.ws.pause();
    await waitFor(() => server.clientCount === 0, 5000, 'dead client terminated');
  });
});

// ───────────── REST server ─────────────

describe('rest server', () => {
  let api: FakeGateway;
  let metrics: Metrics;
  let rest: RestServer;
  let base: string;

  beforeEach(async () => {
    api = new FakeGateway([BYBIT, BINANCE]);
    metrics = createMetrics();
    seedBook(api.book(BYBIT));
    rest = await startRestServer({ host: '127.0.0.1', port: 0, api, metrics, log: createLogger({ level: 'silent' }) });
    base = `http://127.0.0.1:${rest.port}`;
  });

  afterEach(async () => {
    await rest.close();
  });

  it('GET /health: 200 ok / degraded, 503 down', async () => {
    let r = await fetch(`${base}/health`);
    expect(r.status).toBe(200);
    type WireHealth = { status: string; venues: (Omit<VenueHealth, 'connections'> & { connections: { state: string; last_frame_at: number | null }[] })[]; health: unknown[] };
    let body = (await r.json()) as WireHealth;
    expect(body.status).toBe('ok');
    expect(body.venues.map((v) => v.venue)).toEqual(['bybit', 'binance']);
    // snake_case throughout: the connections' fields and the venue health reports.
    expect(body.venues[0].connections[0]).toEqual({ id: 'c0', state: 'open', url: 'ws://127.0.0.1/bybit', reconnects: 0, last_frame_at: null });
    expect(body.health).toEqual([REPORT_WIRE]);

    api.setConnected({ bybit: true, binance: false });
    r = await fetch(`${base}/health`);
    expect(r.status).toBe(200);
    body = (await r.json()) as WireHealth;
    expect(body.status).toBe('degraded');

    api.setConnected({ bybit: false, binance: false });
    r = await fetch(`${base}/health`);
    expect(r.status).toBe(503);
    body = (await r.json()) as WireHealth;
    expect(body.status).toBe('down');
    expect(body.venues[0].connections[0].state).toBe('closed');
  });

  it('GET /status and /feeds', async () => {
    const s = await fetch(`${base}/status`);
    expect(s.status).toBe(200);
    expect(await s.json()).toEqual({ started_at: 1_700_000_000_000, uptime_s: 42, venues: ['bybit', 'binance'], instruments: 2, message_rates: { bybit: 1.5, binance: 0 } });
    const f = await fetch(`${base}/feeds`);
    expect(f.status).toBe(200);
    expect(await f.json()).toEqual({ feeds: api.listFeeds() });
  });

  it('GET /v1/books with raw and encoded symbols', async () => {
    const want = {
      venue: 'bybit',
      symbol: 'BTC/USDT:USDT',
      venue_symbol: 'BTCUSDT',
      valid: true,
      epoch: 1,
      seq: 10,
      ts: 1_700_000_000_000,
      recv_ts: 1_700_000_000_005,
      bids: [['100.5', '1'], ['100', '2'], ['99.5', '3']],
      asks: [['101', '1.5'], ['101.5', '2.5']],
    };
    for (const path of ['/v1/books/bybit/BTC/USDT:USDT', '/v1/books/bybit/BTC%2FUSDT%3AUSDT', `/v1/books/bybit/${encodeURIComponent('BTC/USDT:USDT')}`]) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(200);
      expect(await r.json(), path).toEqual(want);
    }
    const d = await fetch(`${base}/v1/books/bybit/BTC/USDT:USDT?depth=1`);
    expect(d.status).toBe(200);
    expect(await d.json()).toMatchObject({ bids: [['100.5', '1']], asks: [['101', '1.5']] });

    // An invalid (empty) book is served with valid=false and seq null.
    const b = await fetch(`${base}/v1/books/binance/BTC/USDT`);
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual({ venue: 'binance', symbol: 'BTC/USDT', venue_symbol: 'BTCUSDT', valid: false, epoch: 0, seq: null, ts: 0, recv_ts: 0, bids: [], asks: [] });
  });

  it('GET /v1/summary, /v1/summaries, /v1/arbitrage and /v1/venues in snake_case', async () => {
    for (const path of ['/v1/summary/BTC/USDT', '/v1/summary/BTC%2FUSDT']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(200);
      expect(await r.json(), path).toEqual(SUMMARY_WIRE);
    }
    const missing = await fetch(`${base}/v1/summary/ETH/USDT`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'INSTRUMENT_UNKNOWN' });
    expect(await (await fetch(`${base}/v1/summaries`)).json()).toEqual({ summaries: [SUMMARY_WIRE] });

    const arb = await fetch(`${base}/v1/arbitrage?limit=7`);
    expect(arb.status).toBe(200);
    const body = (await arb.json()) as { opportunities: (typeof ARB_WIRE)[] };
    expect(body).toEqual({ opportunities: [ARB_WIRE] });
    expect(body.opportunities[0].profit_percentage).toBeCloseTo(body.opportunities[0].profit_bps / 100, 12);
    expect(api.arbitrageLimits).toEqual([7]);
    await fetch(`${base}/v1/arbitrage`);
    expect(api.arbitrageLimits).toEqual([7, 100]); // default limit
    for (const q of ['0', '1001', 'x', '-1']) expect((await fetch(`${base}/v1/arbitrage?limit=${q}`)).status, q).toBe(400);

    expect(await (await fetch(`${base}/v1/venues`)).json()).toEqual({ venues: [REPORT_WIRE] });
  });

  it('GET /v1/books validates depth and 404s unknown venues and symbols', async () => {
    for (const q of ['0', '-1', 'abc', '5001', '1.5', '', '99999999999']) {
      const r = await fetch(`${base}/v1/books/bybit/BTC/USDT:USDT?depth=${q}`);
      expect(r.status, q).toBe(400);
      const body = (await r.json()) as { error: string; code: string };
      expect(body.code, q).toBe('CLIENT_BAD_REQUEST');
      expect(typeof body.error).toBe('string');
    }
    const two = await fetch(`${base}/v1/books/bybit/BTC/USDT:USDT?depth=1&depth=2`);
    expect(two.status).toBe(400);
    expect((await fetch(`${base}/v1/books/bybit/BTC/USDT:USDT?depth=5000`)).status).toBe(200);

    for (const path of ['/v1/books/kraken/BTC/USDT', '/v1/books/bybit/DOGE/USDT:USDT', '/v1/books/bybit/']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(404);
      const body = (await r.json()) as { error: string; code: string };
      expect(typeof body.error, path).toBe('string');
      expect(typeof body.code, path).toBe('string');
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const badUrl = await fetch(`${base}/v1/books/bybit/BTC%2`); // malformed percent-encoding
    expect(badUrl.status).toBe(400);
  });

  it('GET /metrics serves the registry in Prometheus text format', async () => {
    metrics.forVenue('bybit').framesReceived.inc(3);
    metrics.forVenue('bybit').events('trade').inc();
    metrics.stage('ws_fanout').observe(0.00002);
    const r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    expect(text).toContain('tributary_frames_received_total{venue="bybit"} 3');
    expect(text).toContain('tributary_events_total{venue="bybit",type="trade"} 1');
    expect(text).toContain('tributary_stage_latency_seconds_bucket{le="0.000025",stage="ws_fanout"} 1');
    expect(text).toContain('# TYPE tributary_ws_clients gauge');
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});
