/**
 * On-demand upstream subscriptions over real sockets: a `VenueRunner` against the venue simulator (started in-process,
 * paced so that additions really happen mid-stream) gets instruments added and removed at run time. Bybit (snapshot
 * in the stream) and Binance (REST snapshot + diffs) in detail; `on-demand-venues.test.ts` covers all eight venues.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { loadRecording, RecordingWriter, type Recording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { VenueRunner, type SubscriptionRequest, type SubscriptionStatus } from '../../src/pipeline/ingest.ts';
import { Bus } from '../../src/bus/bus.ts';
import { createHttp } from '../../src/transport/http.ts';
import { getConnector } from '../../src/venues/index.ts';
import type { Connector, ReplayHooks } from '../../src/venues/connector.ts';
import type { L2Book } from '../../src/pipeline/book.ts';
import { applyNaive, newNaiveBook, sortedSide, type NaiveBook } from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const SILENT = { info() {}, warn() {}, error() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Recording length (s) between the first and the last received frame. */
function durationOf(rec: Recording): number {
  const ts = rec.records.filter((r) => r.t === 'recv').map((r) => r.ts);
  return ts[ts.length - 1] - ts[0];
}

/** Starts the simulator paced to play `rec` in about `seconds`, once; `ended` tells whether it has. */
async function simulate(rec: Recording, seconds: number, port = 0): Promise<{ sim: Simulator; ended: () => boolean }> {
  const sim = await startSimulator({ recordings: [rec], hooks: (v) => getConnector(v)?.replay, speed: Math.max(1, durationOf(rec) / seconds), settleMs: 20, port });
  let done = false;
  void sim.ended.then(() => (done = true));
  cleanups.push(() => sim.close());
  return { sim, ended: () => done };
}

interface Harness {
  runner: VenueRunner;
  bus: Bus;
  told: SubscriptionStatus[];
  /** Keys of every book event published, in order. */
  published: { topic: string; key: string; reason?: string }[];
}

function runnerFor(venue: string, endpoints: { wsBase: string; restBase: string }, requests: SubscriptionRequest[]): Harness {
  const bus = new Bus();
  const published: Harness['published'] = [];
  bus.on('book_snapshot', (m) => published.push({ topic: 'book_snapshot', key: m.instrument.key }));
  bus.on('book_delta', (m) => published.push({ topic: 'book_delta', key: m.instrument.key }));
  bus.on('book_reset', (m) => published.push({ topic: 'book_reset', key: m.instrument.key, reason: m.reason }));
  const told: SubscriptionStatus[] = [];
  const runner = new VenueRunner({
    connector: getConnector(venue) as Connector,
    endpoints,
    http: createHttp(),
    bus,
    log: SILENT,
    requests,
    transport: { backoffBaseMs: 50, backoffCapMs: 200 },
    onSubscriptionStatus: (s) => told.push(s),
  });
  cleanups.push(() => runner.stop());
  return { runner, bus, told, published };
}

/** Levels of a production book equal a naive one (venue strings, best first). */
function equalsNaive(book: L2Book | undefined, naive: NaiveBook): boolean {
  if (!book || !book.valid) return false;
  return JSON.stringify(book.bids.top()) === JSON.stringify(sortedSide(naive.bids, true)) && JSON.stringify(book.asks.top()) === JSON.stringify(sortedSide(naive.asks, false));
}

function untouched(book: L2Book): void {
  expect(book.valid, `${book.key} valid`).toBe(true);
  expect(book.stats.resyncs + book.stats.gaps + book.stats.checksumFailures, `${book.key} no resync, gap or checksum failure`).toBe(0);
}

/** Bybit, written from the venue rule: a snapshot replaces the book; a delta (u = previous u + 1) applies levels. */
function naiveBybit(rec: Recording, key: string): NaiveBook {
  const market = new Map<string, string>();
  let book: NaiveBook | undefined;
  for (const r of rec.records) {
    if (r.t === 'connect') market.set(r.conn, new URL(r.addr).pathname.split('/').pop()!);
    if (r.t !== 'recv') continue;
    const m = JSON.parse(r.data);
    if (typeof m.topic !== 'string' || !m.topic.startsWith('orderbook.') || `${market.get(r.conn)}:${m.data.s}` !== key) continue;
    if (m.type === 'snapshot') book = newNaiveBook(m.data.u);
    else if (m.data.u !== book!.seq! + 1) book!.ok = false;
    book!.seq = m.data.u;
    applyNaive(book!.bids, m.data.b);
    applyNaive(book!.asks, m.data.a);
  }
  expect(book?.ok, `recording continuous for ${key}`).toBe(true);
  return book!;
}

