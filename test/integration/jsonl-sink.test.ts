/**
 * The JSON-lines sink on real traffic: every shared recording (`../shared/recordings/*.jsonl.gz`, read in place) is
 * replayed directly through production decode → sync onto a bus carrying the sink (large queue) and an in-memory
 * synchronous recorder. After the sink is closed its files hold exactly the recorder's events, in publish order,
 * nothing dropped or conflated, and rebuilding the books from the files' book events gives exactly the sync stage's
 * final books. Also: rotation, `parseSinkSpec`, and the runner's retry / give-up / metrics behaviour.
 *
 * Without the recordings folder the recording cases are skipped with a message (with `CI=true` they fail).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TOPICS, type DomainEvent, type Level, type TradeMsg } from '../../src/core/events.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { parseDecimal } from '../../src/core/decimal.ts';
import { Bus } from '../../src/bus/bus.ts';
import { createMetrics } from '../../src/obs/metrics.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { getConnector } from '../../src/venues/index.ts';
import type { Connector } from '../../src/venues/connector.ts';
import {
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_BYTES,
  JsonlSink,
  copySinkMetrics,
  isJsonlFileName,
  listJsonlFiles,
  parseSinkSpec,
  readJsonlFile,
  runSink,
  type Sink,
  type SinkHealth,
} from '../../src/sinks/index.ts';
import { RECORDINGS_DIR } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tributary-jsonl-'));
  tmpDirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

/** The shared recordings, or [] (skip) when the folder is absent — a failure with CI=true. */
function sharedRecordings(): string[] {
  const files = existsSync(RECORDINGS_DIR) ? readdirSync(RECORDINGS_DIR).filter((f) => f.endsWith('.jsonl.gz')).sort() : [];
  if (files.length > 0) return files.map((f) => join(RECORDINGS_DIR, f));
  if (process.env.CI === 'true') throw new Error(`CI=true but the shared recordings folder ${RECORDINGS_DIR} is missing or empty`);
  console.warn(`[skip] shared recordings folder ${RECORDINGS_DIR} not found: JSON-lines sink replay tests are skipped (they run in CI)`);
  return [];
}
const RECORDINGS = sharedRecordings();

// ───────────── book rebuild from book events (what a consumer of the sink's files does) ─────────────

type Side = Map<number, Level>;

/** Absolute levels by numeric price (as the book engine keys them); size "0" deletes. */
function applyLevels(side: Side, levels: readonly Level[]): void {
  for (const l of levels) {
    const p = parseDecimal(l[0]);
    if (parseDecimal(l[1]) === 0) side.delete(p);
    else side.set(p, l);
  }
}

/**
 * Rebuilds books from book events: `book_snapshot` starts its epoch from scratch, `book_delta` applies to the book of
 * its epoch, `book_reset` drops the book. Returns `[price, size]` pairs best first, by `venue|key`, plus anomalies
 * (a delta with no book of its epoch).
 */
function rebuildBooks(events: readonly DomainEvent[]): { books: Map<string, { bids: [string, string][]; asks: [string, string][] }>; anomalies: string[]; epochs: number } {
  const held = new Map<string, { epoch: number; bids: Side; asks: Side }>();
  const anomalies: string[] = [];
  let epochs = 0;
  for (const ev of events) {
    if (ev.kind !== 'book_snapshot' && ev.kind !== 'book_delta' && ev.kind !== 'book_reset') continue;
    const key = `${ev.instrument.venue}|${ev.instrument.key}`;
    if (ev.kind === 'book_snapshot') {
      const b = { epoch: ev.epoch, bids: new Map(), asks: new Map() };
      applyLevels(b.bids, ev.bids);
      applyLevels(b.asks, ev.asks);
      held.set(key, b);
      epochs++;
    } else if (ev.kind === 'book_reset') {
      held.delete(key);
    } else {
      const b = held.get(key);
      if (b === undefined || b.epoch !== ev.epoch) anomalies.push(`${key}: delta of epoch ${ev.epoch}, holding ${b?.epoch ?? 'none'}`);
      else {
        applyLevels(b.bids, ev.bids);
        applyLevels(b.asks, ev.asks);
      }
    }
  }
  const side = (m: Side, desc: boolean): [string, string][] =>
    [...m.entries()].sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0])).map(([, l]) => [l[0], l[1]]);
  return { books: new Map([...held].map(([k, b]) => [k, { bids: side(b.bids, true), asks: side(b.asks, false) }] as const)), anomalies, epochs };
}

