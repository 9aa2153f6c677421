import { describe, expect, it } from 'vitest';
import {
  ClientMessageSchema,
  FEED_CHANNELS,
  MAX_FEED_ID_LENGTH,
  PROTOCOL_VERSION,
  ServerMessageSchema,
  formatFeedId,
  parseClientMessage,
  parseFeedId,
} from '../../src/protocol/messages.ts';

describe('feed ids', () => {
  it('formats venue:symbol:channel', () => {
    expect(formatFeedId('binance', 'BTC/USDT', 'book')).toBe('binance:BTC/USDT:book');
    expect(formatFeedId('bybit', 'BTC/USDT:USDT', 'trades')).toBe('bybit:BTC/USDT:USDT:trades');
  });

  it('parses symbols that contain ":" (venue before the first, channel after the last)', () => {
    expect(parseFeedId('bybit:BTC/USDT:USDT:trades')).toEqual({ venue: 'bybit', symbol: 'BTC/USDT:USDT', channel: 'trades' });
    expect(parseFeedId('bybit:BTC/USD:BTC:book')).toEqual({ venue: 'bybit', symbol: 'BTC/USD:BTC', channel: 'book' });
    expect(parseFeedId('binance:BTC/USDT:ticker')).toEqual({ venue: 'binance', symbol: 'BTC/USDT', channel: 'ticker' });
    expect(parseFeedId('x:a:b:c:book')).toEqual({ venue: 'x', symbol: 'a:b:c', channel: 'book' });
  });

  it('round-trips every channel', () => {
    for (const ch of FEED_CHANNELS) {
      const id = formatFeedId('bybit', 'ETH/USDT:USDT', ch);
      expect(parseFeedId(id)).toEqual({ venue: 'bybit', symbol: 'ETH/USDT:USDT', channel: ch });
    }
  });

  it('rejects malformed ids', () => {
    for (const bad of ['', 'bybit', 'bybit:book', ':BTC/USDT:book', 'bybit::book', 'bybit:BTC/USDT:', 'bybit:BTC/USDT:candles', 'bybit:BTC/USDT:Book', '::']) {
      expect(parseFeedId(bad), bad).toBeNull();
    }
    expect(parseFeedId(42 as unknown as string)).toBeNull();
  });
});