/** Binance, from the documented rule: REST snapshot, drop diffs with u ≤ lastUpdateId, then contiguous U = prev u + 1. */
function naiveBinance(rec: Recording, key: string): NaiveBook {
  const sym = key.slice('spot:'.length);
  const snap = rec.records.find((r) => r.t === 'http' && r.url.includes('/depth') && new URL(r.url).searchParams.get('symbol') === sym);
  const s = JSON.parse((snap as { data: string }).data);
  const book = newNaiveBook(s.lastUpdateId);
  applyNaive(book.bids, s.bids);
  applyNaive(book.asks, s.asks);
  let started = false;
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    const d = JSON.parse(r.data).data;
    if (d?.e !== 'depthUpdate' || d.s !== sym || d.u <= book.seq!) continue;
    if (!started) {
      if (!(d.U <= book.seq! + 1 && book.seq! + 1 <= d.u)) book.ok = false;
      started = true;
    } else if (d.U !== book.seq! + 1) book.ok = false;
    book.seq = d.u;
    applyNaive(book.bids, d.b);
    applyNaive(book.asks, d.a);
  }
  expect(book.ok, `recording continuous for ${key}`).toBe(true);
  return book;
}

/** A free TCP port on 127.0.0.1 (nothing listens on it once this resolves). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const topicsOf = (sim: Simulator, venue: string): string[][] => sim.activeTopics(venue).map((c) => [...c.topics]);

interface Case {
  readonly venue: string;
  readonly file: string;
  readonly first: string;
  readonly second: string;
  /** A book of another market / URL: needs a new connection (undefined: the venue has one). */
  readonly other?: string;
  readonly naive: (rec: Recording, key: string) => NaiveBook;
}

const CASES: Case[] = [
  { venue: 'bybit', file: 'bybit.jsonl.gz', first: 'linear:BTCUSDT', second: 'linear:ETHUSDT', other: 'spot:ETHUSDT', naive: naiveBybit },
  { venue: 'binance', file: 'binance.jsonl.gz', first: 'spot:NKNUSDT', second: 'spot:LRCBTC', naive: naiveBinance },
];

