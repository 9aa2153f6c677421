/**
 * What Kraken's v1 and v2 decoders share (see `./decode.ts`): the venue id, v1 / v2 symbol names, the per-connection
 * {@link KrakenSession} (keys, v2 precisions, book-message counter), constant signals, typed venue errors, checksums.
 */
import type { Level } from '../../core/events.ts';
import { TributaryError, type ErrorCode } from '../../core/errors.ts';
import type { Decoded } from '../connector.ts';
import type { KrakenProtocol } from './wire.ts';
import { NO_EVENTS } from '../decode-util.ts';

/** Venue id. */
export const KRAKEN = 'kraken';

/** Kraken's legacy asset codes in v1 names (`XBT/USD`) and their common names (v2 and canonical: `BTC/USD`). */
const TO_COMMON: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };
const TO_LEGACY: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };

/** A v1 asset code in its common form: `XBT` → `BTC`, `XDG` → `DOGE`, others unchanged. */
export function krakenCommonAsset(code: string): string {
  return TO_COMMON[code] ?? code;
}

/** The v2 symbol of a v1 `wsname`: `XBT/USD` → `BTC/USD`, `XDG/XBT` → `DOGE/BTC`. */
export function krakenV2Symbol(wsname: string): string {
  const slash = wsname.indexOf('/');
  if (slash < 0) return wsname;
  return krakenCommonAsset(wsname.slice(0, slash)) + '/' + krakenCommonAsset(wsname.slice(slash + 1));
}

/** The v1 `wsname` of a v2 symbol: `BTC/USD` → `XBT/USD`, `DOGE/USD` → `XDG/USD` (inverse of {@link krakenV2Symbol}). */
export function krakenWsName(v2Symbol: string): string {
  const slash = v2Symbol.indexOf('/');
  if (slash < 0) return v2Symbol;
  const b = v2Symbol.slice(0, slash);
  const q = v2Symbol.slice(slash + 1);
  return (TO_LEGACY[b] ?? b) + '/' + (TO_LEGACY[q] ?? q);
}

/**
 * Decimal places of a step such as `"0.1"` (1), `"0.00000001"` (8), `"1"` (0); undefined when not a plain decimal
 * or finer than 20 places (beyond any venue precision, and `toFixed`'s range stays safe).
 */
export function decimalsOf(step: string | undefined): number | undefined {
  if (step === undefined || !/^\d+(\.\d+)?$/.test(step)) return undefined;
  const dot = step.indexOf('.');
  const d = dot < 0 ? 0 : step.length - dot - 1;
  return d <= 20 ? d : undefined;
}

/** What the session knows of one v2 symbol. Precisions are decimal places (prices in quote currency, qty in base units). */
export interface KrakenSymbolInfo {
  readonly key: string;
  readonly pricePrecision: number | undefined;
  readonly qtyPrecision: number | undefined;
}

/**
 * Per-connection decoder state, fresh per connection.
 * - `protocol`: what the connection was planned for (from its URL);
 * - `v1`: v1 `wsname` (`XBT/USD`) → instrument key (`spot:XBT/USD`);
 * - `v2`: v2 symbol (`BTC/USD`) → key and the precisions v2 numbers are formatted with.
 * - `seq`: per instrument key, the last number of the session's own book-message counter. Kraken books carry no
 *   sequence; the sync rule `none` only needs each message to be newer than the book (`lastSeq > seq`), so the
 *   session numbers a book's messages 1, 2, 3, … (snapshot included). Gaps are found by the checksum alone.
 * Symbols not in the maps (frames of unplanned subscriptions) get key `spot:{wsname}` and, on v2, no checksum
 * (without the precision the venue text cannot be reproduced).
 */
export interface KrakenSession {
  readonly protocol: KrakenProtocol;
  readonly v1: Map<string, string>;
  readonly v2: Map<string, KrakenSymbolInfo>;
  readonly seq: Map<string, number>;
}

/** Instrument fields the session needs: key, v1 `wsname` (= venue symbol), tick / lot size (give the precisions). */
export interface KrakenSessionInstrument {
  readonly key: string;
  readonly venueSymbol: string;
  readonly tickSize?: string;
  readonly lotSize?: string;
}

