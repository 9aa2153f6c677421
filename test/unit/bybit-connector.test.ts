/**
 * Bybit connector: plan (URLs, topics, batching, the args limit), instruments against the recorded
 * instruments-info bodies, resubscribe frames and the replay hooks.
 */
import { describe, expect, it } from 'vitest';
import {
  BYBIT_ARGS_CHAR_LIMIT,
  bybitBookDepth,
  bybitConnector,
  bybitInstrument,
} from '../../src/venues/bybit/connector.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { canonicalSymbol, instrumentKey, type Instrument, type MarketType } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = bybitConnector.defaultEndpoints;

function inst(type: MarketType, venueSymbol: string): Instrument {
  const base = venueSymbol.replace(/USDT$/, '');
  return { venue: 'bybit', key: instrumentKey(type, venueSymbol), venueSymbol, symbol: canonicalSymbol(base, 'USDT', type), base, quote: 'USDT', type };
}

function sub(type: MarketType, sym: string, channel: Channel, depth?: number): Subscription {
  return depth === undefined ? { instrument: inst(type, sym), channel } : { instrument: inst(type, sym), channel, depth };
}

function argsOf(frames: readonly string[]): string[][] {
  return frames.map((f) => {
    const o = JSON.parse(f) as { op: string; args: string[]; req_id?: string };
    expect(o.op).toBe('subscribe');
    expect(typeof o.req_id).toBe('string');
    return o.args;
  });
}

/** A fake Http answering from recorded `http` records (query parameters compared as a set, empty keys ignored). */
function recordedHttp(records: readonly HttpRecord[]): Http & { urls: string[] } {
  const norm = (u: string): string => {
    const url = new URL(u);
    const ps = [...url.searchParams].filter(([k]) => k !== '').sort(([a], [b]) => a.localeCompare(b));
    return `${url.origin}${url.pathname}?${ps.map(([k, v]) => `${k}=${v}`).join('&')}`;
  };
  const byUrl = new Map(records.map((r) => [norm(r.url), r.data]));
  const urls: string[] = [];
  return {
    urls,
    async get(url: string) {
      urls.push(url);
      const body = byUrl.get(norm(url));
      if (body === undefined) throw new TributaryError('HTTP_ERROR', `no recorded answer for ${url}`);
      return body;
    },
  };
}

describe('bybit capabilities', () => {
  it('stream snapshots, contiguous sequence, documented source, default depth 200', () => {
    expect(bybitConnector.venue).toBe('bybit');
    expect(bybitConnector.capabilities.bookSync).toEqual({
      snapshot: 'stream',
      sequence: 'contiguous',
      source: 'https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook',
    });
    expect(bybitConnector.capabilities.defaultDepth).toBe(200);
    expect([...bybitConnector.capabilities.channels].sort()).toEqual(['book', 'ticker', 'trades']);
    expect(bybitConnector.defaultEndpoints).toEqual({ wsBase: 'wss://stream.bybit.com', restBase: 'https://api.bybit.com' });
  });

  it('book depths round up to 1/50/200/1000', () => {
    expect([undefined, 0, 1, 2, 50, 51, 200, 201, 1000, 5000].map((d) => bybitBookDepth(d))).toEqual([200, 200, 1, 50, 50, 200, 200, 1000, 1000, 1000]);
  });
});

