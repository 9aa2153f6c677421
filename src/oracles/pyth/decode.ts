/**
 * Pure decoding of Pyth Hermes payloads: SSE event data (`{"binary":{...},"parsed":[...]}`), the `/v2/price_feeds`
 * catalog, fixed-point scaling, and the client-protocol `price_update` message. No I/O; nothing here throws on
 * upstream input (results say what was dropped), except {@link decodeCatalog} which throws a typed error.
 *
 * Rules implemented: price = integer × 10^expo, confidence likewise (https://docs.pyth.network/price-feeds/best-practices#fixed-point-numeric-representation);
 * the SSE data format of https://docs.pyth.network/price-feeds/fetch-price-updates#streaming.
 */
import { TributaryError } from '../../core/errors.ts';
import type { OracleBinary, OraclePrice } from '../../core/events.ts';
import { PYTH_SOURCE, parsePythFeedId } from './ids.ts';
import { HERMES_ASSET_TYPES, type HermesPriceFeedMetadata } from './wire.ts';

export { parsePythFeedId };

/** One catalog entry, normalized. */
export interface PythFeedMeta {
  /** Canonical id (`0x` + 64 lowercase hex). */
  readonly id: string;
  /** Pyth symbol, e.g. `Crypto.BTC/USD` ('' when the catalog entry had none). */
  readonly symbol: string;
  /** Lower-case asset type (`crypto`, `fx`, ...), '' when absent. */
  readonly assetType: string;
  readonly base: string;
  readonly quote: string;
  /** Canonical instrument symbol (`BTC/USD`) when base and quote are known; links the feed to exchange books. */
  readonly instrument: string | undefined;
  /** The attributes as received (served unchanged by the Hermes-compatible API). */
  readonly attributes: Readonly<Record<string, string>>;
}

const INT = /^-?[0-9]{1,40}$/;
const UINT = /^[0-9]{1,40}$/;

/**
 * `integer × 10^expo` as a plain decimal string, exactly (no float): `("6163260000000", -8)` → `"61632.6"`,
 * `("-5", -3)` → `"-0.005"`, `("12", 2)` → `"1200"`. Trailing fractional zeros are dropped.
 * `intStr` must match `-?[0-9]+` (not checked here).
 */
export function scaleDecimal(intStr: string, expo: number): string {
  const neg = intStr.charCodeAt(0) === 45;
  let digits = neg ? intStr.slice(1) : intStr;
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  digits = digits.slice(i);
  let out: string;
  if (expo >= 0) {
    out = digits === '0' ? '0' : digits + '0'.repeat(expo);
  } else {
    const k = -expo;
    const padded = digits.length <= k ? '0'.repeat(k - digits.length + 1) + digits : digits;
    const intPart = padded.slice(0, padded.length - k);
    let frac = padded.slice(padded.length - k);
    let e = frac.length;
    while (e > 0 && frac.charCodeAt(e - 1) === 48) e--;
    frac = frac.slice(0, e);
    out = frac.length > 0 ? `${intPart}.${frac}` : intPart;
  }
  return neg && out !== '0' ? `-${out}` : out;
}

/** `integer × 10^expo` as the nearest double (parsed from the exact decimal, so `6163260000000e-8` is `61632.6`). */
export function scaleToNumber(intStr: string, expo: number): number {
  return Number(scaleDecimal(intStr, expo));
}

