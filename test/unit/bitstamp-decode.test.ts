/**
 * Bitstamp WebSocket v2 decoder on hand-written frames in the documented shapes (https://www.bitstamp.net/websocket/v2/):
 * diff book, live trades (type 0 buy / 1 sell = taker side), control events, error frames and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { bitstampConnector } from '../../src/venues/bitstamp/connector.ts';
import { parseMicros, type BitstampSession } from '../../src/venues/bitstamp/decode.ts';
import type { ConnectionPlan, Decoded } from '../../src/venues/connector.ts';
import type { BookDeltaEvent, TradeEvent } from '../../src/core/events.ts';

const RECV = 1_641_343_697_403.5;

function session(): BitstampSession {
  const plan: ConnectionPlan = { id: 'spot-0', url: 'wss://ws.bitstamp.net/', subscriptions: [], subscribeFrames: [], heartbeat: { kind: 'none' }, staleAfterMs: 45_000 };
  return bitstampConnector.newSession(plan);
}

function decode(data: unknown, s: BitstampSession = session()): Decoded {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return bitstampConnector.decode({ data: text, recvTs: RECV }, s);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

describe('bitstamp decode: diff_order_book', () => {
  const diff = {
    data: {
      timestamp: '1641343691',
      microtimestamp: '1641343691244908',
      bids: [
        ['1.15979', '993.02588113'],
        ['1.14866', '0.00000000'],
      ] as [string, string][],
      asks: [['1.16601', '1200.00000000']] as [string, string][],
    },
    channel: 'diff_order_book_bateur',
    event: 'data',
  };

  it('→ book_delta with the venue level arrays, firstSeq = lastSeq = microtimestamp (µs), ts in ms', () => {
    const d = decode(diff);
    expect(d.signal).toBeUndefined();
    expect(d.events).toEqual([
      {
        type: 'book_delta',
        venue: 'bitstamp',
        key: 'spot:bateur',
        bids: diff.data.bids,
        asks: diff.data.asks,
        firstSeq: 1641343691244908,
        lastSeq: 1641343691244908,
        ts: 1641343691244,
        recvTs: RECV,
      } satisfies BookDeltaEvent,
    ]);
    // µs timestamps are exact as doubles.
    expect(Number.isSafeInteger((d.events[0] as BookDeltaEvent).lastSeq)).toBe(true);
  });

  it('malformed diffs → PROTOCOL_MALFORMED', () => {
    for (const bad of [
      { ...diff, data: { ...diff.data, microtimestamp: 1641343691244908 } },
      { ...diff, data: { ...diff.data, microtimestamp: '16413e3691' } },
      { ...diff, data: { ...diff.data, bids: [[1.5, '1']] } },
      { ...diff, data: { ...diff.data, asks: undefined } },
      { ...diff, data: null },
      { ...diff, channel: 42 },
    ]) {
      expect(errorCode(decode(bad)), JSON.stringify(bad)).toBe('PROTOCOL_MALFORMED');
    }
  });

  it('order_book and detail_order_book data are known but unused; other data channels are unknown', () => {
    expect(decode({ event: 'data', channel: 'order_book_btcusd', data: { bids: [], asks: [] } }).signal).toEqual({ kind: 'ignored', reason: 'order_book' });
    expect(decode({ event: 'data', channel: 'detail_order_book_btcusd', data: {} }).signal).toEqual({ kind: 'ignored', reason: 'detail_order_book' });
    expect(errorCode(decode({ event: 'data', channel: 'funding_rate_btcusd', data: {} }))).toBe('PROTOCOL_UNKNOWN');
  });
});

describe('bitstamp decode: live_trades', () => {
  const trade = {
    data: {
      id: 216000477,
      timestamp: '1641343699',
      amount: 0.0792,
      amount_str: '0.07920000',
      price: 3805.44,
      price_str: '3805.44',
      type: 0,
      microtimestamp: '1641343699596000',
      buy_order_id: 1443875737346049,
      sell_order_id: 1443875731320832,
    },
    channel: 'live_trades_ethusd',
    event: 'trade',
  };

  it('type 0 → taker buy, 1 → taker sell; exact price/amount strings, id as string, ts from microtimestamp', () => {
    expect(decode(trade).events).toEqual([
      { type: 'trade', venue: 'bitstamp', key: 'spot:ethusd', price: '3805.44', size: '0.07920000', side: 'buy', tradeId: '216000477', ts: 1641343699596, recvTs: RECV } satisfies TradeEvent,
    ]);
    expect((decode({ ...trade, data: { ...trade.data, type: 1 } }).events[0] as TradeEvent).side).toBe('sell');
  });

  it('falls back to the seconds timestamp; malformed trades → PROTOCOL_MALFORMED', () => {
    const { microtimestamp: _omit, ...noMicro } = trade.data;
    expect(decode({ ...trade, data: noMicro }).events[0].ts).toBe(1641343699000);
    for (const bad of [{ ...trade.data, type: 2 }, { ...trade.data, price_str: undefined }, { ...trade.data, id: null }, { ...noMicro, timestamp: 'x' }]) {
      expect(errorCode(decode({ ...trade, data: bad }))).toBe('PROTOCOL_MALFORMED');
    }
    expect(errorCode(decode({ ...trade, channel: 'private-my_trades_ethusd-1' }))).toBe('PROTOCOL_UNKNOWN');
  });
});

describe('bitstamp decode: control events', () => {
  it('subscription_succeeded → subscribed; for a diff channel also an empty book_delta marker (seq 0) so the REST snapshot is fetched at once', () => {
    const d = decode({ event: 'bts:subscription_succeeded', channel: 'diff_order_book_sgbeur', data: {} });
    expect(d.signal).toEqual({ kind: 'subscribed', detail: 'diff_order_book_sgbeur' });
    expect(d.events).toEqual([
      { type: 'book_delta', venue: 'bitstamp', key: 'spot:sgbeur', bids: [], asks: [], firstSeq: 0, lastSeq: 0, ts: RECV, recvTs: RECV },
    ]);
    const t = decode({ event: 'bts:subscription_succeeded', channel: 'live_trades_sgbeur', data: {} });
    expect(t).toEqual({ events: [], signal: { kind: 'subscribed', detail: 'live_trades_sgbeur' } });
    expect(errorCode(decode({ event: 'bts:subscription_succeeded', data: {} }))).toBe('PROTOCOL_MALFORMED');
  });

  it('unsubscription_succeeded, heartbeat answers, request_reconnect, live_orders', () => {
    expect(decode({ event: 'bts:unsubscription_succeeded', channel: 'live_trades_btcusd', data: {} }).signal).toEqual({ kind: 'unsubscribed', detail: 'live_trades_btcusd' });
    expect(decode({ event: 'bts:heartbeat', channel: '', data: { status: 'success' } }).signal).toEqual({ kind: 'heartbeat' });
    expect(decode({ event: 'bts:request_reconnect', channel: '', data: '' })).toEqual({ events: [], signal: { kind: 'reconnect', reason: 'bts:request_reconnect' } });
    expect(decode({ event: 'order_created', channel: 'live_orders_btcusd', data: {} }).signal).toEqual({ kind: 'ignored', reason: 'live_orders' });
  });

  it('bts:error → typed errors', () => {
    const cases: [unknown, string, string][] = [
      [null, 'Incorrect JSON format.', 'VENUE_REJECTED'],
      [null, 'Bad subscription string.', 'VENUE_REJECTED'],
      [4009, 'Authentication failed.', 'VENUE_AUTH'],
      [null, 'Rate limit exceeded.', 'VENUE_RATE_LIMITED'],
    ];
    for (const [code, message, expected] of cases) {
      const d = decode({ event: 'bts:error', channel: '', data: { code, message } });
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe(expected);
      expect(d.signal?.kind === 'error' && d.signal.error.message).toContain(message);
    }
    expect(errorCode(decode({ event: 'bts:error', channel: '', data: null }))).toBe('VENUE_REJECTED');
  });

  it('unknown events → PROTOCOL_UNKNOWN; not JSON, no event, not an object → PROTOCOL_MALFORMED', () => {
    expect(errorCode(decode({ event: 'bts:welcome', channel: '', data: {} }))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(decode('{"event":'))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode({ channel: 'x' }))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode('[]'))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('bitstamp decode: keys', () => {
  it('uses the plan channel → key map, else spot:{pair}', () => {
    const inst = { venue: 'bitstamp', key: 'spot:btcusd', venueSymbol: 'btcusd', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', type: 'spot' as const };
    const [plan] = bitstampConnector.plan([{ instrument: inst, channel: 'book' }, { instrument: inst, channel: 'trades' }], bitstampConnector.defaultEndpoints);
    const s = bitstampConnector.newSession(plan);
    expect(s.keys.get('diff_order_book_btcusd')).toBe('spot:btcusd');
    expect(s.keys.get('live_trades_btcusd')).toBe('spot:btcusd');
    expect(decode({ event: 'data', channel: 'diff_order_book_ltcusd', data: { microtimestamp: '1', bids: [], asks: [] } }, s).events[0].key).toBe('spot:ltcusd');
  });

  it('parseMicros accepts only digit strings of up to 16 digits', () => {
    expect(parseMicros('1641343691244908')).toBe(1641343691244908);
    expect([parseMicros(''), parseMicros('12a'), parseMicros('-1'), parseMicros(5), parseMicros('12345678901234567')].every(Number.isNaN)).toBe(true);
  });
});
