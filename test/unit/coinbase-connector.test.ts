/**
 * Coinbase connector: capabilities, plan (subscribe frames, connection split), JWT and connect spacing in
 * prepareConnection, resubscribe frames, instruments against the recorded products body, and the replay hooks.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  COINBASE_CONNECTION_TOPIC,
  COINBASE_MAX_BOOKS_PER_CONNECTION,
  coinbaseConnector,
  coinbaseInstrument,
  createCoinbaseConnector,
  type CoinbaseInstrument,
} from '../../src/venues/coinbase/connector.ts';
import type { ConnectionPlan, Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = coinbaseConnector.defaultEndpoints;

function inst(id: string): Instrument {
  const [base, quote] = id.split('-');
  return { venue: 'coinbase', key: instrumentKey('spot', id), venueSymbol: id, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

function sub(id: string, channel: Channel): Subscription {
  return { instrument: inst(id), channel };
}

function frames(p: ConnectionPlan): { type: string; channel: string; product_ids: string[]; jwt?: string }[] {
  return p.subscribeFrames.map((f) => JSON.parse(f));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('coinbase capabilities', () => {
  it('stream snapshots, no per-book sequence (the decoder checks the connection), documented source, full-depth books', () => {
    expect(coinbaseConnector.venue).toBe('coinbase');
    expect(coinbaseConnector.capabilities.bookSync).toEqual({
      snapshot: 'stream',
      sequence: 'none',
      source: 'https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2',
    });
    expect([...coinbaseConnector.capabilities.channels].sort()).toEqual(['book', 'ticker', 'trades']);
    expect(coinbaseConnector.capabilities.defaultDepth).toBe(Number.POSITIVE_INFINITY);
    expect(coinbaseConnector.defaultEndpoints).toEqual({ wsBase: 'wss://advanced-trade-ws.coinbase.com', restBase: 'https://api.coinbase.com' });
    // No checksum on Coinbase: the connector declares none.
    expect(coinbaseConnector.checksum).toBeUndefined();
    expect(coinbaseConnector.bookSnapshot).toBeUndefined();
  });
});

describe('coinbase plan', () => {
  it('one connection; heartbeats first, then one subscribe per channel in use, as recorded', () => {
    const plans = coinbaseConnector.plan(
      [sub('BTC-USD', 'book'), sub('BTC-USD', 'trades'), sub('BTC-USD', 'ticker'), sub('ETH-USD', 'book'), sub('ETH-USD', 'ticker')],
      EP,
    );
    expect(plans).toHaveLength(1);
    const [p] = plans;
    expect(p.id).toBe('spot-0');
    expect(p.url).toBe('wss://advanced-trade-ws.coinbase.com');
    expect(p.subscribeFrames).toEqual([
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}',
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}',
      '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"market_trades"}',
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"ticker"}',
    ]);
    expect(p.subscriptions).toHaveLength(5);
    expect(p.heartbeat).toEqual({ kind: 'none' });
    expect(p.staleAfterMs).toBe(30_000);
  });

  it(`at most ${COINBASE_MAX_BOOKS_PER_CONNECTION} level2 products per connection; a product's channels stay together`, () => {
    const ids = ['A-USD', 'B-USD', 'C-USD', 'D-USD', 'E-USD', 'F-USD'];
    const subs = [...ids.map((id) => sub(id, 'book')), sub('A-USD', 'trades'), sub('F-USD', 'ticker'), sub('Z-USD', 'ticker')];
    const plans = coinbaseConnector.plan(subs, EP);
    expect(plans.map((p) => p.id)).toEqual(['spot-0', 'spot-1']);
    expect(frames(plans[0]).map((f) => [f.channel, f.product_ids])).toEqual([
      ['heartbeats', ['A-USD', 'B-USD', 'C-USD', 'D-USD']],
      ['level2', ['A-USD', 'B-USD', 'C-USD', 'D-USD']],
      ['market_trades', ['A-USD']],
    ]);
    expect(frames(plans[1]).map((f) => [f.channel, f.product_ids])).toEqual([
      ['heartbeats', ['E-USD', 'F-USD', 'Z-USD']],
      ['level2', ['E-USD', 'F-USD']],
      ['ticker', ['F-USD', 'Z-USD']],
    ]);
    expect(plans.flatMap((p) => p.subscriptions)).toHaveLength(subs.length);
    // Every connection opens with at most 4 subscribe messages (≤ the 8/s unauthenticated limit with the spacing).
    for (const p of plans) expect(p.subscribeFrames.length).toBeLessThanOrEqual(4);
  });

  it('caps products per connection (ticker-only products too) and honours the factory limits', () => {
    const many = Array.from({ length: 120 }, (_, i) => sub(`T${i}-USD`, 'ticker'));
    expect(coinbaseConnector.plan(many, EP).map((p) => p.subscriptions.length)).toEqual([50, 50, 20]);
    const small = createCoinbaseConnector({ maxBooksPerConnection: 1, maxProductsPerConnection: 2 });
    expect(small.plan([sub('A-USD', 'book'), sub('B-USD', 'book'), sub('C-USD', 'trades'), sub('D-USD', 'trades'), sub('E-USD', 'trades')], EP).map((p) => p.subscriptions.map((s) => s.instrument.venueSymbol))).toEqual([
      ['A-USD'],
      ['B-USD', 'C-USD'],
      ['D-USD', 'E-USD'],
    ]);
  });

  it('the URL is the endpoint base (any path kept, for the simulator); non-spot instruments are rejected', () => {
    const [p] = coinbaseConnector.plan([sub('BTC-USD', 'book')], { wsBase: 'ws://127.0.0.1:9000/coinbase/', restBase: 'http://127.0.0.1:9000/coinbase' });
    expect(p.url).toBe('ws://127.0.0.1:9000/coinbase');
    expect(() => coinbaseConnector.plan([{ instrument: { ...inst('BTC-PERP'), type: 'linear' }, channel: 'book' }], EP)).toThrowError(TributaryError);
    expect(coinbaseConnector.plan([], EP)).toEqual([]);
  });
});

describe('coinbase prepareConnection', () => {
  it('adds a fresh JWT to every subscribe request when a provider is configured', async () => {
    let n = 0;
    const c = createCoinbaseConnector({ jwt: () => `token-${++n}`, connectSpacingMs: 0 });
    const [p] = c.plan([sub('BTC-USD', 'book')], EP);
    const http: Http = { get: async () => '' };
    const a = await c.prepareConnection!(p, http, EP);
    expect(frames(a).map((f) => f.jwt)).toEqual(['token-1', 'token-1']);
    expect(a.subscribeFrames[1]).toBe('{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2","jwt":"token-1"}');
    const b = await c.prepareConnection!(p, http, EP);
    expect(frames(b)[0].jwt).toBe('token-2');
    // The plan itself stays unauthenticated (plan() is pure).
    expect(frames(p)[0].jwt).toBeUndefined();
  });

  it('without a provider the plan is unchanged; a failing provider fails the attempt with VENUE_AUTH', async () => {
    const http: Http = { get: async () => '' };
    const [p] = coinbaseConnector.plan([sub('BTC-USD', 'book')], EP);
    expect(await coinbaseConnector.prepareConnection!(p, http, EP)).toBe(p);
    const bad = createCoinbaseConnector({ jwt: () => { throw new Error('no key'); }, connectSpacingMs: 0 });
    await expect(bad.prepareConnection!(p, http, EP)).rejects.toMatchObject({ code: 'VENUE_AUTH' });
  });

  it('connection spot-k waits k seconds before connecting (one connection per second)', async () => {
    vi.useFakeTimers();
    const http: Http = { get: async () => '' };
    const plans = coinbaseConnector.plan(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].map((x) => sub(`${x}-USD`, 'book')), EP);
    expect(plans.map((p) => p.id)).toEqual(['spot-0', 'spot-1', 'spot-2']);
    const done: string[] = [];
    for (const p of plans) void coinbaseConnector.prepareConnection!(p, http, EP).then((x) => done.push(x.id));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual(['spot-0']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(done).toEqual(['spot-0', 'spot-1']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(done).toEqual(['spot-0', 'spot-1', 'spot-2']);
  });
});

describe('coinbase resubscribe', () => {
  it('unsubscribe then subscribe of the product level2 (a subscribe is answered with a snapshot), with a JWT when configured', () => {
    expect(coinbaseConnector.resubscribeFrames!(sub('ETH-USD', 'book'))).toEqual([
      '{"type":"unsubscribe","product_ids":["ETH-USD"],"channel":"level2"}',
      '{"type":"subscribe","product_ids":["ETH-USD"],"channel":"level2"}',
    ]);
    const c = createCoinbaseConnector({ jwt: () => 'tok' });
    expect(c.resubscribeFrames!(sub('ETH-USD', 'book')).map((f) => JSON.parse(f).jwt)).toEqual(['tok', 'tok']);
    const failing = createCoinbaseConnector({ jwt: () => { throw new Error('x'); } });
    expect(failing.resubscribeFrames!(sub('ETH-USD', 'book')).map((f) => JSON.parse(f).jwt)).toEqual([undefined, undefined]);
  });
});

describe('coinbase instruments', () => {
  it('maps spot products; skips futures, delisted and incomplete entries; keeps the alias', () => {
    expect(
      coinbaseInstrument({ product_id: 'BTC-USD', base_currency_id: 'BTC', quote_currency_id: 'USD', product_type: 'SPOT', status: 'online', price_increment: '0.01', quote_increment: '0.01', base_increment: '0.00000001', alias: '' }),
    ).toEqual({ venue: 'coinbase', key: 'spot:BTC-USD', venueSymbol: 'BTC-USD', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', type: 'spot', tickSize: '0.01', lotSize: '0.00000001' });
    expect(coinbaseInstrument({ product_id: 'BTC-USDC', base_currency_id: 'BTC', quote_currency_id: 'USDC', alias: 'BTC-USD' })).toMatchObject({ symbol: 'BTC/USDC', alias: 'BTC-USD' });
    expect(coinbaseInstrument({ product_id: 'BIT-28AUG26-CDE', base_currency_id: 'BTC', quote_currency_id: 'USD', product_type: 'FUTURE' })).toBeUndefined();
    expect(coinbaseInstrument({ product_id: 'OLD-USD', base_currency_id: 'OLD', quote_currency_id: 'USD', status: 'delisted' })).toBeUndefined();
    expect(coinbaseInstrument({ product_id: 'X-USD' } as never)).toBeUndefined();
  });

  it('error bodies and garbage are typed errors', async () => {
    const body = (b: string): Http => ({ get: async () => b });
    await expect(coinbaseConnector.loadInstruments(body(JSON.stringify({ error: 'RATE_LIMIT_EXCEEDED', message: 'slow down' })), EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(coinbaseConnector.loadInstruments(body(JSON.stringify({ error: 'UNAUTHENTICATED', message: 'no' })), EP)).rejects.toMatchObject({ code: 'VENUE_AUTH' });
    await expect(coinbaseConnector.loadInstruments(body(JSON.stringify({ error: 'INVALID_ARGUMENT', message: 'bad' })), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(coinbaseConnector.loadInstruments(body('<html>'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(coinbaseConnector.loadInstruments(body('{}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });
});

describe('coinbase replay hooks', () => {
  const hooks = coinbaseConnector.replay;

  it('onClientFrame: channel:product topics plus the connection topic, no synthesized acks; bad requests get an error frame', () => {
    expect(hooks.onClientFrame('{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}')).toEqual({
      subscribe: ['level2:BTC-USD', 'level2:ETH-USD', COINBASE_CONNECTION_TOPIC],
    });
    expect(hooks.onClientFrame('{"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}')).toEqual({ unsubscribe: ['level2:BTC-USD'] });
    expect(hooks.onClientFrame('{"type":"subscribe","product_ids":["BTC-USD"],"channel":"heartbeats"}')).toEqual({ subscribe: [COINBASE_CONNECTION_TOPIC] });
    expect(hooks.onClientFrame('{"type":"subscribe","product_ids":[],"channel":"level2"}').replies).toEqual(['{"type":"error","message":"failure to subscribe"}']);
    expect(hooks.onClientFrame('{"type":"subscribe","product_ids":["X"],"channel":"nope"}').replies).toHaveLength(1);
    expect(hooks.onClientFrame('not json')).toEqual({});
  });

  it('topicOfFrame: per product for level2/market_trades/ticker, the connection topic for the rest, null for error frames', () => {
    expect(hooks.topicOfFrame('{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","product_id":"ETH-USD","updates":[]}]}')).toBe('level2:ETH-USD');
    expect(hooks.topicOfFrame('{"channel":"market_trades","sequence_num":1,"events":[{"type":"update","trades":[{"product_id":"BTC-USD"}]}]}')).toBe('market_trades:BTC-USD');
    expect(hooks.topicOfFrame('{"channel":"ticker","sequence_num":1,"events":[{"type":"update","tickers":[{"product_id":"BTC-USD"}]}]}')).toBe('ticker:BTC-USD');
    expect(hooks.topicOfFrame('{"channel":"heartbeats","sequence_num":1,"events":[]}')).toBe(COINBASE_CONNECTION_TOPIC);
    expect(hooks.topicOfFrame('{"channel":"candles","sequence_num":1,"events":[]}')).toBe(COINBASE_CONNECTION_TOPIC);
    expect(hooks.topicOfFrame('{"type":"error","message":"x"}')).toBeNull();
    expect(hooks.topicOfFrame('garbage')).toBeNull();
  });
});

const recPath = recordingPath('coinbase.jsonl.gz');

describe.skipIf(!recPath)('coinbase against the recording', () => {
  const rec = recPath ? loadRecording(recPath) : undefined;
  const records = rec?.records ?? [];

  it('loads the recorded products body: 912 online spot products, BTC/USD and the USDC aliases', async () => {
    const products = records.find((r) => r.t === 'http' && r.url.endsWith('/api/v3/brokerage/market/products'));
    expect(products).toBeDefined();
    const urls: string[] = [];
    const http: Http = {
      async get(url) {
        urls.push(url);
        return (products as { data: string }).data;
      },
    };
    const list = (await coinbaseConnector.loadInstruments(http, EP)) as CoinbaseInstrument[];
    expect(urls).toEqual(['https://api.coinbase.com/api/v3/brokerage/market/products']);
    expect(list).toHaveLength(912); // 920 listed, 8 delisted
    const byKey = new Map(list.map((i) => [i.key, i]));
    expect(byKey.get('spot:BTC-USD')).toEqual({
      venue: 'coinbase',
      key: 'spot:BTC-USD',
      venueSymbol: 'BTC-USD',
      symbol: 'BTC/USD',
      base: 'BTC',
      quote: 'USD',
      type: 'spot',
      tickSize: '0.01',
      lotSize: '0.00000001',
    });
    expect(byKey.get('spot:ETH-USD')?.symbol).toBe('ETH/USD');
    expect(byKey.get('spot:BTC-USDC')).toMatchObject({ symbol: 'BTC/USDC', alias: 'BTC-USD' });
    expect(byKey.get('spot:USDT-USDC')?.alias).toBeUndefined();
    expect(new Set(list.map((i) => i.symbol)).size).toBe(list.length);
  });

  it('recordedSubscriptions: books, trades and tickers of BTC-USD and ETH-USD; candles and heartbeats skipped', () => {
    const conn = records.find((r) => r.t === 'connect') as { conn: string; addr: string };
    expect(conn.addr).toBe('wss://advanced-trade-ws.coinbase.com');
    const sends = records.filter((r) => r.t === 'send' && r.conn === conn.conn).map((r) => (r as { data: string }).data);
    const subs = coinbaseConnector.replay.recordedSubscriptions(conn.addr, sends);
    expect(subs.map((s) => `${s.channel}:${s.venueSymbol}`).sort()).toEqual([
      'book:BTC-USD', 'book:ETH-USD', 'ticker:BTC-USD', 'ticker:ETH-USD', 'trades:BTC-USD', 'trades:ETH-USD',
    ]);
    expect(subs.every((s) => s.market === 'spot')).toBe(true);
    expect(coinbaseConnector.replay.recordedSubscriptions(conn.addr, [...sends, '{"type":"unsubscribe","product_ids":["ETH-USD"],"channel":"level2"}'])).toHaveLength(5);
  });

  it('every recorded frame has a topic the recorded subscribe frames cover (so the simulator streams all of them)', () => {
    const subscribed = new Set<string>();
    for (const r of records) if (r.t === 'send') for (const t of coinbaseConnector.replay.onClientFrame(r.data).subscribe ?? []) subscribed.add(t);
    const topics = records.filter((r) => r.t === 'recv').map((r) => coinbaseConnector.replay.topicOfFrame((r as { data: string }).data));
    expect(topics.filter((t) => t === null || !subscribed.has(t))).toEqual([]);
  });
});

describe('coinbase on-demand subscriptions', () => {
  it('declares its per-connection bound (ours: Coinbase documents none) and plan() keeps the 4-book rule', () => {
    expect(coinbaseConnector.capabilities.maxSubscriptionsPerConnection).toBe(150);
    expect(coinbaseConnector.capabilities.subscriptionLimitSource).toContain('https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits');
    expect(createCoinbaseConnector({ maxProductsPerConnection: 10 }).capabilities.maxSubscriptionsPerConnection).toBe(30);
    const five = ['A-USD', 'B-USD', 'C-USD', 'D-USD', 'E-USD'].map((p) => sub(p, 'book'));
    expect(coinbaseConnector.plan(five, EP)).toHaveLength(2); // so the runner never puts a 5th book on a connection
  });

  it('one subscribe / unsubscribe message per channel in use, with a fresh JWT when configured; the simulator streams them', () => {
    const [plan] = coinbaseConnector.plan([sub('BTC-USD', 'book')], EP);
    const add = coinbaseConnector.subscribeFrames!([sub('ETH-USD', 'book'), sub('ETH-USD', 'trades'), sub('SOL-USD', 'book')], plan);
    expect(add.map((f) => JSON.parse(f))).toEqual([
      { type: 'subscribe', product_ids: ['ETH-USD', 'SOL-USD'], channel: 'level2' },
      { type: 'subscribe', product_ids: ['ETH-USD'], channel: 'market_trades' },
    ]);
    expect(JSON.parse(coinbaseConnector.unsubscribeFrames!([sub('ETH-USD', 'book')], plan)[0])).toEqual({ type: 'unsubscribe', product_ids: ['ETH-USD'], channel: 'level2' });
    let n = 0;
    const authed = createCoinbaseConnector({ jwt: () => `t${++n}` });
    expect(JSON.parse(authed.subscribeFrames!([sub('ETH-USD', 'book')], plan)[0]).jwt).toBe('t1');
    expect(JSON.parse(authed.unsubscribeFrames!([sub('ETH-USD', 'book')], plan)[0]).jwt).toBe('t2');
    expect(coinbaseConnector.replay.onClientFrame(add[0]).subscribe).toEqual(['level2:ETH-USD', 'level2:SOL-USD', COINBASE_CONNECTION_TOPIC]);
  });

  it('updateSession maps added products and their alias to their keys', () => {
    const [plan] = coinbaseConnector.plan([sub('BTC-USD', 'book')], EP);
    const session = coinbaseConnector.newSession(plan);
    const usdc: CoinbaseInstrument = { ...inst('ETH-USDC'), alias: 'ETH-USD' };
    coinbaseConnector.updateSession!(session, 'add', [{ instrument: usdc, channel: 'book' }], []);
    expect(session.keys.get('ETH-USDC')).toBe('spot:ETH-USDC');
    expect(session.keys.get('ETH-USD')).toBe('spot:ETH-USDC');
  });
});
