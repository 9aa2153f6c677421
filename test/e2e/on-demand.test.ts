/**
 * End to end, on-demand upstream subscriptions: the gateway (servers, pipeline, real sockets) against the venue
 * simulator playing the real Bybit recording, with a real WebSocket client.
 * - a client subscribes to an instrument that is not configured: snapshot, then updates of the same epoch;
 * - the last unsubscribe releases the upstream subscription after the grace period (seen at the simulator);
 * - a subscription made while the venue is not up yet is `subscription_pending`, then confirmed with data once the
 *   simulator starts.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configFromObject } from '../../src/config/index.ts';
import { Gateway } from '../../src/main.ts';
import { createLogger } from '../../src/obs/log.ts';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { getConnector } from '../../src/venues/index.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const bybitPath = recordingPath('bybit.jsonl.gz');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function simulate(rec: Recording, port = 0): Promise<Simulator> {
  const sim = await startSimulator({ recordings: [rec], hooks: (v) => getConnector(v)?.replay, speed: 'recorded', loop: 0, port });
  cleanups.push(() => sim.close());
  return sim;
}

/** A gateway configured for Bybit spot BTC/USDT books only, pointed at `base` (the simulator's URL prefix). */
async function gateway(wsBase: string, restBase: string): Promise<Gateway> {
  const config = configFromObject({
    venues: { bybit: { symbols: ['BTC/USDT'], channels: ['book'], ws_base: wsBase, rest_base: restBase } },
    server: { host: '127.0.0.1', port: 0, release_grace_ms: 400 },
    api: { host: '127.0.0.1', port: 0 },
    transport: { backoff_base_ms: 100, backoff_cap_ms: 400 },
  });
  const gw = new Gateway({ config, log: createLogger({ level: 'silent' }) });
  await gw.start();
  cleanups.push(() => gw.stop());
  return gw;
}

