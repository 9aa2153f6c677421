/**
 * OKX v5 public decoder on hand-written frames in the documented shapes
 * (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel, …-trades-channel,
 * …-tickers-channel, https://www.okx.com/docs-v5/en/#overview-websocket), error frames included.
 */
import { describe, expect, it } from 'vitest';
import type { BookDeltaEvent, BookSnapshotEvent, TickerEvent, TradeEvent } from '../../src/core/events.ts';
import type { Decoded } from '../../src/venues/connector.ts';
import { okxConnector } from '../../src/venues/okx/connector.ts';
import { newOkxSession, okxErrorCode, okxMarketOfInstId, type OkxSession } from '../../src/venues/okx/decode.ts';

const RECV = 1_700_000_000_456;

function session(): OkxSession {
  return newOkxSession([
    ['BTC-USDT', 'spot:BTC-USDT'],
    ['BTC-USDT-SWAP', 'linear:BTC-USDT-SWAP'],
  ]);
}

function decode(data: unknown, s: OkxSession = session()): Decoded {
  return okxConnector.decode({ data: typeof data === 'string' ? data : JSON.stringify(data), recvTs: RECV }, s);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

describe('okx instId shapes', () => {
  it('spot / linear / inverse by shape; options and garbage undefined', () => {
    expect(['BTC-USDT', 'BTC-USDT-SWAP', 'BTC-USD-SWAP', 'BTC-USD-220527', 'BTC-USDC-240329', 'BTC-USD-220325-40000-C', 'BTC', 'BTC-USD-X'].map(okxMarketOfInstId)).toEqual([
      'spot',
      'linear',
      'inverse',
      'inverse',
      'linear',
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('okx decode: books', () => {
  const snapshot = {
    arg: { channel: 'books', instId: 'BTC-USDT' },
    action: 'snapshot',
    data: [
      {
        asks: [['8476.98', '415', '0', '13'], ['8477', '7', '0', '2']],
        bids: [['8476.97', '256', '0', '12'], ['8475.55', '101', '0', '1']],
        ts: '1597026383085',
        checksum: -855196043,
        prevSeqId: -1,
        seqId: 123456,
      },
    ],
  };
  const update = {
    arg: { channel: 'books', instId: 'BTC-USDT' },
    action: 'update',
    data: [{ asks: [['8476.98', '0', '0', '0']], bids: [], ts: '1597026383185', checksum: -1200119424, prevSeqId: 123456, seqId: 123457 }],
  };

  it('snapshot → book_snapshot (seq = seqId) + empty checksum delta (prevSeq = lastSeq = seq)', () => {
    const d = decode(snapshot);
    expect(d.signal).toBeUndefined();
    const [snap, ck] = d.events as [BookSnapshotEvent, BookDeltaEvent];
    expect(snap).toEqual({ type: 'book_snapshot', venue: 'okx', key: 'spot:BTC-USDT', bids: snapshot.data[0].bids, asks: snapshot.data[0].asks, seq: 123456, ts: 1597026383085, recvTs: RECV });
    expect(ck).toEqual({ type: 'book_delta', venue: 'okx', key: 'spot:BTC-USDT', bids: [], asks: [], firstSeq: 123456, lastSeq: 123456, prevSeq: 123456, checksum: -855196043, ts: 1597026383085, recvTs: RECV });
  });

  it('update → book_delta with prevSeq = prevSeqId, lastSeq = seqId, checksum; level arrays passed through', () => {
    const text = JSON.stringify(update);
    const d = okxConnector.decode({ data: text, recvTs: RECV }, session());
    expect(d.events).toEqual([
      { type: 'book_delta', venue: 'okx', key: 'spot:BTC-USDT', bids: [], asks: [['8476.98', '0', '0', '0']], firstSeq: 123457, lastSeq: 123457, prevSeq: 123456, checksum: -1200119424, ts: 1597026383185, recvTs: RECV },
    ]);
  });

  it('checksum 0 with seqId present is dropped (deprecated); without seqId the session numbers messages 1, 2, 3', () => {
    const zero = decode({ ...update, data: [{ ...update.data[0], checksum: 0 }] });
    expect((zero.events[0] as BookDeltaEvent).checksum).toBeUndefined();
    const s = session();
    const strip = (o: { data: object[] }) => ({ ...o, data: o.data.map((x) => ({ ...x, seqId: undefined, prevSeqId: undefined })) });
    const a = decode(strip(snapshot), s).events as [BookSnapshotEvent, BookDeltaEvent];
    expect(a[0].seq).toBe(1);
    expect([a[1].prevSeq, a[1].lastSeq]).toEqual([1, 1]);
    const b = decode(strip(update), s).events[0] as BookDeltaEvent;
    expect([b.prevSeq, b.lastSeq, b.checksum]).toEqual([1, 2, -1200119424]);
    const c = decode(strip(update), s).events[0] as BookDeltaEvent;
    expect([c.prevSeq, c.lastSeq]).toEqual([2, 3]);
    // A checksum of 0 without seqId is a real value and is kept.
    expect((decode({ ...strip(update), data: [{ ...strip(update).data[0], checksum: 0 }] }, s).events[0] as BookDeltaEvent).checksum).toBe(0);
  });

  it('books5 and bbo-tbt: every push is a snapshot (no action); no checksum delta without a checksum', () => {
    const d = decode({
      arg: { channel: 'books5', instId: 'BTC-USDT-SWAP' },
      data: [{ asks: [['111.06', '55154', '0', '2']], bids: [['111.05', '57745', '0', '2']], instId: 'BTC-USDT-SWAP', ts: '1670324386802', seqId: 363996337 }],
    });
    expect(d.events).toHaveLength(1);
    expect(d.events[0]).toMatchObject({ type: 'book_snapshot', key: 'linear:BTC-USDT-SWAP', seq: 363996337 });
    const bbo = decode({ arg: { channel: 'bbo-tbt', instId: 'BCH-USDT-SWAP' }, data: [{ asks: [['111.06', '55154', '0', '2']], bids: [['111.05', '57745', '0', '2']], ts: '1670324386802', seqId: 363996337 }] });
    expect(bbo.events[0]).toMatchObject({ type: 'book_snapshot', key: 'linear:BCH-USDT-SWAP' });
  });

  it('tick-by-tick channels decode like books', () => {
    const d = decode({ ...update, arg: { channel: 'books-l2-tbt', instId: 'BTC-USD-SWAP' } });
    expect(d.events[0]).toMatchObject({ type: 'book_delta', key: 'inverse:BTC-USD-SWAP', prevSeq: 123456 });
  });

  it('bad book pushes → PROTOCOL_MALFORMED, never a throw', () => {
    const bad: unknown[] = [
      { ...update, action: 'partial' },
      { ...update, action: undefined },
      { ...update, arg: { channel: 'books' } },
      { ...update, data: {} },
      { ...update, data: [null] },
      { ...update, data: [{ ...update.data[0], asks: [['1', 2]] }] },
      { ...update, data: [{ ...update.data[0], ts: 'x' }] },
      { ...update, data: [{ ...update.data[0], seqId: '5' }] },
      { ...update, data: [{ ...update.data[0], prevSeqId: undefined }] },
      { ...update, data: [{ ...update.data[0], checksum: 1.5 }] },
      { arg: { channel: 'books5', instId: 'X-Y' }, action: 'update', data: [] },
    ];
    for (const f of bad) {
      const d = decode(f);
      expect(d.events).toEqual([]);
      expect(errorCode(d), JSON.stringify(f)).toBe('PROTOCOL_MALFORMED');
    }
  });
});

describe('okx decode: trades and tickers', () => {
  it('trades: one event per element, side = taker side, ts from the string', () => {
    const d = decode({ arg: { channel: 'trades', instId: 'BTC-USDT' }, data: [{ instId: 'BTC-USDT', tradeId: '130639474', px: '42219.9', sz: '0.12060306', side: 'buy', ts: '1630048897897', count: '3' }] });
    expect(d.events[0] as TradeEvent).toEqual({ type: 'trade', venue: 'okx', key: 'spot:BTC-USDT', price: '42219.9', size: '0.12060306', side: 'buy', tradeId: '130639474', ts: 1630048897897, recvTs: RECV });
    expect(errorCode(decode({ arg: { channel: 'trades', instId: 'BTC-USDT' }, data: [{ instId: 'BTC-USDT', tradeId: '1', px: '1', sz: '1', side: 'hold', ts: '1' }] }))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode({ arg: { channel: 'trades', instId: 'BTC-USDT' }, data: [{ instId: 'BTC-USDT', tradeId: 1, px: '1', sz: '1', side: 'buy', ts: '1' }] }))).toBe('PROTOCOL_MALFORMED');
  });

  it('tickers: BBO, last; 24 h base volume = vol24h on spot, volCcy24h on derivatives; empty strings → undefined', () => {
    const spot = decode({
      arg: { channel: 'tickers', instId: 'BTC-USDT' },
      data: [{ instType: 'SPOT', instId: 'BTC-USDT', last: '9999.99', lastSz: '0.1', askPx: '9999.99', askSz: '11', bidPx: '8888.88', bidSz: '5', open24h: '9000', high24h: '10000', low24h: '8888.88', volCcy24h: '2222', vol24h: '2222', sodUtc0: '0.1', sodUtc8: '0.1', ts: '1597026383085' }],
    });
    expect(spot.events[0] as TickerEvent).toEqual({ type: 'ticker', venue: 'okx', key: 'spot:BTC-USDT', bidPrice: '8888.88', bidSize: '5', askPrice: '9999.99', askSize: '11', last: '9999.99', volume24h: '2222', ts: 1597026383085, recvTs: RECV });
    const swap = decode({ arg: { channel: 'tickers', instId: 'BTC-USDT-SWAP' }, data: [{ instType: 'SWAP', instId: 'BTC-USDT-SWAP', last: '1', askPx: '', askSz: '', bidPx: '1', bidSz: '2', vol24h: '500', volCcy24h: '5', ts: '1' }] });
    expect(swap.events[0]).toMatchObject({ key: 'linear:BTC-USDT-SWAP', askPrice: undefined, askSize: undefined, volume24h: '5' });
    expect(errorCode(decode({ arg: { channel: 'tickers', instId: 'X' }, data: [{ instId: 'X', bidPx: 5, ts: '1' }] }))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('okx decode: control frames and errors', () => {
  it('the text pong is a heartbeat; acks are signals', () => {
    expect(decode('pong').signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ event: 'subscribe', arg: { channel: 'books', instId: 'BTC-USDT' }, connId: 'a4d3ae55' }).signal).toEqual({ kind: 'subscribed', detail: 'books:BTC-USDT' });
    expect(decode({ event: 'unsubscribe', arg: { channel: 'tickers', instId: 'BTC-USDT' }, connId: 'a4d3ae55' }).signal).toEqual({ kind: 'unsubscribed', detail: 'tickers:BTC-USDT' });
  });

  it('error events are typed by code', () => {
    const bad = decode({ event: 'error', code: '60012', msg: 'Invalid request: {"op": "subscribe", "argss":[{ "channel" : "tickers", "instId" : "BTC-USDT"}]}', connId: 'a4d3ae55' });
    expect(errorCode(bad)).toBe('VENUE_REJECTED');
    expect(bad.signal?.kind === 'error' && bad.signal.error.message).toContain('60012');
    expect(errorCode(decode({ event: 'error', code: '60018', msg: "Wrong URL or channel:books,instId:NOPE doesn't exist." }))).toBe('VENUE_REJECTED');
    expect(errorCode(decode({ event: 'error', code: '60014', msg: 'Requests too frequent.' }))).toBe('VENUE_RATE_LIMITED');
    expect(errorCode(decode({ event: 'error', code: '60009', msg: 'Login failure.' }))).toBe('VENUE_AUTH');
    expect([okxErrorCode('60013'), okxErrorCode('60023'), okxErrorCode('60024')]).toEqual(['VENUE_REJECTED', 'VENUE_RATE_LIMITED', 'VENUE_AUTH']);
  });

  it('notice (service upgrade) asks to reconnect; login and unused channels ignored; unknown → PROTOCOL_UNKNOWN', () => {
    expect(decode({ event: 'notice', code: '64008', msg: 'The connection will soon be closed for a service upgrade.', connId: 'a4d3ae55' }).signal?.kind).toBe('reconnect');
    expect(decode({ event: 'login', code: '0', msg: '' }).signal).toEqual({ kind: 'ignored', reason: 'login' });
    expect(decode({ arg: { channel: 'candle1m', instId: 'BTC-USDT' }, data: [] }).signal).toEqual({ kind: 'ignored', reason: 'candle' });
    expect(decode({ arg: { channel: 'funding-rate', instId: 'BTC-USDT-SWAP' }, data: [] }).signal).toEqual({ kind: 'ignored', reason: 'funding-rate' });
    expect(errorCode(decode({ arg: { channel: 'brand-new', instId: 'BTC-USDT' }, data: [] }))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(decode({ event: 'brand-new' }))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(decode({ data: [] }))).toBe('PROTOCOL_UNKNOWN');
  });

  it('garbage never throws', () => {
    for (const f of ['', 'ping', 'not json', '42', 'null', '[1,2]']) {
      const d = decode(f);
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe('PROTOCOL_MALFORMED');
    }
  });
});
