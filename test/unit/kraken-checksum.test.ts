/**
 * The shared CRC32 and the Kraken book checksum on Kraken's documented examples:
 * - v1 guide (https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1): "0.05000" / "0.00000304" formats
 *   as `5000304`; the example book state (asks 0.05005…0.05050, bids 0.05000…0.04950, volume 0.00000500 each)
 *   gives checksum 974947235;
 * - v2 guide (https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2): the BTC/USD snapshot (prices at
 *   precision 1, qty at 8) gives checksum 3310070434 — checked through the decoder, the sync stage and the connector.
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CRC32_INIT, crc32, crc32Ascii, crc32Signed, crc32Unsigned } from '../../src/core/crc32.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import type { Level } from '../../src/core/events.ts';
import { Bus } from '../../src/bus/bus.ts';
import { BookSync, type ResyncReason } from '../../src/pipeline/sync.ts';
import { krakenChecksumMatches, krakenChecksumOf, krakenChecksumString, type LevelSource } from '../../src/venues/kraken/checksum.ts';
import { krakenConnector } from '../../src/venues/kraken/connector.ts';
import { newKrakenSession } from '../../src/venues/kraken/decode.ts';

const side = (levels: Level[]): LevelSource => ({ length: levels.length, level: (i) => levels[i] });

describe('crc32 (src/core/crc32.ts)', () => {
  it('matches the standard check value and zlib', () => {
    expect(crc32('123456789')).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value
    expect(crc32('')).toBe(0);
    const zcrc = (zlib as unknown as { crc32?: (s: string) => number }).crc32;
    const samples = ['a', 'abc', '5005500', '3366.1:7:3366.8:9', 'é ünïcode ✓', 'x'.repeat(1000)];
    if (typeof zcrc === 'function') for (const s of samples) expect(crc32(s)).toBe(zcrc(s));
  });

  it('streams: feeding pieces equals hashing the whole; signed and unsigned views of the same bits', () => {
    const whole = crc32('3366.1:7:3366.8:9');
    const parts = crc32Ascii(crc32Ascii(CRC32_INIT, '3366.1:7:'), '3366.8:9');
    expect(crc32Unsigned(parts)).toBe(whole);
    expect(crc32Signed(parts) >>> 0).toBe(whole);
    expect(crc32Signed(crc32Ascii(CRC32_INIT, '3366.1:7:3366.8:9:3366:6:3368:8'))).toBe(-1881014294);
  });
});

describe('kraken checksum: documented v1 example', () => {
  const vol = '0.00000500';
  const asks: Level[] = ['0.05005', '0.05010', '0.05015', '0.05020', '0.05025', '0.05030', '0.05035', '0.05040', '0.05045', '0.05050'].map((p) => [p, vol]);
  const bids: Level[] = ['0.05000', '0.04995', '0.04990', '0.04980', '0.04975', '0.04970', '0.04965', '0.04960', '0.04955', '0.04950'].map((p) => [p, vol]);

  it('formats a level by removing "." and leading zeros (doc: "0.05000" + "0.00000304" → 5000304)', () => {
    expect(krakenChecksumString([['0.05000', '0.00000304']], [])).toBe('5000304');
  });

  it('the example book gives the documented checksum 974947235 (asks low→high, then bids high→low)', () => {
    expect(krakenChecksumString(asks, bids)).toBe(
      '50055005010500501550050205005025500503050050355005040500504550050505005000500499550049905004980500497550049705004965500496050049555004950500',
    );
    expect(krakenChecksumOf(side(asks), side(bids))).toBe(974947235);
    expect(krakenChecksumMatches({ asks: side(asks), bids: side(bids) }, 974947235)).toBe(true);
    // Only the top 10 per side count: deeper levels change nothing.
    expect(krakenChecksumOf(side([...asks, ['0.06000', '1.0']]), side([...bids, ['0.01000', '1.0']]))).toBe(974947235);
    // Sides are not interchangeable, and one changed digit changes the value.
    expect(krakenChecksumOf(side(bids), side(asks))).not.toBe(974947235);
    expect(krakenChecksumOf(side([['0.05006', vol], ...asks.slice(1)]), side(bids))).not.toBe(974947235);
  });

  it('a signed representation of the same 32 bits also matches', () => {
    const v = krakenChecksumOf(side(asks), side(bids));
    expect(krakenChecksumMatches({ asks: side(asks), bids: side(bids) }, v | 0)).toBe(true);
  });
});

describe('kraken checksum: documented v2 example through decoder, sync and connector', () => {
  // https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2 (Example): JSON numbers, BTC/USD precision 1 / 8.
  const snapshot = `{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",
    "bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015},{"price":45282.1,"qty":0.10000000},{"price":45281.0,"qty":0.10000000},{"price":45280.3,"qty":1.54592586},{"price":45279.0,"qty":0.07990000},{"price":45277.6,"qty":0.03310103},{"price":45277.5,"qty":0.30000000},{"price":45277.3,"qty":1.54602737},{"price":45276.6,"qty":0.15445238}],
    "asks":[{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54571953},{"price":45286.6,"qty":1.54571109},{"price":45289.6,"qty":1.54560911},{"price":45290.2,"qty":0.15890660},{"price":45291.8,"qty":1.54553491},{"price":45294.7,"qty":0.04454749},{"price":45296.1,"qty":0.35380000},{"price":45297.5,"qty":0.09945542},{"price":45299.5,"qty":0.18772827}],
    "checksum":3310070434,"timestamp":"2023-10-06T17:35:55.440295Z"}]}`;
  const btcusd: Instrument = { venue: 'kraken', key: 'spot:XBT/USD', venueSymbol: 'XBT/USD', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', type: 'spot', tickSize: '0.1', lotSize: '0.00000001' };

  function run(frames: string[]) {
    const session = newKrakenSession('v2', [btcusd]);
    const resyncs: ResyncReason[] = [];
    const sync = new BookSync('kraken', krakenConnector.capabilities.bookSync, new Bus(), {
      requestResync: (_i, r) => resyncs.push(r),
      depthFor: () => 10,
      checksum: (b, e) => krakenConnector.checksum!(b, e),
    });
    const book = sync.track(btcusd);
    for (const f of frames) for (const ev of krakenConnector.decode({ data: f, recvTs: 1 }, session).events) if (ev.type === 'book_snapshot' || ev.type === 'book_delta') sync.onEvent(ev);
    return { book, resyncs };
  }

  it('numbers formatted at the pair precision reproduce 3310070434; the snapshot checksum is verified', () => {
    const { book, resyncs } = run([snapshot]);
    expect(book.valid).toBe(true);
    expect(book.asks.top(2)).toEqual([
      ['45285.2', '0.00100000'],
      ['45286.4', '1.54571953'],
    ]);
    expect(book.bids.price(3)).toBe('45281.0');
    expect(book.stats.checksumsOk).toBe(1);
    expect(book.stats.checksumFailures).toBe(0);
    expect(resyncs).toEqual([]);
  });

  it('an update: correct checksum passes, a wrong one invalidates the book and asks for a resync', () => {
    // Remove the best ask: the expected value is computed here independently of production code.
    const asks = ['45286.4:1.54571953', '45286.6:1.54571109', '45289.6:1.54560911', '45290.2:0.15890660', '45291.8:1.54553491', '45294.7:0.04454749', '45296.1:0.35380000', '45297.5:0.09945542', '45299.5:0.18772827'];
    const bids = ['45283.5:0.10000000', '45283.4:1.54582015', '45282.1:0.10000000', '45281.0:0.10000000', '45280.3:1.54592586', '45279.0:0.07990000', '45277.6:0.03310103', '45277.5:0.30000000', '45277.3:1.54602737', '45276.6:0.15445238'];
    const strip = (s: string) => s.replace('.', '').replace(/^0+/, '');
    const expected = crc32([...asks, ...bids].map((l) => l.split(':').map(strip).join('')).join(''));
    const update = (ck: number) => `{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[{"price":45285.2,"qty":0}],"checksum":${ck},"timestamp":"2023-10-06T17:35:56.000000Z"}]}`;
    const ok = run([snapshot, update(expected)]);
    expect(ok.book.valid).toBe(true);
    expect(ok.book.stats.checksumsOk).toBe(2);
    expect(ok.book.asks.price(0)).toBe('45286.4');
    const bad = run([snapshot, update((expected + 1) >>> 0)]);
    expect(bad.book.valid).toBe(false);
    expect(bad.book.stats.checksumFailures).toBe(1);
    expect(bad.resyncs).toEqual(['checksum']);
  });
});
