/**
 * Conformance: the shared Crypto.com recording (2021, legacy v2 stream, 10 spot symbols) through decode → sync →
 * book vs a naive recomputation; the reviewed golden file; faults on the v2 stream (no sequence: a lost push heals
 * with the next one); a v1 stream in the documented shapes (snapshot + `book.update` chained `pu` → `u`) with a dropped
 * delta; and the recording served by the simulator to a real runner.
 *
 * Golden file: `test/conformance/golden/crypto-com.json`; regenerate after a reviewed change with
 * `UPDATE_GOLDEN=1 npx vitest run test/conformance/crypto-com.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { loadRecording, type DataRecord, type Recording } from '../../src/replay/recording.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { Bus } from '../../src/bus/bus.ts';
import { cryptoComConnector } from '../../src/venues/crypto-com/connector.ts';
import { withSimulatedRunner, applyNaive, expectBooksMatchNaive, expectEveryFrameHandled, expectMatchesGolden, newNaiveBook, sortedSide, type NaiveBook } from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Crypto.com rule: a `book` push replaces the book (v2: every push is the whole top-N; v1: the first message, and any
 * re-sent snapshot, with `u`); a `book.update` applies only when `pu` equals the last `u` (else the book is broken
 * until the next snapshot). v2 numbers are compared as `String(n)`.
 */
function naiveCryptoCom(rec: Recording, skip: (recvIndex: number) => boolean = () => false): Map<string, NaiveBook> {
  const books = new Map<string, NaiveBook>();
  let i = 0;
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    if (skip(i++)) continue;
    const m = JSON.parse(r.data);
    const res = m.result;
    if (!res || (res.channel !== 'book' && res.channel !== 'book.update')) continue;
    const key = `spot:${res.instrument_name}`;
    for (const item of res.data) {
      if (res.channel === 'book') {
        const b = newNaiveBook(item.u === undefined ? undefined : Number(item.u));
        applyNaive(b.bids, item.bids);
        applyNaive(b.asks, item.asks);
        books.set(key, b);
      } else {
        const b = books.get(key);
        if (!b || !b.ok) continue;
        if (Number(item.pu) !== b.seq) {
          b.ok = false; // broken until the next snapshot
          continue;
        }
        applyNaive(b.bids, item.update.bids ?? []);
        applyNaive(b.asks, item.update.asks ?? []);
        b.seq = Number(item.u);
      }
    }
  }
  return books;
}

function expectBook(runnerBook: { bids: { top(): unknown }; asks: { top(): unknown } } | undefined, n: NaiveBook): void {
  expect(runnerBook).toBeDefined();
  expect(runnerBook!.bids.top()).toEqual(sortedSide(n.bids, true));
  expect(runnerBook!.asks.top()).toEqual(sortedSide(n.asks, false));
}

describe('crypto-com recording (v2)', () => {
  const path = recordingPath('crypto-com.jsonl.gz');

  it.skipIf(!path)('every frame is handled or explicitly ignored', () => {
    const outcomes = expectEveryFrameHandled('crypto-com', loadRecording(path!));
    // 1525 book + 1484 ticker + 129 trade pushes; 10 trade snapshots + 10 candlestick pushes ignored; 4 acks; 1 heartbeat.
    expect(outcomes).toEqual({ events: 3138, ignored: 20, subscribed: 4, heartbeat: 1 });
  });

  it.skipIf(!path)('final books are valid, uncrossed and equal an independent recomputation', async () => {
    const rec = loadRecording(path!);
    const { runner } = await expectBooksMatchNaive('crypto-com', rec, naiveCryptoCom(rec), 10);
    expect(runner.counters.events).toEqual({ trade: 143, ticker: 1484, book_snapshot: 1525 });
    expect(runner.counters.ignored).toEqual({ trade_snapshot: 10, candlestick: 10 });
    expect(runner.sync.counters.stale + runner.sync.counters.awaitingSnapshot).toBe(0);
  });

  it.skipIf(!path)('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('crypto-com', loadRecording(path!));
  });

  it.skipIf(!path)('faults on v2: a lost book push heals with the next push; a corrupt frame is counted, nothing else changes', async () => {
    const rec = loadRecording(path!);
    const recv = rec.records.filter((r) => r.t === 'recv');
    const matic = recv.map((r, i) => (r.data.includes('"subscription":"book.MATIC_USDT.150"') ? i : -1)).filter((i) => i >= 0);
    const hnt = recv.map((r, i) => (r.data.includes('"subscription":"book.HNT_USDT.150"') ? i : -1)).filter((i) => i >= 0);
    const drop = matic[100];
    const corrupt = hnt[50];
    const resets: string[] = [];
    const bus = new Bus();
    bus.on('book_reset', (r) => resets.push(r.instrument.key));
    const { runner } = await replayDirect(rec, cryptoComConnector, {
      bus,
      transform: (d, i) => (i === drop ? null : i === corrupt ? d.slice(0, 80) : d),
    });
    expect(runner.counters.errors).toEqual({ PROTOCOL_MALFORMED: 1 });
    expect(resets).toEqual([]); // v2 has no sequence: nothing to detect, and nothing breaks
    const naive = naiveCryptoCom(rec);
    for (const b of runner.sync.books()) {
      expect([b.key, b.valid, b.stats.gaps]).toEqual([b.key, true, 0]);
      expectBook(b, naive.get(b.key)!);
    }
    expect(runner.sync.book('spot:MATIC_USDT')!.stats.snapshots).toBe(matic.length - 1);
    expect(runner.sync.book('spot:HNT_USDT')!.stats.snapshots).toBe(hnt.length - 1);
  });

  it.skipIf(!path)('served by the simulator (v2 found by the v1 → v2 instrument fallback) → the same books', async () => {
    const rec = loadRecording(path!);
    const naive = naiveCryptoCom(rec);
    await withSimulatedRunner(rec, 'crypto-com', async (runner) => {
      await waitFor(
        () => runner.sync.books().length === 10 && runner.sync.books().every((b) => b.valid && b.stats.snapshots === naiveSnapshots(rec, b.key)),
        10000,
        'every recorded book push',
      );
      expect(runner.connections().map((c) => new URL(c.url).pathname)).toEqual(['/crypto-com/v2/market']);
      for (const b of runner.sync.books()) expectBook(b, naive.get(b.key)!);
      expect(Object.keys(runner.counters.errors)).toEqual([]);
    });
  });
});