describe('bybit plan', () => {
  it('one connection per market with the documented paths, topics, heartbeat and stale timeout', () => {
    const plans = bybitConnector.plan(
      [
        sub('linear', 'BTCUSDT', 'book'),
        sub('linear', 'BTCUSDT', 'trades'),
        sub('linear', 'BTCUSDT', 'ticker'),
        sub('spot', 'ETHUSDT', 'book', 40),
        sub('spot', 'ETHUSDT', 'ticker'),
      ],
      EP,
    );
    expect(plans.map((p) => [p.id, p.url])).toEqual([
      ['linear-0', 'wss://stream.bybit.com/v5/public/linear'],
      ['spot-0', 'wss://stream.bybit.com/v5/public/spot'],
    ]);
    const [linear, spot] = plans;
    expect(argsOf(linear.subscribeFrames).flat()).toEqual(['orderbook.200.BTCUSDT', 'publicTrade.BTCUSDT', 'tickers.BTCUSDT']);
    expect(argsOf(spot.subscribeFrames).flat()).toEqual(['orderbook.50.ETHUSDT', 'tickers.ETHUSDT']);
    expect(linear.subscriptions).toHaveLength(3);
    expect(spot.subscriptions).toHaveLength(2);
    for (const p of plans) {
      expect(p.staleAfterMs).toBe(60_000);
      expect(p.heartbeat.kind).toBe('app');
      if (p.heartbeat.kind === 'app') {
        expect(p.heartbeat.intervalMs).toBe(20_000);
        const a = JSON.parse(p.heartbeat.frame());
        const b = JSON.parse(p.heartbeat.frame());
        expect(a.op).toBe('ping');
        expect(typeof a.req_id).toBe('string');
        expect(a.req_id).not.toBe(b.req_id);
      }
    }
  });

  it('honours an endpoint override (simulator) and its path prefix', () => {
    const [p] = bybitConnector.plan([sub('linear', 'BTCUSDT', 'book')], { wsBase: 'ws://127.0.0.1:9000/bybit/', restBase: 'http://127.0.0.1:9000/bybit' });
    expect(p.url).toBe('ws://127.0.0.1:9000/bybit/v5/public/linear');
  });

  it('spot subscribe requests carry at most 10 args; linear is not batched', () => {
    const syms = Array.from({ length: 23 }, (_, i) => `C${i}USDT`);
    const [spot] = bybitConnector.plan(syms.map((s) => sub('spot', s, 'trades')), EP);
    const spotArgs = argsOf(spot.subscribeFrames);
    expect(spotArgs.map((a) => a.length)).toEqual([10, 10, 3]);
    expect(spotArgs.flat()).toEqual(syms.map((s) => `publicTrade.${s}`));
    const [linear] = bybitConnector.plan(syms.map((s) => sub('linear', s, 'trades')), EP);
    expect(argsOf(linear.subscribeFrames).map((a) => a.length)).toEqual([23]);
  });

  it('duplicate topics are subscribed once', () => {
    const [p] = bybitConnector.plan([sub('linear', 'BTCUSDT', 'book', 200), sub('linear', 'BTCUSDT', 'book', 150)], EP);
    expect(argsOf(p.subscribeFrames).flat()).toEqual(['orderbook.200.BTCUSDT']);
    expect(p.subscriptions).toHaveLength(2);
  });

  it('opens another connection when the args of one would exceed 21,000 characters', () => {
    const syms = Array.from({ length: 1500 }, (_, i) => `SYMBOL${String(i).padStart(4, '0')}USDT`);
    const plans = bybitConnector.plan(syms.map((s) => sub('linear', s, 'book')), EP);
    expect(plans.length).toBeGreaterThan(1);
    expect(plans.map((p) => p.id)).toEqual(plans.map((_, i) => `linear-${i}`));
    const all: string[] = [];
    for (const p of plans) {
      const args = argsOf(p.subscribeFrames).flat();
      const chars = args.reduce((n, a) => n + a.length + 3, 0);
      expect(chars).toBeLessThanOrEqual(BYBIT_ARGS_CHAR_LIMIT);
      expect(p.subscriptions.map((s) => `orderbook.200.${s.instrument.venueSymbol}`)).toEqual(args);
      all.push(...args);
    }
    expect(all).toEqual(syms.map((s) => `orderbook.200.${s}`));
  });

  it('rejects instruments of markets it does not serve', () => {
    expect(() => bybitConnector.plan([sub('inverse', 'BTCUSD', 'book')], EP)).toThrowError(TributaryError);
  });

  it('newSession recovers the market from the URL path (or the plan id)', () => {
    const [p] = bybitConnector.plan([sub('spot', 'BTCUSDT', 'book')], EP);
    expect(bybitConnector.newSession(p).market).toBe('spot');
    expect(bybitConnector.newSession({ ...p, id: 'linear-3', url: 'ws://127.0.0.1:1/x' }).market).toBe('linear');
    expect(() => bybitConnector.newSession({ ...p, id: 'x', url: 'ws://127.0.0.1:1/x' })).toThrowError(TributaryError);
  });
});

describe('bybit resubscribe', () => {
  it('unsubscribe then subscribe of the orderbook topic', () => {
    const frames = bybitConnector.resubscribeFrames!(sub('linear', 'BTCUSDT', 'book', 50)).map((f) => JSON.parse(f));
    expect(frames.map((f) => [f.op, f.args])).toEqual([
      ['unsubscribe', ['orderbook.50.BTCUSDT']],
      ['subscribe', ['orderbook.50.BTCUSDT']],
    ]);
  });
});

