/**
 * Kraken book checksum (WebSocket v1 and v2, same algorithm):
 * take the top 10 asks (lowest price first), then the top 10 bids (highest price first); for each level append the
 * price then the volume string with `.` removed and leading zeros stripped; CRC32 the whole string and compare it,
 * as an unsigned 32-bit integer, with the venue's value.
 *
 * The strings must be the venue's exact text: v1 sends decimal strings (kept as received, trailing zeros matter);
 * for v2 the decoder formats the JSON numbers at the instrument's price / qty precision before they reach the book.
 *
 * Docs: https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1 and
 * https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2 (worked example: checksum 3310070434).
 */
import type { Level } from '../../core/events.ts';
import { CRC32_INIT, CRC32_TABLE, crc32Unsigned } from '../../core/crc32.ts';

/** Levels of one side, best first (a book's `BookSide` fits; tests wrap plain arrays). */
export interface LevelSource {
  readonly length: number;
  level(i: number): Level;
}

/** Levels per side in the checksum. */
export const KRAKEN_CHECKSUM_LEVELS = 10;

/** Feeds `s` with every `.` removed and leading zeros stripped (`"0.05000"` → `5000`). No allocation. */
function feedDigits(crc: number, s: string): number {
  const t = CRC32_TABLE;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) continue; // '.'
    if (!started) {
      if (c === 48) continue; // leading '0'
      started = true;
    }
    crc = t[(crc ^ c) & 0xff] ^ (crc >>> 8);
  }
  return crc;
}

function feedSide(crc: number, side: LevelSource): number {
  const n = Math.min(KRAKEN_CHECKSUM_LEVELS, side.length);
  for (let i = 0; i < n; i++) {
    const l = side.level(i);
    crc = feedDigits(crc, l[0]);
    crc = feedDigits(crc, l[1]);
  }
  return crc;
}

/** The unsigned CRC32 Kraken publishes for a book whose sides are `asks` and `bids` (each best first). */
export function krakenChecksumOf(asks: LevelSource, bids: LevelSource): number {
  return crc32Unsigned(feedSide(feedSide(CRC32_INIT, asks), bids));
}

/** The checksum string (for tests and diagnostics only; the hot path never builds it). */
export function krakenChecksumString(asks: readonly Level[], bids: readonly Level[]): string {
  const strip = (s: string): string => s.replace(/\./g, '').replace(/^0+/, '');
  let out = '';
  for (const l of asks.slice(0, KRAKEN_CHECKSUM_LEVELS)) out += strip(l[0]) + strip(l[1]);
  for (const l of bids.slice(0, KRAKEN_CHECKSUM_LEVELS)) out += strip(l[0]) + strip(l[1]);
  return out;
}

/**
 * True when the book's top 10 reproduce `expected` (the venue value as a number; compared unsigned, so a value that
 * arrived signed still matches).
 */
export function krakenChecksumMatches(book: { readonly bids: LevelSource; readonly asks: LevelSource }, expected: number): boolean {
  return krakenChecksumOf(book.asks, book.bids) === expected >>> 0;
}