function naiveSnapshots(rec: Recording, key: string): number {
  const sub = `"subscription":"book.${key.slice(5)}.150"`;
  return rec.records.filter((r) => r.t === 'recv' && r.data.includes(sub)).length;
}

// ---- a v1 stream in the documented shapes ------------------------------------------------------------------------

const T0 = 1_700_000_000;

/** A v1 session: instruments (v1 REST shape), the market endpoint, one subscribe, snapshots and chained deltas. */
function v1Recording(): { rec: Recording; dropIndex: number } {
  const records: DataRecord[] = [];
  let ts = T0;
  const tick = () => (ts += 0.01);
  records.push({
    t: 'http',
    conn: 'rest',
    ts: tick(),
    url: 'https://api.crypto.com/exchange/v1/public/get-instruments',
    data: JSON.stringify({
      id: 1,
      method: 'public/get-instruments',
      code: 0,
      result: {
        data: ['BTC', 'ETH'].map((b) => ({ symbol: `${b}_USDT`, inst_type: 'CCY_PAIR', base_ccy: b, quote_ccy: 'USDT', price_tick_size: '0.1', qty_tick_size: '0.0001', tradable: true })),
      },
    }),
  });
  records.push({ t: 'connect', conn: 'ws1', ts: tick(), addr: 'wss://stream.crypto.com/exchange/v1/market' });
  records.push({
    t: 'send',
    conn: 'ws1',
    ts: tick(),
    addr: 'wss://stream.crypto.com/exchange/v1/market',
    data: JSON.stringify({ id: 1, method: 'subscribe', params: { channels: ['book.BTC_USDT.10', 'book.ETH_USDT.10'], book_subscription_type: 'SNAPSHOT_AND_UPDATE', book_update_frequency: 100 }, nonce: 1 }),
  });
  const recv = (data: unknown) => records.push({ t: 'recv', conn: 'ws1', ts: tick(), data: JSON.stringify(data) });
  const push = (name: string, channel: string, item: unknown) =>
    recv({ id: -1, method: 'subscribe', code: 0, result: { instrument_name: name, subscription: `book.${name}.10`, channel, depth: 10, data: [item] } });
  const lv = (p: number, q: string) => [p.toFixed(1), q, q === '0' ? '0' : '1'];
  const snapshot = (name: string, mid: number, u: number) =>
    push(name, 'book', {
      bids: [1, 2, 3, 4, 5].map((k) => lv(mid - k, `${k}.0000`)),
      asks: [1, 2, 3, 4, 5].map((k) => lv(mid + k, `${k}.5000`)),
      t: Math.round(ts * 1000),
      tt: Math.round(ts * 1000),
      u,
    });
  const update = (name: string, mid: number, u: number, pu: number, k: number) =>
    push(name, 'book.update', {
      update: k % 7 === 0 ? { bids: [], asks: [] } : { bids: [lv(mid - 1 - (k % 5), `${k}.0000`)], asks: [lv(mid + 1 + (k % 3), k % 4 === 0 ? '0' : `${k}.2500`)] },
      t: Math.round(ts * 1000),
      tt: Math.round(ts * 1000),
      u,
      pu,
    });
  recv({ id: 1, code: 0, method: 'subscribe' });
  snapshot('BTC_USDT', 30000, 100);
  snapshot('ETH_USDT', 2000, 500);
  let dropIndex = -1;
  for (let k = 1; k <= 20; k++) {
    if (k === 10) dropIndex = records.filter((r) => r.t === 'recv').length;
    update('BTC_USDT', 30000, 100 + k, 99 + k, k);
    update('ETH_USDT', 2000, 500 + k, 499 + k, k);
  }
  recv({ id: 1700000000123, method: 'public/heartbeat', code: 0 });
  // What the venue sends after our re-subscribe: a fresh snapshot, then deltas chained from it.
  snapshot('BTC_USDT', 30010, 130);
  for (let k = 1; k <= 5; k++) update('BTC_USDT', 30010, 130 + k, 129 + k, k);
  return { rec: { path: 'v1-synthetic', header: { t: 'header', format: 2, exchange: 'CRYPTO.COM' }, records }, dropIndex };
}

