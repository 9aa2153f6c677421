/**
 * Pyth Hermes decoding: fixed-point scaling by the exponent, feed ids, SSE event data (the documented examples and
 * malformed input), the catalog and its filters, the client-protocol `price_update` and the replay filter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeCatalog,
  decodePriceEvent,
  filterEventForRequest,
  instrumentOf,
  matchesCatalogFilter,
  scaleDecimal,
  scaleToNumber,
} from '../../src/oracles/pyth/decode.ts';
import { PYTH_SOURCE, parsePythFeedId } from '../../src/oracles/pyth/ids.ts';
import { PriceUpdateMessageSchema, type PriceUpdateMessage } from '../../src/protocol/messages.ts';
import { priceUpdate } from '../../src/server/encode.ts';

const SHARED = fileURLToPath(new URL('../../../shared/fixtures/pyth/', import.meta.url));
const DOC_SSE = `${SHARED}doc_v2_updates_price_stream_sse.txt`;
const DOC_LATEST = `${SHARED}doc_v2_updates_price_latest_2feeds.json`;
const CATALOG = fileURLToPath(new URL('../fixtures/pyth/price_feeds.json', import.meta.url));
const BTC = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';

const entry = (over: Record<string, unknown> = {}) => ({
  id: BTC.slice(2),
  price: { price: '6163260000000', conf: '3268548079', expo: -8, publish_time: 1714748300 },
  ema_price: { price: '6130098800000', conf: '3587162000', expo: -8, publish_time: 1714748300 },
  metadata: { slot: 138886134, proof_available_time: 1714748302, prev_publish_time: 1714748300 },
  ...over,
});
const event = (parsed: unknown[], binary: unknown = { encoding: 'hex', data: ['00ff'] }) => JSON.stringify({ binary, parsed });

describe('scaling by the exponent (price = integer × 10^expo)', () => {
  it.each([
    ['6163260000000', -8, '61632.6'],
    ['3268548079', -8, '32.68548079'],
    ['12276250', -5, '122.7625'],
    ['1500', -5, '0.015'],
    ['-5', -3, '-0.005'],
    ['0', -8, '0'],
    ['-0', -8, '0'],
    ['000123', -2, '1.23'],
    ['12', 2, '1200'],
    ['7', 0, '7'],
    ['100', -2, '1'],
    ['99999999999999999999', -10, '9999999999.9999999999'],
  ])('%s × 10^%i = %s', (int, expo, dec) => {
    expect(scaleDecimal(int, expo)).toBe(dec);
    expect(scaleToNumber(int, expo)).toBe(Number(dec));
  });

  it('gives the nearest double, unlike a float multiplication', () => {
    expect(6163088000000 * 10 ** -8).not.toBe(61630.88); // float noise the decimal route avoids
    expect(scaleToNumber('6163088000000', -8)).toBe(61630.88);
  });
});

describe('feed ids', () => {
  it('accepts 64 hex digits with or without 0x, any case; names them 0x + lower case', () => {
    expect(PYTH_SOURCE).toBe('pyth');
    expect(parsePythFeedId(BTC)).toBe(BTC);
    expect(parsePythFeedId(BTC.slice(2))).toBe(BTC);
    expect(parsePythFeedId(BTC.toUpperCase().replace('0X', '0x'))).toBe(BTC);
    expect(parsePythFeedId('0X' + BTC.slice(2).toUpperCase())).toBe(BTC);
    for (const bad of ['', '0x', BTC.slice(0, 65), BTC + '0', BTC.replace('e', 'g'), 'bybit:BTC/USDT:book', ` ${BTC}`]) expect(parsePythFeedId(bad), bad).toBeNull();
  });
});

describe('SSE event data', () => {
  it.skipIf(!existsSync(DOC_SSE))('decodes the documented stream events (id, price, conf, expo, publish_time, ema, metadata)', () => {
    const blocks = readFileSync(DOC_SSE, 'utf8').split('\n\n').filter((b) => b.trim() !== '');
    const first = decodePriceEvent(blocks[0].replace(/^data:/, ''), 1_714_748_303_000);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.dropped).toBe(0);
    expect(first.binary?.encoding).toBe('hex');
    expect(first.binary?.data[0].startsWith('504e4155')).toBe(true);
    expect(first.updates).toEqual([
      {
        source: 'pyth',
        id: BTC,
        price: '6163260000000',
        conf: '3268548079',
        expo: -8,
        publishTime: 1714748300,
        priceNum: 61632.6,
        confNum: 32.68548079,
        emaPrice: '6130098800000',
        emaConf: '3587162000',
        emaExpo: -8,
        emaPublishTime: 1714748300,
        slot: 138886134,
        proofAvailableTime: 1714748302,
        prevPublishTime: 1714748300,
        recvTs: 1_714_748_303_000,
        // The decoder knows no catalog: symbol and instrument are filled in by the source; a fresh price is trading.
        symbol: null,
        instrument: null,
        status: 'trading',
      },
    ]);
    const second = decodePriceEvent(blocks[1].replace(/^data:/, '').trim(), 0);
    expect(second.ok && second.updates[0].publishTime).toBe(1714748301);
    expect(second.ok && second.updates[0].priceNum).toBe(61630.88);
  });

  it.skipIf(!existsSync(DOC_LATEST))('decodes the documented /v2/updates/price/latest body (two feeds)', () => {
    const r = decodePriceEvent(readFileSync(DOC_LATEST, 'utf8'), 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.updates.map((u) => [u.id.slice(0, 10), u.priceNum, u.confNum])).toEqual([
      ['0xe62df6c8', 61409.93501, 32.87868567],
      ['0xc96458d3', 0.04959503, 0.00005465],
    ]);
  });

  it('rejects events that are not price updates, drops malformed entries and counts them', () => {
    expect(decodePriceEvent('not json', 0)).toMatchObject({ ok: false, code: 'PROTOCOL_MALFORMED' });
    expect(decodePriceEvent('[1]', 0)).toMatchObject({ ok: false });
    expect(decodePriceEvent(JSON.stringify({ binary: { encoding: 'hex', data: [] } }), 0)).toMatchObject({ ok: false, reason: expect.stringMatching(/parsed/) });
    expect(decodePriceEvent(event([entry()], { encoding: 'rot13', data: [] }), 0)).toMatchObject({ ok: false, reason: expect.stringMatching(/binary/) });
    const r = decodePriceEvent(
      event([
        entry(),
        entry({ id: 'nope' }),
        entry({ price: { price: '12.5', conf: '1', expo: -8, publish_time: 1 } }),
        entry({ price: { price: '1', conf: '-1', expo: -8, publish_time: 1 } }),
        entry({ price: { price: '1', conf: '1', expo: 1.5, publish_time: 1 } }),
        entry({ ema_price: undefined }),
        entry({ metadata: { slot: 'x' } }),
        entry({ metadata: null }),
        'garbage',
      ]),
      0,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.updates).toHaveLength(2);
    expect(r.updates[1]).toMatchObject({ slot: null, proofAvailableTime: null, prevPublishTime: null });
    expect(r.dropped).toBe(7);
  });

  it('keeps negative prices and can drop the binary payload', () => {
    const r = decodePriceEvent(event([entry({ price: { price: '-250', conf: '5', expo: -2, publish_time: 9 } })]), 0, false);
    expect(r.ok && r.binary).toBeNull();
    expect(r.ok && r.updates[0].priceNum).toBe(-2.5);
  });
});

describe('catalog', () => {
  it('decodes /v2/price_feeds entries, their instrument and Hermes-style filters', () => {
    const { feeds, dropped } = decodeCatalog(readFileSync(CATALOG, 'utf8'));
    expect(dropped).toBe(0);
    expect(feeds.map((f) => f.symbol)).toEqual(['Crypto.BTC/USD', 'Crypto.ETH/USD', 'Crypto.SOL/USD', 'Crypto.USDC/USD', 'FX.EUR/USD', 'Metal.XAU/USD']);
    const btc = feeds[0];
    expect(btc).toMatchObject({ id: BTC, assetType: 'crypto', base: 'BTC', quote: 'USD', instrument: 'BTC/USD' });
    expect(feeds.filter((f) => matchesCatalogFilter(f, 'btc', undefined)).map((f) => f.symbol)).toEqual(['Crypto.BTC/USD']);
    expect(feeds.filter((f) => matchesCatalogFilter(f, '/usd', 'FX')).map((f) => f.symbol)).toEqual(['FX.EUR/USD']);
    expect(feeds.filter((f) => matchesCatalogFilter(f, undefined, 'metal')).map((f) => f.symbol)).toEqual(['Metal.XAU/USD']);
    expect(decodeCatalog(JSON.stringify([{ id: 'x', attributes: {} }, { id: BTC, attributes: { symbol: 'Crypto.BTC/USD' } }]))).toMatchObject({ dropped: 1, feeds: [{ instrument: 'BTC/USD' }] });
    expect(() => decodeCatalog('{}')).toThrow(/not an array/);
    expect(() => decodeCatalog('<html>')).toThrow(/not JSON/);
  });

  it('maps attributes to a canonical instrument', () => {
    expect(instrumentOf({ base: 'eth', quote_currency: 'usd' })).toBe('ETH/USD');
    expect(instrumentOf({ symbol: 'Crypto.SOL/USD' })).toBe('SOL/USD');
    expect(instrumentOf({ symbol: 'Equity.US.AAPL/USD' })).toBeUndefined();
    expect(instrumentOf({})).toBeUndefined();
  });
});

describe('client protocol price_update (seed format)', () => {
  it('carries scaled numbers, the exponent, ISO time from publish_time, status, source and the raw integers', () => {
    const r = decodePriceEvent(event([entry()]), 1_714_748_302_500);
    if (!r.ok) throw new Error('decode failed');
    // The client encoder builds the seed message from the price alone (its own status and symbol).
    const withMeta = { ...r.updates[0], symbol: 'Crypto.BTC/USD', instrument: 'BTC/USD' };
    const m = priceUpdate(withMeta);
    expect(PriceUpdateMessageSchema.parse(m)).toEqual(m);
    expect(m).toEqual({
      type: 'price_update',
      data: {
        feed_id: BTC,
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
        recv_ts: 1_714_748_302_500,
      },
    });
    expect((priceUpdate({ ...r.updates[0], status: 'stale' }) as PriceUpdateMessage).data).toMatchObject({ status: 'stale', symbol: null });
  });
});

describe('replay filter', () => {
  it('keeps the requested feeds of an event, skips events without them, passes other data', () => {
    const other = entry({ id: 'ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace' });
    const both = event([entry(), other]);
    const f = filterEventForRequest(new URL(`http://x/v2/updates/price/stream?ids%5B%5D=${BTC.toUpperCase().replace('0X', '0x')}`))!;
    expect(JSON.parse(f(both)!).parsed.map((p: { id: string }) => p.id)).toEqual([BTC.slice(2)]);
    expect(f(event([entry()]))).toBe(event([entry()])); // unchanged text when everything is wanted
    expect(f(event([other]))).toBeUndefined();
    expect(f('Connection timeout reached (24h)')).toBe('Connection timeout reached (24h)');
    expect(filterEventForRequest(new URL('http://x/v2/updates/price/stream'))).toBeUndefined();
  });
});
