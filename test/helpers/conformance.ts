/**
 * Shared conformance checks: a recording through the production decode → sync → book, compared with a
 * naive recomputation each venue's test writes itself from the venue rules.
 */
import { expect } from 'vitest';
import type { BookDeltaMsg, BookResetMsg, BookSnapshotMsg } from '../../src/core/events.ts';
import type { Recording } from '../../src/replay/recording.ts';
import { replayDirect, type DirectReplayResult } from '../../src/replay/direct.ts';
import { getConnector } from '../../src/venues/index.ts';
import type { ConnectionPlan, Connector } from '../../src/venues/connector.ts';

/** A naively recomputed book: price (number) → [price, size] as the venue sent them. */
export type NaiveSide = Map<number, [string, string]>;
export interface NaiveBook {
  bids: NaiveSide;
  asks: NaiveSide;
  /** Venue sequence after the last applied message (undefined when the venue has none). */
  seq?: number;
  /** False when the recording itself breaks the venue's continuity rule. */
  ok: boolean;
}

export const newNaiveBook = (seq?: number): NaiveBook => ({ bids: new Map(), asks: new Map(), seq, ok: true });

/** Applies absolute levels; size 0 deletes. */
export function applyNaive(side: NaiveSide, levels: readonly (readonly unknown[])[]): void {
  for (const l of levels) {
    const p = String(l[0]);
    const q = String(l[1]);
    if (Number(q) === 0) side.delete(Number(p));
    else side.set(Number(p), [p, q]);
  }
}

export const sortedSide = (s: NaiveSide, desc: boolean): [string, string][] =>
  [...s.entries()].sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0])).map(([, l]) => l);

/**
 * Decodes every `recv` frame with a fresh session per recorded connection and returns outcome counts.
 * Asserts that no frame is unhandled: each yields events or a non-error signal.
 */
