/**
 * Bitstamp connector: capabilities, plan (subscribe frames, heartbeat, connection split), instruments and the
 * REST book snapshot against the recorded bodies, REST error bodies, and the replay hooks.
 */
import { describe, expect, it } from 'vitest';
import {
  BITSTAMP_CONNECTION_TOPIC,
  BITSTAMP_MAX_CHANNELS_PER_CONNECTION,
  bitstampConnector,
  bitstampInstrument,
} from '../../src/venues/bitstamp/connector.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { instrumentKey, type Instrument } from '../../src/core/instruments.ts';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = bitstampConnector.defaultEndpoints;

function inst(pair: string): Instrument {
  return { venue: 'bitstamp', key: instrumentKey('spot', pair), venueSymbol: pair, symbol: `${pair.slice(0, -3).toUpperCase()}/${pair.slice(-3).toUpperCase()}`, base: pair.slice(0, -3).toUpperCase(), quote: pair.slice(-3).toUpperCase(), type: 'spot' };
}

function sub(pair: string, channel: Channel): Subscription {
  return { instrument: inst(pair), channel };
}

describe('bitstamp capabilities', () => {
  it('REST snapshots aligned by microtimestamp (sequence none), book and trades only, no checksum', () => {
    expect(bitstampConnector.venue).toBe('bitstamp');
    expect(bitstampConnector.capabilities.bookSync).toEqual({ snapshot: 'rest', sequence: 'none', source: 'https://www.bitstamp.net/websocket/v2/' });
    expect([...bitstampConnector.capabilities.channels].sort()).toEqual(['book', 'trades']);
    expect(bitstampConnector.defaultEndpoints).toEqual({ wsBase: 'wss://ws.bitstamp.net', restBase: 'https://www.bitstamp.net' });
    expect(bitstampConnector.checksum).toBeUndefined();
    expect(bitstampConnector.resubscribeFrames).toBeUndefined();
  });
});

describe('bitstamp plan', () => {
  it('one connection, one bts:subscribe per channel (books first), app heartbeat every 15 s', () => {
    const [p, ...rest] = bitstampConnector.plan([sub('btcusd', 'trades'), sub('btcusd', 'book'), sub('ethusd', 'book'), sub('btcusd', 'book')], EP);
    expect(rest).toEqual([]);
    expect(p.id).toBe('spot-0');
    expect(p.url).toBe('wss://ws.bitstamp.net/');
    expect(p.subscribeFrames).toEqual([
      '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}',
      '{"event":"bts:subscribe","data":{"channel":"diff_order_book_ethusd"}}',
      '{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}',
    ]);
    expect(p.subscriptions).toHaveLength(4);
    expect(p.heartbeat.kind).toBe('app');
    if (p.heartbeat.kind === 'app') {
      expect(p.heartbeat.intervalMs).toBe(15_000);
      expect(JSON.parse(p.heartbeat.frame())).toEqual({ event: 'bts:heartbeat' });
    }
    expect(p.staleAfterMs).toBe(45_000);
  });

  it(`splits at ${BITSTAMP_MAX_CHANNELS_PER_CONNECTION} channels per connection; honours an endpoint override`, () => {
    const pairs = Array.from({ length: 130 }, (_, i) => `c${String(i).padStart(3, '0')}usd`);
    const plans = bitstampConnector.plan(pairs.flatMap((p) => [sub(p, 'book'), sub(p, 'trades')]), { wsBase: 'ws://127.0.0.1:9/bitstamp', restBase: 'http://127.0.0.1:9/bitstamp' });
    expect(plans.map((p) => [p.id, p.subscribeFrames.length])).toEqual([
      ['spot-0', 100],
      ['spot-1', 100],
      ['spot-2', 60],
    ]);
    expect(plans[0].url).toBe('ws://127.0.0.1:9/bitstamp/');
    expect(plans.flatMap((p) => p.subscriptions)).toHaveLength(260);
  });

  it('rejects non-spot instruments and the ticker channel (Bitstamp has none)', () => {
    expect(() => bitstampConnector.plan([{ instrument: { ...inst('btcusd'), type: 'linear' }, channel: 'book' }], EP)).toThrowError(TributaryError);
    expect(() => bitstampConnector.plan([sub('btcusd', 'ticker')], EP)).toThrowError(TributaryError);
  });
});

