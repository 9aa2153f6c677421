/**
 * KuCoin connector: plan (topic and connection limits), the bullet token (`prepareConnection`, `Http.post` in
 * FetchHttp and ReplayHttp, the simulator's synthesized answer), instruments and REST snapshots against the recorded
 * bodies, the auth fallback of the full-book snapshot, and the replay hooks.
 */
import { describe, expect, it } from 'vitest';
import {
  createKucoinConnector,
  kucoinConnector,
  kucoinReplay,
  kucoinSubscribeFrames,
  KUCOIN_OPENING_PING,
  planKucoin,
} from '../../src/venues/kucoin/connector.ts';
import { decodeKucoin } from '../../src/venues/kucoin/decode.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { FetchHttp } from '../../src/transport/http.ts';
import { ReplayHttp } from '../../src/replay/direct.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = kucoinConnector.defaultEndpoints;

function inst(venueSymbol: string): Instrument {
  const [base, quote] = venueSymbol.split('-');
  return { venue: 'kucoin', key: instrumentKey('spot', venueSymbol), venueSymbol, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

function sub(sym: string, channel: Channel): Subscription {
  return { instrument: inst(sym), channel };
}

function frameTopics(frames: readonly string[]): { id: number; prefix: string; symbols: string[] }[] {
  return frames.map((f) => {
    const o = JSON.parse(f) as { id: number; type: string; topic: string; privateChannel: boolean; response: boolean };
    expect(o.type).toBe('subscribe');
    expect(o.privateChannel).toBe(false);
    expect(o.response).toBe(true);
    const [prefix, list] = o.topic.split(':');
    return { id: o.id, prefix, symbols: list.split(',') };
  });
}

const BULLET = JSON.stringify({
  code: '200000',
  data: {
    token: 'abc+/=',
    instanceServers: [{ endpoint: 'wss://ws-api-spot.kucoin.com/', encrypt: true, protocol: 'websocket', pingInterval: 18000, pingTimeout: 10000 }],
  },
});

describe('kucoin capabilities', () => {
  it('REST snapshots, contiguous sequences, per-level sequences, the level2 doc', () => {
    expect(kucoinConnector.venue).toBe('kucoin');
    expect(kucoinConnector.capabilities.bookSync).toEqual({ snapshot: 'rest', sequence: 'contiguous', levelSequence: true, source: 'https://www.kucoin.com/docs-new/3470068w0' });
    expect(kucoinConnector.defaultEndpoints).toEqual({ wsBase: 'wss://ws-api-spot.kucoin.com', restBase: 'https://api.kucoin.com' });
    expect(kucoinConnector.resubscribeFrames).toBeUndefined();
    expect(typeof kucoinConnector.prepareConnection).toBe('function');
  });
});

describe('kucoin plan', () => {
  it('one connection: opening ping only, documented ping defaults; the session holds the subscribe frames', () => {
    const subs = [sub('BTC-USDT', 'book'), sub('ETH-USDT', 'book'), sub('BTC-USDT', 'ticker'), sub('BTC-USDT', 'trades'), sub('BTC-USDT', 'book')];
    const plans = planKucoin(subs, EP);
    expect(plans).toHaveLength(1);
    const p = plans[0];
    expect(p.id).toBe('spot-0');
    expect(p.url).toBe('wss://ws-api-spot.kucoin.com/');
    expect(p.subscribeFrames).toEqual([KUCOIN_OPENING_PING]);
    expect(p.subscriptions).toHaveLength(5);
    expect(p.heartbeat.kind).toBe('app');
    if (p.heartbeat.kind !== 'app') return;
    expect(p.heartbeat.intervalMs).toBe(18000);
    expect(JSON.parse(p.heartbeat.frame())).toMatchObject({ type: 'ping' });
    expect(p.staleAfterMs).toBe(28000);
    expect(frameTopics(kucoinSubscribeFrames(p.subscriptions))).toEqual([
      { id: 1, prefix: '/market/level2', symbols: ['BTC-USDT', 'ETH-USDT'] },
      { id: 2, prefix: '/market/ticker', symbols: ['BTC-USDT'] },
      { id: 3, prefix: '/market/match', symbols: ['BTC-USDT'] },
    ]);
    const session = kucoinConnector.newSession(p);
    expect(session.subscribeFrames).toEqual(kucoinSubscribeFrames(p.subscriptions));
    expect(session.keys.get('ETH-USDT')).toBe('spot:ETH-USDT');
    expect(planKucoin([], EP)).toEqual([]);
  });

  it('≤ 100 symbols per subscribe request and ≤ 300 topics per connection, every topic exactly once', () => {
    const syms = Array.from({ length: 130 }, (_, i) => `C${i}-USDT`);
    const subs: Subscription[] = [];
    for (const ch of ['book', 'ticker', 'trades'] as Channel[]) for (const s of syms) subs.push(sub(s, ch));
    const plans = planKucoin(subs, EP);
    expect(plans.map((p) => p.id)).toEqual(['spot-0', 'spot-1']);
    const seen = new Set<string>();
    for (const p of plans) {
      const frames = frameTopics(kucoinSubscribeFrames(p.subscriptions));
      let topics = 0;
      for (const f of frames) {
        expect(f.symbols.length).toBeLessThanOrEqual(100);
        topics += f.symbols.length;
        for (const s of f.symbols) {
          const t = `${f.prefix}:${s}`;
          expect(seen.has(t), t).toBe(false);
          seen.add(t);
        }
      }
      expect(topics).toBeLessThanOrEqual(300);
      expect(topics).toBe(p.subscriptions.length);
    }
    expect(seen.size).toBe(390);
  });

  it('rejects non-spot instruments', () => {
    const perp: Instrument = { ...inst('XBT-USDTM'), key: 'linear:XBTUSDTM', type: 'linear' };
    expect(() => planKucoin([{ instrument: perp, channel: 'book' }], EP)).toThrow(TributaryError);
  });
});

describe('kucoin bullet token (prepareConnection)', () => {
  const plan = planKucoin([sub('BTC-USDT', 'book')], EP)[0];

  it('POSTs bullet-public and connects to endpoint?token=…&connectId=… with the server ping interval', async () => {
    const calls: { url: string; body: string }[] = [];
    const http: Http = {
      get: () => Promise.reject(new Error('no GET expected')),
      post: async (url, body) => {
        calls.push({ url, body });
        return JSON.stringify({ code: '200000', data: { token: 'tok+en', instanceServers: [{ endpoint: 'wss://ws-api-spot.kucoin.com/', pingInterval: 20000, pingTimeout: 5000 }] } });
      },
    };
    const p = await kucoinConnector.prepareConnection!(plan, http, { wsBase: 'wss://x', restBase: 'https://api.kucoin.com/' });
    expect(calls).toEqual([{ url: 'https://api.kucoin.com/api/v1/bullet-public', body: '{}' }]);
    const u = new URL(p.url);
    expect(u.origin + u.pathname).toBe('wss://ws-api-spot.kucoin.com/');
    expect(u.searchParams.get('token')).toBe('tok+en');
    expect(u.searchParams.get('connectId')).toMatch(/^spot-0-\d+$/);
    expect(p.heartbeat).toMatchObject({ kind: 'app', intervalMs: 20000 });
    expect(p.staleAfterMs).toBe(25000);
    expect(p.subscribeFrames).toEqual([KUCOIN_OPENING_PING]);
    expect(p.subscriptions).toBe(plan.subscriptions);
  });

  it('fails typed: no POST in the client, venue code, malformed answer', async () => {
    const noPost: Http = { get: () => Promise.resolve('') };
    await expect(kucoinConnector.prepareConnection!(plan, noPost, EP)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const answer = (body: string): Http => ({ get: () => Promise.resolve(''), post: () => Promise.resolve(body) });
    await expect(kucoinConnector.prepareConnection!(plan, answer('{"code":"400100","msg":"bad"}'), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(kucoinConnector.prepareConnection!(plan, answer('{"code":"429000","msg":"slow down"}'), EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(kucoinConnector.prepareConnection!(plan, answer('{"code":"200000","data":{"token":"t","instanceServers":[]}}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(kucoinConnector.prepareConnection!(plan, answer('<html>'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });

  it('FetchHttp.post sends a JSON POST and maps errors like get', async () => {
    const seen: { url: string; method?: string; body?: unknown; headers?: unknown }[] = [];
    const fakeFetch = (async (url: string, init?: RequestInit) => {
      seen.push({ url, method: init?.method, body: init?.body, headers: init?.headers });
      return url.endsWith('/limited') ? new Response('{}', { status: 429 }) : new Response(BULLET, { status: 200 });
    }) as typeof fetch;
    const recorded: string[] = [];
    const http = new FetchHttp({ fetch: fakeFetch, headers: { 'user-agent': 'tributary-test' }, onResponse: (url) => recorded.push(url) });
    const p = await createKucoinConnector().prepareConnection!(plan, http, { wsBase: 'wss://x', restBase: 'https://api.kucoin.com' });
    expect(new URL(p.url).searchParams.get('token')).toBe('abc+/=');
    expect(seen[0]).toEqual({ url: 'https://api.kucoin.com/api/v1/bullet-public', method: 'POST', body: '{}', headers: { 'user-agent': 'tributary-test', 'content-type': 'application/json' } });
    await expect(http.post('https://api.kucoin.com/limited', '{}')).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED', message: expect.stringMatching(/^POST /) });
    await http.get('https://api.kucoin.com/x');
    expect(seen[2]).toMatchObject({ method: 'GET', body: undefined, headers: { 'user-agent': 'tributary-test' } });
    expect(recorded).toEqual(['https://api.kucoin.com/x']); // the recorder never sees connection tokens
  });

  it('the simulator answer (synthesizeHttp) points at the recorded /endpoint path; ReplayHttp.post serves it', async () => {
    expect(kucoinReplay.synthesizeHttp!('GET', '/api/v1/bullet-public', 'ws://127.0.0.1:1/kucoin')).toBeUndefined();
    expect(kucoinReplay.synthesizeHttp!('POST', '/api/v1/symbols', 'ws://127.0.0.1:1/kucoin')).toBeUndefined();
    const body = kucoinReplay.synthesizeHttp!('POST', '/api/v1/bullet-public', 'ws://127.0.0.1:9/kucoin/');
    expect(JSON.parse(body!).data.instanceServers[0]).toMatchObject({ endpoint: 'ws://127.0.0.1:9/kucoin/endpoint', pingInterval: 18000, pingTimeout: 10000 });
    const http = new ReplayHttp([], (m, p) => kucoinReplay.synthesizeHttp!(m, p, 'ws://127.0.0.1:9/kucoin'));
    const p = await kucoinConnector.prepareConnection!(plan, http, EP);
    expect(p.url).toMatch(/^ws:\/\/127\.0\.0\.1:9\/kucoin\/endpoint\?token=simulated&connectId=spot-0-\d+$/);
    await expect(new ReplayHttp([]).post('https://api.kucoin.com/api/v1/bullet-public', '{}')).rejects.toMatchObject({ code: 'HTTP_ERROR' });
  });
});

describe('kucoin REST against the recording', () => {
  const path = recordingPath('kucoin.jsonl.gz');
  const records = path ? loadRecording(path).records.filter((r): r is HttpRecord => r.t === 'http') : [];
  const byUrl = new Map(records.map((r) => [r.url, r.data]));
  const recorded: Http = {
    get: async (url) => {
      const b = byUrl.get(url);
      if (b === undefined) throw new TributaryError('HTTP_ERROR', `no recorded answer for ${url}`, { url, status: 404 });
      return b;
    },
  };

  it.skipIf(!path)('loadInstruments: every /api/v1/symbols entry, canonical from baseCurrency/quoteCurrency (BCHSV → BSV)', async () => {
    const list = await kucoinConnector.loadInstruments(recorded, EP);
    expect(list).toHaveLength(634);
    const by = new Map(list.map((i) => [i.key, i]));
    expect(by.get('spot:BCHSV-USDT')).toEqual({
      venue: 'kucoin', key: 'spot:BCHSV-USDT', venueSymbol: 'BCHSV-USDT', symbol: 'BSV/USDT', base: 'BSV', quote: 'USDT', type: 'spot', tickSize: '0.001', lotSize: '0.00000001',
    });
    expect(by.get('spot:WAX-BTC')?.symbol).toBe('WAXP/BTC');
    expect(by.get('spot:LYXE-USDT')?.symbol).toBe('LYXE/USDT');
    expect(by.get('spot:LTX-USDT')?.symbol).toBe('LTX/USDT');
    expect(new Set(list.map((i) => i.key)).size).toBe(634);
  });

  it.skipIf(!path)('bookSnapshot: the recorded v3 full book (sequence string → seq, [price, size] levels, time)', async () => {
    const snap = await kucoinConnector.bookSnapshot!(inst('BCHSV-USDT'), 100, recorded, EP);
    expect(snap.seq).toBe(1613277183892);
    expect(snap.ts).toBe(1619378326628);
    expect(snap.bids[0]).toEqual(['242.649', '5']);
    expect(snap.asks.length).toBeGreaterThan(10);
    expect(Number(snap.bids[0][0])).toBeLessThan(Number(snap.asks[0][0]));
  });

  it('auto mode falls back to the public top-100 book once the full book asks for an API key, and stays there', async () => {
    const urls: string[] = [];
    const book = '{"code":"200000","data":{"time":5,"sequence":"42","bids":[["1","2"]],"asks":[["3","4"]]}}';
    const http: Http = {
      get: async (url) => {
        urls.push(url);
        if (url.includes('/api/v3/')) throw new TributaryError('HTTP_ERROR', 'HTTP 401', { url, status: 401, body: '{"code":"400003","msg":"KC-API-KEY not exists"}' });
        return book;
      },
    };
    const c = createKucoinConnector();
    expect((await c.bookSnapshot!(inst('BTC-USDT'), 100, http, EP)).seq).toBe(42);
    expect((await c.bookSnapshot!(inst('ETH-USDT'), 100, http, EP)).seq).toBe(42);
    expect(urls).toEqual([
      'https://api.kucoin.com/api/v3/market/orderbook/level2?symbol=BTC-USDT',
      'https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=BTC-USDT',
      'https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=ETH-USDT',
    ]);
    // A 200 answer with an auth code counts too.
    const c2 = createKucoinConnector();
    const http2: Http = { get: async (url) => (url.includes('/api/v3/') ? '{"code":"400001","msg":"Please check the header"}' : book) };
    expect((await c2.bookSnapshot!(inst('BTC-USDT'), 100, http2, EP)).seq).toBe(42);
    // Other failures are not a reason to fall back; 'full' never falls back; 'top100' never asks for the full book.
    const failing: Http = { get: async (url) => { throw new TributaryError('HTTP_ERROR', 'HTTP 500', { url, status: 500 }); } };
    await expect(createKucoinConnector().bookSnapshot!(inst('BTC-USDT'), 100, failing, EP)).rejects.toMatchObject({ code: 'HTTP_ERROR', context: { status: 500 } });
    await expect(createKucoinConnector({ snapshot: 'full' }).bookSnapshot!(inst('BTC-USDT'), 100, http, EP)).rejects.toMatchObject({ code: 'HTTP_ERROR', context: { status: 401 } });
    const top: string[] = [];
    await createKucoinConnector({ snapshot: 'top100' }).bookSnapshot!(inst('BTC-USDT'), 100, { get: async (u) => (top.push(u), book) }, EP);
    expect(top).toEqual(['https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=BTC-USDT']);
  });

  it('REST errors are typed', async () => {
    const answer = (body: string): Http => ({ get: async () => body });
    await expect(kucoinConnector.loadInstruments(answer('{"code":"429000","msg":"Too many requests"}'), EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(kucoinConnector.loadInstruments(answer('{"code":"200000","data":{}}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(kucoinConnector.loadInstruments(answer('nope'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(createKucoinConnector({ snapshot: 'full' }).bookSnapshot!(inst('A-B'), 1, answer('{"code":"200000","data":{"sequence":"x","bids":[],"asks":[]}}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(createKucoinConnector({ snapshot: 'full' }).bookSnapshot!(inst('A-B'), 1, answer('{"code":"400100","msg":"symbol not exists"}'), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
  });
});

describe('kucoin replay hooks', () => {
  it('onClientFrame: subscribe splits the symbols into per-symbol topics and acks; ping → pong', () => {
    const r = kucoinReplay.onClientFrame('{"id":7,"type":"subscribe","topic":"/market/level2:A-B,C-D","privateChannel":false,"response":true}');
    expect(r).toEqual({ subscribe: ['/market/level2:A-B', '/market/level2:C-D'], replies: ['{"id":"7","type":"ack"}'] });
    expect(kucoinReplay.onClientFrame('{"id":"8","type":"unsubscribe","topic":"/market/match:A-B"}')).toEqual({ unsubscribe: ['/market/match:A-B'], replies: ['{"id":"8","type":"ack"}'] });
    expect(kucoinReplay.onClientFrame(KUCOIN_OPENING_PING)).toEqual({ replies: ['{"id":"0","type":"pong"}'] });
    expect(kucoinReplay.onClientFrame('garbage')).toEqual({});
    // The decoder treats that pong as "connection usable".
    const session = kucoinConnector.newSession(planKucoin([sub('A-B', 'book')], EP)[0]);
    const d = decodeKucoin({ data: '{"id":"0","type":"pong"}', recvTs: 1 }, session);
    expect(d.replies).toEqual(kucoinSubscribeFrames([sub('A-B', 'book')]));
  });

  it('topicOfFrame: data frames by topic, connection frames null', () => {
    expect(kucoinReplay.topicOfFrame('{"data":{},"subject":"trade.l2update","topic":"/market/level2:BCHSV-USDT","type":"message"}')).toBe('/market/level2:BCHSV-USDT');
    for (const f of ['{"id":"NSkIrWGB1s","type":"welcome"}', '{"id":"1","type":"ack"}', '{"id":"1","type":"pong"}', 'x']) expect(kucoinReplay.topicOfFrame(f)).toBeNull();
  });

  it.skipIf(!recordingPath('kucoin.jsonl.gz'))('recordedSubscriptions: level2/ticker/match of the recording (candles skipped)', () => {
    const rec = loadRecording(recordingPath('kucoin.jsonl.gz')!);
    const connect = rec.records.find((r) => r.t === 'connect')!;
    if (connect.t !== 'connect') throw new Error('no connect');
    const sends = rec.records.filter((r) => r.t === 'send').map((r) => (r.t === 'send' ? r.data : ''));
    const subs = kucoinReplay.recordedSubscriptions(connect.addr, sends);
    expect(subs).toHaveLength(30);
    expect(subs.filter((s) => s.channel === 'book').map((s) => s.venueSymbol).sort()).toEqual(
      ['ANKR-BTC', 'BCHSV-USDT', 'CAPP-BTC', 'COV-BTC', 'DAPPT-BTC', 'EQZ-BTC', 'FET-BTC', 'LTX-USDT', 'NRG-BTC', 'SNX-BTC'],
    );
    expect(new Set(subs.map((s) => s.market))).toEqual(new Set(['spot']));
    expect(subs.filter((s) => s.channel === 'ticker')).toHaveLength(10);
    expect(subs.filter((s) => s.channel === 'trades')).toHaveLength(10);
    expect(kucoinReplay.recordedSubscriptions(connect.addr, [...sends, '{"id":2,"type":"unsubscribe","topic":"/market/ticker:EQZ-BTC"}'])).toHaveLength(29);
  });
});

describe('kucoin on-demand subscriptions', () => {
  it('declares 300 topics per connection', () => {
    expect(kucoinConnector.capabilities.maxSubscriptionsPerConnection).toBe(300);
    expect(kucoinConnector.capabilities.subscriptionLimitSource).toContain('300 topics per connection');
  });

  it('subscribe / unsubscribe per channel, ≤ 100 symbols each, ids distinct from the plan ids; the simulator acks', () => {
    const [plan] = planKucoin([sub('BTC-USDT', 'book')], EP);
    const syms = Array.from({ length: 101 }, (_, i) => `C${i}-USDT`);
    const add = kucoinConnector.subscribeFrames!(syms.map((s) => sub(s, 'book')), plan);
    const parsed = add.map((f) => JSON.parse(f) as { id: string; type: string; topic: string; privateChannel: boolean; response: boolean });
    expect(parsed.map((o) => o.topic.split(',').length)).toEqual([100, 1]);
    expect(parsed[1]).toMatchObject({ type: 'subscribe', topic: '/market/level2:C100-USDT', privateChannel: false, response: true });
    expect(parsed.every((o) => typeof o.id === 'string' && o.id.startsWith('add-'))).toBe(true);
    const rm = JSON.parse(kucoinConnector.unsubscribeFrames!([sub('ETH-USDT', 'ticker')], plan)[0]) as { id: string; type: string; topic: string };
    expect(rm).toMatchObject({ type: 'unsubscribe', topic: '/market/ticker:ETH-USDT' });
    expect(kucoinReplay.onClientFrame(add[1])).toEqual({ subscribe: ['/market/level2:C100-USDT'], replies: [JSON.stringify({ id: parsed[1].id, type: 'ack' })] });
  });

  it('updateSession sends at once on a usable connection, else queues behind the welcome subscription', () => {
    const [plan] = planKucoin([sub('BTC-USDT', 'book')], EP);
    const session = kucoinConnector.newSession(plan);
    const early = kucoinConnector.subscribeFrames!([sub('ETH-USDT', 'book')], plan);
    expect(kucoinConnector.updateSession!(session, 'add', [sub('ETH-USDT', 'book')], early)).toEqual([]);
    expect(session.keys.get('ETH-USDT')).toBe('spot:ETH-USDT');
    // The welcome sends the plan's subscription and the queued one.
    const welcome = decodeKucoin({ data: '{"id":"x","type":"welcome"}', recvTs: 0 }, session);
    expect(welcome.replies).toEqual([...kucoinSubscribeFrames([sub('BTC-USDT', 'book')]), ...early]);
    const late = kucoinConnector.subscribeFrames!([sub('SOL-USDT', 'trades')], plan);
    expect(kucoinConnector.updateSession!(session, 'add', [sub('SOL-USDT', 'trades')], late)).toEqual(late);
    const ackId = (JSON.parse(late[0]) as { id: string }).id;
    expect(decodeKucoin({ data: JSON.stringify({ id: ackId, type: 'ack' }), recvTs: 0 }, session).signal).toEqual({ kind: 'subscribed', detail: '/market/match:SOL-USDT' });
  });
});