describe.each(CASES)('on-demand subscriptions: $venue', ({ venue, file, first, second, other, naive }) => {
  const path = recordingPath(file);

  it.skipIf(!path)('adds a book on the open connection mid-stream, removes it, then releases the connection', async () => {
    const rec = loadRecording(path!);
    const { sim, ended } = await simulate(rec, 4);
    const h = runnerFor(venue, { wsBase: sim.wsBase(venue), restBase: sim.restBase(venue) }, [{ key: first, channel: 'book' }]);
    const { runner } = h;
    await runner.start();
    await waitFor(() => runner.sync.book(first)?.valid, 10_000, `${first} valid`);
    const before = topicsOf(sim, venue);
    expect(before).toHaveLength(1);
    const [conn] = runner.connections();

    const [st] = runner.addSubscriptions([{ key: second, channel: 'book' }]);
    expect(ended(), 'added mid-stream').toBe(false);
    expect(st).toMatchObject({ venue, state: 'active', key: second, connId: conn.id, channel: 'book' });
    expect(runner.subscriptionStatus({ key: second, channel: 'book' })?.state).toBe('active');
    expect(runner.connections().map((c) => c.id)).toEqual([conn.id]); // same connection, not reopened
    expect(runner.subscriptions.map((s) => s.instrument.key).sort()).toEqual([first, second].sort());
    // The simulator sees the venue's own subscribe request on the same client.
    await waitFor(() => topicsOf(sim, venue).length === 1 && topicsOf(sim, venue)[0].length === before[0].length + 1, 3000, 'topic added upstream');
    const addedTopic = topicsOf(sim, venue)[0].filter((t) => !before[0].includes(t));
    expect(addedTopic).toHaveLength(1);

    await waitFor(() => runner.sync.book(second)?.valid, 10_000, `${second} valid`);
    await sim.ended;
    const n2 = naive(rec, second);
    const n1 = naive(rec, first);
    await waitFor(() => equalsNaive(runner.sync.book(second), n2) && equalsNaive(runner.sync.book(first), n1), 10_000, 'both books equal the recomputation');
    untouched(runner.sync.book(first)!);
    untouched(runner.sync.book(second)!);
    expect(runner.sync.book(second)!.isCrossed()).toBe(false);
    expect(runner.counters.reconnects).toBe(0);
    expect(runner.connections()[0].reconnects).toBe(0);
    const firstStats = { ...runner.sync.book(first)!.stats };

    // Remove it: unsubscribe upstream, stop tracking, the other book untouched.
    const mark = h.published.length;
    expect(runner.removeSubscriptions([{ key: second, channel: 'book' }])).toMatchObject([{ state: 'removed', key: second }]);
    expect(runner.sync.book(second)).toBeUndefined();
    expect(runner.subscriptionStatus({ key: second, channel: 'book' })).toBeUndefined();
    await waitFor(() => JSON.stringify(topicsOf(sim, venue)) === JSON.stringify(before), 3000, 'topic released upstream');
    expect(runner.connections().map((c) => c.id)).toEqual([conn.id]);
    const after = h.published.slice(mark).filter((e) => e.key === second);
    expect(after).toEqual([{ topic: 'book_reset', key: second, reason: 'unsubscribed' }]); // one last reset, then nothing
    expect(runner.sync.book(first)!.stats).toEqual(firstStats);
    untouched(runner.sync.book(first)!);

    // Removing the last subscription closes the connection.
    runner.removeSubscriptions([{ key: first, channel: 'book' }]);
    expect(runner.connections()).toEqual([]);
    await waitFor(() => sim.activeTopics(venue).length === 0, 3000, 'connection closed');
    expect(runner.subscriptions).toEqual([]);
  });

  it.skipIf(!path)('rejects symbols the venue does not list and channels it does not serve', async () => {
    const rec = loadRecording(path!);
    const { sim } = await simulate(rec, 4);
    const { runner } = runnerFor(venue, { wsBase: sim.wsBase(venue), restBase: sim.restBase(venue) }, [{ key: first, channel: 'book' }]);
    await runner.start();
    await waitFor(() => runner.subscriptionStatus({ key: first, channel: 'book' })?.state === 'active', 5000, 'connected');
    const [unknown, badChannel] = runner.addSubscriptions([
      { symbol: 'FOO/BAR', channel: 'book' },
      { symbol: 'BTC/USDT', channel: 'candles' as never },
    ]);
    expect(unknown.state).toBe('rejected');
    expect(unknown.error?.code).toBe('INSTRUMENT_UNKNOWN');
    expect(unknown.error?.message).toBe(`${venue} does not list "FOO/BAR"`);
    expect(badChannel.state).toBe('rejected');
    expect(badChannel.error?.code).toBe('CLIENT_BAD_REQUEST');
    expect(badChannel.error?.message).toContain(`${venue} does not serve the candles channel`);
    expect(runner.subscriptionStatus({ symbol: 'FOO/BAR', channel: 'book' })?.state).toBe('rejected');
    expect(runner.connections()).toHaveLength(1);
    expect(runner.sync.books().map((b) => b.key)).toEqual([first]);
    // The feed catalog's form: throws the same errors; releasing a configured subscription keeps it.
    expect(() => runner.demand('FOO/BAR', 'book')).toThrowError(`${venue} does not list "FOO/BAR"`);
    const symbol = runner.instruments.get(first)!.symbol;
    expect(runner.demand(symbol, 'book')).toEqual({ state: 'active' });
    runner.undemand(symbol, 'book');
    expect(runner.subscriptionStatus({ key: first, channel: 'book' })?.state).toBe('active');
    const secondSymbol = runner.instruments.get(second)!.symbol;
    expect(runner.demand(secondSymbol, 'book')).toEqual({ state: 'active' });
    runner.undemand(secondSymbol, 'book');
    expect(runner.subscriptionStatus({ key: second, channel: 'book' })).toBeUndefined();
  });

  it.skipIf(!path)('accepts additions while the venue is down as pending; they become active and valid once it is up', async () => {
    const rec = loadRecording(path!);
    const port = await freePort();
    const base = `127.0.0.1:${port}/${venue}`;
    const h = runnerFor(venue, { wsBase: `ws://${base}`, restBase: `http://${base}` }, [{ key: first, channel: 'book' }]);
    const { runner } = h;
    await runner.start(); // instruments fail to load: the runner keeps retrying
    expect(runner.state).toBe('loading');
    const [pending, unknown] = runner.addSubscriptions([
      { key: second, channel: 'book' },
      { symbol: 'FOO/BAR', channel: 'book' },
    ]);
    expect(pending).toMatchObject({ state: 'pending', waitingFor: 'instruments' });
    expect(unknown).toMatchObject({ state: 'pending', waitingFor: 'instruments' }); // cannot be told apart yet
    await waitFor(() => (runner.counters.errors.HTTP_ERROR ?? 0) >= 2, 5000, 'retrying');

    const { sim } = await simulate(rec, 4, port);
    await waitFor(() => runner.subscriptionStatus({ key: second, channel: 'book' })?.state === 'active', 10_000, 'pending → active');
    const rejected = h.told.find((s) => s.request.symbol === 'FOO/BAR');
    expect(rejected?.state).toBe('rejected');
    expect(rejected?.error?.code).toBe('INSTRUMENT_UNKNOWN');
    expect(rejected?.error?.message).toBe(`${venue} does not list "FOO/BAR"`);
    expect(h.told.filter((s) => s.key === second).map((s) => s.state)).toEqual(['pending', 'active']);
    await sim.ended;
    const n2 = naive(rec, second);
    await waitFor(() => equalsNaive(runner.sync.book(second), n2), 10_000, `${second} equals the recomputation`);
    untouched(runner.sync.book(second)!);
    untouched(runner.sync.book(first)!);
  });

  // Only venues whose recording has a second market (Bybit spot + linear) have this case; others do not register it.
  if (other !== undefined) it.skipIf(!path)('opens a new connection for a book no open connection serves (pending until it opens)', async () => {
    const rec = loadRecording(path!);
    const { sim } = await simulate(rec, 4);
    const { runner, told } = runnerFor(venue, { wsBase: sim.wsBase(venue), restBase: sim.restBase(venue) }, [{ key: first, channel: 'book' }]);
    await runner.start();
    await waitFor(() => runner.sync.book(first)?.valid, 10_000, `${first} valid`);
    const [st] = runner.addSubscriptions([{ key: other!, channel: 'book' }]);
    expect(st.state).toBe('pending');
    expect(st.waitingFor).toBe('connection');
    expect(runner.connections()).toHaveLength(2);
    expect(st.connId).not.toBe(runner.connections()[0].id);
    await waitFor(() => runner.subscriptionStatus({ key: other!, channel: 'book' })?.state === 'active', 5000, 'active once open');
    expect(told.filter((s) => s.key === other).map((s) => s.state)).toEqual(['active']);
    await waitFor(() => runner.sync.book(other!)?.valid, 10_000, `${other} valid`);
    expect(runner.sync.book(other!)!.isCrossed()).toBe(false);
    untouched(runner.sync.book(first)!);
    expect(sim.activeTopics(venue)).toHaveLength(2);
    runner.removeSubscriptions([{ key: other!, channel: 'book' }]);
    await waitFor(() => sim.activeTopics(venue).length === 1, 3000, 'the new connection closed');
    expect(runner.connections()).toHaveLength(1);
    untouched(runner.sync.book(first)!);
  });
});

