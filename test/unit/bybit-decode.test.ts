/**
 * Bybit v5 public decoder on hand-written frames in the documented shapes
 * (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook, …/trade, …/ticker, https://bybit-exchange.github.io/docs/v5/ws/connect).
 */
import { describe, expect, it } from 'vitest';
import { bybitConnector } from '../../src/venues/bybit/connector.ts';
import type { BybitSession } from '../../src/venues/bybit/decode.ts';
import type { ConnectionPlan, Decoded } from '../../src/venues/connector.ts';
import type { TickerEvent, TradeEvent } from '../../src/core/events.ts';

function session(market: 'spot' | 'linear'): BybitSession {
  const plan: ConnectionPlan = {
    id: `${market}-0`,
    url: `wss://stream.bybit.com/v5/public/${market}`,
    subscriptions: [],
    subscribeFrames: [],
    heartbeat: { kind: 'none' },
    staleAfterMs: 60_000,
  };
  return bybitConnector.newSession(plan);
}

const RECV = 1_700_000_000_999;

function decode(data: unknown, s: BybitSession): Decoded {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return bybitConnector.decode({ data: text, recvTs: RECV }, s);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

describe('bybit decode: orderbook', () => {
  const snapshot = {
    topic: 'orderbook.50.BTCUSDT',
    type: 'snapshot',
    ts: 1672304484978,
    data: {
      s: 'BTCUSDT',
      b: [
        ['16493.50', '0.006'],
        ['16493.00', '0.100'],
      ],
      a: [
        ['16611.00', '0.029'],
        ['16612.00', '0.213'],
      ],
      u: 18521288,
      seq: 7961638724,
    },
    cts: 1672304484976,
  };
  const delta = {
    topic: 'orderbook.50.BTCUSDT',
    type: 'delta',
    ts: 1672304484999,
    data: { s: 'BTCUSDT', b: [], a: [['16611.00', '0']], u: 18521289, seq: 7961638725 },
    cts: 1672304484998,
  };

  it('snapshot → book_snapshot with seq = u, ts = frame ts, key from the session market', () => {
    const d = decode(snapshot, session('linear'));
    expect(d.signal).toBeUndefined();
    expect(d.events).toHaveLength(1);
    expect(d.events[0]).toEqual({
      type: 'book_snapshot',
      venue: 'bybit',
      key: 'linear:BTCUSDT',
      bids: snapshot.data.b,
      asks: snapshot.data.a,
      seq: 18521288,
      ts: 1672304484978,
      recvTs: RECV,
    });
  });

  it('delta → book_delta with firstSeq = lastSeq = u', () => {
    const d = decode(delta, session('spot'));
    expect(d.events).toEqual([
      {
        type: 'book_delta',
        venue: 'bybit',
        key: 'spot:BTCUSDT',
        bids: [],
        asks: [['16611.00', '0']],
        firstSeq: 18521289,
        lastSeq: 18521289,
        ts: 1672304484999,
        recvTs: RECV,
      },
    ]);
  });

  it('passes the venue level arrays through without copying', () => {
    const s = session('linear');
    const text = JSON.stringify(snapshot);
    const d = bybitConnector.decode({ data: text, recvTs: RECV }, s);
    const ev = d.events[0];
    expect(ev.type).toBe('book_snapshot');
    if (ev.type === 'book_snapshot') {
      expect(ev.bids[0]).toEqual(['16493.50', '0.006']);
      expect(Array.isArray(ev.bids)).toBe(true);
    }
  });

  it('the same venue symbol on spot and linear connections gives different keys', () => {
    const a = decode(snapshot, session('spot')).events[0];
    const b = decode(snapshot, session('linear')).events[0];
    expect(a.key).toBe('spot:BTCUSDT');
    expect(b.key).toBe('linear:BTCUSDT');
  });

  it('missing u, s, levels or ts → PROTOCOL_MALFORMED, no events, no throw', () => {
    const s = session('linear');
    const bad = [
      { ...snapshot, data: { ...snapshot.data, u: undefined } },
      { ...snapshot, data: { ...snapshot.data, s: 5 } },
      { ...snapshot, data: { ...snapshot.data, b: 'x' } },
      { ...snapshot, data: { ...snapshot.data, a: [['1', 2]] } },
      { ...snapshot, data: { ...snapshot.data, b: [null] } },
      { ...snapshot, ts: undefined },
      { ...snapshot, data: null },
      { ...snapshot, type: 'partial' },
    ];
    for (const f of bad) {
      const d = decode(f, s);
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe('PROTOCOL_MALFORMED');
    }
  });
});

describe('bybit decode: publicTrade', () => {
  const frame = {
    topic: 'publicTrade.BTCUSDT',
    type: 'snapshot',
    ts: 1672304486868,
    data: [
      { T: 1672304486865, s: 'BTCUSDT', S: 'Buy', v: '0.001', p: '16578.50', L: 'PlusTick', i: '20f43950-d8dd-5b31-9112-a178eb6023af', BT: false },
      { T: 1672304486866, s: 'BTCUSDT', S: 'Sell', v: '0.002', p: '16578.00', L: 'MinusTick', i: '20f43950-d8dd-5b31-9112-a178eb6023b0', BT: false },
    ],
  };

  it('one trade event per element; S is the taker side; i is the trade id; ts = T', () => {
    const d = decode(frame, session('linear'));
    expect(d.signal).toBeUndefined();
    const [a, b] = d.events as TradeEvent[];
    expect(a).toEqual({
      type: 'trade',
      venue: 'bybit',
      key: 'linear:BTCUSDT',
      price: '16578.50',
      size: '0.001',
      side: 'buy',
      tradeId: '20f43950-d8dd-5b31-9112-a178eb6023af',
      ts: 1672304486865,
      recvTs: RECV,
    });
    expect(b.side).toBe('sell');
    expect(b.ts).toBe(1672304486866);
  });

  it('an element with an unknown side or missing field → PROTOCOL_MALFORMED', () => {
    const s = session('spot');
    for (const t of [{ ...frame.data[0], S: 'Hold' }, { ...frame.data[0], p: undefined }, { ...frame.data[0], T: '1' }, 7]) {
      const d = decode({ ...frame, data: [frame.data[1], t] }, s);
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe('PROTOCOL_MALFORMED');
    }
    expect(errorCode(decode({ ...frame, data: {} }, s))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('bybit decode: tickers', () => {
  const linearSnapshot = {
    topic: 'tickers.BTCUSDT',
    type: 'snapshot',
    data: {
      symbol: 'BTCUSDT',
      tickDirection: 'PlusTick',
      lastPrice: '17216.00',
      markPrice: '17217.33',
      volume24h: '91705.276',
      bid1Price: '17215.50',
      bid1Size: '84.489',
      ask1Price: '17216.00',
      ask1Size: '83.020',
    },
    cs: 24987956059,
    ts: 1673272861686,
  };

  it('linear: snapshot then deltas; absent fields keep their value', () => {
    const s = session('linear');
    const first = decode(linearSnapshot, s).events[0] as TickerEvent;
    expect(first).toEqual({
      type: 'ticker',
      venue: 'bybit',
      key: 'linear:BTCUSDT',
      bidPrice: '17215.50',
      bidSize: '84.489',
      askPrice: '17216.00',
      askSize: '83.020',
      last: '17216.00',
      volume24h: '91705.276',
      ts: 1673272861686,
      recvTs: RECV,
    });
    const d1 = decode({ topic: 'tickers.BTCUSDT', type: 'delta', data: { symbol: 'BTCUSDT', bid1Size: '80.000', ask1Price: '17216.50' }, cs: 1, ts: 1673272861786 }, s);
    const t1 = d1.events[0] as TickerEvent;
    expect(t1).toMatchObject({ bidPrice: '17215.50', bidSize: '80.000', askPrice: '17216.50', askSize: '83.020', last: '17216.00', volume24h: '91705.276', ts: 1673272861786 });
    // A delta that touches none of the normalized fields still yields the merged ticker.
    const t2 = decode({ topic: 'tickers.BTCUSDT', type: 'delta', data: { symbol: 'BTCUSDT', markPrice: '17218.00' }, cs: 2, ts: 1673272861886 }, s).events[0] as TickerEvent;
    expect(t2).toMatchObject({ bidSize: '80.000', askPrice: '17216.50', ts: 1673272861886 });
    // The first event was not mutated by the merges.
    expect(first.bidSize).toBe('84.489');
  });

  it('merge state is per symbol and per session', () => {
    const s = session('linear');
    decode(linearSnapshot, s);
    const eth = decode({ topic: 'tickers.ETHUSDT', type: 'delta', data: { symbol: 'ETHUSDT', bid1Price: '1200.00' }, ts: 1 }, s).events[0] as TickerEvent;
    expect(eth).toMatchObject({ key: 'linear:ETHUSDT', bidPrice: '1200.00', askPrice: undefined, last: undefined });
    const fresh = decode({ topic: 'tickers.BTCUSDT', type: 'delta', data: { symbol: 'BTCUSDT', bid1Price: '1.00' }, ts: 2 }, session('linear')).events[0] as TickerEvent;
    expect(fresh.askPrice).toBeUndefined();
  });

  it('a later snapshot replaces the merged state', () => {
    const s = session('linear');
    decode(linearSnapshot, s);
    const t = decode({ topic: 'tickers.BTCUSDT', type: 'snapshot', data: { symbol: 'BTCUSDT', lastPrice: '1.0' }, ts: 3 }, s).events[0] as TickerEvent;
    expect(t).toMatchObject({ last: '1.0', bidPrice: undefined, volume24h: undefined });
  });

  it('spot: snapshots without bid/ask give a ticker with last and volume only', () => {
    const d = decode(
      {
        topic: 'tickers.BTCUSDT',
        ts: 1673853746003,
        type: 'snapshot',
        cs: 2588407389,
        data: { symbol: 'BTCUSDT', lastPrice: '21109.77', highPrice24h: '21426.99', lowPrice24h: '20575', prevPrice24h: '20704.93', volume24h: '6780.866843', turnover24h: '141946527.22907118', price24hPcnt: '0.0196', usdIndexPrice: '21120.2400136' },
      },
      session('spot'),
    );
    expect(d.events[0]).toEqual({
      type: 'ticker',
      venue: 'bybit',
      key: 'spot:BTCUSDT',
      bidPrice: undefined,
      bidSize: undefined,
      askPrice: undefined,
      askSize: undefined,
      last: '21109.77',
      volume24h: '6780.866843',
      ts: 1673853746003,
      recvTs: RECV,
    });
  });

  it('missing symbol / ts or a non-string field → PROTOCOL_MALFORMED', () => {
    const s = session('linear');
    expect(errorCode(decode({ ...linearSnapshot, data: { bid1Price: '1' } }, s))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode({ ...linearSnapshot, ts: undefined }, s))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode({ ...linearSnapshot, data: { ...linearSnapshot.data, bid1Price: 17215.5 } }, s))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('bybit decode: acks, pongs, ignored and bad frames', () => {
  it('subscribe ack (linear and spot shapes) → subscribed', () => {
    const s = session('linear');
    const d = decode({ success: true, ret_msg: '', conn_id: 'cejreaspqfm9se7usbrg-2xh', req_id: 'sub-1', op: 'subscribe' }, s);
    expect(d.events).toEqual([]);
    expect(d.signal).toEqual({ kind: 'subscribed', detail: 'sub-1' });
    expect(decode({ success: true, ret_msg: 'subscribe', conn_id: 'x', op: 'subscribe' }, session('spot')).signal?.kind).toBe('subscribed');
  });

  it('unsubscribe ack → unsubscribed', () => {
    expect(decode({ success: true, ret_msg: '', conn_id: 'x', req_id: '', op: 'unsubscribe' }, session('linear')).signal).toEqual({ kind: 'unsubscribed', detail: undefined });
  });

  it('failed subscribe → VENUE_REJECTED carrying ret_msg', () => {
    const d = decode({ success: false, ret_msg: 'Invalid topic: invalid.topic.BTCUSDT', conn_id: 'x', op: 'subscribe' }, session('linear'));
    expect(d.events).toEqual([]);
    expect(d.signal?.kind).toBe('error');
    if (d.signal?.kind === 'error') {
      expect(d.signal.error.code).toBe('VENUE_REJECTED');
      expect(d.signal.error.message).toContain('Invalid topic: invalid.topic.BTCUSDT');
      expect(d.signal.error.retryable).toBe(false);
    }
  });

  it('pong (public op "ping" + ret_msg "pong", and op "pong") → heartbeat', () => {
    expect(decode({ success: true, ret_msg: 'pong', conn_id: 'x', req_id: '7', op: 'ping' }, session('spot')).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ req_id: 'test', op: 'pong', args: ['1675418560633'], conn_id: 'x' }, session('linear')).signal).toEqual({ kind: 'heartbeat' });
  });

  it('kline and allLiquidation → ignored with the channel as reason', () => {
    const kline = { topic: 'kline.1.BTCUSDT', type: 'snapshot', ts: 1, data: [{ start: 0, end: 1, interval: '1', open: '1', close: '1', high: '1', low: '1', volume: '1', turnover: '1', confirm: false, timestamp: 1 }] };
    expect(decode(kline, session('linear'))).toEqual({ events: [], signal: { kind: 'ignored', reason: 'kline' } });
    const liq = { topic: 'allLiquidation.BTCUSDT', type: 'snapshot', ts: 1, data: [{ T: 1, s: 'BTCUSDT', S: 'Sell', v: '0.003', p: '43511.70' }] };
    expect(decode(liq, session('linear'))).toEqual({ events: [], signal: { kind: 'ignored', reason: 'allLiquidation' } });
  });

  it('malformed JSON and non-objects → PROTOCOL_MALFORMED without throwing', () => {
    const s = session('linear');
    for (const text of ['{"topic":"orderbook.50.BTCUSDT",', '', 'null', '42', '"x"']) {
      let d: Decoded | undefined;
      expect(() => (d = bybitConnector.decode({ data: text, recvTs: RECV }, s))).not.toThrow();
      expect(d?.events).toEqual([]);
      expect(errorCode(d!)).toBe('PROTOCOL_MALFORMED');
    }
  });

  it('unknown topics and ops → PROTOCOL_UNKNOWN', () => {
    const s = session('linear');
    for (const f of [{ topic: 'insurance.USDT', data: [] }, { topic: 'orderbookx.1.BTC', data: {} }, { topic: '', data: {} }, { op: 'frobnicate', success: true }, { hello: 1 }, []]) {
      const d = decode(f, s);
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe('PROTOCOL_UNKNOWN');
    }
  });
});
