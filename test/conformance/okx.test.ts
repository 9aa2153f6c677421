/**
 * Conformance: the shared OKX recording (2022, `books` channel of BTC-USD-220527, UNI-USD-SWAP and BTC-USDT, pushes
 * without `seqId`) through decode → sync → book, against a naive recomputation written here from OKX's rule
 * (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel): a snapshot replaces the book,
 * an update sets absolute sizes (`"0"` deletes), and `checksum` is the signed CRC32 of the top 25 bids and asks
 * interleaved as `bidPx:bidSz:askPx:askSz:…`, verified after snapshots and updates alike. Also served by the
 * simulator to a real runner, and with faults injected into the direct replay.
 *
 * Golden file: `test/conformance/golden/okx.json`; regenerate after a reviewed change with
 * `UPDATE_GOLDEN=1 npx vitest run test/conformance/okx.test.ts`.
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import { withSimulatedRunner, expectBooksUntouched, faultedReplay, applyNaive, expectBooksMatchNaive, expectEveryFrameHandled, expectMatchesGolden, newNaiveBook, sortedSide, type NaiveBook } from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

interface BookPush {
  arg: { channel: string; instId: string };
  action: 'snapshot' | 'update';
  data: { asks: string[][]; bids: string[][]; ts: string; checksum: number; seqId?: number; prevSeqId?: number }[];
}

/** Instrument key from the instId, as the venue's instrument list types them (spot / inverse for USD-margined). */
const keyOf = (instId: string): string => `${instId.split('-').length === 2 ? 'spot' : instId.split('-')[1] === 'USD' ? 'inverse' : 'linear'}:${instId}`;

function naiveChecksum(b: NaiveBook): number {
  const bids = sortedSide(b.bids, true).slice(0, 25);
  const asks = sortedSide(b.asks, false).slice(0, 25);
  const parts: string[] = [];
  for (let i = 0; i < 25; i++) {
    if (bids[i]) parts.push(...bids[i]);
    if (asks[i]) parts.push(...asks[i]);
  }
  return (zlib as unknown as { crc32: (s: string) => number }).crc32(parts.join(':')) | 0;
}

interface Naive {
  books: Map<string, NaiveBook>;
  snapshotChecksums: number;
  updateChecksums: number;
  naiveMatches: number;
  /** Per key: recv index and checksum of every update push. */
  updates: Map<string, { index: number; checksum: number }[]>;
}

function naiveOkx(rec: Recording): Naive {
  const n: Naive = { books: new Map(), snapshotChecksums: 0, updateChecksums: 0, naiveMatches: 0, updates: new Map() };
  let index = -1;
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    index++;
    if (r.data === 'pong') continue;
    const m = JSON.parse(r.data) as BookPush;
    if (m.arg?.channel !== 'books' || m.data === undefined) continue;
    const key = keyOf(m.arg.instId);
    for (const d of m.data) {
      let b = n.books.get(key);
      if (m.action === 'snapshot') n.books.set(key, (b = newNaiveBook()));
      applyNaive(b!.bids, d.bids);
      applyNaive(b!.asks, d.asks);
      if (m.action === 'snapshot') n.snapshotChecksums++;
      else {
        n.updateChecksums++;
        (n.updates.get(key) ?? n.updates.set(key, []).get(key)!).push({ index, checksum: d.checksum });
      }
      if (naiveChecksum(b!) === d.checksum) n.naiveMatches++;
      else b!.ok = false;
    }
  }
  return n;
}

const path = recordingPath('okx.jsonl.gz');

