import { describe, expect, it } from 'vitest';
import type { BookDeltaEvent, BookSnapshotEvent, Level } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { Bus, type BookReset, type BookUpdate } from '../../src/pipeline/bus.ts';
import { BookSync, type ResyncReason } from '../../src/pipeline/sync.ts';
import type { BookSyncRule } from '../../src/venues/connector.ts';

const inst: Instrument = { venue: 'v', key: 'spot:BTCUSDT', venueSymbol: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot' };

function setup(rule: Omit<BookSyncRule, 'source'>) {
  const bus = new Bus();
  const updates: BookUpdate[] = [];
  const resets: BookReset[] = [];
  const resyncs: ResyncReason[] = [];
  bus.on('book', (u) => updates.push(u));
  bus.on('book_reset', (r) => resets.push(r));
  const sync = new BookSync('v', { ...rule, source: 'test' }, bus, { requestResync: (_i, r) => resyncs.push(r) });
  const book = sync.track(inst);
  return { sync, book, updates, resets, resyncs };
}

const delta = (firstSeq: number, lastSeq: number, bids: Level[] = [], asks: Level[] = []): BookDeltaEvent => ({
  type: 'book_delta', venue: 'v', key: inst.key, bids, asks, firstSeq, lastSeq, ts: 1, recvTs: 2,
});
const snap = (seq: number, bids: Level[], asks: Level[]): BookSnapshotEvent => ({
  type: 'book_snapshot', venue: 'v', key: inst.key, bids, asks, seq, ts: 1, recvTs: 2,
});

describe('stream snapshot + contiguous sequence (Bybit rule)', () => {
  it('ignores deltas before the snapshot, applies contiguous ones, skips stale ones', () => {
    const { sync, book, updates } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    sync.onEvent(delta(5, 5, [['1', '1']]));
    expect(sync.counters.awaitingSnapshot).toBe(1);
    sync.onEvent(snap(10, [['100', '1'], ['99', '2']], [['101', '1']]));
    expect(book.valid).toBe(true);
    sync.onEvent(delta(11, 11, [['100', '0']], [['102', '3']]));
    sync.onEvent(delta(11, 11, [['98', '9']])); // duplicate seq: stale
    expect(sync.counters.stale).toBe(1);
    expect(book.bids.top()).toEqual([['99', '2']]);
    expect(book.asks.top()).toEqual([['101', '1'], ['102', '3']]);
    expect(book.seq).toBe(11);
    expect(updates.map((u) => u.kind)).toEqual(['snapshot', 'delta']);
  });

  it('a gap invalidates the book, publishes a reset, asks for a resync and waits for a new snapshot', () => {
    const { sync, book, updates, resets, resyncs } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    sync.onEvent(snap(10, [['100', '1']], [['101', '1']]));
    sync.onEvent(delta(12, 12, [['100', '5']]));
    expect(book.valid).toBe(false);
    expect(book.stats.gaps).toBe(1);
    expect(book.stats.resyncs).toBe(1);
    expect(resets.map((r) => r.reason)).toEqual(['gap']);
    expect(resyncs).toEqual(['gap']);
    sync.onEvent(delta(13, 13, [['100', '6']])); // ignored while resyncing
    expect(updates.length).toBe(1);
    sync.onEvent(snap(20, [['100', '7']], [['101', '1']]));
    expect(book.valid).toBe(true);
    expect(book.bids.top()).toEqual([['100', '7']]);
  });

  it('a delta that crosses the book resyncs it instead of publishing a crossed book', () => {
    const { sync, book, resyncs, updates } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    sync.onEvent(snap(1, [['100', '1']], [['101', '1']]));
    sync.onEvent(delta(2, 2, [['102', '1']]));
    expect(book.valid).toBe(false);
    expect(resyncs).toEqual(['crossed']);
    expect(updates.every((u) => !u.book.valid || u.book.bids.priceNum(0) < u.book.asks.priceNum(0))).toBe(true);
  });
});

describe('REST snapshot + contiguous diffs (Binance rule)', () => {
  it('buffers diffs, asks for a snapshot, drops diffs the snapshot covers and applies from U <= lastUpdateId+1 <= u', () => {
    const { sync, book, resyncs, updates } = setup({ snapshot: 'rest', sequence: 'contiguous' });
    sync.onEvent(delta(98, 100, [['10', '1']]));
    sync.onEvent(delta(101, 103, [['11', '1']]));
    sync.onEvent(delta(104, 104, [['12', '1']]));
    expect(resyncs).toEqual(['initial']); // asked once
    expect(book.valid).toBe(false);
    // Snapshot newer than the first diff: lastUpdateId 102 lies inside [101,103].
    expect(sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 102, ts: 5 })).toBe(true);
    expect(book.valid).toBe(true);
    // diff 98-100 dropped (covered), 101-103 and 104 applied
    expect(book.bids.top()).toEqual([['12', '1'], ['11', '1'], ['9', '1']]);
    expect(book.seq).toBe(104);
    expect(updates.map((u) => u.kind)).toEqual(['snapshot']);
    sync.onEvent(delta(105, 106, [], [['19', '2']]));
    expect(book.asks.top(1)).toEqual([['19', '2']]);
  });

  it('refetches when the snapshot is older than the first buffered diff (lastUpdateId < U - 1)', () => {
    const { sync, book, resyncs } = setup({ snapshot: 'rest', sequence: 'contiguous' });
    sync.onEvent(delta(200, 205, [['10', '1']]));
    expect(sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 150, ts: 5 })).toBe(false);
    expect(book.valid).toBe(false);
    expect(resyncs).toEqual(['initial', 'snapshot_stale']);
    sync.onEvent(delta(206, 207, [['11', '1']]));
    expect(sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 204, ts: 6 })).toBe(true);
    expect(book.bids.top()).toEqual([['11', '1'], ['10', '1'], ['9', '1']]);
    expect(book.seq).toBe(207);
  });

  it('accepts a first diff starting exactly at lastUpdateId+1 (as every recorded Binance book does)', () => {
    const { sync, book } = setup({ snapshot: 'rest', sequence: 'contiguous' });
    sync.onEvent(delta(51, 60, [['10', '1']]));
    expect(sync.onRestSnapshot(inst.key, { bids: [], asks: [['20', '1']], seq: 50, ts: 5 })).toBe(true);
    expect(book.bids.top()).toEqual([['10', '1']]);
  });

  it('waits with an empty buffer when the snapshot is newer than every buffered diff', () => {
    const { sync, book } = setup({ snapshot: 'rest', sequence: 'contiguous' });
    sync.onEvent(delta(1, 5, [['10', '1']]));
    expect(sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 30, ts: 5 })).toBe(true);
    sync.onEvent(delta(6, 20)); // stale
    expect(sync.counters.stale).toBe(1);
    sync.onEvent(delta(25, 35, [['9', '0']]));
    expect(book.bids.length).toBe(0);
    expect(book.seq).toBe(35);
  });

  it('a gap after sync resets the book, keeps the offending diff and refetches', () => {
    const { sync, book, resets, resyncs } = setup({ snapshot: 'rest', sequence: 'contiguous' });
    sync.onEvent(delta(10, 10));
    sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 9, ts: 5 });
    sync.onEvent(delta(15, 16, [['8', '1']]));
    expect(book.valid).toBe(false);
    expect(book.stats.gaps).toBe(1);
    expect(resets.map((r) => r.reason)).toEqual(['gap']);
    expect(resyncs).toEqual(['initial', 'gap']);
    expect(sync.onRestSnapshot(inst.key, { bids: [['7', '1']], asks: [['20', '1']], seq: 14, ts: 6 })).toBe(true);
    expect(book.bids.top()).toEqual([['8', '1'], ['7', '1']]);
  });
});