/** Index of the first differing event, or -1. */
function firstMismatch(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (!isDeepStrictEqual(a[i], b[i])) return i;
  return -1;
}

interface Figures {
  recording: string;
  events: number;
  files: number;
  bytes: number;
  books: number;
  validBooks: number;
  epochs: number;
}
const figures: Figures[] = [];
afterAll(() => {
  if (figures.length > 0) console.info('[jsonl-sink] ' + figures.map((f) => `${f.recording}: ${f.events} events, ${f.files} files, ${f.bytes} B, books ${f.validBooks}/${f.books} valid, ${f.epochs} snapshots`).join('; '));
});

/**
 * Replays `path` (optionally with recv frames dropped) with the sink and a recorder on one bus, closes the sink and
 * checks the files against the recorder and the sync stage's books.
 */
async function replayThroughSink(path: string, maxBytes: number, transform?: (data: string, index: number) => string | null): Promise<Figures> {
  const venue = basename(path, '.jsonl.gz');
  const connector = getConnector(venue) as Connector | undefined;
  expect(connector, `a connector for recording ${venue}`).toBeDefined();
  const rec = loadRecording(path);
  const dir = await tempDir();
  const bus = new Bus();
  const recorded: DomainEvent[] = [];
  const sink = new JsonlSink({ dir, maxBytes });
  const runner = await runSink(bus, sink, { capacity: 1_000_000 });
  for (const t of TOPICS) bus.on(t, (ev) => recorded.push(ev));

  const { runner: venueRunner } = await replayDirect(rec, connector!, { bus, transform });
  await runner.stop();

  // Counters: nothing dropped, conflated, failed or pending; every event written.
  const h = runner.health();
  expect(h).toMatchObject({ state: 'closed', dropped: 0, conflated: 0, failures: 0, failedBatches: 0, queueDepth: 0, lastError: null });
  expect(h.written).toBe(recorded.length);
  expect(runner.queue.counters.dropped).toEqual({});
  expect(runner.queue.counters.conflated).toEqual({});
  expect(runner.queue.counters.enqueued).toBe(recorded.length);
  expect(bus.attachedQueues()).toEqual([]);

  // Files: the ones the sink opened, in name order, none over the size limit, all closed.
  const files = await listJsonlFiles(dir);
  expect(readdirSync(dir).filter((f) => !isJsonlFileName(f))).toEqual([]);
  expect(files).toEqual(sink.files().map((f) => f.path));
  let bytes = 0;
  for (const f of sink.files()) {
    const size = statSync(f.path).size;
    expect(size, f.path).toBe(f.bytes);
    if (f.events > 1) expect(size, f.path).toBeLessThanOrEqual(maxBytes); // a single longer line gets a file of its own
    bytes += size;
  }

  // Same events, same order, equal values after the JSON round trip.
  const lines = (await Promise.all(files.map(readJsonlFile))).flat();
  expect(lines.filter((l) => l.topic !== l.event.kind)).toEqual([]);
  const events = lines.map((l) => l.event);
  expect(events.length).toBe(recorded.length);
  const at = firstMismatch(events, recorded);
  expect(at, at < 0 ? '' : `first difference at event ${at}: ${JSON.stringify(events[at])} vs ${JSON.stringify(recorded[at])}`).toBe(-1);

  // Books rebuilt from the file equal the sync stage's final books, every one of them.
  const rebuilt = rebuildBooks(events);
  expect(rebuilt.anomalies).toEqual([]);
  const books = venueRunner.sync.books();
  const instruments = new Map(venueRunner.sync.instruments().map((i: Instrument) => [i.key, i] as const));
  for (const b of books) {
    const key = `${instruments.get(b.key)!.venue}|${b.key}`;
    const r = rebuilt.books.get(key);
    if (b.valid) {
      expect(r, `${key}: a book in the sink's events`).toBeDefined();
      // isDeepStrictEqual first: vitest's diffing equality is slow on books thousands of levels deep.
      const [bids, asks] = [b.bids.top(), b.asks.top()];
      if (!isDeepStrictEqual(r!.bids, bids)) expect(r!.bids, `${key} bids`).toEqual(bids);
      if (!isDeepStrictEqual(r!.asks, asks)) expect(r!.asks, `${key} asks`).toEqual(asks);
      expect(bids.length + asks.length, `${key} has levels`).toBeGreaterThan(0);
    } else {
      expect(r, `${key} is invalid: its reset dropped it (or it never had a snapshot)`).toBeUndefined();
    }
  }
  expect(rebuilt.books.size).toBe(books.filter((b) => b.valid).length);

  return { recording: venue, events: events.length, files: files.length, bytes, books: books.length, validBooks: books.filter((b) => b.valid).length, epochs: rebuilt.epochs };
}

