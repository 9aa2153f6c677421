/**
 * Coinbase Advanced Trade decoder on hand-written frames in the documented shapes
 * (https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels,
 * https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2): books, trades (maker side
 * → taker side), tickers, control frames, the connection `sequence_num` check, error frames and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { coinbaseConnector, type CoinbaseInstrument } from '../../src/venues/coinbase/connector.ts';
import { newCoinbaseSession, parseRfc3339Ms, type CoinbaseSession } from '../../src/venues/coinbase/decode.ts';
import type { ConnectionPlan, Decoded } from '../../src/venues/connector.ts';
import type { BookDeltaEvent, BookSnapshotEvent, TickerEvent, TradeEvent } from '../../src/core/events.ts';

const RECV = 1_786_309_548_999;

function session(): CoinbaseSession {
  const plan: ConnectionPlan = { id: 'spot-0', url: 'wss://advanced-trade-ws.coinbase.com', subscriptions: [], subscribeFrames: [], heartbeat: { kind: 'none' }, staleAfterMs: 30_000 };
  return coinbaseConnector.newSession(plan);
}

function decode(data: unknown, s: CoinbaseSession): Decoded {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return coinbaseConnector.decode({ data: text, recvTs: RECV }, s);
}

function errorCode(d: Decoded): string | undefined {
  return d.signal?.kind === 'error' ? d.signal.error.code : undefined;
}

/** A message envelope with the given channel, sequence number and events. */
function msg(channel: string, seq: number, events: unknown[], timestamp = '2026-04-07T14:30:00.123456789Z'): Record<string, unknown> {
  return { channel, client_id: '', timestamp, sequence_num: seq, events };
}

const SNAPSHOT = msg('l2_data', 0, [
  {
    type: 'snapshot',
    product_id: 'BTC-USD',
    updates: [
      { side: 'bid', event_time: '2026-04-07T14:30:00.123456Z', price_level: '68900.00', new_quantity: '1.50000000' },
      { side: 'bid', event_time: '2026-04-07T14:30:00.123456Z', price_level: '68899.50', new_quantity: '0.75000000' },
      { side: 'offer', event_time: '2026-04-07T14:30:00.123456Z', price_level: '68901.00', new_quantity: '0.50000000' },
    ],
  },
]);
const UPDATE = msg('l2_data', 1, [
  {
    type: 'update',
    product_id: 'BTC-USD',
    updates: [
      { side: 'bid', event_time: '2026-04-07T14:30:01.456789Z', price_level: '68900.00', new_quantity: '2.00000000' },
      { side: 'offer', event_time: '2026-04-07T14:30:01.456789Z', price_level: '68901.00', new_quantity: '0.00000000' },
    ],
  },
]);

describe('coinbase decode: level2 (l2_data)', () => {
  it('snapshot → book_snapshot with bids/asks split by side, ts from event_time, no per-book sequence', () => {
    const d = decode(SNAPSHOT, session());
    expect(d.signal).toBeUndefined();
    expect(d.events).toEqual([
      {
        type: 'book_snapshot',
        venue: 'coinbase',
        key: 'spot:BTC-USD',
        bids: [
          ['68900.00', '1.50000000'],
          ['68899.50', '0.75000000'],
        ],
        asks: [['68901.00', '0.50000000']],
        seq: undefined,
        ts: Date.parse('2026-04-07T14:30:00.123Z'),
        recvTs: RECV,
      } satisfies BookSnapshotEvent,
    ]);
  });

  it('update → book_delta with absolute sizes ("0" deletes), firstSeq = lastSeq = sequence_num', () => {
    const s = session();
    decode(SNAPSHOT, s);
    const d = decode(UPDATE, s);
    expect(d.events).toEqual([
      {
        type: 'book_delta',
        venue: 'coinbase',
        key: 'spot:BTC-USD',
        bids: [['68900.00', '2.00000000']],
        asks: [['68901.00', '0.00000000']],
        firstSeq: 1,
        lastSeq: 1,
        ts: Date.parse('2026-04-07T14:30:01.456Z'),
        recvTs: RECV,
      } satisfies BookDeltaEvent,
    ]);
  });

  it('an update with no levels takes the envelope timestamp; several events in one message each yield an event', () => {
    const d = decode(
      msg('l2_data', 5, [
        { type: 'update', product_id: 'BTC-USD', updates: [] },
        { type: 'update', product_id: 'ETH-USD', updates: [{ side: 'bid', event_time: '2026-04-07T14:30:02Z', price_level: '1.5', new_quantity: '3' }] },
      ]),
      session(),
    );
    expect(d.events.map((e) => [e.key, e.ts])).toEqual([
      ['spot:BTC-USD', Date.parse('2026-04-07T14:30:00.123Z')],
      ['spot:ETH-USD', Date.parse('2026-04-07T14:30:02Z')],
    ]);
  });

  it('malformed level2 input → PROTOCOL_MALFORMED, never a throw', () => {
    const bad = [
      msg('l2_data', 0, [{ type: 'update', product_id: 'BTC-USD', updates: [{ side: 'middle', price_level: '1', new_quantity: '1' }] }]),
      msg('l2_data', 0, [{ type: 'update', product_id: 'BTC-USD', updates: [{ side: 'bid', price_level: 1, new_quantity: '1' }] }]),
      msg('l2_data', 0, [{ type: 'update', product_id: 'BTC-USD' }]),
      msg('l2_data', 0, [{ type: 'delta', product_id: 'BTC-USD', updates: [] }]),
      msg('l2_data', 0, [null]),
      msg('l2_data', 0, [], 'yesterday'),
      { channel: 'l2_data', timestamp: '2026-04-07T14:30:00Z', events: [] },
      { channel: 'l2_data', timestamp: '2026-04-07T14:30:00Z', sequence_num: 0, events: {} },
    ];
    for (const b of bad) expect(errorCode(decode(b, session())), JSON.stringify(b)).toBe('PROTOCOL_MALFORMED');
  });
});

