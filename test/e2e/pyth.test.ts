/**
 * End to end, Pyth: the CLI as a child process with the simulator serving the project's Hermes fixture as an SSE
 * stream → the gateway's Pyth source → real clients: our WebSocket protocol (`price_update` in the seed format),
 * REST, the Hermes-compatible API driven by `@pythnetwork/hermes-client`, and Hermes' WebSocket messages. Also
 * `tributary start --pyth-sse-url` against a local Hermes stand-in, offline retries, and `replay --exit-on-end`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HermesClient } from '@pythnetwork/hermes-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pythSseReplayHooks } from '../../src/oracles/pyth/decode.ts';
import { PriceUpdateMessageSchema, type PriceUpdateMessage } from '../../src/protocol/messages.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const root = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const FIXTURE = join(root, 'test/fixtures/pyth/hermes.jsonl');
const BTC = 'e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
const ETH = 'ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace';
const XAU = '765d2ba906dbc32ca17cc11f5310a89e9ee1f6420508c63861f2f8ba4ee34bb2';

function run(args: string[]): { child: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(root, 'bin/tributary.js'), ...args], { cwd: root, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

type Msg = Record<string, unknown>;

async function client(url: string): Promise<{ ws: WebSocket; msgs: Msg[] }> {
  const ws = new WebSocket(url);
  const msgs: Msg[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as Msg));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return { ws, msgs };
}

/** Checks one `price_update` against the seed format and the fixture's BTC prices. */
function checkSeedFormat(m: Msg, feed: string): PriceUpdateMessage['data'] {
  const parsed = PriceUpdateMessageSchema.parse(m);
  const d = parsed.data;
  expect(d.feed_id).toBe(feed);
  expect(d.source).toBe('pyth');
  expect(d.status).toBe('trading');
  expect(d.exponent).toBe(-8);
  expect(d.price).toBe(Number(d.price_raw) / 1e8);
  expect(d.confidence).toBe(Number(d.conf_raw) / 1e8);
  expect(d.timestamp).toBe(new Date(d.publish_time * 1000).toISOString());
  return d;
}