describe('on-demand subscriptions: reconnect', () => {
  const path = recordingPath('bybit.jsonl.gz');

  it.skipIf(!path)('a reconnect re-subscribes exactly the current set; changes while disconnected are pending until it reopens', async () => {
    const rec = loadRecording(path!);
    const port = await freePort();
    const base = `127.0.0.1:${port}/bybit`;
    const { runner, told } = runnerFor('bybit', { wsBase: `ws://${base}`, restBase: `http://${base}` }, [{ key: 'linear:BTCUSDT', channel: 'book' }]);
    const first = await simulate(rec, 8, port);
    await runner.start();
    await waitFor(() => runner.sync.book('linear:BTCUSDT')?.valid, 10_000, 'BTCUSDT valid');
    expect(runner.addSubscriptions([{ key: 'linear:ETHUSDT', channel: 'book' }, { key: 'linear:SOLUSDT', channel: 'trades' }]).map((s) => s.state)).toEqual(['active', 'active']);
    runner.removeSubscriptions([{ key: 'linear:ETHUSDT', channel: 'book' }]);
    await waitFor(() => JSON.stringify(topicsOf(first.sim, 'bybit')) === JSON.stringify([['orderbook.200.BTCUSDT', 'publicTrade.SOLUSDT']]), 3000, 'add + remove upstream');

    await first.sim.close(); // the venue goes away: the runner reconnects with backoff
    await waitFor(() => runner.connections()[0].state !== 'open', 3000, 'disconnected');
    expect(runner.subscriptionStatus({ key: 'linear:BTCUSDT', channel: 'book' })).toMatchObject({ state: 'pending', waitingFor: 'connection' });
    const [doge] = runner.addSubscriptions([{ key: 'linear:DOGEUSDT', channel: 'book' }]);
    expect(doge).toMatchObject({ state: 'pending', waitingFor: 'connection', connId: runner.connections()[0].id });
    runner.removeSubscriptions([{ key: 'linear:SOLUSDT', channel: 'trades' }]);

    const second = await simulate(rec, 8, port);
    await waitFor(() => runner.subscriptionStatus({ key: 'linear:DOGEUSDT', channel: 'book' })?.state === 'active', 10_000, 'reconnected');
    expect(topicsOf(second.sim, 'bybit')).toEqual([['orderbook.200.BTCUSDT', 'orderbook.200.DOGEUSDT']]);
    await waitFor(() => runner.sync.book('linear:DOGEUSDT')?.valid && runner.sync.book('linear:BTCUSDT')?.valid, 10_000, 'books rebuilt');
    expect(runner.counters.reconnects).toBeGreaterThan(0);
    expect(runner.connections()).toHaveLength(1);
    expect(told.filter((s) => s.key === 'linear:BTCUSDT').map((s) => s.state)).toEqual(['active', 'pending', 'active']);
  });
});

