/**
 * Secrets in the configuration and how they are hidden. Whenever a configuration (or any part of it) is printed
 * or logged, pass it through {@link redact} first: pino's own redaction only reaches two levels deep, and a
 * config puts `api_key` at `venues.<id>.api_key`.
 */

/** What a secret value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Keys whose value is secret wherever they appear: the seed config's per-exchange `api_key` / `api_secret`, and
 * the usual spellings of credentials.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'api_key',
  'api_secret',
  'apiKey',
  'apiSecret',
  'secret',
  'password',
  'passphrase',
  'token',
  'access_token',
  'refresh_token',
]);

/** Keys whose value is a map of secrets: every value under them is redacted (HTTP headers carry API keys). */
export const SECRET_MAP_KEYS: ReadonlySet<string> = new Set(['headers']);

/** URL query parameters whose values are redacted inside URL strings (e.g. `?api-key=…`). */
const SECRET_QUERY = /key|secret|token|signature|password|passphrase|auth/i;

/** True when a config key holds a secret value (see {@link SECRET_KEYS}). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key);
}

/** A URL string with its password and secret-looking query values redacted; other strings unchanged. */
function redactUrl(s: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return s;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return s;
  }
  let changed = false;
  if (u.password) {
    u.password = 'redacted';
    changed = true;
  }
  for (const k of [...u.searchParams.keys()]) {
    if (SECRET_QUERY.test(k)) {
      u.searchParams.set(k, 'redacted');
      changed = true;
    }
  }
  return changed ? u.toString() : s;
}

/**
 * A deep copy of `value` safe to print or log: values under {@link SECRET_KEYS} and every value under
 * {@link SECRET_MAP_KEYS} become {@link REDACTED} (when set), and URL strings lose their password and secret
 * query values. Only own enumerable properties are copied (so the config's non-enumerable aliases are dropped);
 * `value` is not changed. Arrays stay arrays; non-plain values (numbers, booleans, null) are kept.
 */
export function redact<T>(value: T): T {
  return walk(value, false) as T;
}

function walk(v: unknown, secret: boolean): unknown {
  if (v === undefined || v === null) return v;
  if (secret && typeof v !== 'object') return REDACTED;
  if (typeof v === 'string') return redactUrl(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, secret));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (SECRET_MAP_KEYS.has(k) && x && typeof x === 'object') {
        out[k] = walk(x, true);
      } else {
        out[k] = isSecretKey(k) && x !== undefined && x !== null && x !== '' ? REDACTED : walk(x, secret);
      }
    }
    return out;
  }
  return v;
}
