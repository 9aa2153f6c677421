/**
 * End to end: `tributary replay` of the real Bybit recording as a child process (simulator + gateway),
 * a real WebSocket client and real HTTP requests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadRecording } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const bybit = recordingPath('bybit.jsonl.gz');
const binance = recordingPath('binance.jsonl.gz');

function run(args: string[]): { child: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), ...args], { cwd: root, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

/** Every price that appears in the recording's linear BTCUSDT order-book frames. */
function recordedPrices(path: string): Set<string> {
  const rec = loadRecording(path);
  const linear = new Set(rec.records.filter((r) => r.t === 'connect' && r.addr.endsWith('/linear')).map((r) => r.conn));
  const prices = new Set<string>();
  for (const r of rec.records) {
    if (r.t !== 'recv' || !linear.has(r.conn) || !r.data.includes('"orderbook.200.BTCUSDT"')) continue;
    const m = JSON.parse(r.data);
    for (const [p] of [...m.data.b, ...m.data.a]) prices.add(p);
  }
  return prices;
}

describe.skipIf(!bybit)('e2e: replay of the Bybit recording', () => {
  let proc: ReturnType<typeof run>;
  let wsUrl = '';
  let api = '';

  beforeAll(async () => {
    proc = run(['replay', bybit!, '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1', '--speed', 'recorded', '--loop', '0']);
    await waitFor(() => /WebSocket: (ws:\/\/\S+)/.test(proc.out()) && /REST:\s+(http:\/\/[\d.:]+)/.test(proc.out()), 20000, `replay to start; output: ${proc.out()}`);
    wsUrl = /WebSocket: (ws:\/\/\S+)/.exec(proc.out())![1];
    api = /REST:\s+(http:\/\/[\d.:]+)/.exec(proc.out())![1];
  });

  afterAll(async () => {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
  });

  it('serves a book snapshot and updates whose prices are real recorded prices', async () => {
    const prices = recordedPrices(bybit!);
    const ws = new WebSocket(wsUrl);
    const msgs: Record<string, unknown>[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    await waitFor(() => msgs.find((m) => m.type === 'connection_established'));
    const feed = 'bybit:BTC/USDT:USDT:book';
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: feed }));
    await waitFor(() => msgs.find((m) => m.type === 'subscription_confirmed' && m.feed_id === feed));
    await waitFor(() => msgs.filter((m) => m.type === 'book_update').length >= 5, 20000, 'book updates');
    const data = msgs.filter((m) => m.feed_id === feed && (m.type === 'book_snapshot' || m.type === 'book_update'));
    expect(data[0].type).toBe('book_snapshot');
    const snap = data[0] as { bids: [string, string][]; asks: [string, string][]; venue_symbol: string };
    expect(snap.venue_symbol).toBe('BTCUSDT');
    expect(snap.bids.length).toBeGreaterThan(10);
    expect(Number(snap.bids[0][0])).toBeLessThan(Number(snap.asks[0][0]));
    let checked = 0;
    for (const m of data as { bids: [string, string][]; asks: [string, string][] }[]) {
      for (const [p] of [...m.bids, ...m.asks]) {
        expect(prices.has(p), `price ${p} is a recorded price`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
    ws.close();
  });

  it('answers REST /v1/books, /health, /feeds and /metrics', async () => {
    await waitFor(async () => (await fetch(`${api}/v1/books/bybit/BTC/USDT:USDT?depth=5`)).status === 200, 15000, 'book over REST');
    const book = (await (await fetch(`${api}/v1/books/bybit/${encodeURIComponent('BTC/USDT:USDT')}?depth=5`)).json()) as {
      valid: boolean; bids: [string, string][]; asks: [string, string][]; venueSymbol: string;
    };
    expect(book.valid).toBe(true);
    expect(book.bids.length).toBe(5);
    expect(book.asks.length).toBe(5);
    expect(Number(book.bids[0][0])).toBeLessThan(Number(book.asks[0][0]));
    const health = await fetch(`${api}/health`);
    expect(health.status).toBe(200);
    const h = (await health.json()) as { venues: { venue: string; connected: boolean }[] };
    expect(h.venues).toEqual([expect.objectContaining({ venue: 'bybit', connected: true })]);
    const feeds = (await (await fetch(`${api}/feeds`)).json()) as { feeds: { feed_id: string }[] };
    expect(feeds.feeds.map((f) => f.feed_id)).toEqual(expect.arrayContaining(['bybit:BTC/USDT:USDT:book', 'bybit:ETH/USDT:trades', 'bybit:SOL/USDT:USDT:ticker']));
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toMatch(/tributary_frames_received_total\{venue="bybit"\} [1-9]/);
  });

  it('answers bad client frames with error messages and stays usable', async () => {
    const ws = new WebSocket(wsUrl);
    const msgs: Record<string, unknown>[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    const errors = () => msgs.filter((m) => m.type === 'error').length;
    ws.send('{not json');
    await waitFor(() => errors() === 1);
    ws.send(JSON.stringify({ type: 'dance' }));
    await waitFor(() => errors() === 2);
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: 'bybit:NOPE/USDT:book' }));
    await waitFor(() => errors() === 3);
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: 'x'.repeat(20000) }));
    await waitFor(() => errors() === 4);
    ws.send(JSON.stringify({ type: 'get_available_feeds' }));
    await waitFor(() => msgs.find((m) => m.type === 'available_feeds'));
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: 'bybit:ETH/USDT:trades' }));
    await waitFor(() => msgs.find((m) => m.type === 'subscription_confirmed'));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});

