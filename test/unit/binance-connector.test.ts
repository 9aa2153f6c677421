/**
 * Binance connector: plan (combined-stream URLs, the 1024-stream split), instruments and REST snapshots against
 * the recorded bodies, and the replay hooks.
 */
import { describe, expect, it } from 'vitest';
import { binanceConnector, binanceDepthLimit } from '../../src/venues/binance/connector.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = binanceConnector.defaultEndpoints;

function inst(venueSymbol: string, base = venueSymbol.slice(0, -4), quote = venueSymbol.slice(-4)): Instrument {
  return { venue: 'binance', key: instrumentKey('spot', venueSymbol), venueSymbol, symbol: canonicalSymbol(base, quote, 'spot'), base, quote, type: 'spot' };
}

function sub(sym: string, channel: Channel, depth?: number): Subscription {
  return depth === undefined ? { instrument: inst(sym), channel } : { instrument: inst(sym), channel, depth };
}

function streamsOf(url: string): string[] {
  return new URL(url).searchParams.get('streams')!.split('/');
}

/** A fake Http answering from recorded `http` records by exact URL. */
function recordedHttp(records: readonly HttpRecord[]): Http & { urls: string[] } {
  const byUrl = new Map(records.map((r) => [r.url, r.data]));
  const urls: string[] = [];
  return {
    urls,
    async get(url: string) {
      urls.push(url);
      const body = byUrl.get(url);
      if (body === undefined) throw new TributaryError('HTTP_ERROR', `no recorded answer for ${url}`);
      return body;
    },
  };
}

describe('binance capabilities', () => {
  it('REST snapshots, contiguous [U, u], the local-order-book doc, default depth 1000', () => {
    expect(binanceConnector.venue).toBe('binance');
    expect(binanceConnector.capabilities.bookSync).toEqual({
      snapshot: 'rest',
      sequence: 'contiguous',
      source: 'https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly',
    });
    expect(binanceConnector.capabilities.defaultDepth).toBe(1000);
    expect(binanceConnector.defaultEndpoints).toEqual({ wsBase: 'wss://stream.binance.com:9443', restBase: 'https://api.binance.com' });
    expect(binanceConnector.resubscribeFrames).toBeUndefined();
  });

  it('depth limits are clamped to 5…5000', () => {
    expect([undefined, 0, -3, NaN, 1, 5, 100, 1000, 4999.2, 5000, 10_000].map((d) => binanceDepthLimit(d))).toEqual([
      1000, 1000, 1000, 1000, 5, 5, 100, 1000, 5000, 5000, 5000,
    ]);
  });
});

describe('binance plan', () => {
  it('combined streams in the URL (lower case), no subscribe frames, ws-ping heartbeat', () => {
    const plans = binanceConnector.plan([sub('BTCUSDT', 'book'), sub('BTCUSDT', 'ticker'), sub('BTCUSDT', 'trades'), sub('ETHUSDT', 'book', 5000)], EP);
    expect(plans).toHaveLength(1);
    const [p] = plans;
    expect(p.id).toBe('spot-0');
    expect(p.url).toBe('wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@aggTrade/ethusdt@depth@100ms');
    expect(p.subscribeFrames).toEqual([]);
    expect(p.heartbeat).toEqual({ kind: 'ws-ping', intervalMs: 30_000 });
    expect(p.staleAfterMs).toBe(60_000);
    expect(p.subscriptions).toHaveLength(4);
  });

  it('splits beyond 1024 streams per connection; duplicates requested once', () => {
    const syms = Array.from({ length: 1030 }, (_, i) => `S${i}USDT`);
    const subs = [...syms.map((s) => sub(s, 'trades')), sub('S0USDT', 'trades')];
    const plans = binanceConnector.plan(subs, EP);
    expect(plans.map((p) => p.id)).toEqual(['spot-0', 'spot-1']);
    expect(streamsOf(plans[0].url)).toHaveLength(1024);
    expect(streamsOf(plans[1].url)).toEqual(syms.slice(1024).map((s) => `${s.toLowerCase()}@aggTrade`));
    expect(plans[0].subscriptions).toHaveLength(1025);
    expect(plans[1].subscriptions).toHaveLength(6);
  });

  it('rejects non-spot instruments', () => {
    const perp: Subscription = { instrument: { ...inst('BTCUSDT'), type: 'linear', key: 'linear:BTCUSDT' }, channel: 'book' };
    expect(() => binanceConnector.plan([perp], EP)).toThrowError(TributaryError);
  });

  it('newSession keys events with the planned instruments', () => {
    const [p] = binanceConnector.plan([sub('BTCUSDT', 'book')], EP);
    const s = binanceConnector.newSession(p);
    expect(s.keys.get('BTCUSDT')).toBe('spot:BTCUSDT');
  });
});