/** Result of {@link decodePriceEvent}. */
export type PriceEventResult =
  | {
      readonly ok: true;
      /** Valid entries, in event order. */
      readonly updates: OraclePrice[];
      readonly binary: OracleBinary | null;
      /** Entries of `parsed[]` dropped as malformed. */
      readonly dropped: number;
    }
  | { readonly ok: false; readonly code: 'PROTOCOL_MALFORMED'; readonly reason: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const optInt = (v: unknown): number | null | undefined => (v === undefined || v === null ? null : isInt(v) ? v : undefined);

interface Px {
  price: string;
  conf: string;
  expo: number;
  publishTime: number;
}

function readPrice(v: unknown): Px | undefined {
  if (!isObj(v)) return undefined;
  const { price, conf, expo, publish_time } = v;
  if (typeof price !== 'string' || !INT.test(price)) return undefined;
  if (typeof conf !== 'string' || !UINT.test(conf)) return undefined;
  if (!isInt(expo) || expo < -64 || expo > 64) return undefined;
  if (!isInt(publish_time) || publish_time < 0) return undefined;
  return { price, conf, expo, publishTime: publish_time };
}

/** One `parsed[]` entry → {@link OraclePrice}, or undefined when malformed. */
export function decodeParsedEntry(v: unknown, recvTs: number): OraclePrice | undefined {
  if (!isObj(v) || typeof v.id !== 'string') return undefined;
  const id = parsePythFeedId(v.id);
  if (id === null) return undefined;
  const p = readPrice(v.price);
  const e = readPrice(v.ema_price);
  if (!p || !e) return undefined;
  const md = v.metadata === undefined || v.metadata === null ? {} : v.metadata;
  if (!isObj(md)) return undefined;
  const slot = optInt(md.slot);
  const proof = optInt(md.proof_available_time);
  const prev = optInt(md.prev_publish_time);
  if (slot === undefined || proof === undefined || prev === undefined) return undefined;
  return {
    source: PYTH_SOURCE,
    id,
    price: p.price,
    conf: p.conf,
    expo: p.expo,
    publishTime: p.publishTime,
    priceNum: scaleToNumber(p.price, p.expo),
    confNum: scaleToNumber(p.conf, p.expo),
    emaPrice: e.price,
    emaConf: e.conf,
    emaExpo: e.expo,
    emaPublishTime: e.publishTime,
    slot,
    proofAvailableTime: proof,
    prevPublishTime: prev,
    recvTs,
    symbol: null,
    instrument: null,
    status: 'trading',
  };
}

function readBinary(v: unknown): OracleBinary | null | undefined {
  if (v === undefined || v === null) return null;
  if (!isObj(v)) return undefined;
  const { encoding, data } = v;
  if ((encoding !== 'hex' && encoding !== 'base64') || !Array.isArray(data) || !data.every((d) => typeof d === 'string')) return undefined;
  return { encoding, data: data as string[] };
}

/**
 * Decodes the `data` of one Hermes SSE price event. `keepBinary` false drops the binary payload (memory).
 * An event that is not JSON, not an object, has a malformed `binary` or no `parsed` array (the stream must be
 * requested with `parsed=true`) is rejected; malformed `parsed[]` entries are dropped and counted.
 */
export function decodePriceEvent(data: string, recvTs: number, keepBinary = true): PriceEventResult {
  let o: unknown;
  try {
    o = JSON.parse(data);
  } catch {
    return { ok: false, code: 'PROTOCOL_MALFORMED', reason: 'event data is not JSON' };
  }
  if (!isObj(o)) return { ok: false, code: 'PROTOCOL_MALFORMED', reason: 'event data is not an object' };
  const binary = readBinary(o.binary);
  if (binary === undefined) return { ok: false, code: 'PROTOCOL_MALFORMED', reason: 'malformed "binary"' };
  if (!Array.isArray(o.parsed)) return { ok: false, code: 'PROTOCOL_MALFORMED', reason: 'no "parsed" array (request parsed=true)' };
  const updates: OraclePrice[] = [];
  let dropped = 0;
  for (const entry of o.parsed) {
    const u = decodeParsedEntry(entry, recvTs);
    if (u) updates.push(u);
    else dropped++;
  }
  return { ok: true, updates, binary: keepBinary ? binary : null, dropped };
}

/** Canonical instrument (`BASE/QUOTE`) of catalog attributes: from `base` + `quote_currency`, else from `symbol`'s `X.BASE/QUOTE`. */
export function instrumentOf(attributes: Readonly<Record<string, string>>): string | undefined {
  const base = attributes.base?.trim();
  const quote = attributes.quote_currency?.trim();
  if (base && quote && /^[A-Za-z0-9]+$/.test(base) && /^[A-Za-z0-9]+$/.test(quote)) return `${base.toUpperCase()}/${quote.toUpperCase()}`;
  const m = /^[A-Za-z]+\.([A-Za-z0-9]+)\/([A-Za-z0-9]+)$/.exec(attributes.symbol ?? '');
  return m ? `${m[1].toUpperCase()}/${m[2].toUpperCase()}` : undefined;
}

/** Normalizes one catalog entry; undefined when its id is not a feed id or attributes are not strings. */
export function feedMetaOf(entry: unknown): PythFeedMeta | undefined {
  if (!isObj(entry) || typeof entry.id !== 'string' || !isObj(entry.attributes)) return undefined;
  const id = parsePythFeedId(entry.id);
  if (id === null) return undefined;
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry.attributes)) if (typeof v === 'string') attributes[k] = v;
  const m = /^[A-Za-z]+\.(.+)$/.exec(attributes.symbol ?? '');
  const pair = m ? m[1].split('/') : [];
  return {
    id,
    symbol: attributes.symbol ?? '',
    assetType: (attributes.asset_type ?? '').toLowerCase(),
    base: attributes.base ?? pair[0] ?? '',
    quote: attributes.quote_currency ?? pair[1] ?? '',
    instrument: instrumentOf(attributes),
    attributes,
  };
}

