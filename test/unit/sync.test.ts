import { describe, expect, it } from 'vitest';
import type { BookDeltaEvent, BookDeltaMsg, BookResetMsg, BookSnapshotEvent, BookSnapshotMsg, Level } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { Bus } from '../../src/bus/bus.ts';
import { L2Book } from '../../src/pipeline/book.ts';
import { BookSync, type ResyncReason, type SyncOptions } from '../../src/pipeline/sync.ts';
import type { BookSyncRule } from '../../src/venues/connector.ts';

const inst: Instrument = { venue: 'v', key: 'spot:BTCUSDT', venueSymbol: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot' };

type BookEvent = BookSnapshotMsg | BookDeltaMsg;

function setup(rule: Omit<BookSyncRule, 'source'>, opts: Partial<SyncOptions> = {}) {
  const bus = new Bus();
  const updates: BookEvent[] = [];
  const resets: BookResetMsg[] = [];
  const resyncs: ResyncReason[] = [];
  bus.on('book_snapshot', (u) => updates.push(u));
  bus.on('book_delta', (u) => updates.push(u));
  bus.on('book_reset', (r) => resets.push(r));
  const sync = new BookSync('v', { ...rule, source: 'test' }, bus, { requestResync: (_i, r) => resyncs.push(r), ...opts });
  const book = sync.track(inst);
  return { bus, sync, book, updates, resets, resyncs };
}

/** Rebuilds a book from book events alone: a snapshot replaces it, a delta applies on top. */
function rebuild(events: readonly BookEvent[]): L2Book {
  const b = new L2Book('v', inst.key, inst.symbol, inst.venueSymbol);
  for (const u of events) {
    if (u.kind === 'book_snapshot') b.loadSnapshot(u.bids, u.asks);
    else b.applyLevels(u.bids, u.asks);
  }
  return b;
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
    expect(updates.map((u) => u.kind)).toEqual(['book_snapshot', 'book_delta']);
    // The events carry the instrument and the book's sequence and times.
    expect(updates.map((u) => [u.instrument, u.seq, u.ts, u.recvTs])).toEqual([
      [inst, 10, 1, 2],
      [inst, 11, 1, 2],
    ]);
    expect(updates[1]).toMatchObject({ bids: [['100', '0']], asks: [['102', '3']] });
  });

  it('a gap invalidates the book, publishes a reset, asks for a resync and waits for a new snapshot', () => {
    const { sync, book, updates, resets, resyncs } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    sync.onEvent(snap(10, [['100', '1']], [['101', '1']]));
    sync.onEvent(delta(12, 12, [['100', '5']]));
    expect(book.valid).toBe(false);
    expect(book.stats.gaps).toBe(1);
    expect(book.stats.resyncs).toBe(1);
    expect(resets.map((r) => r.reason)).toEqual(['gap']);
    expect(resets[0]).toMatchObject({ kind: 'book_reset', instrument: inst, epoch: 1 });
    expect(resyncs).toEqual(['gap']);
    sync.onEvent(delta(13, 13, [['100', '6']])); // ignored while resyncing
    expect(updates.length).toBe(1);
    sync.onEvent(snap(20, [['100', '7']], [['101', '1']]));
    expect(book.valid).toBe(true);
    expect(book.bids.top()).toEqual([['100', '7']]);
    expect(updates.map((u) => `${u.kind}@${u.seq}`)).toEqual(['book_snapshot@10', 'book_snapshot@20']);
  });

  it('a delta that crosses the book resyncs it instead of publishing a crossed book', () => {
    const { sync, book, resyncs, updates, resets } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    sync.onEvent(snap(1, [['100', '1']], [['101', '1']]));
    sync.onEvent(delta(2, 2, [['102', '1']]));
    expect(book.valid).toBe(false);
    expect(resyncs).toEqual(['crossed']);
    expect(resets.map((r) => r.reason)).toEqual(['crossed']);
    // The crossing delta is never published: every state a consumer can rebuild from the events is uncrossed.
    expect(updates.map((u) => u.kind)).toEqual(['book_snapshot']);
    for (let i = 1; i <= updates.length; i++) {
      const b = rebuild(updates.slice(0, i));
      expect(b.bids.length > 0 && b.asks.length > 0 && b.bids.priceNum(0) >= b.asks.priceNum(0)).toBe(false);
    }
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
    expect(updates.map((u) => u.kind)).toEqual(['book_snapshot']);
    // One snapshot after the buffered diffs were applied: it is the whole resulting book, at its sequence.
    expect(updates[0]).toMatchObject({ seq: 104, bids: [['12', '1'], ['11', '1'], ['9', '1']], asks: [['20', '1']] });
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
    expect(resets[0]).toMatchObject({ kind: 'book_reset', instrument: inst, epoch: 1, reason: 'disconnected' });
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

describe('book events: epochs and rebuilding the book from the events', () => {
  it('epoch increments on every rebuild (stream and REST snapshots) and is carried by every book event', () => {
    const { sync, book, updates, resets } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    expect(book.epoch).toBe(0);
    sync.onEvent(snap(10, [['100', '1']], [['101', '1']]));
    expect(book.epoch).toBe(1);
    sync.onEvent(delta(11, 11, [['100', '2']]));
    sync.onEvent(delta(13, 13, [['100', '3']])); // gap: reset of epoch 1
    expect(book.epoch).toBe(1); // not rebuilt yet
    sync.onEvent(snap(20, [['100', '4']], [['101', '1']]));
    expect(book.epoch).toBe(2);
    sync.onEvent(delta(21, 21, [['100', '5']]));
    sync.invalidate([inst.key], 'disconnected'); // reset of epoch 2
    sync.onEvent(snap(30, [['100', '6']], [['101', '1']]));
    sync.onEvent(snap(31, [['100', '7']], [['101', '1']])); // a snapshot on a live book is a rebuild too
    expect(book.epoch).toBe(4);
    expect(updates.map((u) => `${u.kind}@${u.seq}#${u.epoch}`)).toEqual([
      'book_snapshot@10#1',
      'book_delta@11#1',
      'book_snapshot@20#2',
      'book_delta@21#2',
      'book_snapshot@30#3',
      'book_snapshot@31#4',
    ]);
    expect(resets.map((r) => `${r.reason}#${r.epoch}`)).toEqual(['gap#1', 'disconnected#2']);

    const rest = setup({ snapshot: 'rest', sequence: 'contiguous' });
    rest.sync.onEvent(delta(5, 6, [['10', '1']]));
    expect(rest.sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 2, ts: 5 })).toBe(false); // too old: no rebuild
    expect(rest.book.epoch).toBe(0);
    expect(rest.sync.onRestSnapshot(inst.key, { bids: [['9', '1']], asks: [['20', '1']], seq: 5, ts: 5 })).toBe(true);
    expect(rest.book.epoch).toBe(1);
    rest.sync.onEvent(delta(7, 7, [['11', '1']]));
    rest.sync.onEvent(delta(9, 9, [['12', '1']])); // gap
    rest.sync.onEvent(delta(10, 10, [['13', '1']]));
    expect(rest.sync.onRestSnapshot(inst.key, { bids: [['8', '1']], asks: [['20', '1']], seq: 8, ts: 6 })).toBe(true);
    expect(rest.book.epoch).toBe(2);
    expect(rest.updates.map((u) => `${u.kind}@${u.seq}#${u.epoch}`)).toEqual(['book_snapshot@6#1', 'book_delta@7#1', 'book_snapshot@10#2']);
    expect(rest.resets.map((r) => `${r.reason}#${r.epoch}`)).toEqual(['gap#1']);
  });

  it("a snapshot event's levels are the book's top(): the whole book best first, not the venue's message", () => {
    const { sync, book, updates } = setup({ snapshot: 'stream', sequence: 'contiguous' });
    // Unordered, with a zero size and a repeated price (the later one wins), and a venue extra field.
    sync.onEvent(snap(10, [['99', '2'], ['100', '1', 'x'], ['98', '0'], ['97', '1'], ['97', '5']], [['102', '1'], ['101', '3']]));
    const ev = updates[0] as BookSnapshotMsg;
    expect(ev.kind).toBe('book_snapshot');
    expect(ev.bids).toEqual(book.bids.top());
    expect(ev.asks).toEqual(book.asks.top());
    expect(ev.bids).toEqual([['100', '1'], ['99', '2'], ['97', '5']]);
    expect(ev.asks).toEqual([['101', '3'], ['102', '1']]);
    expect(ev).toMatchObject({ instrument: inst, epoch: book.epoch, seq: book.seq, ts: book.ts, recvTs: book.recvTs });

    // After a REST snapshot with buffered deltas applied on top, the snapshot event is the resulting book.
    const rest = setup({ snapshot: 'rest', sequence: 'contiguous' });
    rest.sync.onEvent(delta(11, 12, [['9.5', '3'], ['9', '0']], [['21', '1']]));
    expect(rest.sync.onRestSnapshot(inst.key, { bids: [['9', '1'], ['8', '1']], asks: [['20', '1']], seq: 10, ts: 5 })).toBe(true);
    const rev = rest.updates[0] as BookSnapshotMsg;
    expect(rest.updates.map((u) => u.kind)).toEqual(['book_snapshot']);
    expect(rev.bids).toEqual(rest.book.bids.top());
    expect(rev.asks).toEqual(rest.book.asks.top());
    expect(rev.bids).toEqual([['9.5', '3'], ['8', '1']]);
    expect(rev).toMatchObject({ epoch: 1, seq: 12 });
  });

  it('with a truncating rule, snapshot + the published deltas in order rebuild exactly the book (truncation deletions included)', () => {
    const depth = 5;
    const { bus, sync, book, updates } = setup({ snapshot: 'stream', sequence: 'contiguous', truncateToDepth: true }, { depthFor: (key) => (key === inst.key ? depth : undefined) });
    // Check at every published event, while the book is in exactly the state the event describes.
    const mismatches: string[] = [];
    let truncations = 0;
    const local = new L2Book('v', inst.key, inst.symbol, inst.venueSymbol);
    const check = (u: BookEvent): void => {
      if (u.kind === 'book_snapshot') local.loadSnapshot(u.bids, u.asks);
      else local.applyLevels(u.bids, u.asks);
      const same = JSON.stringify([local.bids.top(), local.asks.top()]) === JSON.stringify([book.bids.top(), book.asks.top()]);
      if (!same) mismatches.push(`${u.kind}@${u.seq}`);
    };
    bus.on('book_snapshot', check);
    bus.on('book_delta', check);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const levels = (base: number, dir: number): Level[] => Array.from({ length: 8 }, (_, i) => [String(base + dir * i), String(1 + i)] as Level);
    sync.onEvent(snap(100, levels(99, -1), levels(101, 1))); // 8 levels per side: cut to 5
    expect(book.bids.length).toBe(depth);
    expect(updates[0].bids).toEqual(book.bids.top());
    let seq = 100;
    const venueDeltas: { bids: Level[]; asks: Level[] }[] = [];
    for (let k = 0; k < 300; k++) {
      const side = (): Level[] =>
        Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => [String(Math.floor(rnd() * 12)), rnd() < 0.3 ? '0' : String(1 + Math.floor(rnd() * 9))] as Level);
      seq++;
      const bids = side().map(([p, s]) => [String(99 - Number(p)), s] as Level);
      const asks = side().map(([p, s]) => [String(101 + Number(p)), s] as Level);
      const before = updates.length;
      venueDeltas.push({ bids, asks });
      sync.onEvent(delta(seq, seq, bids, asks));
      expect(updates.length).toBe(before + 1);
      const ev = updates[updates.length - 1];
      // The event's levels are the venue's, in order, then one deletion per level the depth cut dropped.
      expect(ev.bids.slice(0, bids.length)).toEqual(bids);
      expect(ev.asks.slice(0, asks.length)).toEqual(asks);
      for (const l of [...ev.bids.slice(bids.length), ...ev.asks.slice(asks.length)]) expect(l[1]).toBe('0');
      truncations += ev.bids.length - bids.length + ev.asks.length - asks.length;
      expect(book.bids.length).toBeLessThanOrEqual(depth);
      expect(book.asks.length).toBeLessThanOrEqual(depth);
    }
    expect(book.valid).toBe(true);
    expect(truncations).toBeGreaterThan(20); // the run did exercise the depth cut
    expect(mismatches).toEqual([]);
    const rebuilt = rebuild(updates);
    expect(rebuilt.bids.top()).toEqual(book.bids.top());
    expect(rebuilt.asks.top()).toEqual(book.asks.top());
    // Without the truncation deletions a consumer would hold levels the book no longer has.
    const withoutCuts = rebuild([updates[0], ...venueDeltas.map((d) => ({ ...updates[1], ...d }) as BookDeltaMsg)]);
    expect(withoutCuts.bids.length + withoutCuts.asks.length).toBeGreaterThan(book.bids.length + book.asks.length);
  });
});