describe('bitstamp instruments and REST snapshot', () => {
  it('maps pairs-info entries: BTC/USD, url_symbol, tick and lot sizes from the decimals', () => {
    expect(bitstampInstrument({ name: 'BTC/USD', url_symbol: 'btcusd', trading: 'Enabled', base_decimals: 8, counter_decimals: 2 })).toEqual({
      venue: 'bitstamp',
      key: 'spot:btcusd',
      venueSymbol: 'btcusd',
      symbol: 'BTC/USD',
      base: 'BTC',
      quote: 'USD',
      type: 'spot',
      tickSize: '0.01',
      lotSize: '0.00000001',
    });
    expect(bitstampInstrument({ name: 'X/Y', url_symbol: 'xy', base_decimals: 0 })?.lotSize).toBe('1');
    expect(bitstampInstrument({ name: 'BTCUSD', url_symbol: 'btcusd' })).toBeUndefined();
    expect(bitstampInstrument({ name: 'BTC/USD' } as never)).toBeUndefined();
  });

  it('bookSnapshot: seq = microtimestamp, ts in ms; error bodies are typed', async () => {
    const urls: string[] = [];
    const body = JSON.stringify({ timestamp: '1641343695', microtimestamp: '1641343695572693', bids: [['0.14695', '4567.41344936']], asks: [['0.14844', '1']] });
    const http: Http = {
      async get(url) {
        urls.push(url);
        return body;
      },
    };
    const snap = await bitstampConnector.bookSnapshot!(inst('sgbeur'), 100, http, EP);
    expect(urls).toEqual(['https://www.bitstamp.net/api/v2/order_book/sgbeur/']);
    expect(snap).toEqual({ bids: [['0.14695', '4567.41344936']], asks: [['0.14844', '1']], seq: 1641343695572693, ts: 1641343695572 });
    const reply = (b: string): Http => ({ get: async () => b });
    await expect(bitstampConnector.bookSnapshot!(inst('sgbeur'), 100, reply(JSON.stringify({ status: 'error', reason: 'Rate limit exceeded', code: '400.002' })), EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(bitstampConnector.bookSnapshot!(inst('sgbeur'), 100, reply(JSON.stringify({ status: 'error', reason: 'Invalid currency pair' })), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(bitstampConnector.bookSnapshot!(inst('sgbeur'), 100, reply('{"bids":[]}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(bitstampConnector.bookSnapshot!(inst('sgbeur'), 100, reply('<html>'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(bitstampConnector.loadInstruments(reply('{"status":"error","reason":"x"}'), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(bitstampConnector.loadInstruments(reply('{}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });
});

describe('bitstamp replay hooks', () => {
  const hooks = bitstampConnector.replay;

  it('onClientFrame: subscribe/unsubscribe acks as Bitstamp sends them, heartbeat answers, errors for bad requests', () => {
    expect(hooks.onClientFrame('{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}')).toEqual({
      subscribe: ['diff_order_book_btcusd', BITSTAMP_CONNECTION_TOPIC],
      replies: ['{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}'],
    });
    expect(hooks.onClientFrame('{"event":"bts:unsubscribe","data":{"channel":"live_trades_btcusd"}}')).toEqual({
      unsubscribe: ['live_trades_btcusd'],
      replies: ['{"event":"bts:unsubscription_succeeded","channel":"live_trades_btcusd","data":{}}'],
    });
    expect(hooks.onClientFrame('{"event":"bts:heartbeat"}')).toEqual({ replies: ['{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'] });
    expect(JSON.parse(hooks.onClientFrame('{"event":"bts:subscribe","data":{}}').replies![0]).event).toBe('bts:error');
    expect(JSON.parse(hooks.onClientFrame('garbage').replies![0]).event).toBe('bts:error');
  });

  it('topicOfFrame: the channel of data frames, the connection topic for request_reconnect, null for acks', () => {
    expect(hooks.topicOfFrame('{"data":{},"channel":"diff_order_book_ethusd","event":"data"}')).toBe('diff_order_book_ethusd');
    expect(hooks.topicOfFrame('{"data":{},"channel":"live_trades_ethusd","event":"trade"}')).toBe('live_trades_ethusd');
    expect(hooks.topicOfFrame('{"event":"bts:request_reconnect","channel":"","data":""}')).toBe(BITSTAMP_CONNECTION_TOPIC);
    expect(hooks.topicOfFrame('{"event":"bts:subscription_succeeded","channel":"live_trades_ethusd","data":{}}')).toBeNull();
    expect(hooks.topicOfFrame('nope')).toBeNull();
    expect(hooks.topicsFromUrl(new URL('wss://ws.bitstamp.net/'))).toEqual([]);
  });
});

const recPath = recordingPath('bitstamp.jsonl.gz');

describe.skipIf(!recPath)('bitstamp against the recording', () => {
  const rec = recPath ? loadRecording(recPath) : undefined;
  const records = rec?.records ?? [];
  const http = records.filter((r): r is HttpRecord => r.t === 'http');

  it('loads the recorded trading-pairs-info: 140 pairs, canonical BTC/USD, unique symbols', async () => {
    const body = http.find((r) => r.url.includes('trading-pairs-info'))!.data;
    const urls: string[] = [];
    const list = await bitstampConnector.loadInstruments({ get: async (u) => (urls.push(u), body) }, EP);
    expect(urls).toEqual(['https://www.bitstamp.net/api/v2/trading-pairs-info/']);
    expect(list).toHaveLength(140);
    const byKey = new Map(list.map((i) => [i.key, i]));
    expect(byKey.get('spot:btcusd')).toMatchObject({ symbol: 'BTC/USD', venueSymbol: 'btcusd', tickSize: '0.01', lotSize: '0.00000001' });
    expect(byKey.get('spot:usdteur')).toMatchObject({ symbol: 'USDT/EUR', tickSize: '0.00001', lotSize: '0.00001' });
    expect(byKey.get('spot:batbtc')?.symbol).toBe('BAT/BTC');
    expect(new Set(list.map((i) => i.symbol)).size).toBe(140);
  });

  it('bookSnapshot reads the recorded order_book body (recorded without the trailing slash)', async () => {
    const rec = http.find((r) => r.url.endsWith('/order_book/ethusd'))!;
    const snap = await bitstampConnector.bookSnapshot!(inst('ethusd'), 100, { get: async () => rec.data }, EP);
    expect(snap.seq).toBe(1641343695681418);
    expect(snap.bids).toHaveLength(2023);
    expect(snap.asks).toHaveLength(1971);
    expect(Number(snap.bids[0][0])).toBeLessThan(Number(snap.asks[0][0]));
  });

  it('recordedSubscriptions: 10 books and 10 trade streams', () => {
    const conn = records.find((r) => r.t === 'connect') as { conn: string; addr: string };
    const sends = records.filter((r) => r.t === 'send').map((r) => (r as { data: string }).data);
    const subs = bitstampConnector.replay.recordedSubscriptions(conn.addr, sends);
    expect(subs.filter((s) => s.channel === 'book')).toHaveLength(10);
    expect(subs.filter((s) => s.channel === 'trades')).toHaveLength(10);
    expect(subs.find((s) => s.venueSymbol === 'sgbeur' && s.channel === 'book')).toEqual({ market: 'spot', venueSymbol: 'sgbeur', channel: 'book' });
  });
});

describe('bitstamp on-demand subscriptions', () => {
  it('declares its per-connection bound (ours: Bitstamp documents none)', () => {
    expect(bitstampConnector.capabilities.maxSubscriptionsPerConnection).toBe(BITSTAMP_MAX_CHANNELS_PER_CONNECTION);
    expect(bitstampConnector.capabilities.subscriptionLimitSource).toContain('https://www.bitstamp.net/websocket/v2/');
  });

  it('one bts:subscribe / bts:unsubscribe per channel; the simulator acks and streams it', () => {
    const [plan] = bitstampConnector.plan([sub('btcusd', 'book')], EP);
    const add = bitstampConnector.subscribeFrames!([sub('ethusd', 'book'), sub('ethusd', 'trades')], plan);
    expect(add.map((f) => JSON.parse(f))).toEqual([
      { event: 'bts:subscribe', data: { channel: 'diff_order_book_ethusd' } },
      { event: 'bts:subscribe', data: { channel: 'live_trades_ethusd' } },
    ]);
    expect(JSON.parse(bitstampConnector.unsubscribeFrames!([sub('ethusd', 'book')], plan)[0])).toEqual({ event: 'bts:unsubscribe', data: { channel: 'diff_order_book_ethusd' } });
    const sim = bitstampConnector.replay.onClientFrame(add[0]);
    expect(sim.subscribe).toEqual(['diff_order_book_ethusd', BITSTAMP_CONNECTION_TOPIC]);
    expect(JSON.parse(sim.replies![0])).toEqual({ event: 'bts:subscription_succeeded', channel: 'diff_order_book_ethusd', data: {} });
    expect(() => bitstampConnector.subscribeFrames!([sub('ethusd', 'ticker')], plan)).toThrowError(TributaryError);
  });

  it('updateSession maps the added channels to their keys', () => {
    const [plan] = bitstampConnector.plan([sub('btcusd', 'book')], EP);
    const session = bitstampConnector.newSession(plan);
    bitstampConnector.updateSession!(session, 'add', [sub('ethusd', 'book'), sub('ethusd', 'trades')], []);
    expect(session.keys.get('diff_order_book_ethusd')).toBe('spot:ethusd');
    expect(session.keys.get('live_trades_ethusd')).toBe('spot:ethusd');
  });
});
