/**
 * Fast parse of a venue decimal string (`"65114.20"`, `"0.00000637"`, `"12"`) to a number, used only to
 * order book levels. Plain `[digits][.digits]` strings up to 15 digits are parsed with integer arithmetic
 * (about twice as fast as `+s` on V8 for the strings venues send); anything else (exponents, signs, more
 * digits, garbage) falls back to `+s`, so the result is NaN exactly when `+s` is NaN (and for the empty string).
 *
 * The fast path computes `int + frac / 10^k` with each step correctly rounded: it can differ from the
 * correctly rounded value by at most one ulp, which never reorders or merges two prices that differ by a
 * venue tick. Never feed the result back into a venue price (the venue's string is kept for output).
 */
export function parseDecimal(s: string): number {
  const n = s.length;
  if (n === 0) return NaN;
  if (n > 16) return +s;
  let i = 0;
  let v = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  if (i === n) return i === 0 ? NaN : v;
  if (i === 0 || s.charCodeAt(i) !== 46) return +s; // sign, exponent, leading '.', garbage
  i++;
  if (i === n) return +s;
  let f = 0;
  let d = 1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return +s;
    f = f * 10 + c;
    d *= 10;
  }
  return v + f / d;
}
