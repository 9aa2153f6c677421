/**
 * Pyth feed naming: the source id and the canonical spelling of a feed id.
 */

/** The source name of Pyth oracle feeds (`venue` in their `FeedInfo`, `source` in `price_update`). */
export const PYTH_SOURCE = 'pyth';

/**
 * A Pyth price feed id in canonical form (`0x` + 64 lowercase hex digits), from a client's spelling: 64 hex digits
 * with or without `0x` / `0X`, any case (Hermes accepts the same: https://docs.pyth.network/price-feeds/price-feeds).
 * Returns `null` for anything else.
 */
export function parsePythFeedId(id: string): string | null {
  if (typeof id !== 'string') return null;
  const hex = id.length === 66 && (id[1] === 'x' || id[1] === 'X') && id[0] === '0' ? id.slice(2) : id;
  if (hex.length !== 64 || !/^[0-9a-fA-F]{64}$/.test(hex)) return null;
  return `0x${hex.toLowerCase()}`;
}