export function expectEveryFrameHandled(venue: string, rec: Recording): Record<string, number> {
  const c = getConnector(venue) as Connector;
  const sessions = new Map<string, unknown>();
  const plans = c.plan([], c.defaultEndpoints);
  const outcomes: Record<string, number> = {};
  for (const r of rec.records) {
    if (r.t === 'connect') {
      const path = new URL(r.addr).pathname;
      const plan: ConnectionPlan = plans.find((p) => new URL(p.url).pathname === path) ?? {
        id: path.split('/').pop() || 'conn', url: r.addr, subscriptions: [], subscribeFrames: [], heartbeat: { kind: 'none' }, staleAfterMs: 1,
      };
      sessions.set(r.conn, c.newSession(plan));
    }
    if (r.t !== 'recv') continue;
    const d = c.decode({ data: r.data, recvTs: r.ts * 1000 }, sessions.get(r.conn));
    const outcome = d.events.length > 0 ? 'events' : d.signal ? (d.signal.kind === 'error' ? `error:${d.signal.error.code}` : d.signal.kind) : 'nothing';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  const bad = Object.keys(outcomes).filter((k) => k.startsWith('error') || k === 'nothing');
  expect(bad, JSON.stringify(outcomes)).toEqual([]);
  expect(outcomes.events).toBeGreaterThan(0);
  return outcomes;
}

/**
 * Replays directly and checks every production book against the naive recomputation: valid, uncrossed,
 * no gap, same sequence, and exactly the same levels (venue strings) on both sides.
 */
export async function expectBooksMatchNaive(venue: string, rec: Recording, naive: Map<string, NaiveBook>, expectedBooks: number): Promise<DirectReplayResult> {
  const result = await replayDirect(rec, getConnector(venue) as Connector);
  const { runner, frames } = result;
  expect(frames).toBe(rec.records.filter((r) => r.t === 'recv').length);
  const protocolErrors = Object.entries(runner.counters.errors).filter(([k]) => k.startsWith('PROTOCOL'));
  expect(protocolErrors).toEqual([]);
  const books = runner.sync.books();
  expect(books.length).toBe(expectedBooks);
  for (const b of books) {
    const n = naive.get(b.key);
    expect(n, `naive book for ${b.key}`).toBeDefined();
    expect(n!.ok, `recording itself is continuous for ${b.key}`).toBe(true);
    expect(b.valid, `${b.key} valid`).toBe(true);
    expect(b.isCrossed(), `${b.key} crossed`).toBe(false);
    expect(b.stats.gaps, `${b.key} gaps`).toBe(0);
    expect(b.stats.checksumFailures, `${b.key} checksum failures`).toBe(0);
    if (n!.seq !== undefined) expect(b.seq).toBe(n!.seq);
    expect(b.bids.top(), `${b.key} bids`).toEqual(sortedSide(n!.bids, true));
    expect(b.asks.top(), `${b.key} asks`).toEqual(sortedSide(n!.asks, false));
    expect(b.bids.length + b.asks.length).toBeGreaterThan(0);
  }
  return result;
}

/** One normalized event as stored in a golden file (books summarized to their top 3 levels). */
export type GoldenEvent = Record<string, unknown>;

/** A ticker field the venue did not send: `null` on the bus, absent in the golden record. */
const present = <T extends Record<string, unknown>>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as Partial<T>;

/**
 * Replays directly and collects what the pipeline published: the first `limit` events and counts by bus topic.
 * The golden records keep the reviewed shape: book events as `{type, key, symbol, seq, bids: top 3, asks: top 3}` of
 * the book after the event (rebuilt from the published events alone: snapshot + deltas, so the book events must
 * carry everything), trades and tickers as the decoders emit them (`{type, venue, key, ...fields, ts, recvTs}`,
 * fields a ticker did not send absent) plus the instrument's `symbol`.
 */
export async function collectGolden(venue: string, rec: Recording, limit = 40): Promise<{ events: GoldenEvent[]; counts: Record<string, number> }> {
  const { Bus } = await import('../../src/bus/bus.ts');
  const { BookMirror } = await import('./books.ts');
  const bus = new Bus();
  const mirror = new BookMirror(bus); // subscribed first: it has applied each book event before it is recorded
  const events: GoldenEvent[] = [];
  const counts: Record<string, number> = {};
  const push = (topic: string, e: () => GoldenEvent) => {
    counts[topic] = (counts[topic] ?? 0) + 1;
    if (events.length < limit) events.push(e());
  };
  const book = (u: BookSnapshotMsg | BookDeltaMsg): GoldenEvent => {
    const b = mirror.lookup(u.instrument.venue, u.instrument.key)!;
    return { type: u.kind, key: u.instrument.key, symbol: u.instrument.symbol, seq: u.seq, bids: b.bids.top(3), asks: b.asks.top(3) };
  };
  bus.on('book_snapshot', (u) => push('book_snapshot', () => book(u)));
  bus.on('book_delta', (u) => push('book_delta', () => book(u)));
  bus.on('book_reset', (r) => push('book_reset', () => ({ type: 'book_reset', key: r.instrument.key, reason: r.reason })));
  bus.on('trade', ({ kind, instrument, ...fields }) => push('trade', () => ({ type: kind, venue: instrument.venue, key: instrument.key, ...fields, symbol: instrument.symbol })));
  bus.on('ticker', ({ kind, instrument, ...fields }) => push('ticker', () => ({ type: kind, venue: instrument.venue, key: instrument.key, ...present(fields), symbol: instrument.symbol })));
  await replayDirect(rec, getConnector(venue) as Connector, { bus });
  expect(mirror.violations).toEqual([]);
  return { events, counts };
}

/**
 * Compares the replay's normalized output with the reviewed golden file `test/conformance/golden/<venue>.json`.
 * Run with `UPDATE_GOLDEN=1` to (re)write the file after reviewing a deliberate change.
 */
export async function expectMatchesGolden(venue: string, rec: Recording): Promise<void> {
  const { readFileSync, writeFileSync, existsSync, mkdirSync } = await import('node:fs');
  const dir = new URL('../conformance/golden/', import.meta.url);
  const file = new URL(`${venue}.json`, dir);
  const actual = await collectGolden(venue, rec);
  if (process.env.UPDATE_GOLDEN === '1' || (!existsSync(file) && process.env.CI !== 'true')) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(actual, null, 1) + '\n');
  }
  const golden = JSON.parse(readFileSync(file, 'utf8'));
  expect(actual).toEqual(golden);
}

