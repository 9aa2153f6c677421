/**
 * OKX book checksum on the documented examples
 * (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel, "Checksum"):
 * - more than 25 levels (2 shown): `3366.1:7:3366.8:9:3366:6:3368:8` → -1881014294;
 * - fewer bids than asks: `3366.1:7:3366.8:9:3368:8:3372:8` → 831078360;
 * plus the sync-stage behaviour around it: verified after snapshots and updates, `checksum == 0` with `seqId` skipped,
 * `seqId` / `prevSeqId` gaps and the empty heartbeat update.
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Level } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { Bus } from '../../src/bus/bus.ts';
import { BookSync, type ResyncReason } from '../../src/pipeline/sync.ts';
import { okxChecksumMatches, okxChecksumOf, okxChecksumString, type LevelSource } from '../../src/venues/okx/checksum.ts';
import { okxConnector } from '../../src/venues/okx/connector.ts';
import { newOkxSession } from '../../src/venues/okx/decode.ts';

const side = (levels: Level[]): LevelSource => ({ length: levels.length, level: (i) => levels[i] });

describe('okx checksum: documented examples', () => {
  it('bids and asks of equal length interleave bid:ask:bid:ask → -1881014294 (signed)', () => {
    const bids: Level[] = [['3366.1', '7', '0', '3'], ['3366', '6', '3', '4']];
    const asks: Level[] = [['3366.8', '9', '10', '3'], ['3368', '8', '3', '4']];
    expect(okxChecksumString(bids, asks)).toBe('3366.1:7:3366.8:9:3366:6:3368:8');
    expect(okxChecksumOf(side(bids), side(asks))).toBe(-1881014294);
    expect(okxChecksumMatches({ bids: side(bids), asks: side(asks) }, -1881014294)).toBe(true);
    expect(okxChecksumMatches({ bids: side(bids), asks: side(asks) }, 2413953002)).toBe(true); // same bits, unsigned
    expect(okxChecksumMatches({ bids: side(asks), asks: side(bids) }, -1881014294)).toBe(false);
  });

  it('when one side runs out the other continues alone → 831078360', () => {
    const bids: Level[] = [['3366.1', '7', '0', '3']];
    const asks: Level[] = [['3366.8', '9', '10', '3'], ['3368', '8', '3', '4'], ['3372', '8', '3', '4']];
    expect(okxChecksumString(bids, asks)).toBe('3366.1:7:3366.8:9:3368:8:3372:8');
    expect(okxChecksumOf(side(bids), side(asks))).toBe(831078360);
  });

  it('only the top 25 per side count; result equals zlib on the documented string', () => {
    const bids: Level[] = Array.from({ length: 30 }, (_, i) => [String(1000 - i), '1']);
    const asks: Level[] = Array.from({ length: 30 }, (_, i) => [String(1001 + i), '2']);
    const s = okxChecksumString(bids, asks);
    expect(s.split(':')).toHaveLength(100);
    const z = (zlib as unknown as { crc32: (s: string) => number }).crc32(s) | 0;
    expect(okxChecksumOf(side(bids), side(asks))).toBe(z);
    expect(okxChecksumOf(side(bids.slice(0, 25)), side(asks.slice(0, 25)))).toBe(z);
    expect(okxChecksumOf(side([]), side([]))).toBe(0);
  });
});

describe('okx checksum and sequence in the sync stage', () => {
  const inst: Instrument = { venue: 'okx', key: 'spot:BTC-USDT', venueSymbol: 'BTC-USDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot' };
  const ck = (bids: Level[], asks: Level[]) => okxChecksumOf(side(bids), side(asks));

  function run(pushes: object[]) {
    const session = newOkxSession([['BTC-USDT', inst.key]]);
    const resyncs: ResyncReason[] = [];
    const sync = new BookSync('okx', okxConnector.capabilities.bookSync, new Bus(), {
      requestResync: (_i, r) => resyncs.push(r),
      checksum: (b, e) => okxConnector.checksum!(b, e),
    });
    const book = sync.track(inst);
    for (const p of pushes) {
      const d = okxConnector.decode({ data: JSON.stringify(p), recvTs: 1 }, session);
      for (const ev of d.events) if (ev.type === 'book_snapshot' || ev.type === 'book_delta') sync.onEvent(ev);
    }
    return { book, resyncs };
  }

  const b0: Level[] = [['8476.98', '415', '0', '13'], ['8475.55', '101', '0', '1']];
  const a0: Level[] = [['8477', '7', '0', '2'], ['8477.34', '85', '0', '1']];
  const push = (action: string, bids: Level[], asks: Level[], extra: object) => ({ arg: { channel: 'books', instId: 'BTC-USDT' }, action, data: [{ asks, bids, ts: '1597026383085', ...extra }] });

  it('snapshot and linked updates with checksums; an empty heartbeat update (seqId == prevSeqId) is fine', () => {
    const b1: Level[] = [['8476.98', '415', '0', '13'], ['8475.55', '0', '0', '0']];
    const { book, resyncs } = run([
      push('snapshot', b0, a0, { checksum: ck(b0, a0), prevSeqId: -1, seqId: 123456 }),
      push('update', [['8475.55', '0', '0', '0']], [], { checksum: ck([b1[0]], a0), prevSeqId: 123456, seqId: 123470 }),
      push('update', [], [], { checksum: ck([b1[0]], a0), prevSeqId: 123470, seqId: 123470 }),
    ]);
    expect(resyncs).toEqual([]);
    expect(book.valid).toBe(true);
    expect(book.seq).toBe(123470);
    expect(book.stats.checksumsOk).toBe(3);
    expect(book.bids.top()).toEqual([['8476.98', '415']]);
  });

  it('prevSeqId not equal to the last seqId is a gap (resync); seqId may restart lower after maintenance', () => {
    const gap = run([push('snapshot', b0, a0, { checksum: 0, prevSeqId: -1, seqId: 10 }), push('update', [], [], { checksum: 0, prevSeqId: 11, seqId: 12 })]);
    expect(gap.book.valid).toBe(false);
    expect(gap.book.stats.gaps).toBe(1);
    expect(gap.resyncs).toEqual(['gap']);
    const restart = run([push('snapshot', b0, a0, { checksum: 0, prevSeqId: -1, seqId: 10 }), push('update', [], [], { checksum: 0, prevSeqId: 10, seqId: 3 }), push('update', [], [], { checksum: 0, prevSeqId: 3, seqId: 4 })]);
    expect(restart.book.valid).toBe(true);
    expect(restart.book.seq).toBe(4);
  });

  it('checksum 0 with seqId present (deprecated field) is not validated; a wrong non-zero checksum resyncs', () => {
    const skipped = run([push('snapshot', b0, a0, { checksum: 0, prevSeqId: -1, seqId: 1 }), push('update', [['1', '1', '0', '1']], [], { checksum: 0, prevSeqId: 1, seqId: 2 })]);
    expect(skipped.book.valid).toBe(true);
    expect(skipped.book.stats.checksumsOk + skipped.book.stats.checksumFailures).toBe(0);
    const wrong = run([push('snapshot', b0, a0, { checksum: ck(b0, a0) + 1, prevSeqId: -1, seqId: 1 })]);
    expect(wrong.book.valid).toBe(false);
    expect(wrong.book.stats.checksumFailures).toBe(1);
    expect(wrong.resyncs).toEqual(['checksum']);
  });

  it('without seqId (2022 pushes) the session numbers the messages; the checksum detects a lost update', () => {
    const b1: Level[] = [b0[0]];
    const ok = run([push('snapshot', b0, a0, { checksum: ck(b0, a0) }), push('update', [['8475.55', '0', '0', '0']], [], { checksum: ck(b1, a0) })]);
    expect(ok.book.valid).toBe(true);
    expect(ok.book.stats.checksumsOk).toBe(2);
    // Lost update: the next push's checksum covers a change this book never saw.
    const lost = run([push('snapshot', b0, a0, { checksum: ck(b0, a0) }), push('update', [['8477', '8', '0', '2']], [], { checksum: ck(b1, [['8477', '8'], a0[1]]) })]);
    expect(lost.book.valid).toBe(false);
    expect(lost.book.stats.checksumFailures).toBe(1);
    expect(lost.book.stats.gaps).toBe(0);
    expect(lost.resyncs).toEqual(['checksum']);
  });
});
