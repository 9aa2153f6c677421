/**
 * Conformance: the shared Bitstamp recording through decode → sync → book vs a naive recomputation, the reviewed
 * golden file, and fault injection.
 *
 * Golden file: `test/conformance/golden/bitstamp.json` (first 40 published events + counts by topic). After a
 * deliberate, reviewed change regenerate it with `UPDATE_GOLDEN=1 npx vitest run test/conformance/bitstamp.test.ts`.
 *
 * Faults: Bitstamp diffs carry no sequence number and no checksum. (a) A dropped diff is therefore NOT
 * detectable: the book silently keeps the stale level (this test pins that, so nobody believes otherwise);
 * (b) what does rebuild the books is a reconnect: the venue's `bts:request_reconnect` makes the runner reconnect,
 * the books are reset and fetched again over REST, and end equal to the venue's book; (c) no checksum exists,
 * so none is declared.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadRecording, type DataRecord, type Recording } from '../../src/replay/recording.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { Bus } from '../../src/bus/bus.ts';
import { VenueRunner, type IngestLogger } from '../../src/pipeline/ingest.ts';
import { bitstampConnector } from '../../src/venues/bitstamp/connector.ts';
import type { Http } from '../../src/venues/connector.ts';
import {
  applyNaive,
  expectBooksMatchNaive,
  expectEveryFrameHandled,
  expectMatchesGolden,
  newNaiveBook,
  sortedSide,
  type NaiveBook,
} from '../helpers/conformance.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded venue JSON */

const path = recordingPath('bitstamp.jsonl.gz');
let cached: Recording | undefined;
const recording = (): Recording => (cached ??= loadRecording(path!));

const DIFF = 'diff_order_book_';

/** Pair of a recorded `order_book` URL (`…/api/v2/order_book/ethusd` or with a trailing slash). */
const pairOfUrl = (url: string): string => url.replace(/\/$/, '').split('/').pop()!;

/** The recorded REST snapshot of each pair, as a naive book at the snapshot's microtimestamp. */
function snapshots(rec: Recording): Map<string, NaiveBook> {
  const books = new Map<string, NaiveBook>();
  for (const r of rec.records) {
    if (r.t !== 'http' || !r.url.includes('/api/v2/order_book/')) continue;
    const o = JSON.parse(r.data);
    const b = newNaiveBook(Number(o.microtimestamp));
    applyNaive(b.bids, o.bids);
    applyNaive(b.asks, o.asks);
    books.set(pairOfUrl(r.url), b);
  }
  return books;
}

/**
 * Bitstamp, recomputed from the venue rule: start from the REST snapshot, drop diffs whose `microtimestamp` is
 * ≤ the snapshot's, apply the others in arrival order (absolute amounts, "0" removes). `skip` leaves out one
 * `recv` frame (by index) as if it had been lost.
 */
function naiveBitstamp(rec: Recording, skip = -1): Map<string, NaiveBook> {
  const byPair = snapshots(rec);
  let idx = -1;
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    idx++;
    if (idx === skip) continue;
    const m = JSON.parse(r.data);
    if (m.event !== 'data' || !m.channel.startsWith(DIFF)) continue;
    const b = byPair.get(m.channel.slice(DIFF.length))!;
    const us = Number(m.data.microtimestamp);
    if (us <= b.seq!) continue;
    b.seq = us;
    applyNaive(b.bids, m.data.bids);
    applyNaive(b.asks, m.data.asks);
  }
  return new Map([...byPair].map(([pair, b]) => [`spot:${pair}`, b]));
}

const sameBook = (b: { bids: { top(): unknown }; asks: { top(): unknown } }, n: NaiveBook): boolean =>
  JSON.stringify(b.bids.top()) === JSON.stringify(sortedSide(n.bids, true)) && JSON.stringify(b.asks.top()) === JSON.stringify(sortedSide(n.asks, false));

describe('bitstamp recording', () => {
  it.skipIf(!path)('every frame is handled or explicitly ignored', () => {
    const outcomes = expectEveryFrameHandled('bitstamp', recording());
    // 717 diffs + 10 trades + 10 diff-channel acks (with the snapshot marker); 10 trade-channel acks.
    expect(outcomes).toEqual({ events: 737, subscribed: 10 });
  });

  it.skipIf(!path)('final books are valid, uncrossed, and equal an independent recomputation', async () => {
    const rec = recording();
    const { runner } = await expectBooksMatchNaive('bitstamp', rec, naiveBitstamp(rec), 10);
    expect(runner.counters.snapshotRequests).toBe(10);
    expect(runner.counters.events).toEqual({ book_delta: 727, trade: 10 });
    // sgbeur sent no diff in 31 s: its book is valid thanks to the subscription marker (REST snapshot only).
    expect(runner.sync.book('spot:sgbeur')!.stats).toMatchObject({ snapshots: 1, deltas: 0 });
  });

  it.skipIf(!path)('normalized output equals the reviewed golden file', async () => {
    await expectMatchesGolden('bitstamp', recording());
  });
});

