/**
 * End to end, aggregation: `tributary replay` of the Bybit and Coinbase recordings with the demo config
 * (USDT ≈ USD); a WebSocket client receives consolidated summaries, books and venue health; the REST
 * aggregation endpoints answer; a bad config file is reported clearly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const bybit = recordingPath('bybit.jsonl.gz');
const coinbase = recordingPath('coinbase.jsonl.gz');

function run(args: string[]) {
  const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), ...args], { cwd: root });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

describe.skipIf(!bybit || !coinbase)('e2e: consolidated feeds over replay', () => {
  let proc: ReturnType<typeof run>;
  let wsUrl = '';
  let api = '';

  beforeAll(async () => {
    proc = run(['replay', bybit!, coinbase!, '--config', join(root, 'config/demo.json'), '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1', '--loop', '0', '--log-level', 'warn']);
    await waitFor(() => /WebSocket: (ws:\/\/\S+)/.test(proc.out()) && /REST:\s+(http:\/\/[\d.:]+)/.test(proc.out()), 20000, `replay start: ${proc.out()}`);
    wsUrl = /WebSocket: (ws:\/\/\S+)/.exec(proc.out())![1];
    api = /REST:\s+(http:\/\/[\d.:]+)/.exec(proc.out())![1];
  });

  afterAll(async () => {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
  });

  it('streams consolidated summaries and books with venue attribution, and venue health', async () => {
    const ws = new WebSocket(wsUrl);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- protocol messages are checked field by field below
    const msgs: Record<string, any>[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'get_available_feeds' }));
    const feeds = (await waitFor(() => msgs.find((m) => m.type === 'available_feeds'))).feeds as { feed_id: string; derived?: boolean }[];
    expect(feeds.filter((f) => f.derived).map((f) => f.feed_id)).toEqual(
      expect.arrayContaining(['consolidated:BTC/USDT:summary', 'consolidated:ETH/USDT:book', 'arbitrage', 'health']),
    );
    for (const f of ['consolidated:BTC/USDT:summary', 'consolidated:ETH/USDT:book', 'health']) ws.send(JSON.stringify({ type: 'subscribe', feed_id: f }));
    const summary = await waitFor(
      () => msgs.find((m) => m.type === 'summary' && m.symbol === 'BTC/USDT' && m.venues.length === 2),
      20000,
      'a BTC/USDT summary from both venues',
    );
    expect(summary.feed_id).toBe('consolidated:BTC/USDT:summary');
    expect(summary.venues).toEqual(['bybit', 'coinbase']);
    expect(summary.quote_equivalence).toEqual(['USDT', 'USD']);
    // The recordings were taken ~21 minutes apart: the summary says so (venue-time skew of the merged books, ms).
    expect(summary.venue_skew_ms).toBeGreaterThan(15 * 60_000);
    expect(summary.venue_skew_ms).toBeLessThan(30 * 60_000);
    expect(summary.bids.length).toBeLessThanOrEqual(10); // max_price_levels in config/demo.json
    // Levels keep their venue (Bybit's bids sit above Coinbase's asks in these recordings: a crossed NBBO).
    const venuesOf = (ls: { venue: string }[]) => ls.map((l) => l.venue);
    expect(new Set([...venuesOf(summary.bids), ...venuesOf(summary.asks)])).toEqual(new Set(['bybit', 'coinbase']));
    expect(summary.nbbo.bid.venue).toBe(summary.bids[0].venue);
    // Seed shape: `spread` is the number (best ask − best bid), `spread_bps` beside it.
    expect(summary.spread).toBeCloseTo(Number(summary.nbbo.ask.price) - Number(summary.nbbo.bid.price), 6);
    expect(typeof summary.spread_bps).toBe('number');
    expect(Number(summary.nbbo.bid.price)).toBeGreaterThan(60000);
    const book = await waitFor(() => msgs.find((m) => m.type === 'consolidated_book' && m.symbol === 'ETH/USDT' && m.venues.length === 2), 20000, 'consolidated ETH book');
    for (let i = 1; i < book.bids.length; i++) expect(Number(book.bids[i].price)).toBeLessThanOrEqual(Number(book.bids[i - 1].price));
    const health = await waitFor(() => msgs.find((m) => m.type === 'health' && m.venues.length === 2), 20000, 'health');
    for (const v of health.venues) {
      expect(['bybit', 'coinbase']).toContain(v.venue);
      expect(v).toEqual(expect.objectContaining({ healthy: expect.any(Boolean), updates_per_second: expect.any(Number), error_count: 0, gaps: 0 }));
    }
    ws.close();
  });

  it('answers /v1/summaries, /v1/summary/{symbol}, /v1/venues, /v1/arbitrage, /ready, /health and /metrics', async () => {
    await waitFor(async () => (await fetch(`${api}/v1/summary/BTC/USDT`)).status === 200, 15000, 'summary over REST');
    const s = (await (await fetch(`${api}/v1/summary/${encodeURIComponent('ETH/USDT')}`)).json()) as { symbol: string; venues: string[] };
    expect(s.symbol).toBe('ETH/USDT');
    const all = (await (await fetch(`${api}/v1/summaries`)).json()) as { summaries: { symbol: string }[] };
    expect(all.summaries.map((x) => x.symbol)).toEqual(expect.arrayContaining(['BTC/USDT', 'ETH/USDT', 'BTC/USDT:USDT']));
    const venues = (await (await fetch(`${api}/v1/venues`)).json()) as { venues: { venue: string }[] };
    expect(venues.venues.map((v) => v.venue).sort()).toEqual(['bybit', 'coinbase']);
    const arb = await fetch(`${api}/v1/arbitrage?limit=5`);
    expect(arb.status).toBe(200);
    expect(Array.isArray(((await arb.json()) as { opportunities: unknown[] }).opportunities)).toBe(true);
    expect((await fetch(`${api}/v1/arbitrage?limit=nope`)).status).toBe(400);
    expect((await fetch(`${api}/v1/summary/NOPE/USDT`)).status).toBe(404);
    // Health is refreshed every health_check_interval_ms: wait for the first refresh with data.
    await waitFor(async () => (await fetch(`${api}/ready`)).status === 200, 15000, '/ready 200');
    await waitFor(async () => (await fetch(`${api}/health`)).status === 200, 15000, '/health 200');
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toMatch(/tributary_summaries_emitted_total [1-9]/);
    expect(metrics).toMatch(/tributary_consolidated_venues\{symbol="BTC\/USDT"\} 2/);
    expect(metrics).toContain('tributary_venue_healthy{venue="coinbase"}');
  });
});

describe('e2e: configuration errors', () => {
  it.each([
    ['an unknown key', { aggregation: { summary_interval: 5 } }, /aggregation: Unrecognized key.*summary_interval/],
    ['a wrong type', { exchanges: { binance: { trading_pairs: 'BTCUSDT' } } }, /exchanges\.binance\.trading_pairs/],
    ['an unknown venue', { exchanges: { nyse: { trading_pairs: ['IBM'] } } }, /unknown venue "nyse"/],
  ])('reports %s clearly and exits with code 2', async (_name, body, re) => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'trib-cfg-')), 'bad.json');
    writeFileSync(cfg, JSON.stringify(body));
    const p = run(['start', '--config', cfg, '--port', '0', '--api-port', '0']);
    expect(await p.exited).toBe(2);
    expect(p.out()).toMatch(/CONFIG_INVALID/);
    expect(p.out()).toMatch(re);
  });
});
