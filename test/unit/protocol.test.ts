import { describe, expect, it } from 'vitest';
import {
  ClientMessageSchema,
  FEED_CHANNELS,
  MAX_FEED_ID_LENGTH,
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

  it('accept every server message in its documented shape', () => {
    const msgs = [
      { type: 'connection_established', client_id: '3b1f8f0e-1b2c-4a5d-9e6f-7a8b9c0d1e2f', message: 'hi' },
      { type: 'subscription_confirmed', feed_id: base.feed_id },
      { type: 'unsubscription_confirmed', feed_id: base.feed_id },
      { type: 'available_feeds', feeds: [{ ...base, venue_symbol: 'BTCUSDT', channel: 'book' }] },
      { type: 'error', code: 'CLIENT_BAD_REQUEST', message: 'invalid JSON' },
      { type: 'error', code: 'CLIENT_BAD_REQUEST', message: 'unknown feed', feed_id: 'x:y:book' },
      { type: 'book_snapshot', ...base, venue_symbol: 'BTCUSDT', seq: 12, ts: 1, recv_ts: 2, bids: [['100.5', '1']], asks: [['101', '2.5']] },
      { type: 'book_snapshot', ...base, venue_symbol: 'BTCUSDT', seq: null, ts: 1, recv_ts: 2, bids: [], asks: [] },
      { type: 'book_update', ...base, seq: 13, ts: 1, recv_ts: 2, bids: [['100.5', '0']], asks: [] },
      { type: 'book_reset', ...base, reason: 'gap', ts: 3 },
      { type: 'trade', ...base, feed_id: 'bybit:BTC/USDT:USDT:trades', price: '100', size: '0.1', side: 'buy', trade_id: 't1', ts: 1, recv_ts: 2 },
      { type: 'ticker', ...base, feed_id: 'bybit:BTC/USDT:USDT:ticker', bid_price: '1', bid_size: '2', ask_price: '3', ask_size: '4', last: null, ts: 1, recv_ts: 2 },
    ];
    for (const m of msgs) {
      const r = ServerMessageSchema.safeParse(m);
      expect(r.success, JSON.stringify(m)).toBe(true);
    }
  });

  it('reject wrong shapes', () => {
    const bad = [
      { type: 'book_update', ...base, seq: 1, ts: 1, recv_ts: 2, bids: [[100.5, 1]], asks: [] }, // numbers, not strings
      { type: 'book_update', ...base, seq: 1, ts: 1, recv_ts: 2, bids: [['1']], asks: [] }, // not a pair
      { type: 'trade', ...base, price: '1', size: '1', side: 'up', trade_id: 't', ts: 1, recv_ts: 1 },
      { type: 'error', message: 'no code' },
      { type: 'available_feeds', feeds: [{ ...base, venue_symbol: 'X', channel: 'candles' }] },
      { type: 'nope' },
    ];
    for (const m of bad) expect(ServerMessageSchema.safeParse(m).success, JSON.stringify(m)).toBe(false);
  });
});
