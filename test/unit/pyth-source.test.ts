/**
 * The Pyth source against a local stand-in for Hermes (catalog + SSE stream over real sockets): feed resolution
 * (ids and catalog symbols), publishing on the bus, de-duplication and ordering, stale detection, counted drops,
 * run-time feed additions (rollover to the new feed set) and a catalog that is down.
 */
import { createServer, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PythSource } from '../../src/oracles/pyth/source.ts';
import { Bus } from '../../src/bus/bus.ts';
import type { OraclePriceMsg } from '../../src/core/events.ts';
import { createHttp } from '../../src/transport/http.ts';
import { waitFor } from '../helpers/wait.ts';

const CATALOG = readFileSync(fileURLToPath(new URL('../fixtures/pyth/price_feeds.json', import.meta.url)), 'utf8');
const BTC = 'e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
const ETH = 'ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace';
const XAU = '765d2ba906dbc32ca17cc11f5310a89e9ee1f6420508c63861f2f8ba4ee34bb2';
const SILENT = { info() {}, warn() {}, debug() {} };

const entry = (id: string, publish: number, slot: number, price = '6500000000000') => ({
  id,
  price: { price, conf: '2000000000', expo: -8, publish_time: publish },
  ema_price: { price, conf: '2100000000', expo: -8, publish_time: publish },
  metadata: { slot, proof_available_time: publish + 1, prev_publish_time: publish - 1 },
});