/** New decoder state for a connection speaking `protocol`, with lookups for `instruments`. */
export function newKrakenSession(protocol: KrakenProtocol, instruments: Iterable<KrakenSessionInstrument> = []): KrakenSession {
  const v1 = new Map<string, string>();
  const v2 = new Map<string, KrakenSymbolInfo>();
  for (const i of instruments) {
    v1.set(i.venueSymbol, i.key);
    v2.set(krakenV2Symbol(i.venueSymbol), { key: i.key, pricePrecision: decimalsOf(i.tickSize), qtyPrecision: decimalsOf(i.lotSize) });
  }
  return { protocol, v1, v2, seq: new Map() };
}

/** The session's next book-message number for `key` (1, 2, …). */
export function nextSeq(session: KrakenSession, key: string): number {
  const n = (session.seq.get(key) ?? 0) + 1;
  session.seq.set(key, n);
  return n;
}

/** Instrument key of a v1 pair; a pair not in the session gets `spot:{pair}` (remembered). */
export function v1Key(session: KrakenSession, pair: string): string {
  let k = session.v1.get(pair);
  if (k === undefined) {
    k = 'spot:' + pair;
    session.v1.set(pair, k);
  }
  return k;
}

/** What the session knows of a v2 symbol; a symbol not in it gets key `spot:{wsname}` and no precisions (remembered). */
export function v2Info(session: KrakenSession, symbol: string): KrakenSymbolInfo {
  let i = session.v2.get(symbol);
  if (i === undefined) {
    i = { key: 'spot:' + krakenWsName(symbol), pricePrecision: undefined, qtyPrecision: undefined };
    session.v2.set(symbol, i);
  }
  return i;
}

/** The empty side of a book message (shared, frozen). */
export const NO_LEVELS: readonly Level[] = Object.freeze([]) as readonly Level[];

/** A frozen {@link Decoded} returned as is for every frame of its kind. */
function constant(d: Decoded): Decoded {
  return Object.freeze(d);
}

/** Signal `heartbeat`, no events. */
export const HEARTBEAT: Decoded = constant({ events: NO_EVENTS, signal: { kind: 'heartbeat' } });
/** Signal `ignored` per ignored channel / event (the reason), no events. */
export const IGNORED: Readonly<Record<string, Decoded>> = {
  spread: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'spread' } }),
  ohlc: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'ohlc' } }),
  instrument: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'instrument' } }),
  level3: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'level3' } }),
  subscriptionStatus: constant({ events: NO_EVENTS, signal: { kind: 'ignored', reason: 'subscriptionStatus' } }),
};

/**
 * Error code of a Kraken error text: rate limits (`Exceeded msg rate`, `EAPI:Rate limit exceeded`,
 * `EGeneral:Too many requests`) → `VENUE_RATE_LIMITED`; authentication / permission texts → `VENUE_AUTH`;
 * anything else (`Currency pair not supported`, `Malformed request`, …) → `VENUE_REJECTED`.
 */
export function krakenErrorCode(text: string): ErrorCode {
  if (/rate|too many|throttl/i.test(text)) return 'VENUE_RATE_LIMITED';
  if (/auth|token|permission|invalid key|invalid signature|invalid nonce/i.test(text)) return 'VENUE_AUTH';
  return 'VENUE_REJECTED';
}

/** A venue error text as an `error` signal, typed by {@link krakenErrorCode}; the frame is kept (200 chars) in the context. */
export function venueError(text: string, context: Record<string, unknown>, data: string): Decoded {
  return {
    events: NO_EVENTS,
    signal: { kind: 'error', error: new TributaryError(krakenErrorCode(text), `kraken: ${text || 'error'}`, { venue: KRAKEN, ...context, frame: data.slice(0, 200) }) },
  };
}

/** A checksum value (`"974947235"` on v1, a JSON number on v2) as an unsigned 32-bit integer, or undefined. */
export function checksumValue(v: unknown): number | undefined {
  const n = typeof v === 'string' ? (v.length > 0 && v.length <= 10 ? Number(v) : NaN) : typeof v === 'number' ? v : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}
