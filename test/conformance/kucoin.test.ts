/**
 * Conformance: the shared KuCoin recording (2021, 10 spot symbols) through decode → sync → book, compared with a
 * naive recomputation written here from the venue rule; the reviewed golden file; a dropped-increment fault; and the
 * same recording served by the simulator to a real runner (bullet token, pong-triggered subscribe, REST snapshots).
 *
 * Golden file: `test/conformance/golden/kucoin.json`; regenerate after a reviewed change with
 * `UPDATE_GOLDEN=1 npx vitest run test/conformance/kucoin.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { loadRecording, type DataRecord, type HttpRecord, type Recording } from '../../src/replay/recording.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { Bus } from '../../src/bus/bus.ts';
import type { BookDeltaMsg, BookSnapshotMsg } from '../../src/core/events.ts';
import { kucoinConnector } from '../../src/venues/kucoin/connector.ts';
import { withSimulatedRunner, applyNaive, expectBooksMatchNaive, expectEveryFrameHandled, expectMatchesGolden, newNaiveBook, sortedSide, type NaiveBook } from '../helpers/conformance.ts';
import { BookMirror } from '../helpers/books.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

type Top = { bids: [string, string][]; asks: [string, string][] };

/**
 * KuCoin rule (https://www.kucoin.com/docs-new/3470068w0): start from the REST snapshot (sequence S); skip messages
 * whose `sequenceEnd` ≤ S; the first applied message must cover S + 1, later ones must start at the previous
 * `sequenceEnd` + 1; inside a message skip changes whose own sequence ≤ S and price-"0" changes; size "0" deletes.
 * Uses the first recorded snapshot per symbol. `onState(key, seq, book)` sees the book after the snapshot and after
 * every applied message.
 */
function naiveKucoin(rec: Recording, onState?: (key: string, seq: number, b: NaiveBook) => void): Map<string, NaiveBook> {
  const books = new Map<string, NaiveBook>();
  const snapSeq = new Map<string, number>();
  for (const r of rec.records) {
    if (r.t !== 'http' || !r.url.includes('/market/orderbook/level2')) continue;
    const key = `spot:${new URL(r.url).searchParams.get('symbol')}`;
    if (books.has(key)) continue;
    const s = JSON.parse(r.data).data;
    const b = newNaiveBook(Number(s.sequence));
    applyNaive(b.bids, s.bids);
    applyNaive(b.asks, s.asks);
    books.set(key, b);
    snapSeq.set(key, Number(s.sequence));
    onState?.(key, b.seq!, b);
  }
  const started = new Set<string>();
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    const m = JSON.parse(r.data);
    if (m.subject !== 'trade.l2update') continue;
    const d = m.data;
    const key = `spot:${d.symbol}`;
    const b = books.get(key);
    if (!b) continue;
    if (d.sequenceEnd <= b.seq!) continue;
    if (!started.has(key)) {
      if (!(d.sequenceStart <= b.seq! + 1)) b.ok = false;
      started.add(key);
    } else if (d.sequenceStart !== b.seq! + 1) b.ok = false;
    const s0 = snapSeq.get(key)!;
    const keep = (levels: string[][]) => levels.filter((l) => Number(l[2]) > s0 && Number(l[0]) !== 0).map((l) => [l[0], l[1]]);
    applyNaive(b.bids, keep(d.changes.bids));
    applyNaive(b.asks, keep(d.changes.asks));
    b.seq = d.sequenceEnd;
    onState?.(key, b.seq!, b);
  }
  return books;
}

const top = (b: NaiveBook, n = 5): Top => ({ bids: sortedSide(b.bids, true).slice(0, n), asks: sortedSide(b.asks, false).slice(0, n) });

/** The recording without LTX-USDT in its level2 subscribe: KuCoin sent no LTX-USDT update in 4 minutes, so no snapshot exists. */
function withoutQuietBook(rec: Recording): Recording {
  const records = rec.records.map((r): DataRecord => (r.t === 'send' && r.data.includes('/market/level2:') ? { ...r, data: r.data.replace(',LTX-USDT', '') } : r));
  return { ...rec, records };
}