/** A minimal Hermes stand-in. */
async function fakeHermes(opts: { catalogDown?: boolean } = {}) {
  const streams = new Set<ServerResponse>();
  const streamUrls: URL[] = [];
  let catalogRequests = 0;
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/price_feeds') {
      catalogRequests++;
      if (opts.catalogDown) res.writeHead(503).end('down');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(CATALOG);
      return;
    }
    if (url.pathname === '/v2/updates/price/stream') {
      streamUrls.push(url);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    sseUrl: `${base}/v2/updates/price/stream`,
    streamUrls,
    get catalogRequests() {
      return catalogRequests;
    },
    get open() {
      return streams.size;
    },
    /** Writes raw SSE text to every open stream. */
    raw(text: string) {
      for (const s of streams) s.write(text);
    },
    push(parsed: unknown[]) {
      this.raw(`data:${JSON.stringify({ binary: { encoding: 'hex', data: ['abcd'] }, parsed })}\n\n`);
    },
    close: () =>
      new Promise<void>((ok) => {
        srv.closeAllConnections();
        srv.close(() => ok());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Partial<ConstructorParameters<typeof PythSource>[0]> & { catalogDown?: boolean } = {}) {
  const hermes = await fakeHermes({ catalogDown: opts.catalogDown });
  const bus = new Bus();
  const batches: OraclePriceMsg[] = [];
  bus.on('oracle_price', (b) => batches.push(b));
  const stale: string[] = [];
  const src = new PythSource({
    sseUrl: hermes.sseUrl,
    feeds: [BTC],
    http: createHttp({ timeoutMs: 2000 }),
    bus,
    log: SILENT,
    backoff: { baseMs: 10, capMs: 50 },
    onStale: (id) => stale.push(id),
    ...opts,
  });
  cleanups.push(hermes.close, () => src.stop());
  return { hermes, bus, batches, stale, src };
}

describe('PythSource', () => {
  it('streams configured ids and catalog symbols (parsed=true, ids[] per feed) and publishes prices on the bus', async () => {
    const { hermes, src, batches } = await setup({ feeds: [BTC, 'Crypto.ETH/USD'] });
    src.start();
    // ETH is a symbol: it joins once the catalog is loaded, by a rollover to the new feed set.
    await waitFor(() => hermes.streamUrls.some((u) => u.searchParams.getAll('ids[]').length === 2), 5000, 'stream with both feeds');
    const u = hermes.streamUrls[hermes.streamUrls.length - 1];
    expect(u.searchParams.getAll('ids[]')).toEqual([BTC, ETH]);
    expect(u.searchParams.get('parsed')).toBe('true');
    expect(u.searchParams.get('ignore_invalid_price_ids')).toBe('true');
    expect(src.feedIds()).toEqual([`0x${BTC}`, `0x${ETH}`]);
    expect(src.meta(`0x${ETH}`)?.symbol).toBe('Crypto.ETH/USD');
    await waitFor(() => hermes.open === 2, 5000, 'both streams open');
    // The same event on both streams: the new stream takes over on its first event, the copy is a duplicate.
    hermes.push([entry(BTC, 1000, 10), entry(ETH, 1000, 10, '192200000000')]);
    await waitFor(() => hermes.open === 1, 5000, 'old stream closed after the rollover');
    await waitFor(() => batches.length === 1);
    expect(batches[0].updates.map((x) => [x.id, x.priceNum])).toEqual([
      [`0x${BTC}`, 65000],
      [`0x${ETH}`, 1922],
    ]);
    expect(batches[0]).toMatchObject({ kind: 'oracle_price', source: 'pyth' });
    // Each price carries the source's own symbol, the canonical instrument it prices and its status.
    expect(batches[0].updates.map((x) => [x.symbol, x.instrument, x.status])).toEqual([
      ['Crypto.BTC/USD', 'BTC/USD', 'trading'],
      ['Crypto.ETH/USD', 'ETH/USD', 'trading'],
    ]);
    expect(batches[0].binary).toEqual({ encoding: 'hex', data: ['abcd'] });
    expect(src.status(`0x${BTC}`)).toBe('trading');
    expect(src.health()).toMatchObject({ source: 'pyth', connected: true, feeds: 2, staleFeeds: 0, catalog: { feeds: 6 } });
  });

  it('drops duplicates and out-of-order prices; accepts a newer slot at the same publish time', async () => {
    const { hermes, src, batches } = await setup();
    src.start();
    await waitFor(() => hermes.open === 1);
    hermes.push([entry(BTC, 1000, 10)]);
    hermes.push([entry(BTC, 1000, 10)]); // duplicate (e.g. two streams overlapping in a rollover)
    hermes.push([entry(BTC, 999, 9)]); // older
    hermes.push([entry(BTC, 1000, 11, '6500100000000')]); // same second, newer slot
    hermes.push([entry(BTC, 1001, 12)]);
    await waitFor(() => src.counters.events === 5);
    expect(batches.map((b) => b.updates[0].slot)).toEqual([10, 11, 12]);
    expect(src.counters.updates).toBe(3);
    expect(src.counters.dropped).toMatchObject({ duplicate: 1, out_of_order: 1 });
  });

  it('marks a feed stale when publish_time stops advancing, and trading again when it advances', async () => {
    const { hermes, src, stale, batches } = await setup({ staleAfterMs: 150 });
    src.start();
    await waitFor(() => hermes.open === 1);
    hermes.push([entry(BTC, 2000, 20)]);
    await waitFor(() => batches.length === 1);
    // Updates keep coming, but with the same publish_time (new slots): that is not an advance.
    hermes.push([entry(BTC, 2000, 21)]);
    await waitFor(() => stale.length === 1, 3000, 'stale');
    expect(stale).toEqual([`0x${BTC}`]);
    expect(src.status(`0x${BTC}`)).toBe('stale');
    expect(src.state(`0x${BTC}`)?.last?.slot).toBe(21);
    expect(src.health().staleFeeds).toBe(1);
    expect(src.counters.errors.ORACLE_STALE).toBe(1);
    // The stale status is published on the bus (the price as last received, marked stale).
    const staleBatch = batches.find((b) => b.updates.some((u) => u.status === 'stale'));
    expect(staleBatch?.updates.map((u) => [u.id, u.slot, u.status])).toEqual([[`0x${BTC}`, 21, 'stale']]);
    hermes.push([entry(BTC, 2001, 22)]);
    await waitFor(() => src.status(`0x${BTC}`) === 'trading');
    expect(src.staleFeeds).toBe(0);
    await waitFor(() => batches.at(-1)?.updates[0].slot === 22, 3000, 'trading price on the bus');
    expect(batches.at(-1)!.updates[0].status).toBe('trading');
  });

  it('counts malformed events, unknown feeds and `event: error` without breaking the stream', async () => {
    const { hermes, src, batches } = await setup();
    src.start();
    await waitFor(() => hermes.open === 1);
    hermes.raw('data: {not json\n\n');
    hermes.raw('event: error\ndata: Connection timeout reached (24h)\n\n');
    hermes.raw('event: ping\ndata: x\n\n');
    hermes.push([entry(XAU, 5, 5), { id: BTC, price: 'bad' }]);
    hermes.push([entry(BTC, 3000, 30)]);
    await waitFor(() => batches.length === 1);
    expect(src.counters.dropped).toMatchObject({ malformed_event: 1, unknown_event: 1, unsubscribed: 1, malformed_entry: 1 });
    expect(src.counters.errors).toMatchObject({ PROTOCOL_MALFORMED: 1, STREAM_ERROR_EVENT: 1 });
    expect(src.lastError?.code).toBe('STREAM_ERROR_EVENT');
  });

  it('adds catalog feeds at run time (rolling the stream over), refuses unknown ids and respects maxFeeds', async () => {
    const { hermes, src } = await setup({ maxFeeds: 2 });
    src.start();
    await waitFor(() => src.catalogInfo.feeds === 6 && hermes.open === 1);
    expect(src.addFeed(`0x${'ab'.repeat(32)}`)).toBe(false);
    expect(src.addFeed(`0x${XAU}`)).toBe(true);
    expect(src.addFeed(`0x${ETH}`)).toBe(false); // limit
    await waitFor(() => hermes.streamUrls.length === 2 && hermes.open === 2, 5000, 'replacement stream');
    expect(hermes.streamUrls[1].searchParams.getAll('ids[]')).toEqual([BTC, XAU]);
    hermes.push([entry(XAU, 7, 7)]);
    await waitFor(() => hermes.open === 1, 5000, 'old stream closed');
    expect(src.state(`0x${XAU}`)?.last?.slot).toBe(7);
    expect(src.search('xau').map((m) => m.symbol)).toEqual(['Metal.XAU/USD']);
    expect(src.catalogEntries(undefined, 'crypto')).toHaveLength(4);
  });

  it('keeps retrying the catalog while it is down and streams configured ids meanwhile', async () => {
    const { hermes, src, batches } = await setup({ catalogDown: true });
    src.start();
    await waitFor(() => hermes.open === 1);
    hermes.push([entry(BTC, 4000, 40)]);
    await waitFor(() => batches.length === 1);
    await waitFor(() => hermes.catalogRequests >= 3, 5000, 'catalog retries');
    expect(src.counters.errors.HTTP_ERROR).toBeGreaterThanOrEqual(2);
    // Without the catalog the built-in entries of the default feeds answer.
    expect(src.meta(`0x${BTC}`)?.symbol).toBe('Crypto.BTC/USD');
    expect(src.catalogEntries('eth')).toEqual([{ id: ETH, attributes: expect.objectContaining({ symbol: 'Crypto.ETH/USD' }) }]);
  });
});