describe('linked sequence (prevSeq) and invalidation', () => {
  it('applies when prevSeq matches, accepts empty heartbeats and treats a break as a gap', () => {
    const { sync, book, resyncs } = setup({ snapshot: 'stream', sequence: 'linked' });
    sync.onEvent(snap(100, [['1', '1']], [['2', '1']]));
    sync.onEvent({ ...delta(0, 105, [['1', '2']]), prevSeq: 100 });
    sync.onEvent({ ...delta(0, 105), prevSeq: 105 }); // heartbeat: seqId == prevSeqId
    expect(book.valid).toBe(true);
    expect(book.bids.top()).toEqual([['1', '2']]);
    sync.onEvent({ ...delta(0, 110), prevSeq: 107 });
    expect(book.valid).toBe(false);
    expect(resyncs).toEqual(['gap']);
  });

  it('invalidate() resets valid books and publishes book_reset once', () => {
    const { sync, book, resets } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    sync.onEvent(snap(1, [['1', '1']], [['2', '1']]));
    sync.invalidate([inst.key], 'disconnected');
    sync.invalidate([inst.key], 'disconnected');
    expect(book.valid).toBe(false);
    expect(resets.length).toBe(1);
  });
});

describe('checksums', () => {
  it('verifies checksums on live deltas and on deltas replayed from the buffer after a REST snapshot', () => {
    const bus = new Bus();
    const resyncs: ResyncReason[] = [];
    // A toy checksum: the number of bid levels.
    const sync = new BookSync('v', { snapshot: 'rest', sequence: 'contiguous', source: 'test' }, bus, {
      requestResync: (_i, r) => resyncs.push(r),
      checksum: (book, expected) => book.bids.length === expected,
    });
    const book = sync.track(inst);
    sync.onEvent({ ...delta(11, 11, [['5', '1']]), checksum: 99 }); // buffered, wrong checksum
    expect(sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 10, ts: 5 })).toBe(false);
    expect(book.valid).toBe(false);
    expect(book.stats.checksumFailures).toBe(1);
    expect(resyncs).toEqual(['initial', 'checksum']);
    sync.onEvent({ ...delta(21, 21, [['6', '1']]), checksum: 2 });
    expect(sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 20, ts: 6 })).toBe(true);
    expect(book.stats.checksumsOk).toBe(1);
    sync.onEvent({ ...delta(22, 22, [['7', '1']]), checksum: 3 });
    expect(book.stats.checksumsOk).toBe(2);
    expect(book.valid).toBe(true);
  });
});
