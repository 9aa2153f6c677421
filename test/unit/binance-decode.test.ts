/**
 * Binance spot stream decoder on hand-written frames in the documented shapes
 * (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams).
 */
import { describe, expect, it } from 'vitest';
import { binanceConnector } from '../../src/venues/binance/connector.ts';
import type { BinanceSession } from '../../src/venues/binance/decode.ts';
import type { Decoded } from '../../src/venues/connector.ts';

const RECV = 1_700_000_000_123;

function session(): BinanceSession {
  return binanceConnector.newSession({
    id: 'spot-0',
    url: 'wss://stream.binance.com:9443/stream?streams=bnbbtc@depth@100ms',
    subscriptions: [],
    subscribeFrames: [],
    heartbeat: { kind: 'none' },
    staleAfterMs: 60_000,
  });
}

function decode(data: unknown, s: BinanceSession = session()): Decoded {
  return binanceConnector.decode({ data: typeof data === 'string' ? data : JSON.stringify(data), recvTs: RECV }, s);
}

function wrap(stream: string, data: unknown): { stream: string; data: unknown } {
  return { stream, data };
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

const depth = {
  e: 'depthUpdate',
  E: 1672515782136,
  s: 'BNBBTC',
  U: 157,
  u: 160,
  b: [['0.0024', '10']],
  a: [
    ['0.0026', '100'],
    ['0.0027', '0'],
  ],
};

describe('binance decode: diff depth', () => {
  it('combined depthUpdate → book_delta with firstSeq = U, lastSeq = u, ts = E', () => {
    const d = decode(wrap('bnbbtc@depth@100ms', depth));
    expect(d.signal).toBeUndefined();
    expect(d.events).toEqual([
      {
        type: 'book_delta',
        venue: 'binance',
        key: 'spot:BNBBTC',
        bids: depth.b,
        asks: depth.a,
        firstSeq: 157,
        lastSeq: 160,
        ts: 1672515782136,
        recvTs: RECV,
      },
    ]);
  });

  it('raw (unwrapped) payloads decode the same', () => {
    expect(decode(depth).events).toEqual(decode(wrap('bnbbtc@depth', depth)).events);
  });

  it('missing U/u/E/s or bad levels → PROTOCOL_MALFORMED, no events', () => {
    for (const bad of [
      { ...depth, U: undefined },
      { ...depth, u: '160' },
      { ...depth, E: undefined },
      { ...depth, s: undefined },
      { ...depth, b: [['1']] },
      { ...depth, a: null },
    ]) {
      const d = decode(wrap('bnbbtc@depth@100ms', bad));
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe('PROTOCOL_MALFORMED');
    }
  });
});

describe('binance decode: bookTicker', () => {
  const bt = { u: 400900217, s: 'BNBUSDT', b: '25.35190000', B: '31.21000000', a: '25.36520000', A: '40.66000000' };

  it('→ ticker with best bid/ask; ts = receive time (no event time)', () => {
    const d = decode(wrap('bnbusdt@bookTicker', bt));
    expect(d.events).toEqual([
      {
        type: 'ticker',
        venue: 'binance',
        key: 'spot:BNBUSDT',
        bidPrice: '25.35190000',
        bidSize: '31.21000000',
        askPrice: '25.36520000',
        askSize: '40.66000000',
        last: undefined,
        volume24h: undefined,
        ts: RECV,
        recvTs: RECV,
      },
    ]);
  });

  it('uses E as venue time when present', () => {
    expect(decode(wrap('bnbusdt@bookTicker', { ...bt, E: 1672515782136 })).events[0].ts).toBe(1672515782136);
  });

  it('missing fields → PROTOCOL_MALFORMED', () => {
    for (const bad of [{ ...bt, B: undefined }, { ...bt, a: 25.3 }, { ...bt, s: undefined }, { u: 1 }]) {
      expect(errorCode(decode(wrap('bnbusdt@bookTicker', bad)))).toBe('PROTOCOL_MALFORMED');
    }
  });
});

describe('binance decode: trades', () => {
  const agg = { e: 'aggTrade', E: 1672515782136, s: 'BNBBTC', a: 12345, p: '0.001', q: '100', f: 100, l: 105, T: 1672515782136, m: true, M: true };
  const trade = { e: 'trade', E: 1672515782136, s: 'BNBBTC', t: 12345, p: '0.001', q: '100', T: 1672515782130, m: false, M: true };

  it('aggTrade: m = buyer is maker → taker sold; tradeId = a; ts = T', () => {
    expect(decode(wrap('bnbbtc@aggTrade', agg)).events).toEqual([
      { type: 'trade', venue: 'binance', key: 'spot:BNBBTC', price: '0.001', size: '100', side: 'sell', tradeId: '12345', ts: 1672515782136, recvTs: RECV },
    ]);
    expect(decode(wrap('bnbbtc@aggTrade', { ...agg, m: false })).events[0]).toMatchObject({ side: 'buy' });
  });

  it('trade: tradeId = t, m false → taker bought', () => {
    expect(decode(wrap('bnbbtc@trade', trade)).events[0]).toMatchObject({ side: 'buy', tradeId: '12345', ts: 1672515782130, size: '100' });
  });

  it('missing trade id or m → PROTOCOL_MALFORMED', () => {
    expect(errorCode(decode(wrap('bnbbtc@aggTrade', { ...agg, a: undefined })))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode(wrap('bnbbtc@trade', { ...trade, m: 'no' })))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode(wrap('bnbbtc@trade', { ...trade, p: 1 })))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('binance decode: control frames, ignored and bad frames', () => {
  it('{"result":null,"id"} → subscribed', () => {
    expect(decode({ result: null, id: 1 })).toEqual({ events: [], signal: { kind: 'subscribed', detail: '1' } });
  });

  it('query results (LIST_SUBSCRIPTIONS) → ignored', () => {
    expect(decode({ result: ['btcusdt@aggTrade'], id: 3 }).signal).toEqual({ kind: 'ignored', reason: 'result' });
  });

  it('error replies → VENUE_REJECTED; rate limits → VENUE_RATE_LIMITED', () => {
    const rej = decode({ code: 2, msg: 'Invalid request: unknown variant FOO', id: 4 });
    expect(rej.events).toEqual([]);
    expect(errorCode(rej)).toBe('VENUE_REJECTED');
    if (rej.signal?.kind === 'error') expect(rej.signal.error.message).toContain('Invalid request');
    expect(errorCode(decode({ code: 0, msg: 'Unknown property', id: 5 }))).toBe('VENUE_REJECTED');
    expect(errorCode(decode({ code: -1003, msg: 'Too many requests' }))).toBe('VENUE_RATE_LIMITED');
    expect(errorCode(decode({ error: { code: -1003, msg: 'Too much request weight used' }, id: 6 }))).toBe('VENUE_RATE_LIMITED');
  });

  it('serverShutdown → reconnect (raw, combined and WS-API shapes)', () => {
    const want = { events: [], signal: { kind: 'reconnect', reason: 'serverShutdown' } };
    expect(decode({ e: 'serverShutdown', E: 1770123456789 })).toEqual(want);
    expect(decode(wrap('!serverShutdown', { e: 'serverShutdown', E: 1770123456789 }))).toEqual(want);
    expect(decode({ event: { e: 'serverShutdown', E: 1770123456789 } })).toEqual(want);
  });

  it('kline → ignored', () => {
    const kline = { e: 'kline', E: 1672515782136, s: 'BNBBTC', k: { t: 1672515780000, T: 1672515839999, s: 'BNBBTC', i: '1m', o: '0.0010', c: '0.0020', x: false } };
    expect(decode(wrap('bnbbtc@kline_1m', kline))).toEqual({ events: [], signal: { kind: 'ignored', reason: 'kline' } });
  });

  it('partial book depth payloads (not subscribed by this connector) → ignored', () => {
    expect(decode(wrap('bnbbtc@depth5', { lastUpdateId: 160, bids: [['0.0024', '10']], asks: [] })).signal).toEqual({ kind: 'ignored', reason: 'partialDepth' });
  });

  it('malformed JSON or non-objects → PROTOCOL_MALFORMED without throwing', () => {
    for (const text of ['{"stream":"x","data":', '', 'null', '12', '{"stream":"bnbbtc@depth","data":null}']) {
      let d: Decoded | undefined;
      expect(() => (d = binanceConnector.decode({ data: text, recvTs: RECV }, session()))).not.toThrow();
      expect(d?.events).toEqual([]);
      expect(errorCode(d!)).toBe('PROTOCOL_MALFORMED');
    }
  });

  it('unknown events and shapes → PROTOCOL_UNKNOWN', () => {
    for (const f of [{ e: 'somethingNew', E: 1 }, wrap('x@y', { e: 'mystery' }), { hello: 'world' }, wrap('!ticker@arr', [])]) {
      const d = decode(f);
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe('PROTOCOL_UNKNOWN');
    }
  });
});