describe('bybit instruments', () => {
  it('maps perpetuals, dated futures and spot', () => {
    expect(
      bybitInstrument('linear', {
        symbol: 'BTCUSDT-26JUN26',
        contractType: 'LinearFutures',
        baseCoin: 'BTC',
        quoteCoin: 'USDT',
        settleCoin: 'USDT',
        deliveryTime: String(Date.UTC(2026, 5, 26, 8)),
        priceFilter: { tickSize: '0.10' },
        lotSizeFilter: { qtyStep: '0.001' },
      }),
    ).toMatchObject({ key: 'linear:BTCUSDT-26JUN26', symbol: 'BTC/USDT:USDT-260626', settle: 'USDT', type: 'linear', tickSize: '0.10', lotSize: '0.001' });
    expect(bybitInstrument('linear', { symbol: 'BTCPERP', contractType: 'LinearPerpetual', baseCoin: 'BTC', quoteCoin: 'USDC', settleCoin: 'USDC' })?.symbol).toBe('BTC/USDC:USDC');
    expect(bybitInstrument('linear', { symbol: 'X', contractType: 'Weird', baseCoin: 'X', quoteCoin: 'USDT' })).toBeUndefined();
    expect(bybitInstrument('spot', { symbol: 'BTCUSDT', baseCoin: 'BTC', quoteCoin: 'USDT', lotSizeFilter: { basePrecision: '0.000001' } })).toMatchObject({
      key: 'spot:BTCUSDT',
      symbol: 'BTC/USDT',
      lotSize: '0.000001',
    });
    expect(bybitInstrument('spot', { symbol: 'BTCUSDT' } as never)).toBeUndefined();
  });

  it('follows nextPageCursor and rejects retCode ≠ 0', async () => {
    const page = (list: unknown[], next: string) => JSON.stringify({ retCode: 0, retMsg: 'OK', result: { category: 'linear', list, nextPageCursor: next } });
    const a = { symbol: 'AUSDT', contractType: 'LinearPerpetual', baseCoin: 'A', quoteCoin: 'USDT', settleCoin: 'USDT' };
    const b = { symbol: 'BUSDT', contractType: 'LinearPerpetual', baseCoin: 'B', quoteCoin: 'USDT', settleCoin: 'USDT' };
    const urls: string[] = [];
    const http: Http = {
      async get(url) {
        urls.push(url);
        const u = new URL(url);
        if (u.searchParams.get('category') === 'spot') return JSON.stringify({ retCode: 0, retMsg: 'OK', result: { category: 'spot', list: [] } });
        return u.searchParams.get('cursor') === 'p2=x&y' ? page([b], '') : page([a], 'p2=x&y');
      },
    };
    const list = await bybitConnector.loadInstruments(http, EP);
    expect(list.map((i) => i.symbol)).toEqual(['A/USDT:USDT', 'B/USDT:USDT']);
    expect(urls).toEqual([
      'https://api.bybit.com/v5/market/instruments-info?category=spot&status=Trading&limit=1000',
      'https://api.bybit.com/v5/market/instruments-info?category=linear&status=Trading&limit=1000',
      'https://api.bybit.com/v5/market/instruments-info?category=linear&status=Trading&limit=1000&cursor=p2%3Dx%26y',
    ]);

    const rejecting: Http = { get: async () => JSON.stringify({ retCode: 10001, retMsg: 'params error', result: {} }) };
    await expect(bybitConnector.loadInstruments(rejecting, EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    const garbage: Http = { get: async () => '<html>' };
    await expect(bybitConnector.loadInstruments(garbage, EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });
});

const recPath = recordingPath('bybit.jsonl.gz');

describe.skipIf(!recPath)('bybit against the recording', () => {
  const rec = recPath ? loadRecording(recPath) : undefined;
  const records = rec?.records ?? [];

  it('loads the recorded instruments-info bodies', async () => {
    const http = recordedHttp(records.filter((r): r is HttpRecord => r.t === 'http'));
    const list = await bybitConnector.loadInstruments(http, EP);
    const byKey = new Map(list.map((i) => [i.key, i]));
    expect(byKey.get('linear:BTCUSDT')).toEqual({
      venue: 'bybit',
      key: 'linear:BTCUSDT',
      venueSymbol: 'BTCUSDT',
      symbol: 'BTC/USDT:USDT',
      base: 'BTC',
      quote: 'USDT',
      settle: 'USDT',
      type: 'linear',
      tickSize: '0.10',
      lotSize: '0.001',
    });
    expect(byKey.get('spot:BTCUSDT')).toMatchObject({ symbol: 'BTC/USDT', tickSize: '0.1', lotSize: '0.000001', type: 'spot' });
    expect(byKey.get('linear:BTCUSDT-14AUG26')?.symbol).toBe('BTC/USDT:USDT-260814');
    expect(byKey.get('linear:BTCPERP')?.symbol).toBe('BTC/USDC:USDC');
    for (const k of ['linear:ETHUSDT', 'linear:SOLUSDT', 'linear:DOGEUSDT', 'spot:ETHUSDT']) expect(byKey.has(k)).toBe(true);
    // Canonical symbols are unique across both markets.
    expect(new Set(list.map((i) => i.symbol)).size).toBe(list.length);
    expect(list.length).toBe(800 + 557);
  });

  it('recordedSubscriptions: 4 linear + 2 spot books at depth 200, trades and tickers; klines and liquidations skipped', () => {
    const conns = records.filter((r) => r.t === 'connect');
    const all = conns.flatMap((c) =>
      bybitConnector.replay.recordedSubscriptions(
        c.addr,
        records.filter((r) => r.t === 'send' && r.conn === c.conn).map((r) => (r as { data: string }).data),
      ),
    );
    const books = all.filter((s) => s.channel === 'book');
    expect(books.filter((s) => s.market === 'linear').map((s) => s.venueSymbol).sort()).toEqual(['BTCUSDT', 'DOGEUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(books.filter((s) => s.market === 'spot').map((s) => s.venueSymbol).sort()).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(books.every((s) => s.depth === 200)).toBe(true);
    expect(all.filter((s) => s.channel === 'trades')).toHaveLength(6);
    expect(all.filter((s) => s.channel === 'ticker')).toHaveLength(6);
    expect(all).toHaveLength(18);
  });

  it('topicOfFrame names every recorded data frame and nulls the acks', () => {
    let data = 0;
    let control = 0;
    for (const r of records) {
      if (r.t !== 'recv') continue;
      const t = bybitConnector.replay.topicOfFrame(r.data);
      if (t === null) control++;
      else {
        data++;
        expect(JSON.parse(r.data).topic).toBe(t);
      }
    }
    expect(control).toBe(24);
    expect(data).toBeGreaterThan(3000);
  });
});

describe('bybit replay hooks', () => {
  const hooks = bybitConnector.replay;

  it('topicsFromUrl is empty (topics come in subscribe frames)', () => {
    expect(hooks.topicsFromUrl(new URL('wss://stream.bybit.com/v5/public/linear'))).toEqual([]);
  });

  it('subscribe / unsubscribe → topics plus an ack in the documented shape', () => {
    const r = hooks.onClientFrame('{"req_id":"abc","op":"subscribe","args":["orderbook.200.BTCUSDT","tickers.BTCUSDT"]}');
    expect(r.subscribe).toEqual(['orderbook.200.BTCUSDT', 'tickers.BTCUSDT']);
    expect(r.replies?.map((x) => JSON.parse(x))).toEqual([{ success: true, ret_msg: '', conn_id: 'sim', req_id: 'abc', op: 'subscribe' }]);
    const u = hooks.onClientFrame('{"op":"unsubscribe","args":["tickers.BTCUSDT"]}');
    expect(u.unsubscribe).toEqual(['tickers.BTCUSDT']);
    expect(JSON.parse(u.replies![0])).toEqual({ success: true, ret_msg: '', conn_id: 'sim', req_id: '', op: 'unsubscribe' });
  });

  it('ping → pong reply, which our own decoder reads as a heartbeat', () => {
    const r = hooks.onClientFrame('{"req_id":"9","op":"ping"}');
    expect(r.subscribe).toBeUndefined();
    expect(JSON.parse(r.replies![0])).toEqual({ success: true, ret_msg: 'pong', conn_id: 'sim', req_id: '9', op: 'ping' });
    const [p] = bybitConnector.plan([sub('spot', 'BTCUSDT', 'book')], EP);
    expect(bybitConnector.decode({ data: r.replies![0], recvTs: 0 }, bybitConnector.newSession(p)).signal).toEqual({ kind: 'heartbeat' });
  });

  it('garbage client frames are answered with nothing (or a failure ack), never a throw', () => {
    expect(hooks.onClientFrame('not json')).toEqual({});
    expect(hooks.onClientFrame('{"op":"dance"}')).toEqual({});
    const bad = hooks.onClientFrame('{"op":"subscribe","args":"x"}');
    expect(bad.subscribe).toBeUndefined();
    expect(JSON.parse(bad.replies![0]).success).toBe(false);
  });

  it('topicOfFrame: topic field or null', () => {
    expect(hooks.topicOfFrame('{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}')).toBe('publicTrade.BTCUSDT');
    expect(hooks.topicOfFrame('{"success":true,"op":"subscribe"}')).toBeNull();
    expect(hooks.topicOfFrame('{')).toBeNull();
  });

  it('recordedSubscriptions honours later unsubscribes and skips other topics', () => {
    const subs = hooks.recordedSubscriptions('wss://stream.bybit.com/v5/public/spot', [
      '{"op":"subscribe","args":["orderbook.1.BTCUSDT","kline.1.BTCUSDT","publicTrade.BTCUSDT"]}',
      '{"op":"unsubscribe","args":["publicTrade.BTCUSDT"]}',
      'garbage',
    ]);
    expect(subs).toEqual([{ market: 'spot', venueSymbol: 'BTCUSDT', channel: 'book', depth: 1 }]);
    expect(hooks.recordedSubscriptions('wss://stream.bybit.com/v5/private', ['{"op":"subscribe","args":["order"]}'])).toEqual([]);
  });
});

describe('bybit on-demand subscriptions', () => {
  it('declares the per-connection limit: 21,000 characters of args (plan) and a topic cap', () => {
    expect(bybitConnector.capabilities.maxSubscriptionsPerConnection).toBe(1000);
    expect(bybitConnector.capabilities.subscriptionLimitSource).toContain('https://bybit-exchange.github.io/docs/v5/ws/connect');
    expect(bybitConnector.capabilities.subscriptionLimitSource).toContain('21000 characters');
  });

  it('subscribe / unsubscribe requests in the connection category, spot at most 10 args each; the simulator acks them', () => {
    const [spot] = bybitConnector.plan([sub('spot', 'BTCUSDT', 'book')], EP);
    const syms = Array.from({ length: 12 }, (_, i) => `C${i}USDT`);
    const add = bybitConnector.subscribeFrames!(syms.map((s) => sub('spot', s, 'trades')), spot);
    expect(add.map((f) => (JSON.parse(f) as { args: string[] }).args.length)).toEqual([10, 2]);
    expect(JSON.parse(add[0])).toMatchObject({ op: 'subscribe', req_id: 'add:publicTrade.C0USDT' });
    const [linear] = bybitConnector.plan([sub('linear', 'BTCUSDT', 'book')], EP);
    const many = bybitConnector.subscribeFrames!(syms.map((s) => sub('linear', s, 'trades')), linear);
    expect(many).toHaveLength(1); // no per-request limit on linear
    const rm = bybitConnector.unsubscribeFrames!([sub('linear', 'ETHUSDT', 'book', 50)], linear);
    expect(rm.map((f) => JSON.parse(f))).toEqual([{ req_id: 'remove:orderbook.50.ETHUSDT', op: 'unsubscribe', args: ['orderbook.50.ETHUSDT'] }]);
    const sim = bybitConnector.replay.onClientFrame(add[1]);
    expect(sim.subscribe).toEqual(['publicTrade.C10USDT', 'publicTrade.C11USDT']);
    expect(JSON.parse(sim.replies![0])).toMatchObject({ success: true, op: 'subscribe', req_id: 'add:publicTrade.C10USDT' });
    expect(bybitConnector.replay.onClientFrame(rm[0]).unsubscribe).toEqual(['orderbook.50.ETHUSDT']);
  });

  it('updateSession maps symbols of the connection category only, and forgets a removed ticker', () => {
    const [linear] = bybitConnector.plan([sub('linear', 'BTCUSDT', 'book')], EP);
    const session = bybitConnector.newSession(linear);
    bybitConnector.updateSession!(session, 'add', [sub('linear', 'ETHUSDT', 'book'), sub('spot', 'SOLUSDT', 'book')], []);
    expect(session.keys.get('ETHUSDT')).toBe('linear:ETHUSDT');
    expect(session.keys.has('SOLUSDT')).toBe(false);
    session.tickers.set('ETHUSDT', {} as never);
    bybitConnector.updateSession!(session, 'remove', [sub('linear', 'ETHUSDT', 'ticker')], []);
    expect(session.tickers.has('ETHUSDT')).toBe(false);
  });
});
