/**
 * Crypto.com decoder: the official v1 doc examples and the third-party v1 captures in `../shared/fixtures/cryptocom`,
 * hand-written v2 frames in the recorded shape (JSON numbers), heartbeats, venue errors and malformed input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CRYPTO_COM_MAX_RESENDS,
  cryptoComInt,
  decimalText,
  decodeCryptoCom,
  newCryptoComSession,
  rawIntegers,
  type CryptoComSession,
} from '../../src/venues/crypto-com/decode.ts';
import type { Decoded } from '../../src/venues/connector.ts';
import { RECORDINGS_DIR } from '../helpers/recordings.ts';

const RECV = 1_700_000_000_500;
const FIXTURES = resolve(RECORDINGS_DIR, '../fixtures/cryptocom');
const haveFixtures = existsSync(FIXTURES);
const fixture = (name: string): string => readFileSync(resolve(FIXTURES, name), 'utf8');

function dec(data: unknown, session: CryptoComSession = newCryptoComSession()): Decoded {
  return decodeCryptoCom({ data: typeof data === 'string' ? data : JSON.stringify(data), recvTs: RECV }, session);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

/** A v2 push as recorded: `{"code":0,"method":"subscribe","result":{...}}`, decimals as JSON numbers. */
function v2(channel: string, name: string, subscription: string, dataText: string): string {
  return `{"code":0,"method":"subscribe","result":{"instrument_name":"${name}","subscription":"${subscription}","channel":"${channel}",${channel === 'book' ? '"depth":150,' : ''}"data":${dataText}}}`;
}

describe('crypto-com v1 books (official doc examples)', () => {
  it.skipIf(!haveFixtures)('book snapshot → book_snapshot with seq = u, string levels passed through, ts = t', () => {
    const d = dec(fixture('doc_ws_v1_book_snapshot.json'));
    expect(d.signal).toBeUndefined();
    expect(d.events).toHaveLength(1);
    const ev = d.events[0];
    if (ev.type !== 'book_snapshot') throw new Error('expected a snapshot');
    expect(ev).toMatchObject({ venue: 'crypto-com', key: 'linear:BTCUSD-PERP', seq: 542048017824, ts: 1654780033786, recvTs: RECV });
    expect(ev.bids).toHaveLength(10);
    expect(ev.asks[0]).toEqual(['30082.5', '0.1689', '1']);
    expect(ev.bids[0]).toEqual(['30079.0', '0.0505', '1']);
  });

  it.skipIf(!haveFixtures)('book.update → book_delta linked by pu → u (deletes as qty "0")', () => {
    const ev = dec(fixture('doc_ws_v1_book_update.json')).events[0];
    expect(ev).toEqual({
      type: 'book_delta',
      venue: 'crypto-com',
      key: 'linear:BTCUSD-PERP',
      bids: [['50097.000000', '0.252000', '1']],
      asks: [['50126.000000', '0', '0'], ['50180.000000', '3.279000', '10']],
      firstSeq: 7845460002,
      lastSeq: 7845460002,
      prevSeq: 7845460001,
      ts: 1647917463003,
      recvTs: RECV,
    });
  });

  it.skipIf(!haveFixtures)('the unofficial cs field is not read as a checksum', () => {
    const ev = dec(fixture('tardis_ws_v1_book_update_DOGE_USDT_cs.json')).events[0];
    if (ev.type !== 'book_delta') throw new Error('expected a delta');
    expect(ev.checksum).toBeUndefined();
    expect([ev.key, ev.prevSeq, ev.lastSeq]).toEqual(['spot:DOGE_USDT', 41261671840, 41261686400]);
  });

  it('an empty delta (5 s heartbeat) still carries u/pu; string u and missing sides are accepted', () => {
    const ev = dec({ id: -1, method: 'subscribe', code: 0, result: { instrument_name: 'BTC_USDT', subscription: 'book.BTC_USDT.50', channel: 'book.update', depth: 50, data: [{ update: {}, t: '1700000000000', u: '101', pu: '100' }] } }).events[0];
    expect(ev).toMatchObject({ type: 'book_delta', bids: [], asks: [], prevSeq: 100, lastSeq: 101, ts: 1700000000000 });
  });
});