async function client(port: number): Promise<{ ws: WebSocket; msgs: Msg[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const msgs: Msg[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
  await new Promise((r) => ws.once('open', r));
  cleanups.push(async () => ws.close());
  await waitFor(() => msgs.some((m) => m.type === 'connection_established'), 5000, 'connection_established');
  return { ws, msgs };
}

/** Topics the simulator streams to its Bybit clients right now. */
function upstreamTopics(sim: Simulator): string[] {
  return sim.activeTopics('bybit').flatMap((c) => c.topics);
}

const ETH_BOOK = 'bybit:ETH/USDT:book';

describe.skipIf(!bybitPath)('e2e: on-demand upstream subscriptions (Bybit recording)', () => {
  it('a client subscribes to an instrument that is not configured: snapshot then updates; the last unsubscribe releases it after the grace period', async () => {
    const rec = loadRecording(bybitPath!);
    const sim = await simulate(rec);
    const gw = await gateway(sim.wsBase('bybit'), sim.restBase('bybit'));
    await waitFor(() => upstreamTopics(sim).some((t) => t.includes('BTCUSDT')), 10000, 'configured BTCUSDT upstream');
    expect(upstreamTopics(sim).some((t) => t.includes('ETHUSDT'))).toBe(false);

    const { ws, msgs } = await client(gw.wsPort);
    // Not configured, not streamed: still listed when searched for, and subscribable.
    ws.send(JSON.stringify({ type: 'get_available_feeds', query: 'ETH/USDT' }));
    const listed = await waitFor(() => msgs.find((m) => m.type === 'available_feeds'), 5000, 'available_feeds');
    expect(listed.feeds.map((f: Msg) => f.feed_id)).toContain(ETH_BOOK);

    ws.send(JSON.stringify({ type: 'subscribe', feed_id: ETH_BOOK }));
    await waitFor(() => msgs.find((m) => m.type === 'subscription_confirmed' && m.feed_id === ETH_BOOK), 10000, 'confirmed');
    await waitFor(() => upstreamTopics(sim).some((t) => t.includes('ETHUSDT')), 10000, 'ETHUSDT subscribed upstream');
    const snap = await waitFor(() => msgs.find((m) => m.type === 'book_snapshot' && m.feed_id === ETH_BOOK), 20000, 'ETH snapshot');
    await waitFor(() => msgs.filter((m) => m.type === 'book_update' && m.feed_id === ETH_BOOK).length >= 3, 20000, 'ETH updates');
    expect(snap.symbol).toBe('ETH/USDT');
    expect(snap.epoch).toBeGreaterThanOrEqual(1);
    expect(snap.bids.length).toBeGreaterThan(0);
    expect(Number(snap.bids[0][0])).toBeLessThan(Number(snap.asks[0][0]));
    // Updates follow the snapshot in the same epoch, and the book built from them is never crossed.
    const book = { bids: new Map<string, string>(snap.bids), asks: new Map<string, string>(snap.asks) };
    const after = msgs.slice(msgs.indexOf(snap) + 1).filter((m) => m.feed_id === ETH_BOOK && m.type === 'book_update');
    for (const u of after) {
      expect(u.epoch).toBe(snap.epoch);
      for (const [p, s] of u.bids) {
        if (Number(s) === 0) book.bids.delete(p);
        else book.bids.set(p, s);
      }
      for (const [p, s] of u.asks) {
        if (Number(s) === 0) book.asks.delete(p);
        else book.asks.set(p, s);
      }
      const bestBid = Math.max(...[...book.bids.keys()].map(Number));
      const bestAsk = Math.min(...[...book.asks.keys()].map(Number));
      expect(bestBid).toBeLessThan(bestAsk);
    }
    // The gateway keeps a valid book of it (the read model the snapshot came from).
    const gwBook = gw.pipeline.getBook('bybit', 'ETH/USDT')!;
    expect(gwBook.valid).toBe(true);

    // Last unsubscribe: released upstream only after the grace period (400 ms here), configured BTC stays.
    ws.send(JSON.stringify({ type: 'unsubscribe', feed_id: ETH_BOOK }));
    await waitFor(() => msgs.find((m) => m.type === 'unsubscription_confirmed' && m.feed_id === ETH_BOOK), 5000, 'unsubscribed');
    const releasedAt = Date.now();
    expect(upstreamTopics(sim).some((t) => t.includes('ETHUSDT'))).toBe(true); // within the grace period
    await waitFor(() => !upstreamTopics(sim).some((t) => t.includes('ETHUSDT')), 10000, 'ETHUSDT released upstream');
    expect(Date.now() - releasedAt).toBeGreaterThanOrEqual(350);
    expect(upstreamTopics(sim).some((t) => t.includes('BTCUSDT'))).toBe(true);
  }, 60_000);

  it('an unknown symbol gets an error naming the venue and the symbol', async () => {
    const rec = loadRecording(bybitPath!);
    const sim = await simulate(rec);
    const gw = await gateway(sim.wsBase('bybit'), sim.restBase('bybit'));
    await waitFor(() => gw.runners.get('bybit')!.instruments.size > 0, 10000, 'instruments');
    const { ws, msgs } = await client(gw.wsPort);
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: 'bybit:NOPE/USDT:book' }));
    const err = await waitFor(() => msgs.find((m) => m.type === 'error'), 5000, 'error');
    expect(err.code).toBe('INSTRUMENT_UNKNOWN');
    expect(err.message).toContain('bybit');
    expect(err.message).toContain('NOPE/USDT');
  }, 30_000);

  it('a subscription made while the venue is not up yet is pending, then delivers data once the simulator starts', async () => {
    const port = await freePort();
    const gw = await gateway(`ws://127.0.0.1:${port}/bybit`, `http://127.0.0.1:${port}/bybit`);
    const { ws, msgs } = await client(gw.wsPort);
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: ETH_BOOK }));
    const pending = await waitFor(() => msgs.find((m) => m.type === 'subscription_pending'), 5000, 'pending');
    expect(pending.feed_id).toBe(ETH_BOOK);
    expect(typeof pending.reason).toBe('string');
    expect(msgs.some((m) => m.type === 'subscription_confirmed' || m.type === 'book_snapshot')).toBe(false);

    const sim = await simulate(loadRecording(bybitPath!), port);
    const snap = await waitFor(() => msgs.find((m) => m.type === 'book_snapshot' && m.feed_id === ETH_BOOK), 30000, 'ETH snapshot after start');
    const order = msgs.filter((m) => m.feed_id === ETH_BOOK).map((m) => m.type);
    expect(order.slice(0, 3)).toEqual(['subscription_pending', 'subscription_confirmed', 'book_snapshot']);
    expect(snap.bids.length).toBeGreaterThan(0);
    expect(upstreamTopics(sim).some((t) => t.includes('ETHUSDT'))).toBe(true);
  }, 60_000);
});
