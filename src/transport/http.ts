/**
 * The {@link Http} client connectors use for instruments and REST snapshots: Node's global `fetch`
 * with a per-request timeout and errors mapped to the catalog. The project's only request/response HTTP client;
 * `transport/sse.ts` (a long-lived stream over `fetch`) shares its error description and `Retry-After` parsing.
 */
import type { Http } from '../core/transport-types.ts';
import { TributaryError, errorMessage } from '../core/errors.ts';

/** Options of {@link FetchHttp}. */
export interface FetchHttpOptions {
  /** Whole-request timeout (headers and body), ms. Default 10000. */
  readonly timeoutMs?: number;
  /** Extra request headers (e.g. `user-agent`). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Called with every successful (2xx) response body, after it was read: `url`, the body text and the
   * receive time `tsMs` (ms since epoch). Used by the recorder. Errors it throws are ignored.
   */
  readonly onResponse?: (url: string, body: string, tsMs: number) => void;
  /** Clock, ms since epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * `Http` over `fetch`.
 *
 * `get(url)` resolves with the body text of a 2xx response and rejects with a {@link TributaryError}:
 * - `VENUE_RATE_LIMITED` on HTTP 429 or 418, context `{ url, status, retryAfterSec? }` (`retryAfterSec`
 *   from a numeric `Retry-After` header, or computed from an HTTP-date one);
 * - `HTTP_ERROR` on any other non-2xx status (context `{ url, status, body }`, body cut to 500 chars),
 *   on network failure (context `{ url }`, `cause` set) and on timeout (context `{ url, timeoutMs }`).
 *
 * `post(url, body)` (KuCoin's connection token) behaves the same with method POST and a JSON body.
 */
export class FetchHttp implements Http {
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>> | undefined;
  private readonly onResponse: ((url: string, body: string, tsMs: number) => void) | undefined;
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: FetchHttpOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.headers = opts.headers;
    this.onResponse = opts.onResponse;
    this.now = opts.now ?? Date.now;
    this.fetchFn = opts.fetch ?? globalThis.fetch;
  }

  /** GETs `url` and returns the body text. See the class doc for the errors. */
  get(url: string): Promise<string> {
    return this.request('GET', url, undefined);
  }

  /**
   * POSTs `body` (JSON text, `content-type: application/json`) to `url` and returns the response body text.
   * Same timeout and errors as {@link FetchHttp.get} (messages start with `POST`). `onResponse` is not called: POST
   * answers are connection tokens (KuCoin `bullet-public`), which recordings must not keep and replays synthesize.
   */
  post(url: string, body: string): Promise<string> {
    return this.request('POST', url, body);
  }

  private async request(method: 'GET' | 'POST', url: string, payload: string | undefined): Promise<string> {
    let res: Response;
    let body: string;
    try {
      const init: RequestInit = { method, signal: AbortSignal.timeout(this.timeoutMs) };
      if (payload !== undefined) {
        init.body = payload;
        init.headers = { ...this.headers, 'content-type': 'application/json' };
      } else if (this.headers) {
        init.headers = this.headers;
      }
      res = await this.fetchFn(url, init);
      body = await res.text();
    } catch (e) {
      if (isTimeout(e)) {
        throw new TributaryError('HTTP_ERROR', `${method} ${url} timed out after ${this.timeoutMs} ms`, { url, timeoutMs: this.timeoutMs }, { cause: e });
      }
      throw new TributaryError('HTTP_ERROR', `${method} ${url} failed: ${describeFetchError(e)}`, { url }, { cause: e });
    }

    const status = res.status;
    if (status === 429 || status === 418) {
      const context: Record<string, unknown> = { url, status };
      const retryAfterSec = parseRetryAfter(res.headers.get('retry-after'), this.now());
      if (retryAfterSec !== undefined) context.retryAfterSec = retryAfterSec;
      throw new TributaryError('VENUE_RATE_LIMITED', `${method} ${url}: rate limited (HTTP ${status})`, context);
    }
    if (status < 200 || status > 299) {
      throw new TributaryError('HTTP_ERROR', `${method} ${url}: HTTP ${status}`, { url, status, body: body.slice(0, 500) });
    }
    if (this.onResponse && method === 'GET') {
      try {
        this.onResponse(url, body, this.now());
      } catch {
        // the hook must not break the request
      }
    }
    return body;
  }
}

/** Creates the default {@link Http} client (a {@link FetchHttp}). */
export function createHttp(opts: FetchHttpOptions = {}): Http {
  return new FetchHttp(opts);
}

function isTimeout(e: unknown): boolean {
  return e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
}

/** A `fetch` failure as text. Network errors from undici carry the useful part (ECONNREFUSED, ENOTFOUND) in `cause`. */
export function describeFetchError(e: unknown): string {
  const msg = errorMessage(e);
  const cause = e instanceof Error ? e.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${msg} (${code ?? cause.message})`;
  }
  return msg;
}

/** `Retry-After` in seconds: delta-seconds or an HTTP date relative to `nowMs`; undefined when absent / unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
