/**
 * Kraken decoder on hand-written frames in the documented shapes, v1
 * (https://docs.kraken.com/exchange/api-reference/spot-websocket-v1/book, …/trade, …/ticker, …/subscriptionstatus)
 * and v2 (https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/book, …), plus the shared v2 fixtures
 * (`../shared/fixtures/kraken`, parse-only: their checksums are synthetic, see the fixtures README).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BookDeltaEvent, BookSnapshotEvent, TickerEvent, TradeEvent } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import type { Decoded } from '../../src/venues/connector.ts';
import { krakenConnector } from '../../src/venues/kraken/connector.ts';
import { decimalsOf, krakenErrorCode, krakenV2Symbol, krakenWsName, newKrakenSession, type KrakenSession } from '../../src/venues/kraken/decode.ts';

const RECV = 1_700_000_000_123;
const XBTUSD: Instrument = { venue: 'kraken', key: 'spot:XBT/USD', venueSymbol: 'XBT/USD', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', type: 'spot', tickSize: '0.1', lotSize: '0.00000001' };
const XDGUSD: Instrument = { venue: 'kraken', key: 'spot:XDG/USD', venueSymbol: 'XDG/USD', symbol: 'DOGE/USD', base: 'DOGE', quote: 'USD', type: 'spot', tickSize: '0.0000001', lotSize: '0.00000001' };

function session(protocol: 'v1' | 'v2' = 'v1'): KrakenSession {
  return newKrakenSession(protocol, [XBTUSD, XDGUSD]);
}

function decode(data: unknown, s: KrakenSession = session()): Decoded {
  return krakenConnector.decode({ data: typeof data === 'string' ? data : JSON.stringify(data), recvTs: RECV }, s);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

describe('kraken symbols', () => {
  it('v1 wsname ↔ v2 symbol (XBT ↔ BTC, XDG ↔ DOGE); decimals of a step', () => {
    expect(krakenV2Symbol('XBT/USD')).toBe('BTC/USD');
    expect(krakenV2Symbol('XDG/XBT')).toBe('DOGE/BTC');
    expect(krakenV2Symbol('ETH/CHF')).toBe('ETH/CHF');
    expect(krakenWsName('BTC/USD')).toBe('XBT/USD');
    expect(krakenWsName('DOGE/USD')).toBe('XDG/USD');
    expect(krakenWsName('WBTC/USD')).toBe('WBTC/USD');
    expect([decimalsOf('0.1'), decimalsOf('0.00000001'), decimalsOf('1'), decimalsOf('1e-8'), decimalsOf(undefined)]).toEqual([1, 8, 0, undefined, undefined]);
  });
});

describe('kraken v1 book', () => {
  const snapshot = [
    0,
    {
      as: [
        ['5541.30000', '2.50700000', '1534614248.123678'],
        ['5541.80000', '0.33000000', '1534614098.345543'],
      ],
      bs: [
        ['5541.20000', '1.52900000', '1534614248.765567'],
        ['5539.90000', '0.30000000', '1534614241.769870'],
      ],
    },
    'book-10',
    'XBT/USD',
  ];

  it('snapshot {as, bs} → book_snapshot; levels passed through; ts = latest level timestamp; seq = session count', () => {
    const d = decode(snapshot);
    expect(d.signal).toBeUndefined();
    const ev = d.events[0] as BookSnapshotEvent;
    expect(ev).toEqual({
      type: 'book_snapshot',
      venue: 'kraken',
      key: 'spot:XBT/USD',
      bids: (snapshot[1] as { bs: unknown }).bs,
      asks: (snapshot[1] as { as: unknown }).as,
      seq: 1,
      ts: 1534614248765,
      recvTs: RECV,
    });
  });

  it('one-sided update {a} with checksum c → book_delta with checksum = int(c), levels in array order (republish flag kept)', () => {
    const d = decode([1234, { a: [['5541.30000', '2.50700000', '1534614248.456738'], ['5542.50000', '0.40100000', '1534614248.456738', 'r']], c: '974942666' }, 'book-10', 'XBT/USD']);
    const ev = d.events[0] as BookDeltaEvent;
    expect(ev.type).toBe('book_delta');
    expect(ev.key).toBe('spot:XBT/USD');
    expect(ev.asks).toEqual([['5541.30000', '2.50700000', '1534614248.456738'], ['5542.50000', '0.40100000', '1534614248.456738', 'r']]);
    expect(ev.bids).toEqual([]);
    expect(ev.checksum).toBe(974942666);
    expect(ev.ts).toBe(1534614248456);
    expect([ev.firstSeq, ev.lastSeq]).toEqual([1, 1]);
  });

  it('sequence numbers are the session\'s own count per book (Kraken sends none): snapshot 1, then 2, 3, …', () => {
    const s = session();
    const snap = decode(snapshot, s).events[0] as BookSnapshotEvent;
    const d1 = decode([1, { b: [['5541.20000', '0.00000000', '1534614248.765567']], c: '1' }, 'book-10', 'XBT/USD'], s).events[0] as BookDeltaEvent;
    const d2 = decode([1, { b: [['5539.90000', '0.00000000', '1534614248.765567']], c: '2' }, 'book-10', 'XBT/USD'], s).events[0] as BookDeltaEvent;
    const other = decode([2, { a: [['1.0', '1.0', '1.0']], c: '3' }, 'book-10', 'XDG/USD'], s).events[0] as BookDeltaEvent;
    expect([snap.seq, d1.lastSeq, d2.lastSeq, other.lastSeq]).toEqual([1, 2, 3, 1]);
  });

  it('both sides in two dicts (doc example) → one delta; checksum from the last dict', () => {
    const d = decode([
      0,
      { a: [['0.05120', '0.00000500', '1582905486.493008'], ['0.05275', '0.00000500', '1582905486.493034']] },
      { b: [['0.04765', '0.00000500', '1582905486.493008'], ['0.04940', '0.00000500', '1582905486.493034']], c: '974947235' },
      'book-1000',
      'BTC/USD',
    ]);
    const ev = d.events[0] as BookDeltaEvent;
    expect(ev.asks.map((l) => l[0])).toEqual(['0.05120', '0.05275']);
    expect(ev.bids.map((l) => l[0])).toEqual(['0.04765', '0.04940']);
    expect(ev.checksum).toBe(974947235);
    // A pair not planned on the session gets the default key.
    expect(ev.key).toBe('spot:BTC/USD');
  });

  it('bad book frames → PROTOCOL_MALFORMED, never a throw', () => {
    const bad: unknown[] = [
      [1, { a: [['1', 2, '3']], c: '1' }, 'book-10', 'XBT/USD'],
      [1, { a: [['1', '2', '3']], c: 'x' }, 'book-10', 'XBT/USD'],
      [1, { a: [['1', '2', '3']], c: '99999999999' }, 'book-10', 'XBT/USD'],
      [1, { c: '1' }, 'book-10', 'XBT/USD'],
      [1, 'x', 'book-10', 'XBT/USD'],
      [1, { as: 'x', bs: [] }, 'book-10', 'XBT/USD'],
      [1, { a: [] }, 'book-10', 5],
      [1, 'book-10'],
    ];
    for (const f of bad) {
      const d = decode(f);
      expect(d.events).toEqual([]);
      expect(errorCode(d), JSON.stringify(f)).toBe('PROTOCOL_MALFORMED');
    }
  });
});

describe('kraken v1 trade, ticker, ignored channels', () => {
  it('trade: one event per element, side b/s = taker buy/sell, ts = time in ms, no trade id', () => {
    const d = decode([0, [['5541.20000', '0.15850568', '1534614057.321597', 's', 'l', ''], ['6060.00000', '0.02455000', '1534614057.324998', 'b', 'l', '']], 'trade', 'XBT/USD']);
    const [a, b] = d.events as TradeEvent[];
    expect(a).toEqual({ type: 'trade', venue: 'kraken', key: 'spot:XBT/USD', price: '5541.20000', size: '0.15850568', side: 'sell', tradeId: '', ts: 1534614057321, recvTs: RECV });
    expect(b.side).toBe('buy');
    expect(errorCode(decode([0, [['1', '1', '1', 'x', 'l', '']], 'trade', 'XBT/USD']))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode([0, {}, 'trade', 'XBT/USD']))).toBe('PROTOCOL_MALFORMED');
  });

  it('ticker: a/b = best ask/bid (price, lot volume), c = last, v[1] = 24 h volume, ts = receive time', () => {
    const d = decode([
      0,
      {
        a: ['5525.40000', 1, '1.000'],
        b: ['5525.10000', 1, '1.000'],
        c: ['5525.10000', '0.00398963'],
        v: ['2634.11501494', '3591.17907851'],
        p: ['5631.44067', '5653.78939'],
        t: [11493, 16267],
        l: ['5505.00000', '5505.00000'],
        h: ['5783.00000', '5783.00000'],
        o: ['5760.70000', '5763.40000'],
      },
      'ticker',
      'XBT/USD',
    ]);
    expect(d.events[0] as TickerEvent).toEqual({
      type: 'ticker',
      venue: 'kraken',
      key: 'spot:XBT/USD',
      bidPrice: '5525.10000',
      bidSize: '1.000',
      askPrice: '5525.40000',
      askSize: '1.000',
      last: '5525.10000',
      volume24h: '3591.17907851',
      ts: RECV,
      recvTs: RECV,
    });
    expect(errorCode(decode([0, { a: ['1'] }, 'ticker', 'XBT/USD']))).toBe('PROTOCOL_MALFORMED');
  });

  it('spread and ohlc are ignored by name; an unknown channel is PROTOCOL_UNKNOWN', () => {
    expect(decode([0, ['5698.40000', '5700.00000', '1542057299.545897', '1.01234567', '0.98765432'], 'spread', 'XBT/USD']).signal).toEqual({ kind: 'ignored', reason: 'spread' });
    expect(decode([42, ['1542057314.748456', '1542057360.435743', '3586.7', '3586.7', '3586.6', '3586.6', '3586.68894', '0.03373000', 2], 'ohlc-5', 'XBT/USD']).signal).toEqual({ kind: 'ignored', reason: 'ohlc' });
    expect(errorCode(decode([0, {}, 'weird', 'XBT/USD']))).toBe('PROTOCOL_UNKNOWN');
  });
});

describe('kraken v1 control frames and errors', () => {
  it('heartbeat, pong and systemStatus are activity', () => {
    expect(decode({ event: 'heartbeat' }).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ event: 'pong', reqid: 42 }).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ connectionID: 8628615390848610000, event: 'systemStatus', status: 'online', version: '1.0.0' }).signal).toEqual({ kind: 'heartbeat' });
  });

  it('subscriptionStatus subscribed / unsubscribed → signals; error → typed venue error', () => {
    expect(decode({ channelID: 10001, channelName: 'book-10', event: 'subscriptionStatus', pair: 'XBT/USD', status: 'subscribed', subscription: { depth: 10, name: 'book' } }).signal).toEqual({
      kind: 'subscribed',
      detail: 'book-10:XBT/USD',
    });
    expect(decode({ channelName: 'trade', event: 'subscriptionStatus', pair: 'XBT/USD', status: 'unsubscribed' }).signal?.kind).toBe('unsubscribed');
    const rejected = decode({ errorMessage: 'Currency pair not supported XBT/USDX', event: 'subscriptionStatus', pair: 'XBT/USDX', status: 'error', subscription: { name: 'ticker' } });
    expect(errorCode(rejected)).toBe('VENUE_REJECTED');
    expect(rejected.signal?.kind === 'error' && rejected.signal.error.message).toContain('Currency pair not supported');
    expect(errorCode(decode({ errorMessage: 'Exceeded msg rate', event: 'subscriptionStatus', status: 'error' }))).toBe('VENUE_RATE_LIMITED');
    expect(errorCode(decode({ errorMessage: 'Malformed request', event: 'error' }))).toBe('VENUE_REJECTED');
    expect(errorCode(decode({ errorMessage: 'EGeneral:Permission denied', event: 'error' }))).toBe('VENUE_AUTH');
    expect(errorCode(decode({ event: 'somethingNew' }))).toBe('PROTOCOL_UNKNOWN');
  });

  it('error texts map to codes', () => {
    expect(krakenErrorCode('Exceeded msg rate')).toBe('VENUE_RATE_LIMITED');
    expect(krakenErrorCode('EAPI:Rate limit exceeded')).toBe('VENUE_RATE_LIMITED');
    expect(krakenErrorCode('EAPI:Invalid key')).toBe('VENUE_AUTH');
    expect(krakenErrorCode('Subscription depth not supported')).toBe('VENUE_REJECTED');
  });

  it('garbage never throws', () => {
    for (const f of ['', 'not json', '42', 'null', '"x"', '{}', '[]']) {
      const d = decode(f);
      expect(d.events).toEqual([]);
      expect(['PROTOCOL_MALFORMED', 'PROTOCOL_UNKNOWN']).toContain(errorCode(d));
    }
  });
});

describe('kraken v2', () => {
  it('book snapshot: numbers formatted at the pair precision, then an empty checksum delta', () => {
    const d = decode(
      '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.1}],"asks":[{"price":45285.2,"qty":1.5}],"checksum":123,"timestamp":"2023-10-06T17:35:55.440295Z"}]}',
      session('v2'),
    );
    const [snap, ck] = d.events as [BookSnapshotEvent, BookDeltaEvent];
    expect(snap).toEqual({ type: 'book_snapshot', venue: 'kraken', key: 'spot:XBT/USD', bids: [['45283.5', '0.10000000']], asks: [['45285.2', '1.50000000']], seq: 1, ts: Date.parse('2023-10-06T17:35:55.440Z'), recvTs: RECV });
    expect(ck).toMatchObject({ type: 'book_delta', key: 'spot:XBT/USD', bids: [], asks: [], checksum: 123, firstSeq: 2, lastSeq: 2 });
  });

  it('book update: delta with checksum; qty 0 formats as a zero size (a delete)', () => {
    const d = decode('{"channel":"book","type":"update","data":[{"symbol":"DOGE/USD","bids":[{"price":0.1234567,"qty":0}],"asks":[],"checksum":4000000000,"timestamp":"2023-10-06T17:35:55.440295Z"}]}', session('v2'));
    expect(d.events).toHaveLength(1);
    expect(d.events[0]).toMatchObject({ type: 'book_delta', key: 'spot:XDG/USD', bids: [['0.1234567', '0.00000000']], asks: [], checksum: 4000000000 });
  });

  it('book of a symbol without known precision: levels printed shortest, checksum omitted (cannot be reproduced)', () => {
    const d = decode('{"channel":"book","type":"update","data":[{"symbol":"ETH/USD","bids":[{"price":2000.5,"qty":1.2}],"asks":[],"checksum":5}]}', session('v2'));
    expect(d.events[0]).toMatchObject({ key: 'spot:ETH/USD', bids: [['2000.5', '1.2']], checksum: undefined, ts: RECV });
    // Raw text (strings) is exact, so the checksum stays.
    const s = decode('{"channel":"book","type":"update","data":[{"symbol":"ETH/USD","bids":[{"price":"2000.50","qty":"1.20000000"}],"asks":[],"checksum":5}]}', session('v2'));
    expect(s.events[0]).toMatchObject({ bids: [['2000.50', '1.20000000']], checksum: 5 });
  });

  it('bad v2 book messages → PROTOCOL_MALFORMED', () => {
    for (const f of [
      { channel: 'book', type: 'partial', data: [] },
      { channel: 'book', type: 'update' },
      { channel: 'book', type: 'update', data: [{ bids: [] }] },
      { channel: 'book', type: 'update', data: [{ symbol: 'BTC/USD', bids: [{ price: 'x' }] }] },
      { channel: 'book', type: 'update', data: [{ symbol: 'BTC/USD', bids: [{ price: -1, qty: 1 }] }] },
      { channel: 'book', type: 'update', data: [{ symbol: 'BTC/USD', bids: [], checksum: -5 }] },
    ]) {
      expect(errorCode(decode(f, session('v2'))), JSON.stringify(f)).toBe('PROTOCOL_MALFORMED');
    }
  });

  it('trade and ticker: precision-formatted strings, ids as strings, RFC 3339 timestamps', () => {
    const t = decode('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":45283.5,"qty":0.001,"ord_type":"market","trade_id":4665846,"timestamp":"2023-09-25T07:49:37.708706Z"}]}', session('v2'));
    expect(t.events[0]).toEqual({ type: 'trade', venue: 'kraken', key: 'spot:XBT/USD', price: '45283.5', size: '0.00100000', side: 'sell', tradeId: '4665846', ts: Date.parse('2023-09-25T07:49:37.708Z'), recvTs: RECV });
    const k = decode('{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":26925.9,"bid_qty":5.1,"ask":26926.0,"ask_qty":0.2,"last":26926.0,"volume":2135.6,"vwap":26950.1,"low":26500,"high":27000,"change":-50,"change_pct":-0.2}]}', session('v2'));
    expect(k.events[0]).toEqual({ type: 'ticker', venue: 'kraken', key: 'spot:XBT/USD', bidPrice: '26925.9', bidSize: '5.10000000', askPrice: '26926.0', askSize: '0.20000000', last: '26926.0', volume24h: '2135.60000000', ts: RECV, recvTs: RECV });
    expect(errorCode(decode('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"hold","price":1,"qty":1,"trade_id":1}]}', session('v2')))).toBe('PROTOCOL_MALFORMED');
  });

  it('heartbeat, status, pong, subscribe acks; errors typed; instrument/ohlc ignored', () => {
    const s = session('v2');
    expect(decode({ channel: 'heartbeat' }, s).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ channel: 'status', type: 'update', data: [{ api_version: 'v2', connection_id: 1, system: 'online', version: '2.0.0' }] }, s).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ method: 'unsubscribe', result: { channel: 'book', symbol: 'BTC/USD', depth: 10 }, success: true }, s).signal).toEqual({ kind: 'unsubscribed', detail: 'book:BTC/USD' });
    expect(errorCode(decode({ error: 'Currency pair not supported XBT/USD', method: 'subscribe', success: false, symbol: 'XBT/USD', time_in: 'x', time_out: 'y' }, s))).toBe('VENUE_REJECTED');
    expect(errorCode(decode({ Error: 'Exceeded msg rate' }, s))).toBe('VENUE_RATE_LIMITED');
    expect(errorCode(decode({ error: 'Malformed request', method: 'error', success: false }, s))).toBe('VENUE_REJECTED');
    expect(decode({ channel: 'instrument', type: 'snapshot', data: { assets: [], pairs: [] } }, s).signal).toEqual({ kind: 'ignored', reason: 'instrument' });
    expect(decode({ channel: 'ohlc', type: 'update', data: [] }, s).signal).toEqual({ kind: 'ignored', reason: 'ohlc' });
    expect(errorCode(decode({ channel: 'nope' }, s))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(decode({ method: 'nope', success: true }, s))).toBe('PROTOCOL_UNKNOWN');
  });

  it('a v2 session decodes v1 frames and vice versa (shapes are disjoint)', () => {
    expect(decode({ event: 'heartbeat' }, session('v2')).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ channel: 'heartbeat' }, session('v1')).signal).toEqual({ kind: 'heartbeat' });
    expect(decode([0, [['1.0', '2.0', '1.5', 'b', 'l', '']], 'trade', 'XBT/USD'], session('v2')).events).toHaveLength(1);
  });
});

const FIXTURES = resolve(fileURLToPath(new URL('../../', import.meta.url)), '../shared/fixtures/kraken');

describe.skipIf(!existsSync(FIXTURES))('kraken v2 shared fixtures (parse only)', () => {
  const fx = (name: string): string => readFileSync(resolve(FIXTURES, name), 'utf8');

  it('book snapshot and update parse into events for BTC/USD', () => {
    const s = session('v2');
    const snap = decode(fx('ws_v2_book_snapshot.json'), s);
    expect(snap.signal).toBeUndefined();
    const ev = snap.events[0] as BookSnapshotEvent;
    expect(ev.key).toBe('spot:XBT/USD');
    expect(ev.bids.map((l) => l[0])).toEqual(['105944.2', '105935.4', '105920.1']);
    expect(ev.asks[2]).toEqual(['105955.8', '0.00300000']);
    expect(snap.events[1]).toMatchObject({ type: 'book_delta', checksum: 2439117997 });
    const upd = decode(fx('ws_v2_book_update.json'), s);
    expect(upd.events[0]).toMatchObject({ type: 'book_delta', bids: [['105944.2', '0.25000000']], asks: [], checksum: 2114181697 });
  });

  it('trade, ticker, pong, subscribe ack, add_order failure', () => {
    const s = session('v2');
    const trades = decode(fx('ws_v2_trade_update.json'), s).events as TradeEvent[];
    expect(trades.map((t) => [t.side, t.price, t.size, t.tradeId])).toEqual([
      ['buy', '105944.2', '0.00027625', '10218208'],
      ['sell', '105910.5', '0.00012460', '10218209'],
    ]);
    const ticker = decode(fx('ws_v2_ticker_snapshot.json'), s).events[0] as TickerEvent;
    expect([ticker.bidPrice, ticker.askPrice, ticker.askSize, ticker.last, ticker.ts]).toEqual(['105944.2', '105944.3', '3.20000000', '105899.4', Date.parse('2022-12-25T09:30:59.123Z')]);
    expect(decode(fx('ws_v2_pong.json'), s).signal).toEqual({ kind: 'heartbeat' });
    expect(decode(fx('ws_v2_subscribe_response.json'), s).signal).toEqual({ kind: 'subscribed', detail: 'ticker:BTC/USD' });
    const fail = decode(fx('ws_v2_add_order_response_failure.json'), s);
    expect(errorCode(fail)).toBe('VENUE_REJECTED');
  });
});