describe('kucoin recording', () => {
  const path = recordingPath('kucoin.jsonl.gz');

  it.skipIf(!path)('every frame is handled or explicitly ignored', () => {
    const outcomes = expectEveryFrameHandled('kucoin', loadRecording(path!));
    // 3853 level2 + 830 ticker + 18 match; 13 acks; the welcome; 6 candle frames.
    expect(outcomes).toEqual({ events: 4701, subscribed: 13, heartbeat: 1, ignored: 6 });
  });

  it.skipIf(!path)('final books are valid, uncrossed, gap-free and equal an independent recomputation', async () => {
    const rec = loadRecording(path!);
    const naive = naiveKucoin(rec);
    expect(naive.size).toBe(9);
    const { runner } = await expectBooksMatchNaive('kucoin', withoutQuietBook(rec), naive, 9);
    expect(runner.counters.snapshotRequests).toBe(9);
    expect(runner.counters.events).toEqual({ book_delta: 3853, ticker: 830, trade: 18 });
    // The full recording also subscribed LTX-USDT's book: with no update there is no snapshot and no book, never a fake one.
    const full = await replayDirect(rec, kucoinConnector);
    const ltx = full.runner.sync.book('spot:LTX-USDT')!;
    expect([ltx.valid, ltx.stats.deltas, ltx.stats.snapshots, ltx.bids.length + ltx.asks.length]).toEqual([false, 0, 0, 0]);
    expect(full.runner.sync.books().filter((b) => b.valid)).toHaveLength(9);
  });

  it.skipIf(!path)('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('kucoin', loadRecording(path!));
  });

  it.skipIf(!path)('a dropped level2 message is a gap of that book only; it resyncs from REST and never publishes a wrong book', async () => {
    const rec = loadRecording(path!);
    const KEY = 'spot:BCHSV-USDT';
    // Drop the 1000th BCHSV-USDT increment; the next one reveals the gap.
    let n = 0;
    let recvIndex = 0;
    let dropIndex = -1;
    let next: { ts: number; end: number } | undefined;
    for (const r of rec.records) {
      if (r.t !== 'recv') continue;
      const i = recvIndex++;
      if (!r.data.includes('"trade.l2update"') || !r.data.includes('"BCHSV-USDT"')) continue;
      n++;
      if (n === 1000) dropIndex = i;
      if (n === 1001) next = { ts: r.ts, end: JSON.parse(r.data).data.sequenceEnd };
    }
    expect(dropIndex).toBeGreaterThan(0);
    // Truth (from the untouched recording) at every sequence the book passes through, and the whole book at the gap.
    const truth = new Map<number, Top>();
    let atGap: Top | undefined;
    const naive = naiveKucoin(rec, (key, seq, b) => {
      if (key !== KEY) return;
      truth.set(seq, top(b));
      if (seq === next!.end) atGap = { bids: sortedSide(b.bids, true), asks: sortedSide(b.asks, false) };
    });
    // KuCoin's REST snapshot at that moment: the recording holds only the initial one, whose repeat would be older than
    // the buffered increments. Add what the venue would answer: first that stale one again (BOOK_SNAPSHOT_STALE path),
    // then a current snapshot (the truth at the message after the gap).
    const original = rec.records.find((r): r is HttpRecord => r.t === 'http' && r.url.endsWith('symbol=BCHSV-USDT'))!;
    const fresh = JSON.stringify({ code: '200000', data: { time: Math.round(next!.ts * 1000) + 400, sequence: String(next!.end), bids: atGap!.bids, asks: atGap!.asks } });
    const extra: HttpRecord[] = [
      { ...original, ts: next!.ts + 0.0005 },
      { ...original, ts: next!.ts + 0.5, data: fresh },
    ];
    const records = [...rec.records, ...extra].map((r, i) => ({ r, i })).sort((a, b) => a.r.ts - b.r.ts || a.i - b.i).map((x) => x.r);
    const faulty = withoutQuietBook({ ...rec, records });

    const bus = new Bus();
    // What a consumer holds: the book rebuilt from the published events alone (snapshot + deltas), top 5 after each.
    const mirror = new BookMirror(bus);
    const published: { kind: string; seq: number; epoch: number; top: Top }[] = [];
    const resets: { key: string; reason: string }[] = [];
    const onBook = (u: BookSnapshotMsg | BookDeltaMsg): void => {
      if (u.instrument.key !== KEY) return;
      const b = mirror.lookup(u.instrument.venue, KEY)!;
      published.push({ kind: u.kind === 'book_snapshot' ? 'snapshot' : 'delta', seq: u.seq!, epoch: u.epoch, top: { bids: b.bids.top(5), asks: b.asks.top(5) } });
    };
    bus.on('book_snapshot', onBook);
    bus.on('book_delta', onBook);
    bus.on('book_reset', (r) => resets.push({ key: r.instrument.key, reason: r.reason }));
    const { runner } = await replayDirect(faulty, kucoinConnector, { bus, transform: (d, i) => (i === dropIndex ? null : d) });
    expect(mirror.violations).toEqual([]);

    // Detected, and only this book was reset and refetched (twice: the stale answer, then the current one).
    expect(resets).toEqual([{ key: KEY, reason: 'gap' }]);
    const b = runner.sync.book(KEY)!;
    expect(b.stats).toMatchObject({ gaps: 1, resyncs: 2, snapshots: 2 });
    expect(runner.counters.snapshotRequests).toBe(9 + 2);
    // Every state published as valid equals the truth at its sequence; after the reset the first publication is the
    // resync snapshot (no delta on top of a broken book).
    for (const p of published) expect(p.top, `${p.kind} at ${p.seq}`).toEqual(truth.get(p.seq));
    const afterReset = published.findIndex((p, i) => i > 0 && p.kind === 'snapshot');
    expect(afterReset).toBeGreaterThan(0);
    expect(published[afterReset].seq).toBeGreaterThanOrEqual(next!.end);
    expect(published.slice(0, afterReset).every((p) => p.seq < next!.end)).toBe(true);
    // The rebuild is a new epoch.
    expect(published.slice(0, afterReset).every((p) => p.epoch === 1)).toBe(true);
    expect(published.slice(afterReset).every((p) => p.epoch === 2)).toBe(true);
    // Re-aligned: the final book equals the untouched recomputation; the other books never noticed.
    expect([b.valid, b.seq]).toEqual([true, naive.get(KEY)!.seq]);
    expect(b.bids.top()).toEqual(sortedSide(naive.get(KEY)!.bids, true));
    expect(b.asks.top()).toEqual(sortedSide(naive.get(KEY)!.asks, false));
    // The consumer's rebuilt books equal the gateway's.
    for (const book of runner.sync.books()) {
      const m = mirror.lookup('kucoin', book.key);
      expect(m?.bids.top(), book.key).toEqual(book.bids.top());
      expect(m?.asks.top(), book.key).toEqual(book.asks.top());
    }
    for (const other of runner.sync.books()) {
      if (other.key === KEY) continue;
      expect([other.key, other.valid, other.stats.gaps, other.stats.resyncs]).toEqual([other.key, true, 0, 0]);
      expect(other.bids.top()).toEqual(sortedSide(naive.get(other.key)!.bids, true));
    }
  });

  it.skipIf(!path)('served by the simulator: bullet token, subscribe after the pong, REST snapshots → the same books', async () => {
    const rec = loadRecording(path!);
    const naive = naiveKucoin(rec);
    await withSimulatedRunner(rec, 'kucoin', async (runner) => {
      await waitFor(
        () => [...naive].every(([key, n]) => runner.sync.book(key)?.valid && runner.sync.book(key)?.seq === n.seq),
        10000,
        'all 9 books at their final sequence',
      );
      expect(runner.connections().map((c) => new URL(c.url).searchParams.get('token'))).toEqual(['simulated']);
      for (const [key, n] of naive) {
        const b = runner.sync.book(key)!;
        expect(b.stats.gaps, key).toBe(0);
        expect(b.bids.top()).toEqual(sortedSide(n.bids, true));
        expect(b.asks.top()).toEqual(sortedSide(n.asks, false));
      }
      expect(runner.sync.book('spot:LTX-USDT')?.valid).toBe(false);
      expect(Object.keys(runner.counters.errors)).toEqual([]);
      expect(runner.counters.events.trade).toBe(18);
    });
  });
});