describe.skipIf(RECORDINGS.length === 0)('JSON-lines sink on every shared recording (direct replay)', () => {
  it.each(RECORDINGS.map((p) => [basename(p, '.jsonl.gz'), p]))('%s: files hold every event in publish order and rebuild the final books', async (_name, path) => {
    const f = await replayThroughSink(path, 1024 * 1024);
    figures.push(f);
    expect(f.events).toBeGreaterThan(0);
    expect(f.validBooks).toBeGreaterThan(0);
  });

  it.each(['bybit', 'kraken'].map((v) => [v, join(RECORDINGS_DIR, `${v}.jsonl.gz`)]).filter(([, p]) => existsSync(p)))(
    '%s with frames dropped (gaps → book_reset): reset books are dropped, the others rebuilt exactly',
    async (name, path) => {
      const total = loadRecording(path).records.filter((r) => r.t === 'recv').length;
      const from = Math.floor(total * 0.3);
      const f = await replayThroughSink(path, 256 * 1024, (d, i) => (i >= from && i < from + 3 ? null : d));
      figures.push({ ...f, recording: `${name} (faulted)` });
      expect(f.validBooks).toBeLessThan(f.books);
    },
  );
});

// ───────────── sink and runner behaviour on small inputs ─────────────

const BTC: Instrument = { venue: 'bybit', key: 'spot:BTCUSDT', venueSymbol: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot', tickSize: '0.01', lotSize: '0.000001' };
const trade = (i: number): TradeMsg => ({ kind: 'trade', instrument: BTC, price: `6${String(i).padStart(4, '0')}.50`, size: '0.001', side: i % 2 ? 'buy' : 'sell', tradeId: String(i), ts: 1_717_000_000_000 + i, recvTs: 1_717_000_000_003 + i });

describe('JsonlSink', () => {
  it('rotates by size: no file over max_bytes, names sort in write order, lines equal the events', async () => {
    const dir = await tempDir();
    const sink = new JsonlSink({ dir, maxBytes: 2000 });
    await sink.start();
    const events = Array.from({ length: 60 }, (_, i) => trade(i));
    await sink.consume(events.slice(0, 25));
    await sink.consume(events.slice(25));
    await sink.close();
    const files = await listJsonlFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    expect(files).toEqual(sink.files().map((f) => f.path));
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(2000);
    expect((await Promise.all(files.map(readJsonlFile))).flat()).toStrictEqual(events.map((event) => ({ topic: 'trade', event })));
    expect(sink.health()).toEqual({ name: 'jsonl', state: 'closed', written: 60, dropped: 0, lastError: null, queueDepth: 0 });
  });

  it('rotates by age (clock injected) and names files by their UTC open time', async () => {
    const dir = await tempDir();
    let now = Date.UTC(2024, 4, 29, 16, 26, 40, 123);
    const sink = new JsonlSink({ dir, maxAgeMs: 60_000, now: () => now });
    await sink.start();
    await sink.consume([trade(1), trade(2)]);
    now += 59_999;
    await sink.consume([trade(3)]);
    now += 1;
    await sink.consume([trade(4)]);
    await sink.close();
    const names = (await listJsonlFiles(dir)).map((p) => basename(p));
    expect(names).toEqual(['events-2024-05-29T16-26-40.123Z-000001.jsonl', 'events-2024-05-29T16-27-40.123Z-000002.jsonl']);
    expect(sink.files().map((f) => f.events)).toEqual([3, 1]);
  });

  it('writes through a tiny stream buffer (backpressure) without losing or reordering lines', async () => {
    const dir = await tempDir();
    const sink = new JsonlSink({ dir, highWaterMark: 64 });
    await sink.start();
    const events = Array.from({ length: 500 }, (_, i) => trade(i));
    for (let i = 0; i < events.length; i += 50) await sink.consume(events.slice(i, i + 50));
    await sink.flush();
    expect(sink.health().written).toBe(500);
    await sink.close();
    const lines = (await Promise.all((await listJsonlFiles(dir)).map(readJsonlFile))).flat();
    expect(lines.map((l) => l.event)).toStrictEqual(events);
  });

  it('a write error abandons the file and goes on in a new one; an error during consume rejects it (retry), none is lost', async () => {
    const dir = await tempDir();
    const sink = new JsonlSink({ dir, highWaterMark: 64 });
    await sink.start();
    // Fault injection: fail the stream of the current file (the sink keeps it private).
    const failCurrentFile = () => (sink as unknown as { cur: { stream: { destroy(e: Error): void } } }).cur.stream.destroy(new Error('EIO: i/o error, write'));
    const b1 = Array.from({ length: 10 }, (_, i) => trade(i));
    const b2 = Array.from({ length: 200 }, (_, i) => trade(100 + i));
    const b3 = Array.from({ length: 5 }, (_, i) => trade(1000 + i));
    await sink.consume(b1);
    await sink.flush();
    const pending = sink.consume(b2); // waits for the (tiny) stream buffer to drain
    failCurrentFile();
    await expect(pending).rejects.toThrow('EIO');
    expect(sink.health()).toMatchObject({ state: 'failing', lastError: 'EIO: i/o error, write', dropped: 0 });
    await sink.consume(b2); // the runner's retry
    expect(sink.health().state).toBe('running');
    await sink.flush();
    failCurrentFile(); // between batches: nothing pending, nothing lost
    await waitFor(() => sink.health().state === 'failing', 1000, 'error seen');
    await sink.consume(b3);
    await sink.close();
    const files = await listJsonlFiles(dir);
    expect(files.length).toBe(3);
    const [f1, f2, f3] = await Promise.all(files.map(readJsonlFile));
    expect(f1.slice(0, 10).map((l) => l.event)).toStrictEqual(b1); // then possibly part of b2 (abandoned)
    expect(f2.map((l) => l.event)).toStrictEqual(b2);
    expect(f3.map((l) => l.event)).toStrictEqual(b3);
    expect(sink.health()).toMatchObject({ state: 'closed', dropped: 0, written: 10 + 200 + 5 });
  });

  it('start fails with CONFIG_INVALID on an unusable directory, and runSink detaches its queue', async () => {
    const dir = await tempDir();
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const bus = new Bus();
    const err = await runSink(bus, new JsonlSink({ dir: join(file, 'sub') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('CONFIG_INVALID');
    expect(bus.attachedQueues()).toEqual([]);
    expect(() => new JsonlSink({ dir, maxBytes: 0 })).toThrow(TributaryError);
  });
});

describe('parseSinkSpec', () => {
  it('jsonl:DIR with defaults', () => {
    const s = parseSinkSpec('jsonl:/var/lib/tributary/events');
    expect(s).toMatchObject({ kind: 'jsonl', spec: 'jsonl:/var/lib/tributary/events', options: { dir: '/var/lib/tributary/events' }, run: {} });
    const sink = s.create();
    expect(sink).toBeInstanceOf(JsonlSink);
    expect(sink.name).toBe('jsonl');
    expect((sink as JsonlSink).maxBytes).toBe(DEFAULT_MAX_BYTES);
    expect((sink as JsonlSink).maxAgeMs).toBe(DEFAULT_MAX_AGE_MS);
    expect(DEFAULT_MAX_BYTES).toBe(64 * 1024 * 1024);
    expect(DEFAULT_MAX_AGE_MS).toBe(3_600_000);
  });

  it('options: max_bytes with binary units, max_age_ms, topics, capacity, name', () => {
    const s = parseSinkSpec('jsonl:out/events?max_bytes=2m&max_age_ms=60000&topics=trade,book_snapshot,book_delta&capacity=50000&name=archive');
    expect(s.options).toEqual({ dir: 'out/events', maxBytes: 2 * 1024 * 1024, maxAgeMs: 60_000, name: 'archive' });
    expect(s.run).toEqual({ topics: ['trade', 'book_snapshot', 'book_delta'], capacity: 50_000 });
    expect(parseSinkSpec('jsonl:x?max_bytes=1048576').options.maxBytes).toBe(1024 * 1024);
    expect(parseSinkSpec('jsonl:x?max_bytes=1GiB').options.maxBytes).toBe(1024 ** 3);
    expect(parseSinkSpec('jsonl:x?').options).toEqual({ dir: 'x' });
  });

  it.each([
    [''],
    ['events'],
    ['jsonl:'],
    ['jsonl:?max_bytes=5'],
    ['kafka:/tmp/x'],
    ['jsonl:x?max_bytes=0'],
    ['jsonl:x?max_bytes=12q'],
    ['jsonl:x?max_bytes=1.5m'],
    ['jsonl:x?max_age_ms=-5'],
    ['jsonl:x?max_age_ms=1h'],
    ['jsonl:x?capacity=0'],
    ['jsonl:x?topics=trades'],
    ['jsonl:x?topics='],
    ['jsonl:x?name=a b'],
    ['jsonl:x?rotate=1'],
    ['jsonl:x?capacity=1&capacity=2'],
  ])('rejects %j with CONFIG_INVALID', (spec) => {
    let err: unknown;
    try {
      parseSinkSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('CONFIG_INVALID');
    expect((err as TributaryError).message).toContain('invalid sink spec');
  });
});

/** A sink in memory whose `consume` fails while `failing()` says so. */
class FlakySink implements Sink {
  readonly name = 'flaky';
  readonly got: DomainEvent[] = [];
  calls = 0;
  constructor(private readonly failing: (call: number) => boolean, private readonly delayMs = 0) {}
  async start(): Promise<void> {}
  async consume(events: readonly DomainEvent[]): Promise<void> {
    const call = ++this.calls;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing(call)) throw new Error(`write failed (call ${call})`);
    this.got.push(...events);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  health(): SinkHealth {
    return { name: this.name, state: 'running', written: this.got.length, dropped: 0, lastError: null, queueDepth: 0 };
  }
}

describe('runSink', () => {
  const fast = { baseMs: 1, capMs: 2 };
  const logs: string[] = [];
  const log = { info: (_o: object, m?: string) => logs.push(`info ${m}`), warn: (_o: object, m?: string) => logs.push(`warn ${m}`), error: (_o: object, m?: string) => logs.push(`error ${m}`) };

  it('retries a failing consume with backoff, then delivers everything in order', async () => {
    const bus = new Bus();
    const sink = new FlakySink((call) => call <= 2);
    const runner = await runSink(bus, sink, { topics: ['trade'], backoff: fast, log });
    for (let i = 0; i < 20; i++) bus.publish('trade', trade(i));
    await runner.flush();
    expect(sink.got).toEqual(Array.from({ length: 20 }, (_, i) => trade(i)));
    expect(runner.health()).toMatchObject({ state: 'running', written: 20, dropped: 0, failures: 2, failedBatches: 0, lastError: 'write failed (call 2)' });
    await runner.stop();
    expect(runner.health().state).toBe('closed');
  });

  it('gives a batch up after the last try: counted as dropped, logged, and the next batches still go through', async () => {
    const bus = new Bus();
    let broken = true;
    const sink = new FlakySink(() => broken);
    const runner = await runSink(bus, sink, { topics: ['trade'], attempts: 3, backoff: fast, log });
    for (let i = 0; i < 5; i++) bus.publish('trade', trade(i));
    await waitFor(() => runner.health().failedBatches === 1, 2000, 'batch given up');
    expect(runner.health()).toMatchObject({ state: 'failing', dropped: 5, failures: 3, lastError: 'write failed (call 3)' });
    expect(runner.topicCounters().dropped).toEqual({ trade: 5 });
    expect(logs.some((l) => l === 'error sink batch given up after retries')).toBe(true);
    broken = false;
    bus.publish('trade', trade(99));
    await runner.flush();
    expect(sink.got).toEqual([trade(99)]);
    expect(runner.health()).toMatchObject({ state: 'running', written: 1, dropped: 5 });
    await runner.stop();
  });

  it('a slow sink makes its own queue drop trades past capacity (counted), never the bus; stop writes the rest', async () => {
    const bus = new Bus();
    const sink = new FlakySink(() => false, 5);
    const runner = await runSink(bus, sink, { topics: ['trade'], capacity: 10, batchSize: 4 });
    let seen = 0;
    bus.on('trade', () => seen++);
    for (let i = 0; i < 100; i++) bus.publish('trade', trade(i));
    expect(seen).toBe(100);
    await runner.stop();
    const h = runner.health();
    expect(h.dropped).toBeGreaterThan(0);
    expect(sink.got.length + h.dropped).toBe(100);
    expect(runner.topicCounters()).toEqual({ written: { trade: sink.got.length }, dropped: { trade: h.dropped }, conflated: {} });
    const ids = sink.got.map((t) => Number((t as TradeMsg).tradeId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b)); // order kept
  });

  it('a disconnect overflow is counted and logged, and the runner goes on with a fresh queue', async () => {
    const bus = new Bus();
    const sink = new FlakySink(() => false, 5);
    const runner = await runSink(bus, sink, { topics: ['trade'], capacity: 3, policies: { trade: 'disconnect' }, batchSize: 1, log });
    for (let i = 0; i < 10; i++) bus.publish('trade', trade(i));
    await waitFor(() => runner.health().lastError?.includes('overflowed'), 2000, 'overflow seen');
    bus.publish('trade', trade(100));
    await runner.flush();
    const h = runner.health();
    expect(sink.got.length + h.dropped).toBe(11);
    expect(sink.got.at(-1)).toEqual(trade(100));
    expect(bus.attachedQueues()).toEqual([runner.queue]);
    await runner.stop();
    expect(bus.attachedQueues()).toEqual([]);
  });

  it('copySinkMetrics exports depth, written, dropped and conflated per sink and topic, without double counting', async () => {
    const bus = new Bus();
    const sink = new FlakySink(() => false);
    const runner = await runSink(bus, sink, { topics: ['trade', 'ticker'] });
    for (let i = 0; i < 7; i++) bus.publish('trade', trade(i));
    await runner.flush();
    const m = createMetrics({ defaultMetrics: false });
    copySinkMetrics(m, [runner]);
    copySinkMetrics(m, [runner]);
    const text = await m.registry.metrics();
    expect(text).toContain('tributary_sink_events_written_total{sink="flaky",topic="trade"} 7');
    expect(text).toContain('tributary_sink_queue_depth{sink="flaky"} 0');
    bus.publish('trade', trade(8));
    await runner.flush();
    copySinkMetrics(m, [runner]);
    expect(await m.registry.metrics()).toContain('tributary_sink_events_written_total{sink="flaky",topic="trade"} 8');
    await runner.stop();
  });
});
