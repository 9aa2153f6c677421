/**
 * The camelCase spellings the configuration used before it settled on one casing (snake_case), in one table
 * used both ways:
 *
 * - **In files** (deprecated): `server.maxClientFrameBytes`, `transport.backoffBaseMs`, `venues.*.wsBase`, … are
 *   renamed to their snake_case key before validation, so existing files keep working. A file giving both
 *   spellings of one key is rejected (`CONFIG_INVALID`).
 */
import { TributaryError } from '../core/errors.ts';

type Json = Record<string, unknown>;

/** camelCase → snake_case per object kind. */
export const LEGACY_KEYS = {
  server: { maxClientFrameBytes: 'max_client_frame_bytes', maxBufferedBytes: 'max_buffered_bytes', releaseGraceMs: 'release_grace_ms' },
  transport: { connectTimeoutMs: 'connect_timeout_ms', backoffBaseMs: 'backoff_base_ms', backoffCapMs: 'backoff_cap_ms', httpTimeoutMs: 'http_timeout_ms' },
  venue: { wsBase: 'ws_base', restBase: 'rest_base', rateLimit: 'rate_limit', takerFeeBps: 'taker_fee_bps' },
  rate_limit: { requestsPerSecond: 'requests_per_second', burstSize: 'burst_size' },
} as const satisfies Record<string, Record<string, string>>;

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

function renameKeys(o: unknown, table: Record<string, string>, where: string): unknown {
  if (!isObj(o)) return o;
  const out: Json = { ...o };
  for (const [camel, snake] of Object.entries(table)) {
    if (!(camel in out)) continue;
    if (snake in out) throw new TributaryError('CONFIG_INVALID', `${where}: give ${snake} or ${camel} (old spelling), not both`);
    out[snake] = out[camel];
    delete out[camel];
  }
  return out;
}

function renameVenues(section: unknown, name: string): unknown {
  if (!isObj(section)) return section;
  const out: Json = {};
  for (const [id, entry] of Object.entries(section)) {
    const e = renameKeys(entry, LEGACY_KEYS.venue, `${name}.${id}`);
    out[id] = isObj(e) && 'rate_limit' in e ? { ...e, rate_limit: renameKeys(e.rate_limit, LEGACY_KEYS.rate_limit, `${name}.${id}.rate_limit`) } : e;
  }
  return out;
}

/**
 * Returns `raw` (a config file's object) with the old camelCase keys renamed to snake_case; `raw` is not changed.
 * @throws TributaryError `CONFIG_INVALID` when one object gives both spellings of a key.
 */
export function normalizeLegacyKeys(raw: Json): Json {
  const out: Json = { ...raw };
  if ('server' in out) out.server = renameKeys(out.server, LEGACY_KEYS.server, 'server');
  if ('transport' in out) out.transport = renameKeys(out.transport, LEGACY_KEYS.transport, 'transport');
  if ('venues' in out) out.venues = renameVenues(out.venues, 'venues');
  if ('exchanges' in out) out.exchanges = renameVenues(out.exchanges, 'exchanges');
  return out;
}