// ---- faults ------------------------------------------------------------------------------------------

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const SILENT: IngestLogger = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Index (among `recv` frames) of the first diff after its pair's snapshot that sets a level no later diff of the
 * pair touches again, so losing it leaves a visibly wrong book.
 */
function lossyDiff(rec: Recording): { index: number; key: string } {
  const snaps = snapshots(rec);
  const recv = rec.records.filter((r): r is Extract<DataRecord, { t: 'recv' }> => r.t === 'recv').map((r) => JSON.parse(r.data));
  for (let i = 0; i < recv.length; i++) {
    const m = recv[i];
    if (m.event !== 'data' || !m.channel.startsWith(DIFF)) continue;
    const pair = m.channel.slice(DIFF.length);
    if (Number(m.data.microtimestamp) <= snaps.get(pair)!.seq!) continue;
    const later = new Set<string>();
    for (const n of recv.slice(i + 1)) if (n.channel === m.channel && n.event === 'data') for (const l of [...n.data.bids, ...n.data.asks]) later.add(l[0]);
    if ([...m.data.bids, ...m.data.asks].some((l: string[]) => !later.has(l[0]))) return { index: i, key: `spot:${pair}` };
  }
  throw new Error('no lossy diff in the recording');
}

describe('bitstamp faults', () => {
  it.skipIf(!path)('(a) a dropped diff is NOT detectable: no gap, no reset, every book stays "valid" — one of them is silently wrong', async () => {
    const rec = recording();
    const { index, key } = lossyDiff(rec);
    const bus = new Bus();
    const resets: string[] = [];
    bus.on('book_reset', (r) => resets.push(r.instrument.key));
    const { runner } = await replayDirect(rec, bitstampConnector, { bus, transform: (d, i) => (i === index ? null : d) });
    expect(resets).toEqual([]);
    expect(Object.keys(runner.counters.errors)).toEqual([]);
    const truth = naiveBitstamp(rec);
    const lossy = naiveBitstamp(rec, index);
    for (const b of runner.sync.books()) {
      expect(b.valid, b.key).toBe(true);
      expect(b.stats.gaps).toBe(0);
      if (b.key === key) {
        expect(sameBook(b, truth.get(b.key)!), `${b.key} differs from the venue's book`).toBe(false);
        expect(sameBook(b, lossy.get(b.key)!), `${b.key} is the book without the lost diff`).toBe(true);
      } else {
        expect(sameBook(b, truth.get(b.key)!), b.key).toBe(true);
      }
    }
  });

  it.skipIf(!path)('(b) bts:request_reconnect → reconnect → books reset and rebuilt from REST, ending equal to the venue book', async () => {
    const rec = recording();
    const pairs = ['ethusd', 'batbtc'];
    const truth = snapshots(rec);
    const stream: { pair: string; frame: any }[] = [];
    for (const r of rec.records) {
      if (r.t !== 'recv') continue;
      const m = JSON.parse(r.data);
      if (m.event !== 'data' || !m.channel.startsWith(DIFF)) continue;
      const pair = m.channel.slice(DIFF.length);
      if (pairs.includes(pair) && Number(m.data.microtimestamp) > truth.get(pair)!.seq!) stream.push({ pair, frame: m });
    }

    // A local Bitstamp: WebSocket acks and diffs, REST pairs-info and the current (true) order book.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    });
    const conns: { ws: WebSocket; channels: Set<string> }[] = [];
    wss.on('connection', (ws) => {
      const c = { ws, channels: new Set<string>() };
      conns.push(c);
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.event === 'bts:subscribe') {
          c.channels.add(m.data.channel);
          ws.send(JSON.stringify({ event: 'bts:subscription_succeeded', channel: m.data.channel, data: {} }));
        }
      });
    });
    const pairsInfo = (rec.records.find((r) => r.t === 'http' && r.url.includes('trading-pairs-info')) as { data: string }).data;
    const fetches: string[] = [];
    const http: Http = {
      async get(url) {
        if (url.endsWith('/api/v2/trading-pairs-info/')) return pairsInfo;
        const pair = pairOfUrl(url);
        fetches.push(pair);
        const b = truth.get(pair)!;
        return JSON.stringify({ timestamp: String(Math.floor(b.seq! / 1e6)), microtimestamp: String(b.seq), bids: sortedSide(b.bids, true), asks: sortedSide(b.asks, false) });
      },
    };

    const bus = new Bus();
    const resets: { key: string; reason: string }[] = [];
    bus.on('book_reset', (r) => resets.push({ key: r.instrument.key, reason: r.reason }));
    const runner = new VenueRunner({
      connector: bitstampConnector,
      endpoints: { wsBase: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, restBase: 'http://127.0.0.1:1' },
      http,
      bus,
      log: SILENT,
      requests: pairs.map((p) => ({ key: `spot:${p}`, channel: 'book' as const })),
      transport: { backoffBaseMs: 10, backoffCapMs: 50 },
    });
    cleanups.push(() => runner.stop());
    await runner.start();
    const book = (p: string) => runner.sync.book(`spot:${p}`)!;
    const allValid = () => pairs.every((p) => book(p).valid);
    const subscribed = () => {
      const c = conns[conns.length - 1];
      return c !== undefined && pairs.every((p) => c.channels.has(DIFF + p));
    };
    await waitFor(() => subscribed() && allValid(), 10_000, 'first connection subscribed and books valid');
    expect(fetches.sort()).toEqual(['batbtc', 'ethusd']);

    const reconnectAt = Math.floor(stream.length / 2);
    for (let i = 0; i < stream.length; i++) {
      if (i === reconnectAt) {
        conns[conns.length - 1].ws.send(JSON.stringify({ event: 'bts:request_reconnect', channel: '', data: '' }));
        await waitFor(() => conns.length === 2 && subscribed() && allValid(), 10_000, 'reconnected, resubscribed and rebuilt from REST');
      }
      const { pair, frame } = stream[i];
      const b = truth.get(pair)!;
      b.seq = Number(frame.data.microtimestamp);
      applyNaive(b.bids, frame.data.bids);
      applyNaive(b.asks, frame.data.asks);
      conns[conns.length - 1].ws.send(JSON.stringify(frame));
    }
    await waitFor(() => pairs.every((p) => book(p).seq === truth.get(p)!.seq), 10_000, 'every diff applied');

    expect(runner.counters.reconnects).toBeGreaterThanOrEqual(1);
    expect(resets.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'spot:batbtc', reason: 'disconnected' },
      { key: 'spot:ethusd', reason: 'disconnected' },
    ]);
    expect(fetches.sort()).toEqual(['batbtc', 'batbtc', 'ethusd', 'ethusd']);
    for (const p of pairs) {
      expect(book(p).valid).toBe(true);
      expect(book(p).stats.snapshots).toBe(2);
      expect(sameBook(book(p), truth.get(p)!), p).toBe(true);
    }
  });

  it('(c) Bitstamp publishes no checksum: the connector declares none', () => {
    expect(bitstampConnector.checksum).toBeUndefined();
  });

  /**
   * For `sequence: 'none'` the sync stage drops a delta older than the book (`lastSeq <= seq`), so a diff that
   * arrives *after* the REST snapshot was applied but is older than it cannot revert a level.
   */
  it('(d) a diff older than the applied snapshot that arrives after it is dropped', async () => {
    const t = 1_700_000_000;
    const rec: Recording = {
      path: 'synthetic',
      header: { t: 'header', format: 2, exchange: 'BITSTAMP' },
      records: [
        { t: 'http', conn: 'h', ts: t, url: 'https://www.bitstamp.net/api/v2/trading-pairs-info/', data: JSON.stringify([{ name: 'BTC/USD', url_symbol: 'btcusd', trading: 'Enabled', base_decimals: 8, counter_decimals: 2 }]) },
        { t: 'connect', conn: 'ws', ts: t, addr: 'wss://ws.bitstamp.net/' },
        { t: 'send', conn: 'ws', ts: t, addr: 'wss://ws.bitstamp.net/', data: '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}' },
        { t: 'http', conn: 'h', ts: t + 1, url: 'https://www.bitstamp.net/api/v2/order_book/btcusd/', data: JSON.stringify({ timestamp: '2', microtimestamp: '2000', bids: [['100.00', '5']], asks: [['101.00', '1']] }) },
        { t: 'recv', conn: 'ws', ts: t + 2, data: '{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}' },
        // In flight while the snapshot was taken: older than it (the snapshot already has the later size 5).
        { t: 'recv', conn: 'ws', ts: t + 3, data: '{"data":{"timestamp":"1","microtimestamp":"1500","bids":[["100.00","3"]],"asks":[]},"channel":"diff_order_book_btcusd","event":"data"}' },
        { t: 'recv', conn: 'ws', ts: t + 4, data: '{"data":{"timestamp":"2","microtimestamp":"2500","bids":[["99.00","1"]],"asks":[]},"channel":"diff_order_book_btcusd","event":"data"}' },
      ],
    };
    const { runner } = await replayDirect(rec, bitstampConnector);
    const b = runner.sync.book('spot:btcusd')!;
    expect(b.valid).toBe(true);
    expect(b.bids.top()).toEqual([
      ['100.00', '5'],
      ['99.00', '1'],
    ]);
  });
});