describe('binance REST snapshot', () => {
  it('GETs /api/v3/depth with the clamped limit and returns seq = lastUpdateId', async () => {
    const urls: string[] = [];
    const http: Http = {
      async get(url) {
        urls.push(url);
        return '{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}';
      },
    };
    const before = Date.now();
    const snap = await binanceConnector.bookSnapshot!(inst('BNBBTC', 'BNB', 'BTC'), 1000, http, EP);
    expect(urls).toEqual(['https://api.binance.com/api/v3/depth?symbol=BNBBTC&limit=1000']);
    expect(snap.seq).toBe(1027024);
    expect(snap.bids).toEqual([['4.00000000', '431.00000000']]);
    expect(snap.asks).toEqual([['4.00000200', '12.00000000']]);
    expect(snap.ts).toBeGreaterThanOrEqual(before);
    await binanceConnector.bookSnapshot!(inst('BNBBTC', 'BNB', 'BTC'), 20_000, http, EP);
    expect(urls[1]).toBe('https://api.binance.com/api/v3/depth?symbol=BNBBTC&limit=5000');
  });

  it('HTTP errors propagate; bad bodies → PROTOCOL_MALFORMED; error bodies → VENUE_REJECTED', async () => {
    const failing: Http = {
      get: async () => {
        throw new TributaryError('VENUE_RATE_LIMITED', '429');
      },
    };
    await expect(binanceConnector.bookSnapshot!(inst('BNBBTC'), 100, failing, EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(binanceConnector.bookSnapshot!(inst('BNBBTC'), 100, { get: async () => '{"bids":[]}' }, EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(binanceConnector.bookSnapshot!(inst('BNBBTC'), 100, { get: async () => 'nope' }, EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(binanceConnector.bookSnapshot!(inst('BNBBTC'), 100, { get: async () => '{"code":-1121,"msg":"Invalid symbol."}' }, EP)).rejects.toMatchObject({
      code: 'VENUE_REJECTED',
    });
  });
});

describe('binance replay hooks', () => {
  const hooks = binanceConnector.replay;

  it('topicsFromUrl splits streams=', () => {
    expect(hooks.topicsFromUrl(new URL('ws://127.0.0.1:1/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker'))).toEqual(['btcusdt@depth@100ms', 'btcusdt@bookTicker']);
    expect(hooks.topicsFromUrl(new URL('ws://127.0.0.1:1/ws'))).toEqual([]);
  });

  it('SUBSCRIBE / UNSUBSCRIBE → topics and {"result":null,"id"}', () => {
    const s = hooks.onClientFrame('{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}');
    expect(s).toEqual({ subscribe: ['btcusdt@aggTrade', 'btcusdt@depth'], replies: ['{"result":null,"id":1}'] });
    const u = hooks.onClientFrame('{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":"abc"}');
    expect(u).toEqual({ unsubscribe: ['btcusdt@depth'], replies: ['{"result":null,"id":"abc"}'] });
    expect(binanceConnector.decode({ data: s.replies![0], recvTs: 0 }, binanceConnector.newSession(binanceConnector.plan([sub('BTCUSDT', 'book')], EP)[0])).signal?.kind).toBe('subscribed');
    expect(hooks.onClientFrame('garbage')).toEqual({});
  });

  it('topicOfFrame: stream field or null', () => {
    expect(hooks.topicOfFrame('{"stream":"btcusdt@aggTrade","data":{}}')).toBe('btcusdt@aggTrade');
    expect(hooks.topicOfFrame('{"e":"aggTrade"}')).toBeNull();
    expect(hooks.topicOfFrame('{"result":null,"id":1}')).toBeNull();
    expect(hooks.topicOfFrame('[')).toBeNull();
  });

  it('recordedSubscriptions reads URL streams and SUBSCRIBE / UNSUBSCRIBE sends', () => {
    const subs = hooks.recordedSubscriptions('wss://stream.binance.com:9443/stream?streams=btcusdt@depth/btcusdt@kline_1m', [
      '{"method":"SUBSCRIBE","params":["ethbtc@trade","ethbtc@bookTicker"],"id":1}',
      '{"method":"UNSUBSCRIBE","params":["ethbtc@bookTicker"],"id":2}',
    ]);
    expect(subs).toEqual([
      { market: 'spot', venueSymbol: 'BTCUSDT', channel: 'book' },
      { market: 'spot', venueSymbol: 'ETHBTC', channel: 'trades' },
    ]);
  });
});

const recPath = recordingPath('binance.jsonl.gz');

describe.skipIf(!recPath)('binance against the recording', () => {
  const rec = recPath ? loadRecording(recPath) : undefined;
  const records = rec?.records ?? [];
  const http = recordedHttp(records.filter((r): r is HttpRecord => r.t === 'http'));

  it('loads the recorded exchangeInfo: every recorded symbol resolves', async () => {
    const list = await binanceConnector.loadInstruments(http, EP);
    expect(list).toHaveLength(1695);
    const byKey = new Map(list.map((i) => [i.key, i]));
    expect(byKey.get('spot:NKNUSDT')).toEqual({
      venue: 'binance',
      key: 'spot:NKNUSDT',
      venueSymbol: 'NKNUSDT',
      symbol: 'NKN/USDT',
      base: 'NKN',
      quote: 'USDT',
      type: 'spot',
      tickSize: '0.00010000',
      lotSize: '1.00000000',
    });
    expect(byKey.get('spot:BLZETH')?.symbol).toBe('BLZ/ETH');
    expect(byKey.get('spot:LRCBTC')?.symbol).toBe('LRC/BTC');
    expect(byKey.get('spot:RUNEEUR')).toMatchObject({ symbol: 'RUNE/EUR', tickSize: '0.00100000', lotSize: '0.10000000' });
    expect(new Set(list.map((i) => i.symbol)).size).toBe(list.length);
  });

  it('requests the recorded depth URLs for the recorded books', async () => {
    const snap = await binanceConnector.bookSnapshot!(inst('NKNUSDT'), binanceConnector.capabilities.defaultDepth, http, EP);
    expect(snap.seq).toBe(499869752);
    expect(snap.bids.length).toBeGreaterThan(100);
  });

  it('recordedSubscriptions of the recorded connection: 4 books, 4 tickers, 4 trades; klines skipped', () => {
    const c = records.find((r) => r.t === 'connect');
    expect(c).toBeDefined();
    const subs = binanceConnector.replay.recordedSubscriptions((c as { addr: string }).addr, []);
    const by = (ch: Channel) => subs.filter((s) => s.channel === ch).map((s) => s.venueSymbol).sort();
    expect(by('book')).toEqual(['BLZETH', 'LRCBTC', 'NKNUSDT', 'RUNEEUR']);
    expect(by('ticker')).toEqual(['BLZETH', 'LRCBTC', 'NKNUSDT', 'RUNEEUR']);
    expect(by('trades')).toEqual(['BLZETH', 'LRCBTC', 'NKNUSDT', 'RUNEEUR']);
    expect(subs.every((s) => s.market === 'spot')).toBe(true);
    expect(subs).toHaveLength(12);
  });
});

describe('binance on-demand subscriptions', () => {
  it('declares the documented 1024 streams per connection', () => {
    expect(binanceConnector.capabilities.maxSubscriptionsPerConnection).toBe(1024);
    expect(binanceConnector.capabilities.subscriptionLimitSource).toBe('https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams');
  });

  it('SUBSCRIBE / UNSUBSCRIBE all streams in one request with an id; the simulator acks and streams them', () => {
    const [plan] = binanceConnector.plan([sub('BTCUSDT', 'book')], EP);
    const add = binanceConnector.subscribeFrames!([sub('ETHUSDT', 'book'), sub('ETHUSDT', 'trades'), sub('ETHUSDT', 'ticker')], plan);
    expect(add).toHaveLength(1);
    const o = JSON.parse(add[0]) as { method: string; params: string[]; id: number };
    expect(o.method).toBe('SUBSCRIBE');
    expect(o.params).toEqual(['ethusdt@depth@100ms', 'ethusdt@aggTrade', 'ethusdt@bookTicker']);
    expect(Number.isInteger(o.id)).toBe(true);
    const rm = JSON.parse(binanceConnector.unsubscribeFrames!([sub('ETHUSDT', 'book')], plan)[0]) as { method: string; params: string[]; id: number };
    expect(rm).toMatchObject({ method: 'UNSUBSCRIBE', params: ['ethusdt@depth@100ms'] });
    expect(rm.id).not.toBe(o.id);
    const sim = binanceConnector.replay.onClientFrame(add[0]);
    expect(sim.subscribe).toEqual(o.params);
    expect(sim.replies).toEqual([JSON.stringify({ result: null, id: o.id })]);
    expect(binanceConnector.decode({ data: sim.replies![0], recvTs: 0 }, binanceConnector.newSession(plan)).signal?.kind).toBe('subscribed');
  });

  it('updateSession maps the added symbols to their keys and passes the frames through', () => {
    const [plan] = binanceConnector.plan([sub('BTCUSDT', 'book')], EP);
    const session = binanceConnector.newSession(plan);
    const frames = ['x'];
    expect(binanceConnector.updateSession!(session, 'add', [sub('ETHUSDT', 'book')], frames)).toBe(frames);
    expect(session.keys.get('ETHUSDT')).toBe('spot:ETHUSDT');
  });
});