describe('crypto-com v2 books (recorded shape: numbers)', () => {
  it('numbers become decimal strings (String(n): trailing zeros are lost, no exponent), seq undefined', () => {
    const text = v2('book', 'HNT_USDT', 'book.HNT_USDT.150', '[{"bids":[[45.330,0.386,1],[0.0000001,12,2]],"asks":[[45.516,1.259,1]],"t":1637709519457}]');
    const ev = dec(text).events[0];
    if (ev.type !== 'book_snapshot') throw new Error('expected a snapshot');
    expect(ev.bids).toEqual([['45.33', '0.386', 1], ['0.0000001', '12', 2]]);
    expect(ev.asks).toEqual([['45.516', '1.259', 1]]);
    expect(ev.seq).toBeUndefined();
    expect(ev.ts).toBe(1637709519457);
    expect(ev.key).toBe('spot:HNT_USDT');
  });

  it('decimalText never uses exponents', () => {
    expect([decimalText(45.33), decimalText(1e-7), decimalText(1.5e-8), decimalText(2e21), decimalText(0), decimalText(715.0)]).toEqual([
      '45.33', '0.0000001', '0.000000015', '2000000000000000000000', '0', '715',
    ]);
  });

  it('malformed books are PROTOCOL_MALFORMED', () => {
    const bad = [
      v2('book', 'A_B', 'book.A_B.150', '[]'),
      v2('book', 'A_B', 'book.A_B.150', '[{"bids":[[1,"2",1]],"asks":[],"t":1}]'),
      v2('book', 'A_B', 'book.A_B.150', '[{"bids":{},"asks":[],"t":1}]'),
      v2('book', 'A_B', 'book.A_B.150', '[{"bids":[],"asks":[],"t":1,"u":"x"}]'),
      v2('book.update', 'A_B', 'book.A_B.50', '[{"update":{"bids":[],"asks":[]},"t":1,"u":5}]'),
      v2('book.update', 'A_B', 'book.A_B.50', '[{"update":{"bids":[["1"]],"asks":[]},"t":1,"u":5,"pu":4}]'),
    ];
    for (const f of bad) expect(errorCode(dec(f)), f).toBe('PROTOCOL_MALFORMED');
  });
});

