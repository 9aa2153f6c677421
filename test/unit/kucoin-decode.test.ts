/**
 * KuCoin decoder on hand-written frames in the documented shapes (https://www.kucoin.com/docs-new/3470068w0,
 * …/3470063w0, …/3470072w0, the websocket introduction) and the 2021 recording's shapes (no `time` in level2,
 * price-"0" changes), plus venue error frames and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { decodeKucoin, kucoinNsToMs, kucoinSeq, newKucoinSession, type KucoinSession } from '../../src/venues/kucoin/decode.ts';
import type { Decoded } from '../../src/venues/connector.ts';

const RECV = 1_700_000_000_123;

function dec(data: unknown, session: KucoinSession = newKucoinSession()): Decoded {
  return decodeKucoin({ data: typeof data === 'string' ? data : JSON.stringify(data), recvTs: RECV }, session);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

describe('kucoin level2 increments', () => {
  it('documented example → book_delta covering [sequenceStart, sequenceEnd], levels passed through, ts = time', () => {
    const changes = { asks: [['67993.3', '1.21427407', '14701689783']], bids: [] };
    const frame = {
      topic: '/market/level2:BTC-USDT',
      type: 'message',
      subject: 'trade.l2update',
      data: { changes, sequenceEnd: 14701689783, sequenceStart: 14701689783, symbol: 'BTC-USDT', time: 1729816425625 },
    };
    const d = dec(frame);
    expect(d.signal).toBeUndefined();
    expect(d.events).toEqual([
      {
        type: 'book_delta',
        venue: 'kucoin',
        key: 'spot:BTC-USDT',
        bids: [],
        asks: [['67993.3', '1.21427407', '14701689783']],
        firstSeq: 14701689783,
        lastSeq: 14701689783,
        ts: 1729816425625,
        recvTs: RECV,
      },
    ]);
  });

  it('keeps size-"0" deletes and uses recvTs when the message has no time (2021 shape)', () => {
    const session = newKucoinSession();
    const text = JSON.stringify({
      topic: '/market/level2:ETH-USDT',
      type: 'message',
      subject: 'trade.l2update',
      data: { changes: { asks: [['2000.1', '0', '20']], bids: [['1999.9', '3', '21']] }, sequenceStart: 20, sequenceEnd: 21, symbol: 'ETH-USDT' },
    });
    const ev = decodeKucoin({ data: text, recvTs: RECV }, session).events[0];
    expect(ev.type).toBe('book_delta');
    if (ev.type !== 'book_delta') return;
    expect(ev.asks).toEqual([['2000.1', '0', '20']]); // size "0" deletes: kept for the book
    expect(ev.bids).toEqual([['1999.9', '3', '21']]);
    expect(ev.ts).toBe(RECV); // the 2021 messages carry no time
  });

  it('drops price-"0" changes (sequence only) but keeps the message sequence range (recorded shape)', () => {
    const d = dec({
      data: { sequenceStart: 1613277183874, symbol: 'BCHSV-USDT', changes: { asks: [['0', '0', '1613277183874']], bids: [] }, sequenceEnd: 1613277183874 },
      subject: 'trade.l2update',
      topic: '/market/level2:BCHSV-USDT',
      type: 'message',
    });
    expect(d.events).toHaveLength(1);
    const ev = d.events[0];
    if (ev.type !== 'book_delta') throw new Error('expected a delta');
    expect(ev.asks).toEqual([]);
    expect(ev.bids).toEqual([]);
    expect([ev.firstSeq, ev.lastSeq]).toEqual([1613277183874, 1613277183874]);
    const mixed = dec({
      type: 'message',
      topic: '/market/level2:X-Y',
      subject: 'trade.l2update',
      data: { symbol: 'X-Y', sequenceStart: 5, sequenceEnd: 7, changes: { bids: [['0.00', '0', '5'], ['1.5', '2', '6']], asks: [['1.6', '1', '7']] } },
    }).events[0];
    if (mixed.type !== 'book_delta') throw new Error('expected a delta');
    expect(mixed.bids).toEqual([['1.5', '2', '6']]);
    expect(mixed.asks).toEqual([['1.6', '1', '7']]);
  });

  it('uses pre-filled instrument keys from the session', () => {
    const s = newKucoinSession([], [['BCHSV-USDT', 'spot:BCHSV-USDT']]);
    const ev = dec({ type: 'message', topic: '/market/level2:BCHSV-USDT', subject: 'trade.l2update', data: { symbol: 'BCHSV-USDT', sequenceStart: 1, sequenceEnd: 1, changes: { asks: [], bids: [] } } }, s).events[0];
    expect(ev.key).toBe('spot:BCHSV-USDT');
  });

  it('malformed level2 messages are PROTOCOL_MALFORMED, never thrown', () => {
    const base = { type: 'message', topic: '/market/level2:A-B', subject: 'trade.l2update' };
    const bad = [
      { ...base },
      { ...base, data: { symbol: 'A-B', sequenceEnd: 2, changes: { asks: [], bids: [] } } },
      { ...base, data: { symbol: 'A-B', sequenceStart: 3, sequenceEnd: 2, changes: { asks: [], bids: [] } } },
      { ...base, data: { symbol: 'A-B', sequenceStart: 1, sequenceEnd: 2, changes: { asks: [['1', 2, '3']], bids: [] } } },
      { ...base, data: { symbol: 'A-B', sequenceStart: 1, sequenceEnd: 2, changes: { asks: [['1', '2']], bids: [] } } },
      { ...base, data: { symbol: 'A-B', sequenceStart: '1x', sequenceEnd: 2, changes: { asks: [], bids: [] } } },
      { ...base, data: { sequenceStart: 1, sequenceEnd: 2, changes: { asks: [], bids: [] } } },
    ];
    for (const f of bad) expect(errorCode(dec(f)), JSON.stringify(f)).toBe('PROTOCOL_MALFORMED');
  });
});

describe('kucoin ticker and match', () => {
  it('ticker (documented example) → best bid/ask and last price; symbol from the topic', () => {
    const d = dec({
      type: 'message',
      topic: '/market/ticker:BTC-USDT',
      subject: 'trade.ticker',
      data: { sequence: '1545896668986', price: '0.08', size: '0.011', bestAsk: '0.08', bestAskSize: '0.18', bestBid: '0.049', bestBidSize: '0.036', time: 1704873323416 },
    });
    expect(d.events).toEqual([
      { type: 'ticker', venue: 'kucoin', key: 'spot:BTC-USDT', bidPrice: '0.049', bidSize: '0.036', askPrice: '0.08', askSize: '0.18', last: '0.08', ts: 1704873323416, recvTs: RECV },
    ]);
  });

  it('ticker:all takes the symbol from subject; bad fields are malformed', () => {
    const ev = dec({ type: 'message', topic: '/market/ticker:all', subject: 'ETH-USDT', data: { bestBid: '1', bestAsk: '2', price: '1.5', time: 5 } }).events[0];
    expect(ev.key).toBe('spot:ETH-USDT');
    expect(errorCode(dec({ type: 'message', topic: '/market/ticker:BTC-USDT', data: { bestBid: 1, time: 5 } }))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(dec({ type: 'message', topic: '/market/ticker:A,B', data: { time: 5 } }))).toBe('PROTOCOL_MALFORMED');
  });

  it('match (documented example) → trade with the taker side, ns time → ms', () => {
    const d = dec({
      topic: '/market/match:BTC-USDT',
      type: 'message',
      subject: 'trade.l3match',
      data: {
        makerOrderId: '671b5007389355000701b1d3',
        price: '67523',
        sequence: '11067996711960577',
        side: 'buy',
        size: '0.003',
        symbol: 'BTC-USDT',
        takerOrderId: '671b50161777ff00074c168d',
        time: '1729843222921000000',
        tradeId: '11067996711960577',
        type: 'match',
      },
    });
    expect(d.events).toEqual([
      { type: 'trade', venue: 'kucoin', key: 'spot:BTC-USDT', price: '67523', size: '0.003', side: 'buy', tradeId: '11067996711960577', ts: 1729843222921, recvTs: RECV },
    ]);
    const sell = dec({ type: 'message', topic: '/market/match:DAPPT-BTC', subject: 'trade.l3match', data: { symbol: 'DAPPT-BTC', side: 'sell', size: '1', price: '2', tradeId: 't', time: '1619378327739050725' } });
    expect(sell.events[0]).toMatchObject({ side: 'sell', ts: 1619378327739 });
    expect(errorCode(dec({ type: 'message', topic: '/market/match:A-B', data: { symbol: 'A-B', side: 'Buy', size: '1', price: '2', tradeId: 't', time: '1619378327739050725' } }))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(dec({ type: 'message', topic: '/market/match:A-B', data: { symbol: 'A-B', side: 'buy', size: '1', price: '2', tradeId: 't', time: 'soon' } }))).toBe('PROTOCOL_MALFORMED');
  });

  it('helpers: sequences and nanosecond times', () => {
    expect(kucoinSeq(12)).toBe(12);
    expect(kucoinSeq('1613277183892')).toBe(1613277183892);
    expect([kucoinSeq(''), kucoinSeq('-1'), kucoinSeq(1.5), kucoinSeq('12345678901234567'), kucoinSeq(null)]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(kucoinNsToMs('1545913818099033203')).toBe(1545913818099);
    expect(kucoinNsToMs(1553846281766256000)).toBe(1553846281766); // futures-style numeric ns (already rounded by JSON.parse)
    expect([kucoinNsToMs('12'), kucoinNsToMs('1e18'), kucoinNsToMs(undefined)]).toEqual([undefined, undefined, undefined]);
  });
});

describe('kucoin connection frames', () => {
  const FRAMES = [
    '{"id":1,"type":"subscribe","topic":"/market/level2:BTC-USDT,ETH-USDT","privateChannel":false,"response":true}',
    '{"id":2,"type":"subscribe","topic":"/market/ticker:BTC-USDT","privateChannel":false,"response":true}',
  ];

  it('welcome answers with the subscribe frames, once', () => {
    const s = newKucoinSession(FRAMES);
    const d = dec({ id: 'hQvf8jkno', type: 'welcome' }, s);
    expect(d.replies).toEqual(FRAMES);
    expect(d.signal).toEqual({ kind: 'heartbeat' });
    expect(s.subscribed).toBe(true);
    const again = dec({ id: '0', type: 'pong' }, s);
    expect(again.replies).toBeUndefined();
    expect(again.signal).toEqual({ kind: 'heartbeat' });
  });

  it('the pong to the opening ping also proves the connection usable (subscribe once, welcome later is quiet)', () => {
    const s = newKucoinSession(FRAMES);
    expect(dec({ id: '0', type: 'pong' }, s).replies).toEqual(FRAMES);
    expect(dec({ id: 'abc', type: 'welcome' }, s).replies).toBeUndefined();
    expect(dec({ id: 'x', type: 'welcome' }, newKucoinSession()).replies).toBeUndefined(); // nothing to subscribe
  });

  it('ack → subscribed naming the topic of our request', () => {
    const s = newKucoinSession(FRAMES);
    expect(dec({ id: '1', type: 'ack' }, s).signal).toEqual({ kind: 'subscribed', detail: '/market/level2:BTC-USDT,ETH-USDT' });
    expect(dec({ id: '77', type: 'ack' }, s).signal).toEqual({ kind: 'subscribed', detail: '77' });
  });

  it('error frames are typed: 509 rate limited, 404 rejected (with the topic), 401 auth', () => {
    const s = newKucoinSession(FRAMES);
    const limit = dec({ id: '1', type: 'error', code: 509, data: 'exceed max subscription count limitation of 100 per time' }, s);
    expect(errorCode(limit)).toBe('VENUE_RATE_LIMITED');
    const notFound = dec({ code: 404, data: 'topic /market/level2:BSV-BTC is not found', id: '2', type: 'error' }, s);
    expect(errorCode(notFound)).toBe('VENUE_REJECTED');
    if (notFound.signal?.kind !== 'error') throw new Error('expected an error');
    expect(notFound.signal.error.context).toMatchObject({ topic: '/market/ticker:BTC-USDT', code: 404 });
    expect(errorCode(dec({ id: 'c1', type: 'error', code: 401, data: 'token is invalid' }, s))).toBe('VENUE_AUTH');
    expect(errorCode(dec({ id: 'c1', type: 'error', code: '509', data: 'exceed max permits per second' }, s))).toBe('VENUE_RATE_LIMITED');
  });

  it('candles and market snapshots are ignored; unknown and malformed frames are counted errors', () => {
    expect(dec({ type: 'message', topic: '/market/candles:DAPPT-BTC_1min', subject: 'trade.candles.add', data: {} }).signal).toEqual({ kind: 'ignored', reason: 'candles' });
    expect(dec({ type: 'message', topic: '/market/snapshot:BTC', subject: 'trade.snapshot', data: {} }).signal).toEqual({ kind: 'ignored', reason: 'snapshot' });
    expect(errorCode(dec({ type: 'message', topic: '/spotMarket/level2Depth5:BTC-USDT', data: {} }))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(dec({ type: 'notice', data: 'x' }))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(dec({ hello: 1 }))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(dec({ type: 'message' }))).toBe('PROTOCOL_MALFORMED');
    for (const raw of ['', 'not json', 'null', '[1,2]', '42', '"x"', '{"type":"message","topic":"/market/level2:A","data":null}']) {
      expect(() => dec(raw)).not.toThrow();
      expect(errorCode(dec(raw)), raw).toMatch(/^PROTOCOL_/);
    }
  });
});

describe('kucoin decoder robustness', () => {
  /** Every field of each frame replaced by values of the wrong type: a result (events or a signal), never a throw. */
  it('never throws on mutated documented frames', () => {
    const frames: unknown[] = [
      { type: 'message', topic: '/market/level2:BTC-USDT', subject: 'trade.l2update', data: { changes: { asks: [['1', '2', '3']], bids: [['0.5', '1', '4']] }, sequenceStart: 3, sequenceEnd: 4, symbol: 'BTC-USDT', time: 5 } },
      { type: 'message', topic: '/market/ticker:BTC-USDT', subject: 'trade.ticker', data: { sequence: '1', price: '1', size: '1', bestBid: '1', bestBidSize: '1', bestAsk: '2', bestAskSize: '1', time: 5 } },
      { type: 'message', topic: '/market/match:BTC-USDT', subject: 'trade.l3match', data: { symbol: 'BTC-USDT', side: 'buy', size: '1', price: '1', tradeId: 't', time: '1729843222921000000' } },
      { id: '1', type: 'error', code: 509, data: 'x' },
      { id: 'w', type: 'welcome' },
      { id: '1', type: 'ack' },
    ];
    const wrong = [null, 0, -1.5, 'x', '', [], {}, [[]], true];
    let cases = 0;
    const visit = (root: unknown, node: unknown, path: (string | number)[]): void => {
      if (node === null || typeof node !== 'object') return;
      for (const k of Object.keys(node)) {
        const p = [...path, Array.isArray(node) ? Number(k) : k];
        for (const v of wrong) {
          const copy = structuredClone(root) as Record<string | number, unknown>;
          let at: Record<string | number, unknown> = copy;
          for (const q of p.slice(0, -1)) at = at[q] as Record<string | number, unknown>;
          at[p[p.length - 1]] = v;
          const d = dec(copy, newKucoinSession(['{"id":1,"type":"subscribe","topic":"/market/level2:A"}']));
          expect(d.events.length > 0 || d.signal !== undefined, JSON.stringify(copy)).toBe(true);
          cases++;
        }
        visit(root, (node as Record<string, unknown>)[k], p);
      }
    };
    for (const f of frames) visit(f, f, []);
    expect(cases).toBeGreaterThan(300);
  });
});
