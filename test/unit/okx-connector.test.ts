/**
 * OKX connector: plan (URL, args, splitting for the depth-channel and request limits, heartbeat), book channel per
 * depth, resubscribe frame, instruments (unit and against the recorded bodies) and the replay hooks.
 */
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.ts';
import type { Channel } from '../../src/core/events.ts';
import { canonicalSymbol, instrumentKey, type Instrument, type MarketType } from '../../src/core/instruments.ts';
import { loadRecording, type HttpRecord } from '../../src/replay/recording.ts';
import type { Http, Subscription, VenueEndpoints } from '../../src/venues/connector.ts';
import { OKX_MAX_BOOK_CHANNELS_PER_CONNECTION, okxBookChannel, okxConnector, okxInstrument } from '../../src/venues/okx/connector.ts';
import { okxMarketOfInstId } from '../../src/venues/okx/decode.ts';
import { recordingPath } from '../helpers/recordings.ts';

const EP: VenueEndpoints = okxConnector.defaultEndpoints;

function inst(instId: string, type: MarketType = 'spot'): Instrument {
  const [b, q] = instId.split('-');
  return { venue: 'okx', key: instrumentKey(type, instId), venueSymbol: instId, symbol: canonicalSymbol(b, q, type), base: b, quote: q, type };
}

function sub(instId: string, channel: Channel, depth?: number, type: MarketType = 'spot'): Subscription {
  return depth === undefined ? { instrument: inst(instId, type), channel } : { instrument: inst(instId, type), channel, depth };
}

const argsOf = (frames: readonly string[]) => frames.flatMap((f) => (JSON.parse(f) as { op: string; args: object[] }).args);

describe('okx capabilities', () => {
  it('stream snapshots, linked sequence, no truncation (OKX deletes levels itself), default depth 400', () => {
    expect(okxConnector.capabilities.bookSync).toEqual({ snapshot: 'stream', sequence: 'linked', source: 'https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel' });
    expect(okxConnector.capabilities.defaultDepth).toBe(400);
    expect(EP).toEqual({ wsBase: 'wss://ws.okx.com:8443', restBase: 'https://www.okx.com' });
  });

  it('book channel by depth: 1 → bbo-tbt, ≤ 5 → books5, otherwise books', () => {
    expect([undefined, 0, 1, 2, 5, 6, 50, 400, 1000].map((d) => okxBookChannel(d))).toEqual(['books', 'books', 'bbo-tbt', 'books5', 'books5', 'books', 'books', 'books', 'books']);
  });
});

describe('okx plan', () => {
  it('one public connection with the args, text ping every 20 s', () => {
    const plans = okxConnector.plan([sub('BTC-USDT', 'book'), sub('BTC-USDT', 'trades'), sub('BTC-USDT-SWAP', 'ticker', undefined, 'linear'), sub('ETH-USDT', 'book', 5)], EP);
    expect(plans).toHaveLength(1);
    const [p] = plans;
    expect(p.id).toBe('public-0');
    expect(p.url).toBe('wss://ws.okx.com:8443/ws/v5/public');
    expect(p.subscribeFrames.map((f) => JSON.parse(f))).toEqual([
      {
        op: 'subscribe',
        args: [
          { channel: 'books', instId: 'BTC-USDT' },
          { channel: 'trades', instId: 'BTC-USDT' },
          { channel: 'tickers', instId: 'BTC-USDT-SWAP' },
          { channel: 'books5', instId: 'ETH-USDT' },
        ],
      },
    ]);
    expect(p.heartbeat).toMatchObject({ kind: 'app', intervalMs: 20_000 });
    if (p.heartbeat.kind === 'app') expect(p.heartbeat.frame()).toBe('ping');
    expect(p.staleAfterMs).toBe(45_000);
    expect(okxConnector.plan([], EP)).toEqual([]);
  });

  it('fewer than 30 depth channels per connection; at most 50 args per request; duplicates once', () => {
    const subs = Array.from({ length: 70 }, (_, i) => [sub(`C${i}-USDT`, 'book'), sub(`C${i}-USDT`, 'trades')]).flat();
    subs.push(sub('C0-USDT', 'book', 300));
    const plans = okxConnector.plan(subs, { wsBase: 'ws://127.0.0.1:9/okx/', restBase: 'http://127.0.0.1:9/okx' });
    expect(plans.map((p) => p.url)).toEqual(Array(plans.length).fill('ws://127.0.0.1:9/okx/ws/v5/public'));
    const all = plans.flatMap((p) => argsOf(p.subscribeFrames)) as { channel: string; instId: string }[];
    expect(all).toHaveLength(140);
    for (const p of plans) {
      const args = argsOf(p.subscribeFrames) as { channel: string }[];
      expect(args.filter((a) => a.channel.startsWith('book')).length).toBeLessThanOrEqual(OKX_MAX_BOOK_CHANNELS_PER_CONNECTION);
      expect(args.length).toBeLessThanOrEqual(150);
      for (const f of p.subscribeFrames) expect((JSON.parse(f) as { args: unknown[] }).args.length).toBeLessThanOrEqual(50);
    }
    expect(plans.map((p) => p.id)).toEqual(plans.map((_, i) => `public-${i}`));
    expect(plans.reduce((n, p) => n + p.subscriptions.length, 0)).toBe(141);
  });

  it('resubscribe = the subscribe again (one operation), newSession keys from the plan', () => {
    expect(okxConnector.resubscribeFrames!(sub('BTC-USD-SWAP', 'book', 400, 'inverse')).map((f) => JSON.parse(f))).toEqual([{ op: 'subscribe', args: [{ channel: 'books', instId: 'BTC-USD-SWAP' }] }]);
    const [p] = okxConnector.plan([sub('BTC-USD-SWAP', 'book', 400, 'inverse')], EP);
    expect(okxConnector.newSession(p).keys.get('BTC-USD-SWAP')).toBe('inverse:BTC-USD-SWAP');
  });
});