describe.skipIf(!path)('okx recording', () => {
  const rec = path ? loadRecording(path) : (undefined as unknown as Recording);
  const naive = path ? naiveOkx(rec) : (undefined as unknown as Naive);

  it('every frame is handled: 392 pushes yield events, 18 subscribe acks', () => {
    expect(expectEveryFrameHandled('okx', rec)).toEqual({ events: 392, subscribed: 18 });
  });

  it('final books are valid and equal the naive recomputation; every recorded checksum verified (290 of 290)', async () => {
    expect([naive.snapshotChecksums, naive.updateChecksums, naive.naiveMatches]).toEqual([3, 287, 290]);
    const { runner } = await expectBooksMatchNaive('okx', rec, naive.books, 3);
    const books = runner.sync.books();
    const ok = books.reduce((s, b) => s + b.stats.checksumsOk, 0);
    expect(books.reduce((s, b) => s + b.stats.checksumFailures, 0)).toBe(0);
    expect(ok).toBeGreaterThan(0);
    // 287 checksummed updates + 3 checksummed snapshots (verified through their empty checksum delta).
    expect(ok).toBe(naive.updateChecksums + naive.snapshotChecksums);
    expect(books.reduce((s, b) => s + b.stats.deltas, 0)).toBe(290);
    // Without seqId the session numbers each book's messages: snapshot 1, then one per update.
    expect(Object.fromEntries(books.map((b) => [b.key, b.seq]))).toEqual({ 'inverse:BTC-USD-220527': 99, 'inverse:UNI-USD-SWAP': 93, 'spot:BTC-USDT': 98 });
  });

  it('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('okx', rec);
  });

  it('served by the simulator over real sockets (text ping / pong, acks per arg): the same books, every checksum verified', async () => {
    await withSimulatedRunner(rec, 'okx', async (runner) => {
      const verified = () => runner.sync.books().reduce((n, b) => n + b.stats.checksumsOk, 0);
      await waitFor(() => verified() === 290, 10000, 'every recorded checksum verified');
      expect(runner.connections().map((c) => new URL(c.url).pathname)).toEqual(['/okx/ws/v5/public']);
      expectBooksUntouched(runner.sync.books(), naive.books);
      expect(runner.sync.books()).toHaveLength(3);
      expect(runner.counters.errors).toEqual({});
    });
  });

  const faulted = (transform: (data: string, index: number) => string | null) => faultedReplay(rec, 'okx', transform);

  function othersIntact(books: Awaited<ReturnType<typeof faulted>>['books'], key: string): void {
    expect(books).toHaveLength(3);
    for (const b of books) {
      if (b.key === key) continue;
      expect(b.valid, `${b.key} valid`).toBe(true);
      expect(b.stats.checksumFailures + b.stats.gaps + b.stats.resyncs, `${b.key} untouched`).toBe(0);
      expect(b.bids.top()).toEqual(sortedSide(naive.books.get(b.key)!.bids, true));
      expect(b.asks.top()).toEqual(sortedSide(naive.books.get(b.key)!.asks, false));
    }
  }

  /** Index of an update of `key` that changed the top 25 (its checksum differs from the neighbours'). */
  function pick(key: string, from: number): { index: number; checksum: number; k: number } {
    const ups = naive.updates.get(key)!;
    const k = ups.findIndex((u, i) => i >= from && u.checksum !== ups[i - 1].checksum && ups[i + 1].checksum !== ups[i - 1].checksum);
    expect(k).toBeGreaterThan(0);
    return { ...ups[k], k };
  }

  it('fault: a dropped BTC-USDT update (no seqId in 2022) is caught by the next checksum; only BTC-USDT resyncs', async () => {
    const key = 'spot:BTC-USDT';
    const { index, k } = pick(key, 40);
    const { books, resets } = await faulted((data, i) => (i === index ? null : data));
    const b = books.find((x) => x.key === key)!;
    expect(b.valid).toBe(false);
    expect(b.stats.checksumFailures).toBe(1);
    expect(b.stats.gaps).toBe(0);
    expect(b.stats.checksumsOk).toBe(1 + k); // the snapshot and the k updates before the dropped one
    expect(resets.map((r) => [r.instrument.key, r.reason])).toEqual([[key, 'checksum']]);
    othersIntact(books, key);
  });

  it('fault: with seqId / prevSeqId (as OKX sends today) a dropped UNI-USD-SWAP update is a sequence gap', async () => {
    // Give every books push the current OKX sequence fields: per instrument, snapshot prevSeqId -1, then a chain with
    // uneven steps (continuity is by identity, not +1).
    const withSeq = new Map<number, string>();
    const last = new Map<string, number>();
    let index = -1;
    let step = 0;
    for (const r of rec.records) {
      if (r.t !== 'recv') continue;
      index++;
      if (r.data === 'pong' || !r.data.includes('"books"')) continue;
      const m = JSON.parse(r.data) as BookPush;
      if (m.arg?.channel !== 'books' || m.data === undefined) continue;
      for (const d of m.data) {
        const prev = m.action === 'snapshot' ? -1 : last.get(m.arg.instId)!;
        const seq = m.action === 'snapshot' ? 1000 : prev + 1 + (step++ % 5);
        d.prevSeqId = prev;
        d.seqId = seq;
        last.set(m.arg.instId, seq);
      }
      withSeq.set(index, JSON.stringify(m));
    }
    const seqOf = (i: number) => (JSON.parse(withSeq.get(i)!) as BookPush).data[0].seqId;
    // Sanity: with the fields and nothing dropped, all three books stay valid and end at the last injected seqId.
    const clean = await faulted((data, i) => withSeq.get(i) ?? data);
    for (const b of clean.books) expect([b.key, b.valid, b.stats.gaps, b.stats.checksumFailures]).toEqual([b.key, true, 0, 0]);
    const lastIdx = (key: string) => naive.updates.get(key)!.at(-1)!.index;
    expect(clean.books.find((b) => b.key === 'spot:BTC-USDT')!.seq).toBe(seqOf(lastIdx('spot:BTC-USDT')));

    const key = 'inverse:UNI-USD-SWAP';
    const { index: drop } = pick(key, 30);
    const { books, resets } = await faulted((data, i) => (i === drop ? null : (withSeq.get(i) ?? data)));
    const b = books.find((x) => x.key === key)!;
    expect(b.valid).toBe(false);
    expect(b.stats.gaps).toBe(1);
    expect(b.stats.checksumFailures).toBe(0); // caught by the sequence before any checksum is computed
    expect(resets.map((r) => [r.instrument.key, r.reason])).toEqual([[key, 'gap']]);
    othersIntact(books, key);
  });

  it('fault: one corrupted checksum of BTC-USD-220527 is a checksum failure of that book only', async () => {
    const key = 'inverse:BTC-USD-220527';
    const target = naive.updates.get(key)![20];
    const { books, resets } = await faulted((data, i) => (i === target.index ? data.replace(`"checksum":${target.checksum}`, `"checksum":${target.checksum ^ 1}`) : data));
    const b = books.find((x) => x.key === key)!;
    expect(b.valid).toBe(false);
    expect(b.stats.checksumFailures).toBe(1);
    expect(b.stats.checksumsOk).toBe(1 + 20);
    expect(resets.map((r) => [r.instrument.key, r.reason])).toEqual([[key, 'checksum']]);
    othersIntact(books, key);
  });
});