describe('coinbase decode: connection sequence_num', () => {
  it('any first value is accepted; contiguous numbers pass; a jump → resync_connection and the book events are dropped', () => {
    const s = session();
    expect(decode({ ...SNAPSHOT, sequence_num: 41 }, s).events).toHaveLength(1);
    expect(decode({ ...UPDATE, sequence_num: 42 }, s).events).toHaveLength(1);
    const d = decode({ ...UPDATE, sequence_num: 44 }, s);
    expect(d.events).toEqual([]);
    expect(d.signal).toEqual({ kind: 'resync_connection', reason: 'sequence_num jumped from 42 to 44' });
    expect(s.gaps).toBe(1);
    // Counting continues from the new number.
    expect(decode({ ...UPDATE, sequence_num: 45 }, s).signal).toBeUndefined();
  });

  it('a gap seen on any channel signals it; trade and ticker events of that frame are kept', () => {
    const s = session();
    decode(msg('heartbeats', 0, [{ current_time: 'x', heartbeat_counter: 1 }]), s);
    expect(decode(msg('heartbeats', 2, [{ current_time: 'x', heartbeat_counter: 3 }]), s).signal?.kind).toBe('resync_connection');
    const t = decode(msg('ticker', 4, [{ type: 'update', tickers: [{ type: 'ticker', product_id: 'BTC-USD', price: '1' }] }]), s);
    expect(t.events).toHaveLength(1);
    expect(t.signal?.kind).toBe('resync_connection');
    const sub = decode(msg('subscriptions', 6, [{ subscriptions: { level2: ['BTC-USD'] } }]), s);
    expect(sub.signal?.kind).toBe('resync_connection');
    expect(decode(msg('candles', 8, [{ type: 'update', candles: [] }]), s).signal?.kind).toBe('resync_connection');
    expect(s.gaps).toBe(4);
  });

  it('a duplicate or older number is a jump too (the counter is per connection)', () => {
    const s = session();
    decode(msg('heartbeats', 7, []), s);
    expect(decode(msg('heartbeats', 7, []), s).signal?.kind).toBe('resync_connection');
  });

  it('a fresh session (new connection) starts over', () => {
    const s = session();
    decode(msg('heartbeats', 100, []), s);
    expect(decode(msg('heartbeats', 0, []), session()).signal).toEqual({ kind: 'heartbeat' });
  });
});

