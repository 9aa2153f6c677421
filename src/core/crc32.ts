/**
 * CRC-32 as used by venue book checksums (Kraken, OKX): the IEEE 802.3 / zlib variant — reflected polynomial
 * 0xEDB88320, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. Table-driven, one byte per step.
 *
 * Why our own and not `node:zlib` `crc32`: that function only exists from Node 20.15 / 22.2, and it hashes a whole
 * string or buffer, so a checksum would first have to build the concatenated string. Venue checksums are fed level
 * by level with characters skipped or inserted (Kraken drops `.` and leading zeros, OKX inserts `:`), which the
 * streaming {@link crc32Byte} / {@link crc32Ascii} do without allocating anything.
 *
 * The running value is kept as a signed 32-bit integer (what the bit operators produce); {@link crc32Unsigned} and
 * {@link crc32Signed} finish it in the two representations venues publish (Kraken unsigned, OKX signed).
 */

/** The 256-entry lookup table of the reflected polynomial 0xEDB88320 (values as signed int32). */
export const CRC32_TABLE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** Running value before the first byte (0xFFFFFFFF as int32). */
export const CRC32_INIT = -1;

/** Feeds one byte (0…255) into the running value `crc`; returns the new running value. */
export function crc32Byte(crc: number, byte: number): number {
  return CRC32_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
}

/**
 * Feeds every character of `s` as one byte (its char code, which must be < 128 for the result to equal the CRC of
 * the UTF-8 text; venue decimal strings are ASCII). Returns the new running value.
 */
export function crc32Ascii(crc: number, s: string): number {
  const t = CRC32_TABLE;
  for (let i = 0; i < s.length; i++) crc = t[(crc ^ s.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return crc;
}

/** Finishes a running value as an unsigned 32-bit integer (0 … 2^32 − 1), zlib's `crc32` result. */
export function crc32Unsigned(crc: number): number {
  return (crc ^ -1) >>> 0;
}

/** Finishes a running value as a signed 32-bit integer (−2^31 … 2^31 − 1), e.g. Java's `(int) CRC32.getValue()`. */
export function crc32Signed(crc: number): number {
  return crc ^ -1;
}

/**
 * CRC-32 of the UTF-8 encoding of `s`, unsigned. ASCII strings are hashed directly; others are encoded first.
 * Convenience for tests and one-off checks; hot paths use the streaming functions above.
 */
export function crc32(s: string): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return crc32Unsigned(crc32Ascii(CRC32_INIT, s));
  let crc = CRC32_INIT;
  for (const b of Buffer.from(s, 'utf8')) crc = crc32Byte(crc, b);
  return crc32Unsigned(crc);
}
