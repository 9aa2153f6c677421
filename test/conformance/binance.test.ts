/** Conformance: the shared Binance recording through decode → sync → book vs a naive recomputation. */
import { describe, it } from 'vitest';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import { applyNaive, expectBooksMatchNaive, expectEveryFrameHandled, expectMatchesGolden, newNaiveBook, type NaiveBook } from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';

/** Binance: REST snapshot; drop diffs with u <= lastUpdateId; first applied U <= id+1 <= u; then U == prev u + 1. */
function naiveBinance(rec: Recording): Map<string, NaiveBook> {
  const books = new Map<string, NaiveBook>();
  for (const r of rec.records) {
    if (r.t === 'http' && r.url.includes('/depth')) {
      const s = JSON.parse(r.data);
      const b = newNaiveBook(s.lastUpdateId);
      applyNaive(b.bids, s.bids);
      applyNaive(b.asks, s.asks);
      books.set(`spot:${new URL(r.url).searchParams.get('symbol')}`, b);
    }
  }
  const started = new Set<string>();
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    const d = JSON.parse(r.data).data;
    if (d?.e !== 'depthUpdate') continue;
    const b = books.get(`spot:${d.s}`)!;
    if (d.u <= b.seq!) continue;
    if (!started.has(d.s)) {
      if (!(d.U <= b.seq! + 1 && b.seq! + 1 <= d.u)) b.ok = false;
      started.add(d.s);
    } else if (d.U !== b.seq! + 1) b.ok = false;
    b.seq = d.u;
    applyNaive(b.bids, d.b);
    applyNaive(b.asks, d.a);
  }
  return books;
}

describe('binance recording', () => {
  const path = recordingPath('binance.jsonl.gz');
  it.skipIf(!path)('every frame is handled or explicitly ignored', () => {
    expectEveryFrameHandled('binance', loadRecording(path!));
  });
  it.skipIf(!path)('final books are valid, uncrossed, and equal an independent recomputation', async () => {
    const rec = loadRecording(path!);
    await expectBooksMatchNaive('binance', rec, naiveBinance(rec), 4);
  });
  it.skipIf(!path)('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('binance', loadRecording(path!));
  });
});
