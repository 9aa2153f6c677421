/**
 * Crypto.com connector: the v1/v2 choice (instrument listing → stream path), plan (one request per connection,
 * the channel limit, depths), nonce stamping, resubscribe frames, instruments on the recorded v2 body and a v1 body
 * in the documented shape, and the replay hooks.
 */
import { describe, expect, it } from 'vitest';
import {
  cryptoComBookDepth,
  cryptoComConnector,
  cryptoComReplay,
  CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION,
  planCryptoCom,
  type CryptoComInstrument,
} from '../../src/venues/crypto-com/connector.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { canonicalSymbol, instrumentKey } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = cryptoComConnector.defaultEndpoints;

function inst(name: string, api: 'v1' | 'v2' = 'v1'): CryptoComInstrument {
  if (name.endsWith('-PERP')) {
    const base = name.slice(0, -8);
    return { venue: 'crypto-com', key: instrumentKey('linear', name), venueSymbol: name, symbol: canonicalSymbol(base, 'USD', 'linear', 'USD'), base, quote: 'USD', settle: 'USD', type: 'linear', api };
  }
  const [base, quote] = name.split('_');
  return { venue: 'crypto-com', key: instrumentKey('spot', name), venueSymbol: name, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot', api };
}

function sub(name: string, channel: Channel, depth?: number, api: 'v1' | 'v2' = 'v1'): Subscription {
  return depth === undefined ? { instrument: inst(name, api), channel } : { instrument: inst(name, api), channel, depth };
}

interface Req {
  id: number;
  method: string;
  params: { channels: string[]; book_subscription_type?: string; book_update_frequency?: number };
  nonce?: number;
}

describe('crypto-com capabilities', () => {
  it('stream snapshots, linked u/pu, truncation to depth, the v1 book doc', () => {
    expect(cryptoComConnector.venue).toBe('crypto-com');
    expect(cryptoComConnector.capabilities.bookSync).toEqual({
      snapshot: 'stream',
      sequence: 'linked',
      truncateToDepth: true,
      source: 'https://exchange-developer.crypto.com/exchange/v1/docs/api/websocket/ws-channel-book-instrument-name-depth',
    });
    expect(cryptoComConnector.capabilities.defaultDepth).toBe(50);
    expect(cryptoComConnector.defaultEndpoints).toEqual({ wsBase: 'wss://stream.crypto.com', restBase: 'https://api.crypto.com' });
    expect(cryptoComConnector.bookSnapshot).toBeUndefined();
  });
});

describe('crypto-com plan', () => {
  it('v1: the market endpoint, one subscribe request with snapshot + deltas for books, server heartbeats', () => {
    const subs = [sub('BTC_USDT', 'book'), sub('BTC_USDT', 'trades'), sub('BTCUSD-PERP', 'ticker'), sub('ETH_USDT', 'book', 20), sub('BTC_USDT', 'book')];
    const plans = planCryptoCom(subs, EP);
    expect(plans).toHaveLength(1);
    const p = plans[0];
    expect(p.id).toBe('v1-0');
    expect(p.url).toBe('wss://stream.crypto.com/exchange/v1/market');
    expect(p.heartbeat).toEqual({ kind: 'none' });
    expect(p.staleAfterMs).toBe(65000);
    expect(p.subscriptions).toHaveLength(5);
    expect(p.subscribeFrames).toHaveLength(1);
    expect(JSON.parse(p.subscribeFrames[0])).toEqual({
      id: 1,
      method: 'subscribe',
      params: { channels: ['book.BTC_USDT.50', 'trade.BTC_USDT', 'ticker.BTCUSD-PERP', 'book.ETH_USDT.50'], book_subscription_type: 'SNAPSHOT_AND_UPDATE', book_update_frequency: 100 },
    });
    expect(JSON.parse(planCryptoCom([sub('BTC_USDT', 'trades')], EP)[0].subscribeFrames[0]).params).toEqual({ channels: ['trade.BTC_USDT'] });
    expect(planCryptoCom([], EP)).toEqual([]);
  });

  it('v2 instruments (listed by the v2 endpoint) go to /v2/market with v2 depths', () => {
    const p = planCryptoCom([sub('MATIC_USDT', 'book', 150, 'v2'), sub('MATIC_USDT', 'ticker', undefined, 'v2')], { wsBase: 'ws://127.0.0.1:9/crypto-com/', restBase: 'x' })[0];
    expect(p.id).toBe('v2-0');
    expect(p.url).toBe('ws://127.0.0.1:9/crypto-com/v2/market');
    expect(JSON.parse(p.subscribeFrames[0])).toEqual({ id: 1, method: 'subscribe', params: { channels: ['book.MATIC_USDT.150', 'ticker.MATIC_USDT'] } });
  });

  it('bookDepth (kept/truncation depth before the generation is known) rounds up to 10, 50 or 150', () => {
    expect([undefined, 1, 10, 20, 50, 51, 150, 400].map((d) => cryptoComConnector.bookDepth!(d))).toEqual([50, 10, 10, 50, 50, 150, 150, 150]);
  });

  it('depths round up to what the generation serves', () => {
    expect([5, 10, 11, 50, 51, 150, 500, undefined, 0, NaN].map((d) => cryptoComBookDepth('v1', d))).toEqual([10, 10, 50, 50, 50, 50, 50, 50, 50, 50]);
    expect([5, 10, 11, 150, 500, undefined].map((d) => cryptoComBookDepth('v2', d))).toEqual([10, 10, 150, 150, 150, 150]);
  });

  it(`splits at ${CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION} channels per connection, every channel once`, () => {
    const subs: Subscription[] = [];
    for (let i = 0; i < 300; i++) subs.push(sub(`C${i}_USDT`, 'book'), sub(`C${i}_USDT`, 'trades'));
    const plans = planCryptoCom(subs, EP);
    expect(plans.map((p) => p.id)).toEqual(['v1-0', 'v1-1']);
    const all = plans.flatMap((p) => (JSON.parse(p.subscribeFrames[0]) as Req).params.channels);
    expect(plans.map((p) => (JSON.parse(p.subscribeFrames[0]) as Req).params.channels.length)).toEqual([400, 200]);
    expect(new Set(all).size).toBe(600);
    expect(plans.map((p) => p.subscriptions.length)).toEqual([400, 200]);
  });

  it('rejects instruments that are neither spot nor linear', () => {
    const inv = { ...inst('BTCUSD-PERP'), type: 'inverse' as const };
    expect(() => planCryptoCom([{ instrument: inv, channel: 'book' }], EP)).toThrow(TributaryError);
  });

  it('prepareConnection stamps a nonce (ms) into the requests; resubscribe asks for one book again', async () => {
    const plan = planCryptoCom([sub('BTC_USDT', 'book')], EP)[0];
    const before = Date.now();
    const prepared = await cryptoComConnector.prepareConnection!(plan, { get: () => Promise.reject(new Error('no I/O')) }, EP);
    const req = JSON.parse(prepared.subscribeFrames[0]) as Req;
    expect(req.nonce).toBeGreaterThanOrEqual(before);
    expect(req.params.channels).toEqual(['book.BTC_USDT.50']);
    expect(prepared.url).toBe(plan.url);
    const again = cryptoComConnector.resubscribeFrames!(sub('BTC_USDT', 'book', 10));
    expect(again).toHaveLength(1);
    const r = JSON.parse(again[0]) as Req;
    expect(r.method).toBe('subscribe');
    expect(r.params).toEqual({ channels: ['book.BTC_USDT.10'], book_subscription_type: 'SNAPSHOT_AND_UPDATE', book_update_frequency: 100 });
    expect(typeof r.nonce).toBe('number');
    expect(JSON.parse(cryptoComConnector.resubscribeFrames!(sub('A_B', 'book', 150, 'v2'))[0]).params).toEqual({ channels: ['book.A_B.150'] });
    expect(cryptoComConnector.resubscribeFrames!(sub('BTC_USDT', 'trades'))).toEqual([]);
  });

  it('sessions know their instruments and requests', () => {
    const plan = planCryptoCom([sub('BTCUSD-PERP', 'book')], EP)[0];
    const s = cryptoComConnector.newSession(plan);
    expect(s.keys.get('BTCUSD-PERP')).toBe('linear:BTCUSD-PERP');
    expect([...s.requests.keys()]).toEqual(['1']);
  });
});

describe('crypto-com instruments', () => {
  const V1 = JSON.stringify({
    id: '1',
    method: 'public/get-instruments',
    code: '0',
    result: {
      data: [
        { symbol: 'BTCUSD-PERP', inst_type: 'PERPETUAL_SWAP', display_name: 'BTCUSD Perpetual', base_ccy: 'BTC', quote_ccy: 'USD', quote_decimals: '2', quantity_decimals: '4', price_tick_size: '0.5', qty_tick_size: '0.0001', max_leverage: '50', tradable: true, expiry_timestamp_ms: '0', underlying_symbol: 'BTCUSD-INDEX' },
        { symbol: 'BTC_USDT', inst_type: 'CCY_PAIR', display_name: 'BTC/USDT', base_ccy: 'BTC', quote_ccy: 'USDT', price_tick_size: '0.01', qty_tick_size: '0.00001', tradable: true },
        { symbol: 'BTCUSD-260925', inst_type: 'FUTURE', base_ccy: 'BTC', quote_ccy: 'USD', tradable: true },
        { symbol: 'BROKEN', inst_type: 'CCY_PAIR' },
      ],
    },
  });

  it('v1 listing: spot and perpetuals (dated futures skipped), generation v1', async () => {
    const urls: string[] = [];
    const list = await cryptoComConnector.loadInstruments({ get: async (u) => (urls.push(u), V1) }, EP);
    expect(urls).toEqual(['https://api.crypto.com/exchange/v1/public/get-instruments']);
    expect(list).toEqual([
      { venue: 'crypto-com', key: 'linear:BTCUSD-PERP', venueSymbol: 'BTCUSD-PERP', symbol: 'BTC/USD:USD', base: 'BTC', quote: 'USD', settle: 'USD', type: 'linear', tickSize: '0.5', lotSize: '0.0001', api: 'v1' },
      { venue: 'crypto-com', key: 'spot:BTC_USDT', venueSymbol: 'BTC_USDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', type: 'spot', tickSize: '0.01', lotSize: '0.00001', api: 'v1' },
    ]);
    expect(planCryptoCom([{ instrument: list[1], channel: 'book' }], EP)[0].url).toBe('wss://stream.crypto.com/exchange/v1/market');
  });

  const path = recordingPath('crypto-com.jsonl.gz');
  it.skipIf(!path)('v2 fallback on a 404 from v1 (the recorded v2 body): spot, ticks from decimals, generation v2', async () => {
    const rec = loadRecording(path!);
    const body = rec.records.find((r): r is HttpRecord => r.t === 'http')!.data;
    const urls: string[] = [];
    const http: Http = {
      get: async (u) => {
        urls.push(u);
        if (u.includes('/exchange/v1/')) throw new TributaryError('HTTP_ERROR', 'HTTP 404', { url: u, status: 404 });
        return body;
      },
    };
    const list = (await cryptoComConnector.loadInstruments(http, EP)) as CryptoComInstrument[];
    expect(urls).toEqual(['https://api.crypto.com/exchange/v1/public/get-instruments', 'https://api.crypto.com/v2/public/get-instruments']);
    expect(list).toHaveLength(250);
    expect(list.find((i) => i.key === 'spot:MATIC_USDT')).toEqual({
      venue: 'crypto-com', key: 'spot:MATIC_USDT', venueSymbol: 'MATIC_USDT', symbol: 'MATIC/USDT', base: 'MATIC', quote: 'USDT', type: 'spot', tickSize: '0.00001', lotSize: '0.01', api: 'v2',
    });
    expect(new Set(list.map((i) => i.api))).toEqual(new Set(['v2']));
    expect(planCryptoCom([{ instrument: list[0], channel: 'book', depth: 150 }], EP)[0].url).toBe('wss://stream.crypto.com/v2/market');
  });

  it('errors other than 404 do not fall back; venue codes are typed', async () => {
    const down: Http = { get: async (u) => { throw new TributaryError('HTTP_ERROR', 'HTTP 503', { url: u, status: 503 }); } };
    await expect(cryptoComConnector.loadInstruments(down, EP)).rejects.toMatchObject({ code: 'HTTP_ERROR', context: { status: 503 } });
    const answer = (b: string): Http => ({ get: async () => b });
    await expect(cryptoComConnector.loadInstruments(answer('{"id":"1","method":"public/get-instruments","code":"42901","message":"TOO_MANY_REQUESTS"}'), EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(cryptoComConnector.loadInstruments(answer('{"code":"40001","message":"BAD_REQUEST"}'), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(cryptoComConnector.loadInstruments(answer('{"code":0,"result":{}}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(cryptoComConnector.loadInstruments(answer('<html>'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });
});

describe('crypto-com replay hooks', () => {
  it('onClientFrame: subscribe/unsubscribe channels + ack in the recorded shape; heartbeat answers need no reply', () => {
    expect(cryptoComReplay.onClientFrame('{"id":1,"method":"subscribe","params":{"channels":["book.A_B.150","trade.A_B"]},"nonce":5}')).toEqual({
      subscribe: ['book.A_B.150', 'trade.A_B'],
      replies: ['{"id":1,"code":0,"method":"subscribe"}'],
    });
    expect(cryptoComReplay.onClientFrame('{"method":"unsubscribe","params":{"channels":["trade.A_B"]}}')).toEqual({ unsubscribe: ['trade.A_B'], replies: ['{"id":0,"code":0,"method":"unsubscribe"}'] });
    expect(cryptoComReplay.onClientFrame('{"id":5,"method":"subscribe","params":{}}').replies?.[0]).toContain('40003');
    expect(cryptoComReplay.onClientFrame('{"id":1637709519420,"method":"public/respond-heartbeat"}')).toEqual({});
  });

  it('topicOfFrame: the push subscription; acks and heartbeats null', () => {
    expect(cryptoComReplay.topicOfFrame('{"code":0,"method":"subscribe","result":{"instrument_name":"HNT_USDT","subscription":"book.HNT_USDT.150","channel":"book","depth":150,"data":[]}}')).toBe('book.HNT_USDT.150');
    for (const f of ['{"id":0,"code":0,"method":"subscribe"}', '{"id":1637709519420,"method":"public/heartbeat"}', 'nope']) expect(cryptoComReplay.topicOfFrame(f)).toBeNull();
  });

  it.skipIf(!recordingPath('crypto-com.jsonl.gz'))('recordedSubscriptions of the recording: 10 books at depth 150, 10 trades, 10 tickers (candlesticks skipped)', () => {
    const rec = loadRecording(recordingPath('crypto-com.jsonl.gz')!);
    const connect = rec.records.find((r) => r.t === 'connect')!;
    if (connect.t !== 'connect') throw new Error('no connect');
    const sends = rec.records.filter((r) => r.t === 'send').map((r) => (r.t === 'send' ? r.data : ''));
    const subs = cryptoComReplay.recordedSubscriptions(connect.addr, sends);
    expect(subs).toHaveLength(30);
    expect(subs.filter((s) => s.channel === 'book').every((s) => s.depth === 150 && s.market === 'spot')).toBe(true);
    expect(subs.filter((s) => s.channel === 'trades')).toHaveLength(10);
    expect(subs.filter((s) => s.channel === 'ticker')).toHaveLength(10);
    expect(cryptoComReplay.recordedSubscriptions('wss://x', ['{"method":"subscribe","params":{"channels":["book.BTCUSD-PERP.10","book.BTC_USDT"]}}'])).toEqual([
      { market: 'linear', venueSymbol: 'BTCUSD-PERP', channel: 'book', depth: 10 },
      { market: 'spot', venueSymbol: 'BTC_USDT', channel: 'book' },
    ]);
  });
});

describe('crypto-com on-demand subscriptions', () => {
  it('declares 400 channels per connection', () => {
    expect(cryptoComConnector.capabilities.maxSubscriptionsPerConnection).toBe(CRYPTO_COM_MAX_CHANNELS_PER_CONNECTION);
    expect(cryptoComConnector.capabilities.subscriptionLimitSource).toContain('40107');
  });

  it('one subscribe / unsubscribe request per API generation, unique ids, a nonce, v1 books as snapshot + deltas', () => {
    const [plan] = planCryptoCom([sub('BTC_USDT', 'book', 10)], EP);
    const add = cryptoComConnector.subscribeFrames!([sub('ETH_USDT', 'book', 10), sub('ETH_USDT', 'trades')], plan).map((f) => JSON.parse(f) as Req);
    expect(add).toHaveLength(1);
    expect(add[0]).toMatchObject({ method: 'subscribe', params: { channels: ['book.ETH_USDT.10', 'trade.ETH_USDT'], book_subscription_type: 'SNAPSHOT_AND_UPDATE' } });
    expect(typeof add[0].nonce).toBe('number');
    const rm = cryptoComConnector.unsubscribeFrames!([sub('ETH_USDT', 'book', 10)], plan).map((f) => JSON.parse(f) as Req);
    expect(rm[0]).toMatchObject({ method: 'unsubscribe', params: { channels: ['book.ETH_USDT.10'] } });
    expect(rm[0].id).toBeGreaterThan(add[0].id);
    const v2 = JSON.parse(cryptoComConnector.subscribeFrames!([sub('A_B', 'book', 150, 'v2')], plan)[0]) as Req;
    expect(v2.params).toEqual({ channels: ['book.A_B.150'] });
    expect(cryptoComReplay.onClientFrame(JSON.stringify(add[0])).subscribe).toEqual(['book.ETH_USDT.10', 'trade.ETH_USDT']);
  });

  it('updateSession maps added instruments and remembers subscribe requests for rate-limit re-sends', () => {
    const [plan] = planCryptoCom([sub('BTC_USDT', 'book', 10)], EP);
    const session = cryptoComConnector.newSession(plan);
    const frames = cryptoComConnector.subscribeFrames!([sub('ETH_USDT', 'book', 10)], plan);
    expect(cryptoComConnector.updateSession!(session, 'add', [sub('ETH_USDT', 'book', 10)], frames)).toBe(frames);
    expect(session.keys.get('ETH_USDT')).toBe('spot:ETH_USDT');
    expect(session.requests.get(String((JSON.parse(frames[0]) as Req).id))).toBe(frames[0]);
  });
});