describe.skipIf(!bybit || !binance)('e2e: replay --exit-on-end --dump-books', () => {
  it('replays both recordings to the end and writes valid books', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'trib-e2e-')), 'books.json');
    const p = run(['replay', bybit!, binance!, '--speed', 'max', '--exit-on-end', '--dump-books', out, '--port', '0', '--api-port', '0']);
    const code = await p.exited;
    expect(code, p.out()).toBe(0);
    const dump = JSON.parse(readFileSync(out, 'utf8')) as {
      books: { venue: string; symbol: string; venueSymbol: string; valid: boolean; bids: [string, string][]; asks: [string, string][]; stats: { deltas: number; snapshots: number; gaps: number; resyncs: number } }[];
    };
    expect(dump.books.map((b) => `${b.venue}:${b.symbol}`).sort()).toEqual([
      'binance:BLZ/ETH', 'binance:LRC/BTC', 'binance:NKN/USDT', 'binance:RUNE/EUR',
      'bybit:BTC/USDT', 'bybit:BTC/USDT:USDT', 'bybit:DOGE/USDT:USDT', 'bybit:ETH/USDT', 'bybit:ETH/USDT:USDT', 'bybit:SOL/USDT:USDT',
    ]);
    for (const b of dump.books) {
      expect(b.valid, `${b.venue}:${b.symbol}`).toBe(true);
      expect(b.stats.gaps).toBe(0);
      expect(b.stats.snapshots).toBeGreaterThanOrEqual(1);
      expect(Number(b.bids[0][0])).toBeLessThan(Number(b.asks[0][0]));
      for (let i = 1; i < b.bids.length; i++) expect(Number(b.bids[i][0])).toBeLessThan(Number(b.bids[i - 1][0]));
      for (let i = 1; i < b.asks.length; i++) expect(Number(b.asks[i][0])).toBeGreaterThan(Number(b.asks[i - 1][0]));
    }
    const btc = dump.books.find((b) => b.venue === 'bybit' && b.symbol === 'BTC/USDT:USDT')!;
    expect(btc.stats.deltas).toBe(413); // every recorded delta of that book applied through real sockets
    expect(btc.venueSymbol).toBe('BTCUSDT');
  }, 60000);
});