/**
 * Serves `rec` with the venue simulator at max speed and runs the production `VenueRunner` against it over real
 * sockets, subscribed to what the recording subscribed to. Calls `check` once the simulator has sent everything
 * (the runner may still be processing: wait on conditions inside), then stops both.
 */
export async function withSimulatedRunner(
  rec: Recording,
  venue: string,
  check: (runner: import('../../src/pipeline/ingest.ts').VenueRunner) => Promise<void>,
): Promise<void> {
  const { startSimulator } = await import('../../src/replay/simulator.ts');
  const { VenueRunner } = await import('../../src/pipeline/ingest.ts');
  const { Bus } = await import('../../src/bus/bus.ts');
  const { createHttp } = await import('../../src/transport/http.ts');
  const { recordedRequests } = await import('../../src/replay/direct.ts');
  const connector = getConnector(venue) as Connector;
  const sim = await startSimulator({ recordings: [rec], hooks: (v) => getConnector(v)?.replay, speed: 'max' });
  const runner = new VenueRunner({
    connector,
    endpoints: { wsBase: sim.wsBase(venue), restBase: sim.restBase(venue) },
    http: createHttp(),
    bus: new Bus(),
    log: { info() {}, warn() {}, error() {}, debug() {} },
    requests: recordedRequests(rec, connector),
    transport: { backoffBaseMs: 50, backoffCapMs: 200 },
  });
  try {
    await runner.start();
    await sim.ended;
    await check(runner);
  } finally {
    await runner.stop();
    await sim.close();
  }
}

/** The production book holds exactly the naive book's levels (venue strings, best first). */
export function expectBookEquals(book: { key: string; bids: { top(): [string, string][] }; asks: { top(): [string, string][] } }, naive: NaiveBook): void {
  expect(book.bids.top(), `${book.key} bids`).toEqual(sortedSide(naive.bids, true));
  expect(book.asks.top(), `${book.key} asks`).toEqual(sortedSide(naive.asks, false));
}

/** Every book except `exceptKey` is valid, never failed, gapped or resynced, and equals its naive book. */
export function expectBooksUntouched(books: readonly import('../../src/pipeline/book.ts').L2Book[], naive: ReadonlyMap<string, NaiveBook>, exceptKey?: string): void {
  for (const b of books) {
    if (b.key === exceptKey) continue;
    expect(b.valid, `${b.key} valid`).toBe(true);
    expect(b.stats.checksumFailures + b.stats.gaps + b.stats.resyncs, `${b.key} untouched`).toBe(0);
    expectBookEquals(b, naive.get(b.key)!);
  }
}

/** Direct replay with fault injection (`transform` drops or alters recv frames); collects the published resets. */
export async function faultedReplay(rec: Recording, venue: string, transform: (data: string, index: number) => string | null) {
  const { Bus } = await import('../../src/bus/bus.ts');
  const bus = new Bus();
  const resets: BookResetMsg[] = [];
  bus.on('book_reset', (r) => resets.push(r));
  const { runner } = await replayDirect(rec, getConnector(venue) as Connector, { bus, transform });
  expect(Object.keys(runner.counters.errors).filter((k) => k.startsWith('PROTOCOL'))).toEqual([]);
  return { runner, resets, books: runner.sync.books() };
}
