/** Conformance: the shared Bybit recording through decode → sync → book vs a naive recomputation. */
import { describe, it } from 'vitest';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import { applyNaive, expectBooksMatchNaive, expectEveryFrameHandled, expectMatchesGolden, newNaiveBook, type NaiveBook } from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';

/** Bybit: a snapshot replaces the book; each delta's `u` must be the previous `u` + 1. */
function naiveBybit(rec: Recording): Map<string, NaiveBook> {
  const market = new Map<string, string>();
  const books = new Map<string, NaiveBook>();
  for (const r of rec.records) {
    if (r.t === 'connect') market.set(r.conn, new URL(r.addr).pathname.split('/').pop()!);
    if (r.t !== 'recv') continue;
    const m = JSON.parse(r.data);
    if (typeof m.topic !== 'string' || !m.topic.startsWith('orderbook.')) continue;
    const key = `${market.get(r.conn)}:${m.data.s}`;
    if (m.type === 'snapshot') {
      const b = newNaiveBook(m.data.u);
      applyNaive(b.bids, m.data.b);
      applyNaive(b.asks, m.data.a);
      books.set(key, b);
    } else {
      const b = books.get(key)!;
      if (m.data.u !== b.seq! + 1) b.ok = false;
      b.seq = m.data.u;
      applyNaive(b.bids, m.data.b);
      applyNaive(b.asks, m.data.a);
    }
  }
  return books;
}

describe('bybit recording', () => {
  const path = recordingPath('bybit.jsonl.gz');
  it.skipIf(!path)('every frame is handled or explicitly ignored', () => {
    expectEveryFrameHandled('bybit', loadRecording(path!));
  });
  it.skipIf(!path)('final books are valid, uncrossed, and equal an independent recomputation', async () => {
    const rec = loadRecording(path!);
    await expectBooksMatchNaive('bybit', rec, naiveBybit(rec), 6);
  });
  it.skipIf(!path)('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('bybit', loadRecording(path!));
  });
});