describe('e2e: replay of the Pyth fixture (simulator SSE → gateway → clients)', () => {
  let proc: ReturnType<typeof run>;
  let wsUrl = '';
  let api = '';

  beforeAll(async () => {
    proc = run(['replay', FIXTURE, '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1', '--speed', '4', '--loop', '0']);
    await waitFor(() => /WebSocket: (ws:\/\/\S+)/.test(proc.out()) && /REST:\s+(http:\/\/[\d.:]+)/.test(proc.out()), 20000, `replay to start; output: ${proc.out()}`);
    wsUrl = /WebSocket: (ws:\/\/\S+)/.exec(proc.out())![1];
    api = /REST:\s+(http:\/\/[\d.:]+)/.exec(proc.out())![1];
  });

  afterAll(async () => {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
  });

  it('a WebSocket client subscribed to a Pyth feed id receives price_update messages in the seed format', async () => {
    const { ws, msgs } = await client(wsUrl);
    await waitFor(() => msgs.find((m) => m.type === 'connection_established'));
    // Any spelling of the id works; the gateway names the feed 0x + lower case.
    ws.send(JSON.stringify({ type: 'subscribe', feed_id: BTC.toUpperCase() }));
    await waitFor(() => msgs.find((m) => m.type === 'subscription_confirmed'));
    expect(msgs.find((m) => m.type === 'subscription_confirmed')!.feed_id).toBe(`0x${BTC}`);
    await waitFor(() => msgs.filter((m) => m.type === 'price_update').length >= 4, 15000, 'price updates');
    const updates = msgs.filter((m) => m.type === 'price_update').map((m) => checkSeedFormat(m, `0x${BTC}`));
    for (const d of updates) {
      expect(d.price).toBeGreaterThan(64_000);
      expect(d.price).toBeLessThan(66_000);
      expect(d.symbol).toBe('Crypto.BTC/USD');
    }
    for (let i = 1; i < updates.length; i++) expect(updates[i].publish_time).toBeGreaterThanOrEqual(updates[i - 1].publish_time);
    // The same feed by its 0x spelling is the same subscription; unsubscribing by either spelling works.
    ws.send(JSON.stringify({ type: 'unsubscribe', feed_id: BTC }));
    await waitFor(() => msgs.find((m) => m.type === 'unsubscription_confirmed'));
    expect(msgs.find((m) => m.type === 'unsubscription_confirmed')!.feed_id).toBe(`0x${BTC}`);
    ws.close();
  });

  it('lists Pyth feeds in get_available_feeds and GET /feeds, finds catalog feeds by symbol', async () => {
    const { ws, msgs } = await client(wsUrl);
    ws.send(JSON.stringify({ type: 'get_available_feeds' }));
    const all = (await waitFor(() => msgs.find((m) => m.type === 'available_feeds'))).feeds as Msg[];
    const pyth = all.filter((f) => f.venue === 'pyth');
    expect(pyth.map((f) => f.id)).toEqual([`0x${BTC}`, `0x${ETH}`, '0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d']);
    await waitFor(async () => {
      const r = (await (await fetch(`${api}/feeds`)).json()) as { feeds: Msg[] };
      return r.feeds.filter((f) => f.venue === 'pyth' && f.status === 'trading').length === 3;
    }, 10000, 'three trading Pyth feeds');
    const rest = ((await (await fetch(`${api}/feeds`)).json()) as { feeds: Msg[] }).feeds.find((f) => f.id === `0x${BTC}`)!;
    // Seed compatibility: `symbol` is the canonical BTC/USD; Pyth's own symbol stays as `source_symbol`.
    expect(rest).toMatchObject({ feed_id: `0x${BTC}`, id: `0x${BTC}`, symbol: 'BTC/USD', source_symbol: 'Crypto.BTC/USD', channel: 'price', expo: -8, status: 'trading' });
    expect(typeof rest.price).toBe('number');
    expect(typeof rest.conf).toBe('number');
    ws.send(JSON.stringify({ type: 'get_available_feeds', query: 'xau' }));
    await waitFor(() => msgs.filter((m) => m.type === 'available_feeds').length === 2);
    const found = msgs.filter((m) => m.type === 'available_feeds')[1].feeds as Msg[];
    expect(found).toEqual([expect.objectContaining({ id: `0x${XAU}`, symbol: 'XAU/USD', source_symbol: 'Metal.XAU/USD', status: 'unknown', price: null, asset_type: 'metal' })]);
    ws.close();
  });

  it('answers the Hermes paths for @pythnetwork/hermes-client: getPriceFeeds, getLatestPriceUpdates, getPriceUpdatesStream', async () => {
    const hc = new HermesClient(api, { timeout: 5000, httpRetries: 0 });
    const btcFeeds = await hc.getPriceFeeds({ query: 'btc', assetType: 'crypto' });
    expect(btcFeeds).toEqual([{ id: BTC, attributes: expect.objectContaining({ symbol: 'Crypto.BTC/USD', asset_type: 'Crypto', base: 'BTC', quote_currency: 'USD' }) }]);
    expect((await hc.getPriceFeeds({ assetType: 'fx' })).map((f) => f.attributes.symbol)).toEqual(['FX.EUR/USD']);
    expect(await hc.getPriceFeeds()).toHaveLength(6);

    const latest = await waitFor(async () => {
      const u = await hc.getLatestPriceUpdates([BTC, `0x${ETH}`], { parsed: true });
      return u.parsed?.length === 2 ? u : undefined;
    }, 10000, 'latest prices');
    expect(latest.parsed!.map((p) => p.id)).toEqual([BTC, ETH]);
    expect(latest.parsed![0].price.expo).toBe(-8);
    expect(Number(latest.parsed![0].price.price) / 1e8).toBeGreaterThan(64_000);
    expect(latest.parsed![0].metadata.slot).toBeGreaterThan(0);
    // The upstream binary payload is passed through (the fixture's marker blobs), re-encoded on request.
    expect(latest.binary.encoding).toBe('hex');
    expect(Buffer.from(latest.binary.data[0], 'hex').toString('ascii')).toMatch(/^tributary-fixture:not-a-vaa:slot=\d+$/);
    const b64 = await hc.getLatestPriceUpdates([BTC], { encoding: 'base64', parsed: false });
    expect(b64.parsed).toBeUndefined();
    expect(Buffer.from(b64.binary.data[0], 'base64').toString('ascii')).toMatch(/^tributary-fixture:/);

    const es = await hc.getPriceUpdatesStream([ETH], { parsed: true });
    const got: { parsed: { id: string; price: { price: string } }[]; binary: { data: string[] } }[] = [];
    es.onmessage = (e: MessageEvent) => got.push(JSON.parse(String(e.data)));
    try {
      await waitFor(() => got.length >= 2, 15000, 'SSE events');
    } finally {
      es.close();
    }
    for (const g of got) {
      expect(g.parsed.map((p) => p.id)).toEqual([ETH]);
      expect(Number(g.parsed[0].price.price) / 1e8).toBeGreaterThan(1_900);
      expect(g.binary.data).toHaveLength(1);
    }
  });

  it('answers Hermes errors like Hermes', async () => {
    const unknown = 'ab'.repeat(32);
    const r404 = await fetch(`${api}/v2/updates/price/latest?ids[]=${unknown}`);
    expect(r404.status).toBe(404);
    expect(await r404.text()).toBe(`Price ids not found: ${unknown}`);
    expect((await fetch(`${api}/v2/updates/price/latest?ids[]=xyz`)).status).toBe(400);
    expect((await fetch(`${api}/v2/price_feeds?asset_type=stocks`)).status).toBe(400);
    const ignored = await fetch(`${api}/v2/updates/price/latest?ids[]=${unknown}&ids[]=${BTC}&ignore_invalid_price_ids=true`);
    expect(ignored.status).toBe(200);
    expect(((await ignored.json()) as { parsed: { id: string }[] }).parsed.map((p) => p.id)).toEqual([BTC]);
  });

  it("speaks Hermes' WebSocket messages on /ws: subscribe → response, then price_update; unsubscribe → response", async () => {
    const { ws, msgs } = await client(`${wsUrl}/ws`);
    ws.send(JSON.stringify({ type: 'subscribe', ids: [`0x${BTC}`], verbose: true }));
    await waitFor(() => msgs.length >= 1);
    expect(msgs[0]).toEqual({ type: 'response', status: 'success' });
    await waitFor(() => msgs.filter((m) => m.type === 'price_update').length >= 2, 15000, 'Hermes price updates');
    const pu = msgs.find((m) => m.type === 'price_update') as { price_feed: Record<string, unknown> };
    expect(pu.price_feed).toMatchObject({
      id: BTC,
      price: { price: expect.stringMatching(/^\d+$/), conf: expect.stringMatching(/^\d+$/), expo: -8, publish_time: expect.any(Number) },
      ema_price: { expo: -8 },
      metadata: { emitter_chain: 26, slot: expect.any(Number), price_service_receive_time: expect.any(Number), prev_publish_time: expect.any(Number) },
    });
    expect(msgs.some((m) => m.type === 'connection_established')).toBe(false);
    ws.send(JSON.stringify({ type: 'subscribe', ids: ['ab'.repeat(32)] }));
    await waitFor(() => msgs.some((m) => m.type === 'response' && m.status === 'error'));
    expect(msgs.find((m) => m.status === 'error')!.error).toMatch(/not found/);
    ws.send(JSON.stringify({ type: 'unsubscribe', ids: [BTC] }));
    await waitFor(() => msgs.filter((m) => m.type === 'response' && m.status === 'success').length === 2);
    ws.close();
  });

  it('reports the oracle in /health and /metrics', async () => {
    const h = (await (await fetch(`${api}/health`)).json()) as { oracles: Msg[] };
    expect(h.oracles).toEqual([expect.objectContaining({ source: 'pyth', connected: true, feeds: expect.any(Number), catalog: { feeds: 6, loaded_at: expect.any(Number) } })]);
    await waitFor(async () => /tributary_oracle_price_updates_total\{source="pyth"\} [1-9]/.test(await (await fetch(`${api}/metrics`)).text()), 5000, 'oracle metrics');
  });
});