describe('crypto-com trades and tickers', () => {
  it('the first trade push per instrument (recent-trades snapshot) is skipped; later pushes are emitted oldest first', () => {
    const s = newCryptoComSession();
    const first = v2('trade', 'MATIC_USDT', 'trade.MATIC_USDT', '[{"dataTime":1637709515137,"d":2008994948736251682,"s":"SELL","p":1.75445,"q":39.82,"t":1637709515137,"i":"MATIC_USDT"}]');
    expect(dec(first, s)).toEqual({ events: [], signal: { kind: 'ignored', reason: 'trade_snapshot' } });
    const next = v2(
      'trade',
      'MATIC_USDT',
      'trade.MATIC_USDT',
      '[{"dataTime":1637709530001,"d":2008995450000000003,"s":"BUY","p":1.75500,"q":10,"t":1637709530000,"i":"MATIC_USDT"},{"dataTime":1637709529001,"d":2008995440000000001,"s":"SELL","p":1.7549,"q":0.07,"t":1637709529000,"i":"MATIC_USDT"}]',
    );
    expect(dec(next, s).events).toEqual([
      { type: 'trade', venue: 'crypto-com', key: 'spot:MATIC_USDT', price: '1.7549', size: '0.07', side: 'sell', tradeId: '2008995440000000001', ts: 1637709529000, recvTs: RECV },
      { type: 'trade', venue: 'crypto-com', key: 'spot:MATIC_USDT', price: '1.755', size: '10', side: 'buy', tradeId: '2008995450000000003', ts: 1637709530000, recvTs: RECV },
    ]);
    // A fresh session (reconnect) skips the snapshot again; another instrument has its own first push.
    expect(dec(next, newCryptoComSession()).signal).toEqual({ kind: 'ignored', reason: 'trade_snapshot' });
    expect(dec(v2('trade', 'HNT_USDT', 'trade.HNT_USDT', '[]'), s).signal).toEqual({ kind: 'ignored', reason: 'trade_snapshot' });
  });

  it.skipIf(!haveFixtures)('v1 trades (doc and captures): string ids kept, taker side', () => {
    const s = newCryptoComSession();
    dec(fixture('doc_ws_v1_trade.json'), s); // first push: snapshot
    expect(dec(fixture('doc_ws_v1_trade.json'), s).events).toEqual([
      { type: 'trade', venue: 'crypto-com', key: 'linear:BTCUSD-PERP', price: '51327.500000', size: '0.000100', side: 'sell', tradeId: '2030407068', ts: 1613581138462, recvTs: RECV },
    ]);
    const s2 = newCryptoComSession();
    dec(fixture('tardis_ws_v1_trade_BTCUSD-PERP.json'), s2);
    const evs = dec(fixture('tardis_ws_v1_trade_BTCUSD-PERP.json'), s2).events;
    expect(evs.map((e) => (e.type === 'trade' ? [e.tradeId, e.size] : []))).toEqual([
      ['4611686018471467093', '0.0244'], ['4611686018471467093', '0.0050'], ['4611686018471467093', '0.1000'], ['4611686018471467093', '0.0050'],
    ]);
  });

  it('malformed trades', () => {
    const s = newCryptoComSession();
    dec(v2('trade', 'A_B', 'trade.A_B', '[]'), s);
    for (const item of ['{"d":"1","s":"buy","p":"1","q":"1","t":1}', '{"d":"1","s":"BUY","p":"1","q":"1"}', '{"s":"BUY","p":"1","q":"1","t":1}', '{"d":"1","s":"BUY","p":true,"q":"1","t":1}']) {
      expect(errorCode(dec(v2('trade', 'A_B', 'trade.A_B', `[${item}]`), s)), item).toBe('PROTOCOL_MALFORMED');
    }
  });

  it.skipIf(!haveFixtures)('v1 ticker: bid/ask with sizes, last, 24 h volume', () => {
    expect(dec(fixture('doc_ws_v1_ticker.json')).events).toEqual([
      { type: 'ticker', venue: 'crypto-com', key: 'linear:BTCUSD-PERP', bidPrice: '51170.000000', bidSize: '0.1000', askPrice: '51180.000000', askSize: '0.2000', last: '51174.500000', volume24h: '879.5024', ts: 1613580710768, recvTs: RECV },
    ]);
    expect(dec(fixture('tardis_ws_v1_ticker_APEUSD-PERP.json')).events[0]).toMatchObject({ key: 'linear:APEUSD-PERP', bidPrice: '4.6121', bidSize: '25', askPrice: '4.6148', askSize: '131' });
  });

  it('v2 ticker (recorded shape): numbers, no sizes; null sides are undefined', () => {
    const ev = dec(v2('ticker', 'BAND_USDT', 'ticker.BAND_USDT', '[{"i":"BAND_USDT","b":7.5248,"k":7.5328,"a":7.5328,"t":1637709517473,"v":35912.66,"h":7.6615,"l":7.0731,"c":0.3182}]')).events[0];
    expect(ev).toEqual({ type: 'ticker', venue: 'crypto-com', key: 'spot:BAND_USDT', bidPrice: '7.5248', bidSize: undefined, askPrice: '7.5328', askSize: undefined, last: '7.5328', volume24h: '35912.66', ts: 1637709517473, recvTs: RECV });
    expect(dec(v2('ticker', 'X_Y', 'ticker.X_Y', '[{"i":"X_Y","b":null,"k":1,"a":1,"t":5}]')).events[0]).toMatchObject({ bidPrice: undefined, askPrice: '1' });
    expect(errorCode(dec(v2('ticker', 'X_Y', 'ticker.X_Y', '[{"i":"X_Y","b":{},"t":5}]')))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('crypto-com control frames', () => {
  it.skipIf(!haveFixtures)('public/heartbeat → respond-heartbeat with the same id (doc example)', () => {
    const d = dec(fixture('doc_ws_v1_heartbeat.json'));
    expect(d.replies).toEqual(['{"id":1587523073344,"method":"public/respond-heartbeat"}']);
    expect(d.signal).toEqual({ kind: 'heartbeat' });
  });

  it('heartbeat ids are echoed exactly, even beyond 2^53', () => {
    expect(dec('{"id":1637709519420,"method":"public/heartbeat"}').replies).toEqual(['{"id":1637709519420,"method":"public/respond-heartbeat"}']);
    expect(dec('{"id":9223372036854775807,"method":"public/heartbeat"}').replies).toEqual(['{"id":9223372036854775807,"method":"public/respond-heartbeat"}']);
    expect(dec('{"id":"abc","method":"public/heartbeat"}').replies).toEqual(['{"id":"abc","method":"public/respond-heartbeat"}']);
    expect(errorCode(dec('{"method":"public/heartbeat"}'))).toBe('PROTOCOL_MALFORMED');
  });

  it('subscribe / unsubscribe acks', () => {
    expect(dec('{"id":0,"code":0,"method":"subscribe"}').signal).toEqual({ kind: 'subscribed', detail: '0' });
    expect(dec('{"id":3,"code":"0","method":"unsubscribe"}').signal).toEqual({ kind: 'unsubscribed', detail: '3' });
  });

  it('venue errors are typed; a rate-limited answer to our own subscribe re-sends it (bounded)', () => {
    const request = '{"id":1,"method":"subscribe","params":{"channels":["book.BTC_USDT.50"]},"nonce":1}';
    const s = newCryptoComSession([request]);
    for (let i = 0; i < CRYPTO_COM_MAX_RESENDS; i++) {
      const d = dec({ id: 1, method: 'subscribe', code: 42901, message: 'TOO_MANY_REQUESTS' }, s);
      expect(errorCode(d)).toBe('VENUE_RATE_LIMITED');
      expect(d.replies).toEqual([request]);
    }
    const last = dec({ id: 1, method: 'subscribe', code: 42901, message: 'TOO_MANY_REQUESTS' }, s);
    expect(errorCode(last)).toBe('VENUE_RATE_LIMITED');
    expect(last.replies).toBeUndefined();
    expect(dec({ id: 99, method: 'subscribe', code: 10006, message: 'TOO_MANY_REQUESTS' }, newCryptoComSession([request])).replies).toBeUndefined();
    expect(errorCode(dec({ id: 1, method: 'subscribe', code: 40101, message: 'UNAUTHORIZED' }))).toBe('VENUE_AUTH');
    expect(errorCode(dec({ id: 1, method: 'subscribe', code: '40107', message: 'EXCEED_MAX_SUBSCRIPTIONS' }))).toBe('VENUE_REJECTED');
    expect(errorCode(dec({ id: -1, method: 'ERROR', code: 40003, message: 'INVALID_REQUEST', original: '{}' }))).toBe('VENUE_REJECTED');
  });

  it('ignored, unknown and malformed frames never throw', () => {
    expect(dec(v2('candlestick', 'GRT_CRO', 'candlestick.1m.GRT_CRO', '[]')).signal).toEqual({ kind: 'ignored', reason: 'candlestick' });
    expect(errorCode(dec(v2('constructor', 'A_B', 'x', '[]')))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(dec('{"method":"public/auth","code":0}'))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(dec('{"code":0}'))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(dec('{"method":"subscribe","code":0,"result":5}'))).toBe('PROTOCOL_MALFORMED');
    for (const raw of ['', '{', 'null', '[]', '7', '{"method":"subscribe","code":0,"result":{"channel":"book"}}', '{"method":"subscribe","code":0,"result":{"channel":"ticker","instrument_name":"A","data":[null]}}']) {
      expect(() => dec(raw)).not.toThrow();
      expect(errorCode(dec(raw)), raw).toMatch(/^PROTOCOL_/);
    }
  });

  it('helpers: integers and raw integer tokens', () => {
    expect([cryptoComInt(5), cryptoComInt('542048017824'), cryptoComInt('5x'), cryptoComInt(1.5), cryptoComInt(2 ** 60)]).toEqual([5, 542048017824, undefined, undefined, undefined]);
    expect(rawIntegers('{"data":[{"d":2008994948736251682,"x":{"d": 7}},{"d":"s"}]}', 'd')).toEqual(['2008994948736251682', '7']);
  });
});

describe('crypto-com decoder robustness', () => {
  /** Every field of each frame replaced by values of the wrong type: a result (events or a signal), never a throw. */
  it('never throws on mutated frames of both generations', () => {
    const push = (channel: string, data: unknown) => ({ id: -1, method: 'subscribe', code: 0, result: { instrument_name: 'A_B', subscription: `${channel}.A_B`, channel, data: [data] } });
    const frames: unknown[] = [
      push('book', { bids: [['1', '2', '1']], asks: [[3, 4, 1]], t: 5, u: 7 }),
      push('book.update', { update: { bids: [['1', '0', '0']], asks: [] }, t: 5, u: 8, pu: 7 }),
      push('trade', { d: 12, t: 5, p: 1.5, q: '2', s: 'BUY', i: 'A_B' }),
      push('ticker', { i: 'A_B', b: '1', bs: 2, k: '3', ks: '4', a: '2', v: '9', t: 5 }),
      { id: 1587523073344, method: 'public/heartbeat', code: 0 },
      { id: 1, method: 'subscribe', code: 42901, message: 'TOO_MANY_REQUESTS' },
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
          const s = newCryptoComSession(['{"id":1,"method":"subscribe"}']);
          s.tradeSnapshotSkipped.add('A_B');
          const d = dec(copy, s);
          expect(d.events.length > 0 || d.signal !== undefined, JSON.stringify(copy)).toBe(true);
          cases++;
        }
        visit(root, (node as Record<string, unknown>)[k], p);
      }
    };
    for (const f of frames) visit(f, f, []);
    expect(cases).toBeGreaterThan(400);
  });
});