describe('crypto-com v1 stream (documented shapes, synthetic)', () => {
  it('snapshot + linked deltas match the naive rule; heartbeats are answered; instruments come from v1', async () => {
    const { rec } = v1Recording();
    const outcomes = expectEveryFrameHandled('crypto-com', rec);
    expect(outcomes).toEqual({ subscribed: 1, events: 48, heartbeat: 1 });
    const naive = naiveCryptoCom(rec);
    const { runner } = await expectBooksMatchNaive('crypto-com', rec, naive, 2);
    expect(runner.subscriptions.map((s) => `${s.instrument.key}@${s.depth}`)).toEqual(['spot:BTC_USDT@10', 'spot:ETH_USDT@10']);
    expect(runner.sync.book('spot:BTC_USDT')!.seq).toBe(135);
    expect(runner.sync.book('spot:ETH_USDT')!.seq).toBe(520);
  });

  it('a dropped delta breaks the pu → u chain: that book alone is reset, ignores deltas until the next snapshot, then recovers', async () => {
    const { rec, dropIndex } = v1Recording();
    const resets: { key: string; reason: string; epoch: number }[] = [];
    const published: { key: string; kind: string; seq: number | null; epoch: number }[] = [];
    const bus = new Bus();
    bus.on('book_reset', (r) => resets.push({ key: r.instrument.key, reason: r.reason, epoch: r.epoch }));
    bus.on('book_snapshot', (u) => published.push({ key: u.instrument.key, kind: 'snapshot', seq: u.seq, epoch: u.epoch }));
    bus.on('book_delta', (u) => published.push({ key: u.instrument.key, kind: 'delta', seq: u.seq, epoch: u.epoch }));
    const { runner } = await replayDirect(rec, cryptoComConnector, { bus, transform: (d, i) => (i === dropIndex ? null : d) });
    expect(resets).toEqual([{ key: 'spot:BTC_USDT', reason: 'gap', epoch: 1 }]);
    const btc = runner.sync.book('spot:BTC_USDT')!;
    const eth = runner.sync.book('spot:ETH_USDT')!;
    expect(btc.stats).toMatchObject({ gaps: 1, resyncs: 1, snapshots: 2 });
    expect(eth.stats).toMatchObject({ gaps: 0, resyncs: 0, snapshots: 1, deltas: 20 });
    // Delta 111 (pu 110 ≠ 109) reveals the gap; 112..120 arrive while the book waits for its snapshot: dropped, never published.
    expect(runner.sync.counters.awaitingSnapshot).toBe(9);
    // The rebuilt book is a new epoch: its snapshot and deltas carry 2, everything before the gap 1.
    const btcSeqs = published.filter((p) => p.key === 'spot:BTC_USDT').map((p) => `${p.kind}@${p.seq}#${p.epoch}`);
    expect(btcSeqs).toEqual([
      'snapshot@100#1', ...[101, 102, 103, 104, 105, 106, 107, 108, 109].map((s) => `delta@${s}#1`), 'snapshot@130#2', ...[131, 132, 133, 134, 135].map((s) => `delta@${s}#2`),
    ]);
    const naive = naiveCryptoCom(rec, (i) => i === dropIndex);
    expect([btc.valid, btc.seq, eth.valid, eth.seq]).toEqual([true, 135, true, 520]);
    expectBook(btc, naive.get('spot:BTC_USDT')!);
    expectBook(eth, naive.get('spot:ETH_USDT')!);
  });
});
