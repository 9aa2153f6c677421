/**
 * Small helpers every venue decoder shares: the empty event list, the typed error signals for malformed and
 * unknown frames, and cheap shape checks of parsed JSON. Venue-neutral: no venue rule lives here.
 */
import type { Level, NormalizedEvent } from '../core/events.ts';
import { TributaryError } from '../core/errors.ts';
import type { Decoded } from './connector.ts';

/** A shared, frozen empty event list (decoders return it instead of allocating `[]`). */
export const NO_EVENTS: readonly NormalizedEvent[] = Object.freeze([]) as readonly NormalizedEvent[];

/** How much of an offending frame is kept in the error context (characters). */
const FRAME_EXCERPT = 200;

/** `PROTOCOL_MALFORMED`: the frame could not be parsed or lacks required fields (dropped and counted). */
export function malformedFrame(venue: string, why: string, data: string): Decoded {
  return {
    events: NO_EVENTS,
    signal: { kind: 'error', error: new TributaryError('PROTOCOL_MALFORMED', `${venue}: ${why}`, { venue, frame: data.slice(0, FRAME_EXCERPT) }) },
  };
}

/** `PROTOCOL_UNKNOWN`: a well-formed frame of a kind the decoder does not know (ignored and counted). */
export function unknownFrame(venue: string, what: string, data: string): Decoded {
  return {
    events: NO_EVENTS,
    signal: { kind: 'error', error: new TributaryError('PROTOCOL_UNKNOWN', `${venue}: unknown frame (${what})`, { venue, frame: data.slice(0, FRAME_EXCERPT) }) },
  };
}

/**
 * A parsed venue frame (or part of one) read as its `wire.ts` type `W` before any field is checked: only the fields
 * `W` declares can be read, and each reads as `unknown` until the decoder tests it (venue input is never trusted).
 * A union `A | B` (a frame not yet told apart) offers the fields of every member; a tuple type reads as an array of
 * unknown elements of any length. A type only: it costs nothing at run time.
 *
 * Narrowing is by assignment once a value is known to be an object (`const m: Unchecked<BybitTradeFrame> = msg`
 * after `msg !== null && typeof msg === 'object'`), or with {@link isWireObject}.
 */
export type Unchecked<W> = [W] extends [readonly unknown[]]
  ? readonly [...{ readonly [I in keyof W]?: unknown }, ...unknown[]]
  : { readonly [K in W extends unknown ? keyof W : never]?: unknown };

/**
 * `Array.isArray` typed for parsed venue JSON: narrows to `readonly unknown[]` instead of `any[]`, so every element
 * is checked before use. The very same function (no wrapper, no extra cost).
 */
export const isArray: (v: unknown) => v is readonly unknown[] = Array.isArray;

/** A plain JSON object (not null, not an array), read as wire type `W` with its fields still unchecked. */
export function isWireObject<W>(v: unknown): v is Unchecked<W> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A plain JSON object (not null, not an array), for code outside the decoders that reads arbitrary fields; decoders
 * use {@link isWireObject}.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON is then checked field by field
export function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** True when `a` is an array of `[priceString, sizeString, ...]` levels. Reads, never copies. */
export function levelsOk(a: unknown): a is Level[] {
  if (!isArray(a)) return false;
  for (let i = 0; i < a.length; i++) {
    const l = a[i];
    if (!isArray(l) || typeof l[0] !== 'string' || typeof l[1] !== 'string') return false;
  }
  return true;
}

/** Parses a text frame that should be a JSON object; undefined for invalid JSON or another JSON type. Never throws. */
export function parseJsonObject(data: string): Record<string, unknown> | undefined {
  try {
    const o: unknown = JSON.parse(data);
    return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An array of strings (e.g. a subscribe request's `args`). */
export function isStringArray(a: unknown): a is string[] {
  return Array.isArray(a) && a.every((x) => typeof x === 'string');
}