describe('coinbase decode: market_trades', () => {
  const update = msg('market_trades', 9, [
    {
      type: 'update',
      trades: [
        { product_id: 'BTC-USD', trade_id: '1068572096', price: '65083.67', size: '0.5', time: '2026-08-09T21:05:51.426861Z', side: 'SELL' },
        { product_id: 'BTC-USD', trade_id: '1068572095', price: '65083.66', size: '0.25', time: '2026-08-09T21:05:51.376358Z', side: 'BUY' },
      ],
    },
  ]);

  it('update → trades in chronological order; side is the maker side, so SELL → taker buy and BUY → taker sell', () => {
    const d = decode(update, session());
    expect(d.signal).toBeUndefined();
    expect(d.events).toEqual([
      { type: 'trade', venue: 'coinbase', key: 'spot:BTC-USD', price: '65083.66', size: '0.25', side: 'sell', tradeId: '1068572095', ts: Date.parse('2026-08-09T21:05:51.376Z'), recvTs: RECV },
      { type: 'trade', venue: 'coinbase', key: 'spot:BTC-USD', price: '65083.67', size: '0.5', side: 'buy', tradeId: '1068572096', ts: Date.parse('2026-08-09T21:05:51.426Z'), recvTs: RECV },
    ] satisfies TradeEvent[]);
  });

  it('the snapshot of recent trades (re-sent on every subscribe) is ignored', () => {
    const d = decode(msg('market_trades', 0, [{ type: 'snapshot', trades: [{ product_id: 'BTC-USD', trade_id: '1', price: '1', size: '1', time: '2026-08-09T21:05:42Z', side: 'BUY' }] }]), session());
    expect(d).toEqual({ events: [], signal: { kind: 'ignored', reason: 'market_trades_snapshot' } });
  });

  it('malformed trades → PROTOCOL_MALFORMED', () => {
    const t = { product_id: 'BTC-USD', trade_id: '1', price: '1', size: '1', time: '2026-08-09T21:05:42Z', side: 'BUY' };
    for (const bad of [{ ...t, side: 'buy' }, { ...t, trade_id: 1 }, { ...t, time: 'soon' }, { ...t, price: 1 }]) {
      expect(errorCode(decode(msg('market_trades', 0, [{ type: 'update', trades: [bad] }]), session()))).toBe('PROTOCOL_MALFORMED');
    }
    expect(errorCode(decode(msg('market_trades', 0, [{ type: 'update' }]), session()))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode(msg('market_trades', 0, [{ type: 'other', trades: [] }]), session()))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('coinbase decode: ticker', () => {
  it('best bid/ask with quantities, last price and 24h volume; ts = envelope timestamp', () => {
    const d = decode(
      msg(
        'ticker',
        6,
        [
          {
            type: 'snapshot',
            tickers: [
              {
                type: 'ticker',
                product_id: 'BTC-USD',
                price: '65086.18',
                volume_24_h: '2867.54532609',
                low_24_h: '64675.22',
                high_24_h: '65252.99',
                low_52_w: '57717.55',
                high_52_w: '126296',
                price_percent_chg_24_h: '0.09601107287722',
                best_bid: '65083.66',
                best_ask: '65083.67',
                best_bid_quantity: '0.20371215',
                best_ask_quantity: '0.24290402',
              },
            ],
          },
        ],
        '2026-08-09T21:05:48.229198328Z',
      ),
      session(),
    );
    expect(d.events).toEqual([
      {
        type: 'ticker',
        venue: 'coinbase',
        key: 'spot:BTC-USD',
        bidPrice: '65083.66',
        bidSize: '0.20371215',
        askPrice: '65083.67',
        askSize: '0.24290402',
        last: '65086.18',
        volume24h: '2867.54532609',
        ts: 1786309548229,
        recvTs: RECV,
      } satisfies TickerEvent,
    ]);
  });

  it('empty fields are undefined; a non-string field is malformed', () => {
    const e = decode(msg('ticker', 0, [{ type: 'update', tickers: [{ type: 'ticker', product_id: 'ETH-USD', price: '1919.41', best_bid: '', best_ask: '' }] }]), session()).events[0] as TickerEvent;
    expect([e.bidPrice, e.askPrice, e.last]).toEqual([undefined, undefined, '1919.41']);
    expect(errorCode(decode(msg('ticker', 0, [{ type: 'update', tickers: [{ product_id: 'ETH-USD', best_bid: 1 }] }]), session()))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode(msg('ticker', 0, [{ type: 'update' }]), session()))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('coinbase decode: control frames and errors', () => {
  it('heartbeats → heartbeat; subscriptions → subscribed with the active channels', () => {
    expect(decode(msg('heartbeats', 0, [{ current_time: '2026-04-07 14:30:10.000000000+00:00', heartbeat_counter: 42 }]), session()).signal).toEqual({ kind: 'heartbeat' });
    expect(decode(msg('subscriptions', 0, [{ subscriptions: { market_trades: ['BTC-USD'], level2: ['BTC-USD'], heartbeats: ['heartbeats'] } }]), session()).signal).toEqual({
      kind: 'subscribed',
      detail: 'heartbeats,level2,market_trades',
    });
    expect(errorCode(decode(msg('subscriptions', 0, [{}]), session()))).toBe('PROTOCOL_MALFORMED');
  });

  it('known unused channels are ignored by name', () => {
    for (const ch of ['candles', 'status', 'ticker_batch', 'user', 'futures_balance_summary']) {
      expect(decode(msg(ch, 0, [{ type: 'update' }]), session()).signal).toEqual({ kind: 'ignored', reason: ch });
    }
  });

  it('error frames → typed errors by wording', () => {
    const cases: [string, string][] = [
      ['failure to subscribe', 'VENUE_REJECTED'],
      ['rate limit exceeded', 'VENUE_RATE_LIMITED'],
      ['authentication failure: jwt expired', 'VENUE_AUTH'],
    ];
    for (const [message, code] of cases) {
      const d = decode({ type: 'error', message }, session());
      expect(d.events).toEqual([]);
      expect(errorCode(d)).toBe(code);
      expect(d.signal?.kind === 'error' && d.signal.error.message).toContain(message);
    }
    // An error frame wrapped in an envelope is still an error frame.
    expect(errorCode(decode({ type: 'error', message: 'failure to subscribe', channel: 'subscriptions', sequence_num: 1, events: [] }, session()))).toBe('VENUE_REJECTED');
  });

  it('unknown channels and types → PROTOCOL_UNKNOWN; non-JSON → PROTOCOL_MALFORMED', () => {
    expect(errorCode(decode(msg('level3', 0, []), session()))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(decode({ type: 'welcome' }, session()))).toBe('PROTOCOL_UNKNOWN');
    expect(errorCode(decode('{"channel":', session()))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode('[1,2]', session()))).toBe('PROTOCOL_MALFORMED');
    expect(errorCode(decode('null', session()))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('coinbase decode: keys', () => {
  it('frames carrying an alias product id map to the subscribed aliased instrument (BTC-USDC shares BTC-USD data)', () => {
    const usdc: CoinbaseInstrument = { venue: 'coinbase', key: 'spot:BTC-USDC', venueSymbol: 'BTC-USDC', symbol: 'BTC/USDC', base: 'BTC', quote: 'USDC', type: 'spot', alias: 'BTC-USD' };
    const [plan] = coinbaseConnector.plan([{ instrument: usdc, channel: 'book' }], coinbaseConnector.defaultEndpoints);
    const s = coinbaseConnector.newSession(plan);
    expect(decode(SNAPSHOT, s).events[0].key).toBe('spot:BTC-USDC');
    expect(decode({ ...SNAPSHOT, sequence_num: 1, events: [{ ...(SNAPSHOT.events as object[])[0], product_id: 'BTC-USDC' }] }, s).events[0].key).toBe('spot:BTC-USDC');
  });

  it('a directly subscribed product wins over an alias of another', () => {
    const s = newCoinbaseSession([
      ['BTC-USD', 'spot:BTC-USD'],
      ['BTC-USD', 'spot:BTC-USDC'],
    ]);
    expect(decode(SNAPSHOT, s).events[0].key).toBe('spot:BTC-USD');
  });
});

describe('coinbase RFC 3339 timestamps', () => {
  it('agrees with Date.parse (truncated to ms) for every fraction length, across days, and falls back otherwise', () => {
    const s = newCoinbaseSession();
    const cases = [
      '2026-08-09T21:05:48.228568804Z',
      '2026-08-09T21:05:48.2Z',
      '2026-08-09T21:05:48.22Z',
      '2026-08-09T21:05:48.228Z',
      '2026-08-09T21:05:48Z',
      '2026-08-09T23:59:59.999999Z',
      '2026-08-10T00:00:00.000001Z',
      '2024-02-29T12:00:00.5Z',
      '2026-08-09T21:05:48.228+02:00',
    ];
    for (const c of cases) expect(parseRfc3339Ms(c, s), c).toBe(Date.parse(c));
    expect(parseRfc3339Ms('2026-08-09T21:05:48.xZ', s)).toBeNaN();
    expect(parseRfc3339Ms('2026-08-09T21:05:48.123abcZ', s)).toBeNaN();
    expect(parseRfc3339Ms('garbage', s)).toBeNaN();
  });
});
