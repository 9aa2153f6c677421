/**
 * Fast path for the hottest Bybit frame: `orderbook.{depth}.{symbol}` snapshots and deltas.
 *
 * A single left-to-right scan of the compact JSON Bybit sends, extracting only what the decoder needs
 * (type, ts, s, b, a, u) without building the rest of the object tree. It accepts a strict subset of JSON:
 * no whitespace, no escapes in strings, integer numbers, the known keys in any order (unknown keys with
 * string, number, boolean or null values are skipped). Anything else returns `undefined` and the decoder
 * falls back to `JSON.parse`, so correctness never depends on this scanner; a test checks that on every
 * recorded frame it returns exactly what `JSON.parse` gives.
 *
 * Frame shape (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook):
 * `{"topic","type":"snapshot"|"delta","ts","data":{"s","b":[[price,size]],"a":[[price,size]],"u","seq"},"cts"}`
 * (`BybitOrderbookFrame` in `wire.ts`).
 */
import type { BybitLevel } from './wire.ts';

/** The fields of an order-book frame the decoder uses. Levels are `[price, size]` venue strings. */
export interface ScannedBook {
  topic: string;
  type: string;
  ts: number;
  s: string;
  b: BybitLevel[];
  a: BybitLevel[];
  u: number;
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const COLON = 58; // :
const LBRACE = 123; // {
const RBRACE = 125; // }
const LBRACKET = 91; // [
const RBRACKET = 93; // ]
const MINUS = 45; // -

/** Scanner state: the text and a cursor; `fail` aborts to the JSON.parse fallback. */
class Cursor {
  i = 0;
  constructor(readonly t: string) {}
}

const FAIL = Symbol('fail');

function expect(c: Cursor, code: number): void {
  if (c.t.charCodeAt(c.i) !== code) throw FAIL;
  c.i++;
}

/** A string without escapes (the caller checked the frame has no backslash at all). */
function str(c: Cursor): string {
  const t = c.t;
  if (t.charCodeAt(c.i) !== QUOTE) throw FAIL;
  const end = t.indexOf('"', c.i + 1);
  if (end < 0) throw FAIL;
  const s = t.slice(c.i + 1, end);
  c.i = end + 1;
  return s;
}

/** A JSON integer (Bybit timestamps and sequences); anything else fails. */
function int(c: Cursor): number {
  const t = c.t;
  let i = c.i;
  let neg = false;
  if (t.charCodeAt(i) === MINUS) {
    neg = true;
    i++;
  }
  const start = i;
  let v = 0;
  for (;;) {
    const d = t.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) break; // also NaN: the text ends inside the number
    v = v * 10 + d;
    i++;
  }
  if (i === start || i - start > 15) throw FAIL; // no digits, or beyond exact double integers
  const next = t.charCodeAt(i);
  if (next === 46 || next === 101 || next === 69) throw FAIL; // fraction or exponent: not an integer
  c.i = i;
  return neg ? -v : v;
}

/** `[["p","s"],...]` */
function levels(c: Cursor): BybitLevel[] {
  expect(c, LBRACKET);
  const out: BybitLevel[] = [];
  if (c.t.charCodeAt(c.i) === RBRACKET) {
    c.i++;
    return out;
  }
  for (;;) {
    expect(c, LBRACKET);
    const p = str(c);
    expect(c, COMMA);
    const s = str(c);
    expect(c, RBRACKET);
    out.push([p, s]);
    const ch = c.t.charCodeAt(c.i++);
    if (ch === RBRACKET) return out;
    if (ch !== COMMA) throw FAIL;
  }
}

/** Skips a scalar value (string, number, true/false/null). Nested values fail. */
function skipScalar(c: Cursor): void {
  const t = c.t;
  const ch = t.charCodeAt(c.i);
  if (ch === QUOTE) {
    str(c);
    return;
  }
  if (ch === LBRACE || ch === LBRACKET) throw FAIL;
  let i = c.i;
  for (;;) {
    const x = t.charCodeAt(i);
    if (x === COMMA || x === RBRACE || x === RBRACKET || Number.isNaN(x)) break;
    i++;
  }
  if (i === c.i) throw FAIL;
  const lit = t.slice(c.i, i);
  if (lit !== 'true' && lit !== 'false' && lit !== 'null' && !/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(lit)) throw FAIL;
  c.i = i;
}

function data(c: Cursor, out: Partial<ScannedBook>): void {
  expect(c, LBRACE);
  for (;;) {
    const key = str(c);
    expect(c, COLON);
    switch (key) {
      case 's':
        out.s = str(c);
        break;
      case 'b':
        out.b = levels(c);
        break;
      case 'a':
        out.a = levels(c);
        break;
      case 'u':
        out.u = int(c);
        break;
      default:
        skipScalar(c);
    }
    const ch = c.t.charCodeAt(c.i++);
    if (ch === RBRACE) return;
    if (ch !== COMMA) throw FAIL;
  }
}

/**
 * Scans an order-book frame. Returns undefined when the text is not in the accepted subset or a field the
 * decoder needs is missing (the caller then uses `JSON.parse` and its own validation).
 */
export function scanBookFrame(text: string): ScannedBook | undefined {
  if (text.indexOf('\\') >= 0) return undefined;
  const c = new Cursor(text);
  const out: Partial<ScannedBook> = {};
  try {
    expect(c, LBRACE);
    for (;;) {
      const key = str(c);
      expect(c, COLON);
      switch (key) {
        case 'topic':
          out.topic = str(c);
          break;
        case 'type':
          out.type = str(c);
          break;
        case 'ts':
          out.ts = int(c);
          break;
        case 'data':
          data(c, out);
          break;
        default:
          skipScalar(c);
      }
      const ch = text.charCodeAt(c.i++);
      if (ch === RBRACE) break;
      if (ch !== COMMA) return undefined;
    }
    if (c.i !== text.length) return undefined;
  } catch (e) {
    if (e === FAIL) return undefined;
    throw e;
  }
  if (out.topic === undefined || out.type === undefined || out.ts === undefined || out.s === undefined || out.b === undefined || out.a === undefined || out.u === undefined) {
    return undefined;
  }
  return out as ScannedBook;
}