describe('client messages', () => {
  it('accepts the three client message types', () => {
    expect(parseClientMessage('{"type":"subscribe","feed_id":"bybit:BTC/USDT:USDT:book"}')).toEqual({
      ok: true,
      message: { type: 'subscribe', feed_id: 'bybit:BTC/USDT:USDT:book' },
    });
    expect(parseClientMessage('{"type":"unsubscribe","feed_id":"a:b:trades"}')).toEqual({ ok: true, message: { type: 'unsubscribe', feed_id: 'a:b:trades' } });
    expect(parseClientMessage('{"type":"get_available_feeds"}')).toEqual({ ok: true, message: { type: 'get_available_feeds' } });
    expect(ClientMessageSchema.safeParse({ type: 'subscribe', feed_id: 'x' }).success).toBe(true);
  });

  it('ignores unknown extra fields', () => {
    const r = parseClientMessage('{"type":"subscribe","feed_id":"a:b:book","req_id":7}');
    expect(r).toEqual({ ok: true, message: { type: 'subscribe', feed_id: 'a:b:book' } });
  });

  it('explains what is wrong, never throws', () => {
    const cases: [string, RegExp][] = [
      ['not json', /invalid JSON/],
      ['', /invalid JSON/],
      ['[1,2]', /JSON object/],
      ['null', /JSON object/],
      ['"subscribe"', /JSON object/],
      ['{}', /missing "type"/],
      ['{"type":5}', /missing "type"/],
      ['{"type":"hello"}', /unknown message type "hello"/],
      ['{"type":"subscribe"}', /requires "feed_id"/],
      ['{"type":"unsubscribe"}', /requires "feed_id"/],
      ['{"type":"subscribe","feed_id":7}', /feed_id/],
      ['{"type":"subscribe","feed_id":""}', /feed_id/],
      [JSON.stringify({ type: 'subscribe', feed_id: 'x'.repeat(MAX_FEED_ID_LENGTH + 1) }), /feed_id/],
    ];
    for (const [text, re] of cases) {
      const r = parseClientMessage(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.error, text).toMatch(re);
    }
  });

  it('truncates long unknown types in the error', () => {
    const r = parseClientMessage(JSON.stringify({ type: 'z'.repeat(1000) }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeLessThan(120);
  });
});

describe('server message schemas', () => {
  const base = { feed_id: 'bybit:BTC/USDT:USDT:book', venue: 'bybit', symbol: 'BTC/USDT:USDT' };
  const level = (price: string, size: string, venue: string) => ({ price, size, venue });
  const summaryBody = {
    symbol: 'BTC/USD',
    bids: [level('100', '1', 'a'), { ...level('99.5', '2', 'b'), symbol: 'BTC/USDT' }],
    asks: [level('101', '1', 'b')],
    nbbo: { bid: level('100', '1', 'a'), ask: level('101', '1', 'b') },
    spread: 1,
    spread_bps: 99.50248756,
    mid: 100.5,
    crossed: false,
    venues: ['a', 'b'],
    excluded: [{ venue: 'c', reason: 'stale' }],
    quote_equivalence: ['USD', 'USDT'],
    oracle: { source: 'pyth', feed_id: '0x' + 'ab'.repeat(32), price: 100.4, confidence: 0.05, publish_time: 1_700_000_000_000, deviation_bps: 9.96, stale: false },
    venue_skew_ms: 12,
    timestamp: 1_700_000_000_100,
  };
  const arbitrage = {
    type: 'arbitrage',
    feed_id: 'arbitrage',
    id: 'arb-1',
    revision: 0,
    symbol: 'BTC/USDT',
    buy_venue: 'a',
    sell_venue: 'b',
    buy_symbol: 'BTC/USDT',
    sell_symbol: 'BTC/USDT',
    buy_price: '100',
    sell_price: '100.3',
    gross_bps: 30,
    buy_fee_bps: 5,
    sell_fee_bps: 7.5,
    profit_bps: 17.5,
    profit_percentage: 0.175,
    volume: 1.5,
    depth_volume: 5,
    timestamp: 1,
    first_seen_at: 1,
  };
  const healthVenue = {
    venue: 'a',
    healthy: true,
    last_update: 1,
    error_message: null,
    updates_per_second: 15,
    latency_ms: 20,
    error_count: 0,
    reconnects: 0,
    gaps: 0,
    connected: true,
    books: { total: 1, valid: 1 },
  };

  it('protocol version 2', () => {
    expect(PROTOCOL_VERSION).toBe(2);
  });

  it('accept every server message in its documented shape', () => {
    const msgs = [
      { type: 'connection_established', client_id: '3b1f8f0e-1b2c-4a5d-9e6f-7a8b9c0d1e2f', message: 'hi', protocol_version: PROTOCOL_VERSION },
      { type: 'subscription_confirmed', feed_id: base.feed_id },
      { type: 'subscription_pending', feed_id: base.feed_id, reason: 'venue bybit is loading its instruments' },
      { type: 'unsubscription_confirmed', feed_id: base.feed_id },
      { type: 'available_feeds', feeds: [{ ...base, venue_symbol: 'BTCUSDT', channel: 'book' }] },
      { type: 'error', code: 'CLIENT_BAD_REQUEST', message: 'invalid JSON' },
      { type: 'error', code: 'CLIENT_BAD_REQUEST', message: 'unknown feed', feed_id: 'x:y:book' },
      { type: 'book_snapshot', ...base, venue_symbol: 'BTCUSDT', epoch: 1, seq: 12, ts: 1, recv_ts: 2, bids: [['100.5', '1']], asks: [['101', '2.5']] },
      { type: 'book_snapshot', ...base, venue_symbol: 'BTCUSDT', epoch: 3, seq: null, ts: 1, recv_ts: 2, bids: [], asks: [] },
      { type: 'book_update', ...base, epoch: 1, seq: 13, ts: 1, recv_ts: 2, bids: [['100.5', '0']], asks: [] },
      { type: 'book_reset', ...base, epoch: 1, reason: 'gap', ts: 3 },
      { type: 'trade', ...base, feed_id: 'bybit:BTC/USDT:USDT:trades', price: '100', size: '0.1', side: 'buy', trade_id: 't1', ts: 1, recv_ts: 2 },
      { type: 'ticker', ...base, feed_id: 'bybit:BTC/USDT:USDT:ticker', bid_price: '1', bid_size: '2', ask_price: '3', ask_size: '4', last: null, volume_24h: '17573.9', ts: 1, recv_ts: 2 },
      { type: 'ticker', ...base, feed_id: 'bybit:BTC/USDT:USDT:ticker', bid_price: null, bid_size: null, ask_price: null, ask_size: null, last: '5', volume_24h: null, ts: 1, recv_ts: 2 },
      { type: 'summary', feed_id: 'consolidated:BTC/USD:summary', ...summaryBody },
      { type: 'consolidated_book', feed_id: 'consolidated:BTC/USD:book', ...summaryBody, spread: null, spread_bps: null, mid: null, oracle: undefined, quote_equivalence: undefined, venue_skew_ms: undefined },
      arbitrage,
      { ...arbitrage, leg_skew_ms: 40 },
      { type: 'health', feed_id: 'health', venues: [healthVenue, { ...healthVenue, venue: 'b', healthy: false, last_update: null, error_message: 'no update yet', latency_ms: null }], timestamp: 5 },
      {
        type: 'price_update',
        data: {
          feed_id: '0x' + 'ab'.repeat(32),
          price: 61632.6,
          confidence: 32.68548079,
          exponent: -8,
          status: 'trading',
          timestamp: '2024-05-03T14:58:20.000Z',
          source: 'pyth',
          price_raw: '6163260000000',
          conf_raw: '3268548079',
          publish_time: 1714748300,
          symbol: 'Crypto.BTC/USD',
          ema_price: 61300.988,
          ema_price_raw: '6130098800000',
          recv_ts: 1,
        },
      },
    ];
    for (const m of msgs) {
      const r = ServerMessageSchema.safeParse(m);
      expect(r.success, JSON.stringify(m)).toBe(true);
    }
  });

  it('reject wrong shapes', () => {
    const bad = [
      { type: 'book_update', ...base, epoch: 1, seq: 1, ts: 1, recv_ts: 2, bids: [[100.5, 1]], asks: [] }, // numbers, not strings
      { type: 'book_update', ...base, epoch: 1, seq: 1, ts: 1, recv_ts: 2, bids: [['1']], asks: [] }, // not a pair
      { type: 'trade', ...base, price: '1', size: '1', side: 'up', trade_id: 't', ts: 1, recv_ts: 1 },
      { type: 'error', message: 'no code' },
      { type: 'available_feeds', feeds: [{ ...base, venue_symbol: 'X', channel: 'candles' }] },
      { type: 'nope' },
      // Protocol 1 shapes are no longer valid.
      { type: 'connection_established', client_id: 'x', message: 'hi' }, // no protocol_version
      { type: 'book_update', ...base, seq: 1, ts: 1, recv_ts: 2, bids: [], asks: [] }, // no epoch
      { type: 'book_snapshot', ...base, venue_symbol: 'BTCUSDT', seq: 1, ts: 1, recv_ts: 2, bids: [], asks: [] }, // no epoch
      { type: 'book_reset', ...base, reason: 'gap', ts: 3 }, // no epoch
      { type: 'summary', feed_id: 'consolidated:BTC/USD:summary', ...summaryBody, spread: { abs: 1, bps: 99.5 } }, // spread object
      { type: 'summary', feed_id: 'consolidated:BTC/USD:summary', ...summaryBody, spread_bps: undefined }, // no spread_bps
      { type: 'summary', feed_id: 'consolidated:BTC/USD:summary', ...summaryBody, oracle: { ...summaryBody.oracle, feed_id: undefined, feedId: 'x' } }, // camelCase oracle
      { ...arbitrage, profit_percentage: undefined }, // no profit_percentage
      { ...arbitrage, buy_venue: undefined, buyVenue: 'a' }, // camelCase
      { type: 'health', feed_id: 'health', venues: [{ ...healthVenue, last_update: undefined, lastUpdate: 1 }], timestamp: 5 }, // camelCase
    ];
    for (const m of bad) expect(ServerMessageSchema.safeParse(m).success, JSON.stringify(m)).toBe(false);
  });
});