describe('simulator: subscriptions changed mid-stream', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tributary-on-demand-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  /** Test venue: frames `{"topic","n"}`, client `{"op":"sub"|"unsub","args"}` acked `{"ack"}`. */
  const hooks: ReplayHooks = {
    topicsFromUrl: (url) => (url.searchParams.get('topics') ?? '').split(',').filter(Boolean),
    onClientFrame: (text) => {
      const m = JSON.parse(text) as { op?: string; args?: string[] };
      if (m.op === 'sub') return { subscribe: m.args, replies: [JSON.stringify({ ack: 'sub', args: m.args })] };
      if (m.op === 'unsub') return { unsubscribe: m.args, replies: [JSON.stringify({ ack: 'unsub', args: m.args })] };
      return {};
    },
    topicOfFrame: (data) => (JSON.parse(data) as { topic: string }).topic,
    recordedSubscriptions: () => [],
  };

  it('catches a topic subscribed mid-stream up with its passed frames, then streams it; activeTopics follows', async () => {
    const file = join(tmp, 'rec.jsonl.gz');
    const w = new RecordingWriter(file, 'TEST');
    const T0 = 1_700_000_000_000;
    w.connect('c', T0, 'wss://venue.test/ws');
    for (let i = 0; i < 40; i++) {
      w.recv('c', T0 + i * 25, JSON.stringify({ topic: 'a', n: i }));
      w.recv('c', T0 + i * 25 + 1, JSON.stringify({ topic: 'b', n: i }));
    }
    await w.close();
    const sim = await startSimulator({ recordings: [loadRecording(file)], hooks: () => hooks, speed: 'recorded', settleMs: 10 });
    cleanups.push(() => sim.close());
    const ws = new WebSocket(`${sim.wsBase('test')}/ws?topics=a`);
    cleanups.push(async () => ws.terminate());
    const msgs: { topic?: string; n?: number; ack?: string }[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    await waitFor(() => sim.activeTopics('test').length === 1, 2000, 'client listed');
    expect(sim.activeTopics('test')).toEqual([{ path: '/ws', topics: ['a'] }]);
    await waitFor(() => msgs.filter((m) => m.topic === 'a').length >= 10, 3000, 'a streaming');

    ws.send(JSON.stringify({ op: 'sub', args: ['b'] }));
    await waitFor(() => msgs.some((m) => m.ack === 'sub'), 2000, 'ack');
    const ackAt = msgs.findIndex((m) => m.ack === 'sub');
    const aSeen = msgs.slice(0, ackAt).filter((m) => m.topic === 'a').length;
    // Right after the ack: b's frames the walk had passed, in recorded order, before anything new.
    const burst = msgs.slice(ackAt + 1, ackAt + 1 + aSeen - 1);
    expect(burst.every((m) => m.topic === 'b')).toBe(true);
    expect(burst.map((m) => m.n)).toEqual([...Array(burst.length).keys()]);
    expect(sim.activeTopics('test')).toEqual([{ path: '/ws', topics: ['a', 'b'] }]);
    await sim.ended;
    await waitFor(() => msgs.filter((m) => m.topic === 'a').length === 40 && msgs.filter((m) => m.topic === 'b').length >= 40, 2000, 'every frame received');
    expect(msgs.filter((m) => m.topic === 'b').map((m) => m.n)).toEqual([...Array(40).keys()]); // every b frame once
    expect(msgs.filter((m) => m.topic === 'a').map((m) => m.n)).toEqual([...Array(40).keys()]);

    ws.send(JSON.stringify({ op: 'unsub', args: ['a'] }));
    await waitFor(() => JSON.stringify(sim.activeTopics('test')) === JSON.stringify([{ path: '/ws', topics: ['b'] }]), 2000, 'a released');
    ws.close();
    await waitFor(() => sim.activeTopics('test').length === 0, 2000, 'client gone');
    expect(() => sim.activeTopics('nope')).toThrowError(/unknown venue/);
  });
});
