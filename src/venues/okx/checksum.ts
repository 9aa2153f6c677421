/**
 * OKX order book checksum: take up to 25 bids and 25 asks and interleave them as
 * `bid1Px:bid1Sz:ask1Px:ask1Sz:bid2Px:…` with the strings exactly as received; when one side runs out continue with
 * the other only. CRC32 the string and read it as a SIGNED 32-bit integer; compare with the push's `checksum`.
 *
 * Doc examples: `3366.1:7:3366.8:9:3366:6:3368:8` → -1881014294 and `3366.1:7:3366.8:9:3368:8:3372:8` → 831078360
 * (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel, "Checksum").
 */
import type { Level } from '../../core/events.ts';
import { CRC32_INIT, crc32Ascii, crc32Byte, crc32Signed } from '../../core/crc32.ts';

/** Levels of one side, best first (a book's `BookSide` fits; tests wrap plain arrays). */
export interface LevelSource {
  readonly length: number;
  level(i: number): Level;
}

/** Levels per side in the checksum. */
export const OKX_CHECKSUM_LEVELS = 25;

const COLON = 58;

/** The signed CRC32 OKX publishes for a book whose sides are `bids` and `asks` (each best first). No allocation. */
export function okxChecksumOf(bids: LevelSource, asks: LevelSource): number {
  let crc = CRC32_INIT;
  let first = true;
  const nb = Math.min(OKX_CHECKSUM_LEVELS, bids.length);
  const na = Math.min(OKX_CHECKSUM_LEVELS, asks.length);
  const n = Math.max(nb, na);
  for (let i = 0; i < n; i++) {
    if (i < nb) {
      const l = bids.level(i);
      if (!first) crc = crc32Byte(crc, COLON);
      first = false;
      crc = crc32Byte(crc32Ascii(crc, l[0]), COLON);
      crc = crc32Ascii(crc, l[1]);
    }
    if (i < na) {
      const l = asks.level(i);
      if (!first) crc = crc32Byte(crc, COLON);
      first = false;
      crc = crc32Byte(crc32Ascii(crc, l[0]), COLON);
      crc = crc32Ascii(crc, l[1]);
    }
  }
  return crc32Signed(crc);
}

/** The checksum string (for tests and diagnostics only; the hot path never builds it). */
export function okxChecksumString(bids: readonly Level[], asks: readonly Level[]): string {
  const parts: string[] = [];
  for (let i = 0; i < OKX_CHECKSUM_LEVELS; i++) {
    if (i < bids.length) parts.push(bids[i][0], bids[i][1]);
    if (i < asks.length) parts.push(asks[i][0], asks[i][1]);
  }
  return parts.join(':');
}

/**
 * True when the book's top 25 reproduce `expected` (the venue value; compared as signed 32-bit, so an unsigned
 * representation of the same bits also matches).
 */
export function okxChecksumMatches(book: { readonly bids: LevelSource; readonly asks: LevelSource }, expected: number): boolean {
  return okxChecksumOf(book.bids, book.asks) === (expected | 0);
}