describe('e2e: replay --exit-on-end of the Pyth fixture', () => {
  it('plays the fixture offline to the end and exits 0', async () => {
    const p = run(['replay', FIXTURE, '--speed', 'max', '--exit-on-end', '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1']);
    const code = await p.exited;
    expect(code, p.out()).toBe(0);
    expect(p.out()).toMatch(/replay finished: 45 frames/);
  }, 30000);
});

describe('e2e: record --venue pyth', () => {
  it('records the catalog and the SSE events in the recording format, and the recording replays', async () => {
    const sim = await startSimulator({ recordings: [loadRecording(FIXTURE)], hooks: () => undefined, sseHooks: () => pythSseReplayHooks, speed: 20, loop: 0 });
    const out = join(mkdtempSync(join(tmpdir(), 'trib-pyth-rec-')), 'pyth.jsonl.gz');
    try {
      const p = run(['record', '--venue', 'pyth', '--out', out, '--duration', '2', '--pyth-sse-url', `${sim.restBase('pyth')}/v2/updates/price/stream`, '--pyth-feeds', BTC]);
      expect(await p.exited, p.out()).toBe(0);
      expect(p.out()).toMatch(/recorded [1-9]\d* events from pyth/);
    } finally {
      await sim.close();
    }
    const rec = loadRecording(out);
    expect(rec.header.exchange).toBe('PYTH');
    expect(rec.records.filter((r) => r.t === 'http').map((r) => (r.t === 'http' ? new URL(r.url).pathname : ''))).toEqual(['/pyth/v2/price_feeds']);
    const sse = rec.records.filter((r) => r.t === 'sse');
    expect(sse.length).toBeGreaterThan(5);
    for (const r of sse) {
      if (r.t !== 'sse') continue;
      expect(new URL(r.url).searchParams.getAll('ids[]')).toEqual([BTC]);
      expect((JSON.parse(r.data) as { parsed: { id: string }[] }).parsed.map((x) => x.id)).toEqual([BTC]);
      expect(r.id).toMatch(/^\d+$/); // the simulator numbers its events
    }
    const replay = run(['replay', out, '--speed', 'max', '--exit-on-end', '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1']);
    expect(await replay.exited, replay.out()).toBe(0);
    expect(replay.out()).toContain(`replay finished: ${sse.length} frames`);
  }, 40000);
});

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('e2e: tributary start with --pyth-sse-url', () => {
  let sim: Simulator | undefined;
  afterAll(async () => sim?.close());

  async function startGateway(pythUrl: string, extra: string[] = []) {
    const dead = await closedPort();
    const cfg = join(mkdtempSync(join(tmpdir(), 'trib-pyth-')), 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        venues: { bybit: { wsBase: `ws://127.0.0.1:${dead}`, restBase: `http://127.0.0.1:${dead}` } },
        transport: { backoffBaseMs: 50, backoffCapMs: 200 },
      }),
    );
    const p = run(['start', '--config', cfg, '--venues', 'bybit', '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1', '--log-level', 'info', '--pyth-sse-url', pythUrl, ...extra]);
    const line = await waitFor(() => p.out().split('\n').find((l) => l.includes('tributary started')), 20000, `start; output: ${p.out()}`);
    return { p, ws: /"ws":"(ws:\/\/[^"]+)"/.exec(line)![1], api: /"api":"(http:\/\/[^"]+)"/.exec(line)![1], line };
  }

  it('streams Pyth prices for the configured feeds from the given Hermes URL', async () => {
    sim = await startSimulator({ recordings: [loadRecording(FIXTURE)], hooks: () => undefined, sseHooks: () => pythSseReplayHooks, speed: 4, loop: 0 });
    const { p, ws: wsUrl, line } = await startGateway(`${sim.restBase('pyth')}/v2/updates/price/stream`, ['--pyth-feeds', `${ETH},Crypto.BTC/USD`]);
    try {
      expect(line).toContain(`0x${ETH}`);
      const { ws, msgs } = await client(wsUrl);
      ws.send(JSON.stringify({ type: 'subscribe', feed_id: `0x${BTC}` })); // a symbol in --pyth-feeds, resolved via the catalog
      await waitFor(() => msgs.filter((m) => m.type === 'price_update').length >= 2, 20000, `price updates; output: ${p.out()}`);
      for (const m of msgs.filter((x) => x.type === 'price_update')) checkSeedFormat(m, `0x${BTC}`);
      ws.close();
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 40000);

  it('keeps retrying while Hermes is unreachable and reports it in /health', async () => {
    const dead = await closedPort();
    const { p, api } = await startGateway(`http://127.0.0.1:${dead}/v2/updates/price/stream`);
    try {
      const h = await waitFor(async () => {
        const body = (await (await fetch(`${api}/health`)).json()) as { oracles: { connected: boolean; reconnects: number }[] };
        return body.oracles[0].reconnects >= 3 ? body : undefined;
      }, 15000, 'Pyth reconnects');
      expect(h.oracles[0].connected).toBe(false);
      expect(p.child.exitCode).toBeNull();
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 40000);
});
