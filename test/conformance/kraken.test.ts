/**
 * Conformance: the shared Kraken recording (WebSocket v1, 3 connections, 10 books at depth 1000) through
 * decode → sync → book, against a naive recomputation written here from Kraken's rule
 * (https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1): a snapshot sets the book, update levels are
 * applied in array order (volume 0 deletes), each side is cut to the subscribed depth after every message, and the
 * checksum `c` is the unsigned CRC32 of the top 10 asks then bids with `.` and leading zeros removed. Also served by
 * the simulator to a real runner, and with faults injected into the direct replay.
 *
 * Golden file: `test/conformance/golden/kraken.json`; regenerate after a reviewed change with
 * `UPDATE_GOLDEN=1 npx vitest run test/conformance/kraken.test.ts`.
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import {
  withSimulatedRunner,
  expectBooksUntouched,
  faultedReplay,
  applyNaive,
  expectBooksMatchNaive,
  expectEveryFrameHandled,
  expectMatchesGolden,
  newNaiveBook,
  sortedSide,
  type NaiveBook,
  type NaiveSide,
} from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

type Frame = unknown[];

/** Independent CRC32 (zlib) of Kraken's checksum string for naive sides. */
function naiveChecksum(b: NaiveBook): number {
  const strip = (s: string) => s.replace('.', '').replace(/^0+/, '');
  const part = (levels: [string, string][]) => levels.slice(0, 10).map(([p, q]) => strip(p) + strip(q)).join('');
  const crc = (zlib as unknown as { crc32: (s: string) => number }).crc32;
  return crc(part(sortedSide(b.asks, false)) + part(sortedSide(b.bids, true)));
}

function truncate(side: NaiveSide, depth: number, desc: boolean): void {
  if (side.size <= depth) return;
  const keep = new Set(sortedSide(side, desc).slice(0, depth).map(([p]) => Number(p)));
  for (const k of [...side.keys()]) if (!keep.has(k)) side.delete(k);
}

interface Naive {
  books: Map<string, NaiveBook>;
  /** Update messages carrying a checksum, and how many of them the naive books reproduce. */
  checksummed: number;
  naiveMatches: number;
  /** Per pair: index (among recv frames) and checksum of each book update. */
  updates: Map<string, { index: number; c: number }[]>;
}

function naiveKraken(rec: Recording): Naive {
  const books = new Map<string, NaiveBook>();
  const updates = new Map<string, { index: number; c: number }[]>();
  let checksummed = 0;
  let naiveMatches = 0;
  let index = -1;
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    index++;
    const m = JSON.parse(r.data) as Frame;
    if (!Array.isArray(m)) continue;
    const name = m[m.length - 2] as string;
    if (!name.startsWith('book-')) continue;
    const depth = Number(name.slice(5));
    const key = `spot:${m[m.length - 1] as string}`;
    const first = m[1] as Record<string, string[][]>;
    let b = books.get(key);
    if (first.as || first.bs) {
      b = newNaiveBook();
      books.set(key, b);
      applyNaive(b.asks, first.as ?? []);
      applyNaive(b.bids, first.bs ?? []);
    } else {
      let c: number | undefined;
      for (const p of m.slice(1, -2) as Record<string, unknown>[]) {
        if (p.a) applyNaive(b!.asks, p.a as string[][]);
        if (p.b) applyNaive(b!.bids, p.b as string[][]);
        if (p.c !== undefined) c = Number(p.c);
      }
      truncate(b!.asks, depth, false);
      truncate(b!.bids, depth, true);
      if (c !== undefined) {
        checksummed++;
        if (naiveChecksum(b!) === c) naiveMatches++;
        else b!.ok = false;
        (updates.get(key) ?? updates.set(key, []).get(key)!).push({ index, c });
      }
      continue;
    }
    truncate(b.asks, depth, false);
    truncate(b.bids, depth, true);
  }
  return { books, checksummed, naiveMatches, updates };
}

const path = recordingPath('kraken.jsonl.gz');

