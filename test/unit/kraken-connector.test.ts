/**
 * Kraken connector: protocol choice by URL, plan (frames, batching, depths, heartbeat), resubscribe frames per
 * protocol, instruments from the recorded AssetPairs body, and the replay hooks (against the shared recording).
 */
import { describe, expect, it } from 'vitest';
import { canonicalSymbol, instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import {
  KRAKEN_MAX_SUBSCRIPTIONS_PER_CONNECTION,
  krakenBookDepth,
  krakenConnector,
  krakenInstrument,
  krakenProtocolOf,
  type KrakenPlannedSubscription,
} from '../../src/venues/kraken/connector.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const V2: VenueEndpoints = krakenConnector.defaultEndpoints;
const V1: VenueEndpoints = { wsBase: 'wss://ws.kraken.com', restBase: 'https://api.kraken.com' };

function inst(wsname: string): Instrument {
  const [b, q] = wsname.split('/');
  const common = (a: string) => (a === 'XBT' ? 'BTC' : a === 'XDG' ? 'DOGE' : a);
  return { venue: 'kraken', key: instrumentKey('spot', wsname), venueSymbol: wsname, symbol: canonicalSymbol(common(b), common(q), 'spot'), base: common(b), quote: common(q), type: 'spot', tickSize: '0.1', lotSize: '0.00000001' };
}

function sub(wsname: string, channel: Channel, depth?: number): Subscription {
  return depth === undefined ? { instrument: inst(wsname), channel } : { instrument: inst(wsname), channel, depth };
}

describe('kraken capabilities and protocol', () => {
  it('stream snapshots, no sequence, truncate to depth; v2 endpoint by default', () => {
    expect(krakenConnector.capabilities.bookSync).toEqual({
      snapshot: 'stream',
      sequence: 'none',
      truncateToDepth: true,
      source: 'https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1',
    });
    expect(krakenConnector.capabilities.defaultDepth).toBe(100);
    expect(V2).toEqual({ wsBase: 'wss://ws.kraken.com/v2', restBase: 'https://api.kraken.com' });
  });

  it('the URL path decides the protocol: /v2 → v2, anything else → v1', () => {
    expect(krakenProtocolOf('wss://ws.kraken.com/v2')).toBe('v2');
    expect(krakenProtocolOf('wss://ws.kraken.com/v2/')).toBe('v2');
    expect(krakenProtocolOf('ws://127.0.0.1:9000/kraken/v2')).toBe('v2');
    expect(krakenProtocolOf('wss://ws.kraken.com')).toBe('v1');
    expect(krakenProtocolOf('ws://127.0.0.1:9000/kraken')).toBe('v1');
    expect(krakenProtocolOf('not a url')).toBe('v1');
  });

  it('book depths round up to 10/25/100/500/1000', () => {
    expect([undefined, 0, 1, 10, 11, 25, 26, 100, 101, 500, 501, 1000, 5000].map((d) => krakenBookDepth(d))).toEqual([100, 100, 10, 10, 25, 25, 100, 100, 500, 500, 1000, 1000, 1000]);
  });
});

describe('kraken plan', () => {
  const subs = [sub('XBT/USD', 'book', 10), sub('ETH/EUR', 'book', 1000), sub('XBT/USD', 'trades'), sub('XDG/USD', 'ticker'), sub('ETH/EUR', 'book', 10)];

  it('v2: one connection on /v2, one subscribe per (channel, depth) with v2 symbols, ping every 20 s', () => {
    const [p, ...rest] = krakenConnector.plan(subs, V2);
    expect(rest).toEqual([]);
    expect(p.id).toBe('spot-0');
    expect(p.url).toBe('wss://ws.kraken.com/v2');
    expect(p.staleAfterMs).toBe(45_000);
    expect(p.subscriptions).toHaveLength(4); // duplicate (key, channel) planned once
    expect(p.subscriptions.every((s) => (s as KrakenPlannedSubscription).protocol === 'v2')).toBe(true);
    expect(p.subscribeFrames.map((f) => JSON.parse(f))).toEqual([
      { method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 10, snapshot: true }, req_id: 1 },
      { method: 'subscribe', params: { channel: 'book', symbol: ['ETH/EUR'], depth: 1000, snapshot: true }, req_id: 2 },
      { method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD'], snapshot: false }, req_id: 3 },
      { method: 'subscribe', params: { channel: 'ticker', symbol: ['DOGE/USD'], event_trigger: 'bbo' }, req_id: 4 },
    ]);
    expect(p.heartbeat.kind).toBe('app');
    if (p.heartbeat.kind === 'app') {
      expect(p.heartbeat.intervalMs).toBe(20_000);
      expect(JSON.parse(p.heartbeat.frame())).toEqual({ method: 'ping', req_id: 1 });
      expect(JSON.parse(p.heartbeat.frame())).toEqual({ method: 'ping', req_id: 2 });
    }
    expect(krakenConnector.newSession(p).protocol).toBe('v2');
  });

  it('v1 (root path, e.g. the simulator): wsname pairs, v1 subscription objects and pings', () => {
    const [p] = krakenConnector.plan(subs, { wsBase: 'ws://127.0.0.1:9000/kraken/', restBase: 'http://127.0.0.1:9000/kraken' });
    expect(p.url).toBe('ws://127.0.0.1:9000/kraken');
    expect(p.subscribeFrames.map((f) => JSON.parse(f))).toEqual([
      { event: 'subscribe', reqid: 1, pair: ['XBT/USD'], subscription: { name: 'book', depth: 10 } },
      { event: 'subscribe', reqid: 2, pair: ['ETH/EUR'], subscription: { name: 'book', depth: 1000 } },
      { event: 'subscribe', reqid: 3, pair: ['XBT/USD'], subscription: { name: 'trade' } },
      { event: 'subscribe', reqid: 4, pair: ['XDG/USD'], subscription: { name: 'ticker' } },
    ]);
    if (p.heartbeat.kind === 'app') expect(JSON.parse(p.heartbeat.frame())).toEqual({ event: 'ping', reqid: 1 });
    expect(krakenConnector.newSession(p).protocol).toBe('v1');
    expect(krakenConnector.plan([], V1)).toEqual([]);
  });

  it('splits at 100 subscriptions per connection and 50 symbols per request; rounds odd depths up', () => {
    const many = Array.from({ length: 230 }, (_, i) => sub(`C${i}/USD`, 'book', 40));
    const plans = krakenConnector.plan(many, V1);
    expect(plans.map((p) => p.subscriptions.length)).toEqual([KRAKEN_MAX_SUBSCRIPTIONS_PER_CONNECTION, 100, 30]);
    expect(plans.map((p) => p.id)).toEqual(['spot-0', 'spot-1', 'spot-2']);
    const frames = plans[0].subscribeFrames.map((f) => JSON.parse(f));
    expect(frames.map((f) => f.pair.length)).toEqual([50, 50]);
    expect(frames.every((f) => f.subscription.depth === 100)).toBe(true);
  });

  it('rejects non-spot instruments', () => {
    const bad: Subscription = { instrument: { ...inst('XBT/USD'), type: 'linear', key: 'linear:XBT/USD' }, channel: 'book' };
    expect(() => krakenConnector.plan([bad], V2)).toThrowError(TributaryError);
  });
});

describe('kraken resubscribe', () => {
  it('unsubscribe + subscribe of the book, in the protocol the subscription was planned on', () => {
    const [v2] = krakenConnector.plan([sub('XBT/USD', 'book', 30)], V2);
    expect(krakenConnector.resubscribeFrames!(v2.subscriptions[0]).map((f) => JSON.parse(f))).toEqual([
      { method: 'unsubscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 100 } },
      { method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 100, snapshot: true } },
    ]);
    const [v1] = krakenConnector.plan([sub('XBT/USD', 'book', 1000)], V1);
    expect(krakenConnector.resubscribeFrames!(v1.subscriptions[0]).map((f) => JSON.parse(f))).toEqual([
      { event: 'unsubscribe', pair: ['XBT/USD'], subscription: { name: 'book', depth: 1000 } },
      { event: 'subscribe', pair: ['XBT/USD'], subscription: { name: 'book', depth: 1000 } },
    ]);
    // An unplanned subscription defaults to the live protocol (v2).
    expect(JSON.parse(krakenConnector.resubscribeFrames!(sub('XBT/USD', 'book', 10))[1]).method).toBe('subscribe');
  });
});

describe('kraken instruments', () => {
  it('maps wsname pairs (XBT → BTC, XDG → DOGE), precisions as tick / lot sizes; dark-pool pairs skipped', () => {
    expect(krakenInstrument({ altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD', pair_decimals: 1, lot_decimals: 8 })).toEqual({
      venue: 'kraken',
      key: 'spot:XBT/USD',
      venueSymbol: 'XBT/USD',
      symbol: 'BTC/USD',
      base: 'BTC',
      quote: 'USD',
      type: 'spot',
      tickSize: '0.1',
      lotSize: '0.00000001',
    });
    expect(krakenInstrument({ wsname: 'XDG/XBT', pair_decimals: 8, lot_decimals: 0 })).toMatchObject({ symbol: 'DOGE/BTC', tickSize: '0.00000001', lotSize: '1' });
    expect(krakenInstrument({ wsname: 'ETH/USD', pair_decimals: 2, lot_decimals: 8, tick_size: '0.05' })?.tickSize).toBe('0.05');
    expect(krakenInstrument({ wsname: 'ETH/USD', pair_decimals: 2, lot_decimals: 8, tick_size: '0.5' })?.tickSize).toBe('0.01');
    expect(krakenInstrument({ altname: 'XBTUSD.d', base: 'XXBT', quote: 'ZUSD' })).toBeUndefined();
    expect(krakenInstrument({ wsname: 'nonsense' })).toBeUndefined();
  });

  it('AssetPairs errors are typed', async () => {
    const reply = (body: string): Http => ({ get: async () => body });
    await expect(krakenConnector.loadInstruments(reply('{"error":["EGeneral:Invalid arguments"]}'), V2)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(krakenConnector.loadInstruments(reply('{"error":["EAPI:Rate limit exceeded"]}'), V2)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(krakenConnector.loadInstruments(reply('<html>'), V2)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(krakenConnector.loadInstruments(reply('{"error":[]}'), V2)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });
});

describe('kraken replay hooks', () => {
  const hooks = krakenConnector.replay;

  it('v1 subscribe / unsubscribe / ping → topics and v1-shaped replies our decoder understands', () => {
    const r = hooks.onClientFrame('{"event":"subscribe","reqid":7,"pair":["XBT/USD","ETH/EUR"],"subscription":{"name":"book","depth":25}}');
    expect(r.subscribe).toEqual(['book:XBT/USD', 'book:ETH/EUR']);
    const acks = r.replies!.map((x) => JSON.parse(x));
    expect(acks[0]).toMatchObject({ event: 'subscriptionStatus', status: 'subscribed', pair: 'XBT/USD', channelName: 'book-25', reqid: 7 });
    const s = krakenConnector.newSession(krakenConnector.plan([sub('XBT/USD', 'book')], V1)[0]);
    expect(krakenConnector.decode({ data: r.replies![0], recvTs: 0 }, s).signal).toEqual({ kind: 'subscribed', detail: 'book-25:XBT/USD' });
    expect(hooks.onClientFrame('{"event":"unsubscribe","pair":["XBT/USD"],"subscription":{"name":"trade"}}').unsubscribe).toEqual(['trade:XBT/USD']);
    const pong = hooks.onClientFrame('{"event":"ping","reqid":3}');
    expect(pong.replies!.map((x) => JSON.parse(x))).toEqual([{ event: 'pong', reqid: 3 }]);
    expect(krakenConnector.decode({ data: pong.replies![0], recvTs: 0 }, s).signal).toEqual({ kind: 'heartbeat' });
  });

  it('v2 subscribe / ping → topics with v2 symbols and v2 replies', () => {
    const r = hooks.onClientFrame('{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"]},"req_id":1}');
    expect(r.subscribe).toEqual(['ticker:BTC/USD']);
    expect(JSON.parse(r.replies![0])).toMatchObject({ method: 'subscribe', success: true, result: { channel: 'ticker', symbol: 'BTC/USD' } });
    const pong = hooks.onClientFrame('{"method":"ping","req_id":9}');
    expect(JSON.parse(pong.replies![0])).toMatchObject({ method: 'pong', req_id: 9 });
  });

  it('malformed requests get an error reply; garbage gets nothing; never a throw', () => {
    expect(JSON.parse(hooks.onClientFrame('{"event":"subscribe","pair":"x"}').replies![0])).toMatchObject({ event: 'error' });
    expect(JSON.parse(hooks.onClientFrame('{"method":"subscribe","params":{}}').replies![0])).toMatchObject({ success: false });
    expect(hooks.onClientFrame('garbage')).toEqual({});
    expect(hooks.onClientFrame('{"event":"dance"}')).toEqual({});
  });

  it('topicOfFrame: v1 arrays and v2 channel messages; control frames null', () => {
    expect(hooks.topicOfFrame('[992,{"b":[["354.15","5.0","1618678133.365913"]],"c":"1"},"book-1000","XMR/USD"]')).toBe('book:XMR/USD');
    expect(hooks.topicOfFrame('[42,[],"ohlc-5","XBT/USD"]')).toBe('ohlc:XBT/USD');
    expect(hooks.topicOfFrame('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD"}]}')).toBe('trade:BTC/USD');
    expect(hooks.topicOfFrame('{"event":"heartbeat"}')).toBeNull();
    expect(hooks.topicOfFrame('{"channel":"heartbeat"}')).toBeNull();
    expect(hooks.topicOfFrame('nope')).toBeNull();
    expect(hooks.topicsFromUrl(new URL('wss://ws.kraken.com/v2'))).toEqual([]);
  });

  it('recordedSubscriptions: v1 and v2 frames, later unsubscribes win, v2 symbols mapped back to wsnames', () => {
    expect(
      hooks.recordedSubscriptions('wss://ws.kraken.com/v2', [
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","DOGE/USD"],"depth":25}}',
        '{"method":"subscribe","params":{"channel":"ohlc","symbol":["BTC/USD"]}}',
        '{"method":"unsubscribe","params":{"channel":"book","symbol":["DOGE/USD"]}}',
        '{"method":"ping"}',
      ]),
    ).toEqual([{ market: 'spot', venueSymbol: 'XBT/USD', channel: 'book', depth: 25 }]);
    expect(hooks.recordedSubscriptions('wss://ws.kraken.com', ['{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book"}}'])).toEqual([
      { market: 'spot', venueSymbol: 'XBT/USD', channel: 'book', depth: 10 },
    ]);
  });
});

const recPath = recordingPath('kraken.jsonl.gz');

describe.skipIf(!recPath)('kraken against the recording', () => {
  const records = recPath ? loadRecording(recPath).records : [];

  it('loads the recorded AssetPairs: 293 pairs with a wsname, canonical names unique', async () => {
    const bodies = records.filter((r): r is HttpRecord => r.t === 'http');
    const http: Http = { get: async (url) => bodies.find((b) => b.url === url)?.data ?? Promise.reject(new TributaryError('HTTP_ERROR', url)) };
    const list = await krakenConnector.loadInstruments(http, V2);
    expect(list).toHaveLength(293);
    const byKey = new Map(list.map((i) => [i.key, i]));
    expect(byKey.get('spot:XBT/CHF')).toMatchObject({ symbol: 'BTC/CHF', tickSize: '0.1', lotSize: '0.00000001' });
    expect(byKey.get('spot:XMR/USD')).toMatchObject({ symbol: 'XMR/USD', tickSize: '0.01' });
    expect(byKey.get('spot:XDG/USD')?.symbol).toBe('DOGE/USD');
    expect(new Set(list.map((i) => i.symbol)).size).toBe(list.length);
  });

  it('recordedSubscriptions: 10 books at depth 1000, 10 trades, 10 tickers over the 3 recorded connections', () => {
    const all = records
      .filter((r) => r.t === 'connect')
      .flatMap((c) => krakenConnector.replay.recordedSubscriptions(c.addr, records.filter((r) => r.t === 'send' && r.conn === c.conn).map((r) => (r as { data: string }).data)));
    expect(all.filter((s) => s.channel === 'book').every((s) => s.depth === 1000)).toBe(true);
    expect(all.map((s) => s.channel).sort()).toEqual([...Array(10).fill('book'), ...Array(10).fill('ticker'), ...Array(10).fill('trades')]);
    expect(new Set(all.map((s) => s.venueSymbol))).toEqual(new Set(['WAVES/EUR', 'XMR/USD', 'KSM/XBT', 'GRT/ETH', 'SC/EUR', 'ETH/CHF', 'OCEAN/XBT', 'OMG/USD', 'XBT/CHF', 'ADA/XBT']));
  });

  it('topicOfFrame names every recorded data frame and nulls the control frames', () => {
    let data = 0;
    let control = 0;
    for (const r of records) {
      if (r.t !== 'recv') continue;
      const t = krakenConnector.replay.topicOfFrame(r.data);
      if (t === null) control++;
      else {
        data++;
        const m = JSON.parse(r.data) as unknown[];
        expect(t.endsWith(':' + String(m[m.length - 1]))).toBe(true);
      }
    }
    expect(control).toBe(92 + 30 + 3);
    expect(data).toBe(4430 - control);
  });
});

describe('kraken on-demand subscriptions', () => {
  it('declares its per-connection bound (ours: Kraken documents none)', () => {
    expect(krakenConnector.capabilities.maxSubscriptionsPerConnection).toBe(100);
    expect(krakenConnector.capabilities.subscriptionLimitSource).toContain('https://docs.kraken.com/exchange/api-reference/spot-websocket');
  });

  it('subscribe / unsubscribe in the protocol of the connection URL, one request per channel and depth', () => {
    const [v1] = krakenConnector.plan([sub('XBT/USD', 'book')], V1);
    const add = krakenConnector.subscribeFrames!([sub('ETH/USD', 'book', 25), sub('XDG/USD', 'book', 20), sub('ETH/USD', 'trades')], v1);
    expect(add.map((f) => JSON.parse(f))).toEqual([
      { event: 'subscribe', pair: ['ETH/USD', 'XDG/USD'], subscription: { name: 'book', depth: 25 } },
      { event: 'subscribe', pair: ['ETH/USD'], subscription: { name: 'trade' } },
    ]);
    expect(JSON.parse(krakenConnector.unsubscribeFrames!([sub('ETH/USD', 'book', 25)], v1)[0])).toEqual({ event: 'unsubscribe', pair: ['ETH/USD'], subscription: { name: 'book', depth: 25 } });
    const [v2] = krakenConnector.plan([sub('XBT/USD', 'book')], V2);
    expect(JSON.parse(krakenConnector.subscribeFrames!([sub('XDG/USD', 'book', 10)], v2)[0])).toEqual({
      method: 'subscribe',
      params: { channel: 'book', symbol: ['DOGE/USD'], depth: 10, snapshot: true },
    });
    expect(krakenConnector.replay.onClientFrame(add[0]).subscribe).toEqual(['book:ETH/USD', 'book:XDG/USD']);
  });

  it('updateSession adds the instruments to both lookups (v2 with their precisions)', () => {
    const [v2] = krakenConnector.plan([sub('XBT/USD', 'book')], V2);
    const session = krakenConnector.newSession(v2);
    krakenConnector.updateSession!(session, 'add', [sub('ETH/USD', 'book')], []);
    expect(session.v1.get('ETH/USD')).toBe('spot:ETH/USD');
    expect(session.v2.get('ETH/USD')).toEqual({ key: 'spot:ETH/USD', pricePrecision: 1, qtyPrecision: 8 });
  });
});