/**
 * Decodes a `GET /v2/price_feeds` body. Entries that are not `{id, attributes}` are skipped (counted in `dropped`).
 * @throws TributaryError `PROTOCOL_MALFORMED` when the body is not a JSON array.
 */
export function decodeCatalog(text: string): { feeds: PythFeedMeta[]; dropped: number } {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new TributaryError('PROTOCOL_MALFORMED', 'Hermes /v2/price_feeds: body is not JSON');
  }
  if (!Array.isArray(o)) throw new TributaryError('PROTOCOL_MALFORMED', 'Hermes /v2/price_feeds: body is not an array');
  const feeds: PythFeedMeta[] = [];
  let dropped = 0;
  for (const e of o) {
    const m = feedMetaOf(e);
    if (m) feeds.push(m);
    else dropped++;
  }
  return { feeds, dropped };
}

/** The catalog entry in Hermes' own shape (`id` without `0x`). */
export function toHermesMetadata(m: PythFeedMeta): HermesPriceFeedMetadata {
  return { id: m.id.slice(2), attributes: { ...m.attributes } };
}

/**
 * Hermes' `/v2/price_feeds` filters: `query` = case-insensitive substring of `symbol`, `assetType` = case-insensitive
 * equality with `asset_type`. Returns whether `m` passes both (absent filters pass).
 */
export function matchesCatalogFilter(m: PythFeedMeta, query: string | undefined, assetType: string | undefined): boolean {
  if (query !== undefined && query !== '' && !m.symbol.toLowerCase().includes(query.toLowerCase())) return false;
  if (assetType !== undefined && assetType !== '' && m.assetType !== assetType.toLowerCase()) return false;
  return true;
}

/** True for an asset type Hermes knows (case-insensitive). */
export function isHermesAssetType(v: string): boolean {
  return (HERMES_ASSET_TYPES as readonly string[]).includes(v.toLowerCase());
}

/** ISO-8601 (UTC) of a Unix time in seconds. */
export function isoFromSeconds(s: number): string {
  return new Date(s * 1000).toISOString();
}


// ───────── replay: the simulator serves recorded events to a client asking for some feeds ─────────

/** The feed ids (`ids[]`) a Hermes stream request asks for, canonical; empty when none is readable. */
export function requestedIds(url: URL): Set<string> {
  const out = new Set<string>();
  for (const key of ['ids[]', 'ids']) {
    for (const v of url.searchParams.getAll(key)) {
      const id = parsePythFeedId(v);
      if (id) out.add(id);
    }
  }
  return out;
}

/**
 * Per-request filter of recorded Hermes SSE event data for the simulator: keeps only the `parsed[]` entries the
 * request's `ids[]` ask for (the recorded `binary` is kept as is: it may cover more feeds, which on-chain
 * verification accepts). Returns the data unchanged when every entry is wanted, undefined when none is.
 * Events that are not JSON price events pass unchanged.
 */
export function filterEventForRequest(url: URL): ((data: string) => string | undefined) | undefined {
  const ids = requestedIds(url);
  if (ids.size === 0) return undefined;
  return (data) => {
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch {
      return data;
    }
    if (!isObj(o) || !Array.isArray(o.parsed)) return data;
    const kept = o.parsed.filter((e) => isObj(e) && typeof e.id === 'string' && ids.has(parsePythFeedId(e.id) ?? ''));
    if (kept.length === 0) return undefined;
    if (kept.length === o.parsed.length) return data;
    return JSON.stringify({ ...o, parsed: kept });
  };
}

/** The simulator's SSE hooks for Pyth recordings (see `SseReplayHooks` in `replay/simulator.ts`). */
export const pythSseReplayHooks = { filterFor: filterEventForRequest };