describe.skipIf(!path)('kraken recording', () => {
  const rec = path ? loadRecording(path) : (undefined as unknown as Recording);
  const naive = path ? naiveKraken(rec) : (undefined as unknown as Naive);

  it('every frame is handled: 4305 frames yield events, 125 are heartbeats, status frames or subscription acks', () => {
    const outcomes = expectEveryFrameHandled('kraken', rec);
    expect(outcomes).toEqual({ events: 4305, heartbeat: 95, subscribed: 30 });
  });

  it('final books are valid and equal the naive recomputation; every recorded checksum verified (4269 of 4269)', async () => {
    expect(naive.checksummed).toBe(4269);
    expect(naive.naiveMatches).toBe(4269);
    const { runner } = await expectBooksMatchNaive('kraken', rec, naive.books, 10);
    const books = runner.sync.books();
    const ok = books.reduce((n, b) => n + b.stats.checksumsOk, 0);
    const failed = books.reduce((n, b) => n + b.stats.checksumFailures, 0);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBe(naive.checksummed);
    expect(books.reduce((n, b) => n + b.stats.deltas, 0)).toBe(4269);
    // Every book was cut to the subscribed depth (1000) and is deep enough for the 10-level checksum.
    for (const b of books) {
      expect(b.bids.length).toBeLessThanOrEqual(1000);
      expect(b.asks.length).toBeLessThanOrEqual(1000);
      expect(Math.min(b.bids.length, b.asks.length)).toBeGreaterThanOrEqual(10);
    }
  });

  it('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('kraken', rec);
  });

  it('served by the simulator over real sockets (protocol v1: the URL has no /v2): the same books, every checksum verified', async () => {
    await withSimulatedRunner(rec, 'kraken', async (runner) => {
      const verified = () => runner.sync.books().reduce((n, b) => n + b.stats.checksumsOk, 0);
      await waitFor(() => verified() === 4269, 10000, 'every recorded checksum verified');
      expect(runner.connections().map((c) => new URL(c.url).pathname)).toEqual(['/kraken']);
      expectBooksUntouched(runner.sync.books(), naive.books);
      expect(runner.sync.books()).toHaveLength(10);
      expect(runner.counters.errors).toEqual({});
    });
  });

  const faulted = (transform: (data: string, index: number) => string | null) => faultedReplay(rec, 'kraken', transform);

  /** Every book except `key` is valid, never failed, and equals the naive book. */
  function othersIntact(books: Awaited<ReturnType<typeof faulted>>['books'], key: string): void {
    for (const b of books) {
      if (b.key === key) continue;
      expect(b.valid, `${b.key} valid`).toBe(true);
      expect(b.stats.checksumFailures + b.stats.resyncs, `${b.key} untouched`).toBe(0);
      expect(b.bids.top()).toEqual(sortedSide(naive.books.get(b.key)!.bids, true));
      expect(b.asks.top()).toEqual(sortedSide(naive.books.get(b.key)!.asks, false));
    }
  }

  it('fault: one dropped book update of XMR/USD is caught by the next checksum; only XMR/USD is invalidated', async () => {
    const key = 'spot:XMR/USD';
    const ups = naive.updates.get(key)!;
    // An update that changed the top 10 (its checksum differs from the previous one), in the middle of the stream.
    const k = ups.findIndex((u, i) => i >= 100 && u.c !== ups[i - 1].c && ups[i + 1].c !== ups[i - 1].c);
    expect(k).toBeGreaterThan(0);
    const drop = ups[k].index;
    const { books, resets } = await faulted((data, i) => (i === drop ? null : data));
    const target = books.find((b) => b.key === key)!;
    expect(target.valid).toBe(false);
    expect(target.stats.checksumFailures).toBe(1);
    expect(target.stats.resyncs).toBe(1);
    expect(target.stats.checksumsOk).toBe(k); // the k updates before the dropped one verified, the next one failed
    expect(resets.map((r) => [r.instrument.key, r.reason])).toEqual([[key, 'checksum']]);
    othersIntact(books, key);
  });

  it('fault: one corrupted checksum value of SC/EUR is a checksum failure of SC/EUR only', async () => {
    const key = 'spot:SC/EUR';
    const target = naive.updates.get(key)![50];
    const { books, resets } = await faulted((data, i) => (i === target.index ? data.replace(`"c":"${target.c}"`, `"c":"${(target.c + 1) % 2 ** 32}"`) : data));
    const b = books.find((x) => x.key === key)!;
    expect(b.valid).toBe(false);
    expect(b.stats.checksumFailures).toBe(1);
    expect(b.stats.checksumsOk).toBe(50);
    expect(resets.map((r) => [r.instrument.key, r.reason])).toEqual([[key, 'checksum']]);
    othersIntact(books, key);
  });
});