describe('okx instruments', () => {
  it('maps spot, linear / inverse swaps and dated futures', () => {
    expect(okxInstrument({ instType: 'SPOT', instId: 'BTC-USDT', baseCcy: 'BTC', quoteCcy: 'USDT', tickSz: '0.1', lotSz: '0.00000001' })).toEqual({
      venue: 'okx',
      key: 'spot:BTC-USDT',
      venueSymbol: 'BTC-USDT',
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      type: 'spot',
      tickSize: '0.1',
      lotSize: '0.00000001',
    });
    expect(okxInstrument({ instType: 'SWAP', instId: 'BTC-USDT-SWAP', ctType: 'linear', uly: 'BTC-USDT', settleCcy: 'USDT', tickSz: '0.1', lotSz: '1' })).toMatchObject({ key: 'linear:BTC-USDT-SWAP', symbol: 'BTC/USDT:USDT', settle: 'USDT' });
    expect(okxInstrument({ instType: 'SWAP', instId: 'BTC-USD-SWAP', ctType: 'inverse', instFamily: 'BTC-USD', settleCcy: 'BTC' })).toMatchObject({ key: 'inverse:BTC-USD-SWAP', symbol: 'BTC/USD:BTC', type: 'inverse' });
    expect(okxInstrument({ instType: 'FUTURES', instId: 'BTC-USD-220527', ctType: 'inverse', uly: 'BTC-USD', settleCcy: 'BTC', expTime: '1653638400000' })?.symbol).toBe('BTC/USD:BTC-220527');
    expect(okxInstrument({ instType: 'FUTURES', instId: 'BTC-USDT-X', ctType: 'linear', uly: 'BTC-USDT', settleCcy: 'USDT', expTime: String(Date.UTC(2026, 5, 26, 8)) })?.symbol).toBe('BTC/USDT:USDT-260626');
    expect(okxInstrument({ instType: 'OPTION', instId: 'BTC-USD-220325-40000-C' })).toBeUndefined();
    expect(okxInstrument({ instType: 'SWAP', instId: 'X-Y-SWAP', ctType: 'weird', uly: 'X-Y', settleCcy: 'Y' })).toBeUndefined();
  });

  it('loads SPOT, SWAP and FUTURES; code ≠ "0" is typed', async () => {
    const urls: string[] = [];
    const ok: Http = {
      async get(url) {
        urls.push(url);
        return JSON.stringify({ code: '0', msg: '', data: [] });
      },
    };
    await okxConnector.loadInstruments(ok, EP);
    expect(urls).toEqual(['SPOT', 'SWAP', 'FUTURES'].map((t) => `https://www.okx.com/api/v5/public/instruments?instType=${t}`));
    const reply = (body: string): Http => ({ get: async () => body });
    await expect(okxConnector.loadInstruments(reply('{"code":"51001","msg":"Instrument ID does not exist","data":[]}'), EP)).rejects.toMatchObject({ code: 'VENUE_REJECTED' });
    await expect(okxConnector.loadInstruments(reply('{"code":"50011","msg":"Too Many Requests","data":[]}'), EP)).rejects.toMatchObject({ code: 'VENUE_RATE_LIMITED' });
    await expect(okxConnector.loadInstruments(reply('<html>'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
    await expect(okxConnector.loadInstruments(reply('{"code":"0"}'), EP)).rejects.toMatchObject({ code: 'PROTOCOL_MALFORMED' });
  });
});

describe('okx replay hooks', () => {
  const hooks = okxConnector.replay;

  it('ping → pong; subscribe → topics and one ack per arg in the venue shape, read back by our decoder', () => {
    expect(hooks.onClientFrame('ping')).toEqual({ replies: ['pong'] });
    const r = hooks.onClientFrame('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}');
    expect(r.subscribe).toEqual(['books:BTC-USDT', 'trades:BTC-USDT']);
    expect(r.replies!.map((x) => JSON.parse(x))).toEqual([
      { event: 'subscribe', arg: { channel: 'books', instId: 'BTC-USDT' }, connId: 'sim' },
      { event: 'subscribe', arg: { channel: 'trades', instId: 'BTC-USDT' }, connId: 'sim' },
    ]);
    const s = okxConnector.newSession(okxConnector.plan([sub('BTC-USDT', 'book')], EP)[0]);
    expect(okxConnector.decode({ data: r.replies![0], recvTs: 0 }, s).signal).toEqual({ kind: 'subscribed', detail: 'books:BTC-USDT' });
    expect(okxConnector.decode({ data: 'pong', recvTs: 0 }, s).signal).toEqual({ kind: 'heartbeat' });
    expect(hooks.onClientFrame('{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}').unsubscribe).toEqual(['books:BTC-USDT']);
  });

  it('bad requests → error events (60012 / 60013); garbage → nothing', () => {
    expect(JSON.parse(hooks.onClientFrame('{"op":"subscribe","argss":[]}').replies![0])).toMatchObject({ event: 'error', code: '60013' });
    expect(JSON.parse(hooks.onClientFrame('{"op":"dance"}').replies![0])).toMatchObject({ event: 'error', code: '60012' });
    expect(hooks.onClientFrame('garbage')).toEqual({});
  });

  it('topicOfFrame: arg of pushes; events and pong → null', () => {
    expect(hooks.topicOfFrame('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}')).toBe('books:BTC-USDT');
    expect(hooks.topicOfFrame('{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}')).toBeNull();
    expect(hooks.topicOfFrame('pong')).toBeNull();
    expect(hooks.topicOfFrame('{')).toBeNull();
  });

  it('recordedSubscriptions: book channels with their depth, duplicates once, unsubscribes win, private path skipped', () => {
    expect(
      hooks.recordedSubscriptions('wss://ws.okx.com:8443/ws/v5/public', [
        '{"op":"subscribe","args":[{"channel":"books5","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"ETH-USDT-SWAP"},{"channel":"candle1m","instId":"BTC-USDT"}]}',
        '{"op":"subscribe","args":[{"channel":"books5","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USD-220527"}]}',
        '{"op":"unsubscribe","args":[{"channel":"bbo-tbt","instId":"ETH-USDT-SWAP"}]}',
        'ping',
      ]),
    ).toEqual([
      { market: 'spot', venueSymbol: 'BTC-USDT', channel: 'book', depth: 5 },
      { market: 'inverse', venueSymbol: 'BTC-USD-220527', channel: 'trades' },
    ]);
    expect(hooks.recordedSubscriptions('wss://ws.okx.com:8443/ws/v5/private', ['{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}'])).toEqual([]);
  });
});

const recPath = recordingPath('okx.jsonl.gz');

describe.skipIf(!recPath)('okx against the recording', () => {
  const records = recPath ? loadRecording(recPath).records : [];

  it('loads the recorded instruments: 513 spot + 166 swaps + 104 futures; instId shape agrees with ctType', async () => {
    const bodies = records.filter((r): r is HttpRecord => r.t === 'http');
    const http: Http = { get: async (url) => bodies.find((b) => b.url === url)?.data ?? Promise.reject(new TributaryError('HTTP_ERROR', url)) };
    const list = await okxConnector.loadInstruments(http, EP);
    expect(list).toHaveLength(513 + 166 + 104);
    const byKey = new Map(list.map((i) => [i.key, i]));
    expect(byKey.get('inverse:BTC-USD-220527')).toMatchObject({ symbol: 'BTC/USD:BTC-220527', settle: 'BTC', tickSize: '0.1', lotSize: '1' });
    expect(byKey.get('inverse:UNI-USD-SWAP')).toMatchObject({ symbol: 'UNI/USD:UNI', tickSize: '0.001' });
    expect(byKey.get('linear:BTC-USDT-SWAP')?.symbol).toBe('BTC/USDT:USDT');
    expect(byKey.get('linear:BTC-USDT-220527')?.symbol).toBe('BTC/USDT:USDT-220527');
    expect(byKey.get('spot:BTC-USDT')).toMatchObject({ symbol: 'BTC/USDT', tickSize: '0.1', lotSize: '0.00000001' });
    expect(new Set(list.map((i) => i.symbol)).size).toBe(list.length);
    for (const i of list) expect(okxMarketOfInstId(i.venueSymbol), i.venueSymbol).toBe(i.type);
  });

  it('recordedSubscriptions: 3 books (depth 400), 3 trades, 3 tickers despite the repeated subscribes', () => {
    const c = records.find((r) => r.t === 'connect')!;
    const subs = okxConnector.replay.recordedSubscriptions(
      (c as { addr: string }).addr,
      records.filter((r) => r.t === 'send').map((r) => (r as { data: string }).data),
    );
    expect(subs.filter((s) => s.channel === 'book')).toEqual([
      { market: 'inverse', venueSymbol: 'BTC-USD-220527', channel: 'book', depth: 400 },
      { market: 'inverse', venueSymbol: 'UNI-USD-SWAP', channel: 'book', depth: 400 },
      { market: 'spot', venueSymbol: 'BTC-USDT', channel: 'book', depth: 400 },
    ]);
    expect(subs).toHaveLength(9);
  });

  it('topicOfFrame names every recorded push and nulls the 18 acks', () => {
    let data = 0;
    let control = 0;
    for (const r of records) {
      if (r.t !== 'recv') continue;
      const t = okxConnector.replay.topicOfFrame(r.data);
      if (t === null) control++;
      else data++;
    }
    expect([data, control]).toEqual([392, 18]);
  });
});

describe('okx on-demand subscriptions', () => {
  it('declares 150 args per connection (ours); plan() keeps fewer than 30 depth channels (OKX)', () => {
    expect(okxConnector.capabilities.maxSubscriptionsPerConnection).toBe(150);
    expect(okxConnector.capabilities.subscriptionLimitSource).toContain('https://www.okx.com/docs-v5/en/#overview-websocket');
    const books = Array.from({ length: OKX_MAX_BOOK_CHANNELS_PER_CONNECTION + 1 }, (_, i) => sub(`C${i}-USDT`, 'book'));
    expect(okxConnector.plan(books, EP)).toHaveLength(2);
  });

  it('subscribe / unsubscribe requests of at most 50 args; the simulator acks every arg', () => {
    const [plan] = okxConnector.plan([sub('BTC-USDT', 'book')], EP);
    const subs = Array.from({ length: 51 }, (_, i) => sub(`C${i}-USDT`, 'trades'));
    const add = okxConnector.subscribeFrames!(subs, plan);
    expect(add.map((f) => argsOf([f]).length)).toEqual([50, 1]);
    expect(JSON.parse(add[1])).toEqual({ op: 'subscribe', args: [{ channel: 'trades', instId: 'C50-USDT' }] });
    expect(JSON.parse(okxConnector.unsubscribeFrames!([sub('ETH-USDT', 'book', 5)], plan)[0])).toEqual({ op: 'unsubscribe', args: [{ channel: 'books5', instId: 'ETH-USDT' }] });
    const sim = okxConnector.replay.onClientFrame(add[1]);
    expect(sim.subscribe).toEqual(['trades:C50-USDT']);
    expect(JSON.parse(sim.replies![0])).toMatchObject({ event: 'subscribe', arg: { channel: 'trades', instId: 'C50-USDT' } });
  });

  it('updateSession maps added instIds to their keys', () => {
    const [plan] = okxConnector.plan([sub('BTC-USDT', 'book')], EP);
    const session = okxConnector.newSession(plan);
    okxConnector.updateSession!(session, 'add', [sub('BTC-USD-SWAP', 'book', undefined, 'inverse')], []);
    expect(session.keys.get('BTC-USD-SWAP')).toBe('inverse:BTC-USD-SWAP');
  });
});
