/**
 * The Pyth Hermes source: the feed catalog (`GET /v2/price_feeds`, cached and refreshed) and one SSE stream
 * (`GET /v2/updates/price/stream?ids[]=…&parsed=true`) for the streamed feeds, decoded into {@link OraclePrice}s
 * and published on the bus (`oracle_price`, one message per upstream event).
 *
 * - Streamed feeds: the configured entries (feed ids, or Pyth symbols such as `Crypto.BTC/USD` resolved through
 *   the catalog) plus feeds clients asked for at run time ({@link PythSource.addFeed}; only catalog ids, at most
 *   `maxFeeds`). A change of the set rolls the stream over (the new one opens before the old one closes).
 *   Upstream is asked with `ignore_invalid_price_ids=true`, so one unknown id never fails the whole stream.
 * - Per feed an update is accepted when its `publish_time` (s) is newer, or equal with a newer `slot`; older ones
 *   are dropped as `out_of_order`, equal ones as `duplicate` (a rollover overlaps two streams for a moment).
 * - Stale: a feed whose `publish_time` has not advanced for `staleAfterMs` (local clock) is `stale` until it
 *   advances again (https://docs.pyth.network/price-feeds/best-practices#price-availability: check publish times).
 * - Transport rules (reconnect with backoff + jitter, 429 / Retry-After, idle detection, 24 h rollover) live in
 *   `transport/sse.ts`; an `event: error` from Hermes (e.g. its 24 h timeout) is counted, the server then closes.
 *
 * Hot path: one `JSON.parse` per event and two map lookups per entry; no logging per event; counters are plain
 * fields the composition root copies into metrics once a second.
 */
import { TributaryError, errorMessage, type ErrorCode } from '../../core/errors.ts';
import type { EventPublisher, OracleBinary, OraclePrice } from '../../core/events.ts';
import { PYTH_SOURCE } from './ids.ts';
import { SseStream, redactUrl, type SseEvent } from '../../transport/sse.ts';
import { backoffDelay } from '../../transport/backoff.ts';
import type { Http } from '../../core/transport-types.ts';
import { decodeCatalog, decodePriceEvent, feedMetaOf, matchesCatalogFilter, parsePythFeedId, toHermesMetadata, type PythFeedMeta } from './decode.ts';
import { DEFAULT_PYTH_FEEDS, HERMES_FEEDS_PATH, hermesBaseOf, streamUrl, type HermesPriceFeedMetadata } from './wire.ts';
import type { OracleHealth, PythCounters, PythFeedState } from './state.ts';

export type { OracleHealth, PythCounters, PythFeedState } from './state.ts';

/** Minimal logger (pino fits). */
export interface PythLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Options of {@link PythSource}. Times in ms. */
export interface PythSourceOptions {
  /** The SSE stream URL (`…/v2/updates/price/stream`); a query it has (e.g. an API key) is kept. */
  readonly sseUrl: string;
  /** Base for `/v2/price_feeds` (default: `sseUrl` without the stream path). */
  readonly restBase?: string;
  /** Feed ids (with or without `0x`) or Pyth symbols (`Crypto.BTC/USD`, resolved via the catalog). */
  readonly feeds: readonly string[];
  /** HTTP client for the catalog (its errors: `HTTP_ERROR`, `VENUE_RATE_LIMITED`). */
  readonly http: Http;
  readonly bus: EventPublisher;
  readonly log: PythLogger;
  /** A feed whose `publish_time` has not advanced for this long is stale. Default 30000. */
  readonly staleAfterMs?: number;
  /** Transport idle timeout (no byte incl. keep-alives). Default 60000. */
  readonly idleTimeoutMs?: number;
  /** Replacement stream this long after a stream opened (Hermes ends streams after 24 h). Default 23 h. */
  readonly rolloverMs?: number;
  /** Catalog refresh period. Default 600000 (Hermes refreshes its own every 10 min). */
  readonly catalogRefreshMs?: number;
  /** After HTTP 429 without Retry-After. Default 60000. */
  readonly rateLimitDelayMs?: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** Keep the upstream binary update (served by the Hermes-compatible API). Default true. */
  readonly keepBinary?: boolean;
  /** Request headers for Hermes (e.g. an API key). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Most feeds streamed at once (configured + added). Default 100. */
  readonly maxFeeds?: number;
  /** A feed's status changed to `stale` (it returns to `trading` with its next advancing update). */
  readonly onStale?: (id: string) => void;
  /** Recorder tap: every SSE event as received, with a connection name and the request URL. */
  readonly onEvent?: (connId: string, url: string, ev: SseEvent, tsMs: number) => void;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

interface FeedSlot {
  readonly id: string;
  last: OraclePrice | undefined;
  binary: OracleBinary | null;
  /** Local time (ms) `publish_time` last advanced. */
  lastAdvanceAt: number;
  stale: boolean;
}

const DEFAULT_META = new Map(DEFAULT_PYTH_FEEDS.map((f) => [f.id, feedMetaOf({ id: f.id, attributes: f.attributes })!]));

/** See the module doc. */
export class PythSource {
  readonly counters: PythCounters = { events: 0, updates: 0, dropped: {}, errors: {} };
  private readonly o: PythSourceOptions;
  private readonly restBase: string;
  private readonly staleAfterMs: number;
  private readonly catalogRefreshMs: number;
  private readonly keepBinary: boolean;
  private readonly maxFeeds: number;
  private readonly now: () => number;
  private readonly stream: SseStream;
  private readonly feeds = new Map<string, FeedSlot>();
  private readonly dynamic = new Set<string>();
  private catalog = new Map<string, PythFeedMeta>();
  private bySymbol = new Map<string, string>();
  private catalogLoadedAt = 0;
  private catalogAttempt = 0;
  private catalogTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private rolloverDebounce: NodeJS.Timeout | undefined;
  private streamStarted = false;
  private stopped = false;
  private warnedUnresolved = new Set<string>();
  private _version = 0;
  private connId = 0;
  private connUrl = '';
  private staleCount = 0;
  lastError: { code: string; message: string; at: number } | undefined;

  constructor(opts: PythSourceOptions) {
    this.o = opts;
    this.restBase = (opts.restBase ?? hermesBaseOf(opts.sseUrl)).replace(/\/+$/, '');
    this.staleAfterMs = opts.staleAfterMs ?? 30_000;
    this.catalogRefreshMs = opts.catalogRefreshMs ?? 600_000;
    this.keepBinary = opts.keepBinary ?? true;
    this.maxFeeds = opts.maxFeeds ?? 100;
    this.now = opts.now ?? Date.now;
    this.stream = new SseStream({
      url: () => this.currentUrl(),
      onEvent: (ev, ts) => this.onSseEvent(ev, ts),
      headers: opts.headers,
      connectTimeoutMs: opts.connectTimeoutMs,
      backoff: opts.backoff,
      staleAfterMs: opts.idleTimeoutMs ?? 60_000,
      rolloverMs: opts.rolloverMs,
      rateLimitDelayMs: opts.rateLimitDelayMs,
      fetch: opts.fetch,
      now: opts.now,
      random: opts.random,
      name: PYTH_SOURCE,
      log: opts.log,
    });
    this.stream.on('error', ({ error }) => this.noteError(error.code, error.message));
    this.resolveFeeds();
  }

  /** Streamed feed ids (canonical), in the order they were added. */
  feedIds(): string[] {
    return [...this.feeds.keys()];
  }

  /** Bumped whenever the streamed set changes. */
  get version(): number {
    return this._version;
  }

  /** True when the feed is streamed now. */
  streams(id: string): boolean {
    return this.feeds.has(id);
  }

  /** True when the feed is streamed or listed in the catalog (or is a default feed). */
  known(id: string): boolean {
    return this.feeds.has(id) || this.catalog.has(id) || DEFAULT_META.has(id);
  }

  /** Catalog entry (or the built-in one of a default feed), if any. */
  meta(id: string): PythFeedMeta | undefined {
    return this.catalog.get(id) ?? DEFAULT_META.get(id);
  }

  /** Latest state of a streamed feed. */
  state(id: string): PythFeedState | undefined {
    const f = this.feeds.get(id);
    if (!f) return undefined;
    return { id, last: f.last, binary: f.binary, status: f.last === undefined ? 'unknown' : f.stale ? 'stale' : 'trading' };
  }

  /** `trading`, `stale`, or `unknown` (not streamed / no price yet). */
  status(id: string): 'trading' | 'stale' | 'unknown' {
    const f = this.feeds.get(id);
    return !f || f.last === undefined ? 'unknown' : f.stale ? 'stale' : 'trading';
  }

  /** Catalog feeds (or the defaults while it is not loaded) passing Hermes' `query` / `asset_type` filters. */
  search(query?: string, assetType?: string, limit = Infinity): PythFeedMeta[] {
    const out: PythFeedMeta[] = [];
    const src = this.catalog.size > 0 ? this.catalog.values() : this.fallbackMetas();
    for (const m of src) {
      if (!matchesCatalogFilter(m, query, assetType)) continue;
      out.push(m);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The catalog in Hermes' shape (for `GET /v2/price_feeds`), filtered like Hermes does. */
  catalogEntries(query?: string, assetType?: string): HermesPriceFeedMetadata[] {
    return this.search(query, assetType).map(toHermesMetadata);
  }

  /** Catalog size and load time (ms; 0 = never). */
  get catalogInfo(): { feeds: number; loadedAt: number } {
    return { feeds: this.catalog.size, loadedAt: this.catalogLoadedAt };
  }

  /**
   * Streams one more feed (a client asked for it). Only ids the catalog lists (or default feeds); at most `maxFeeds`.
   * Returns true when the feed is (now) streamed.
   */
  addFeed(id: string): boolean {
    if (this.feeds.has(id)) return true;
    if (!this.catalog.has(id) && !DEFAULT_META.has(id)) return false;
    if (this.feeds.size >= this.maxFeeds) return false;
    this.dynamic.add(id);
    this.addSlot(id);
    this.feedsChanged();
    return true;
  }

  /** Loads the catalog and opens the stream (retries in the background while offline). Never throws. */
  start(): void {
    if (this.stopped) return;
    void this.loadCatalog();
    this.ensureStream();
    const every = Math.max(20, Math.min(1000, Math.floor(this.staleAfterMs / 4)));
    this.staleTimer = setInterval(() => this.checkStale(), every);
    this.staleTimer.unref?.();
  }

  /** Stops the stream and every timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.catalogTimer, this.rolloverDebounce]) if (t) clearTimeout(t);
    if (this.staleTimer) clearInterval(this.staleTimer);
    this.catalogTimer = this.rolloverDebounce = this.staleTimer = undefined;
    await this.stream.stop();
  }

  /** Health for REST. */
  health(): OracleHealth {
    let stale = 0;
    for (const f of this.feeds.values()) if (f.stale) stale++;
    return {
      source: PYTH_SOURCE,
      connected: this.stream.openStreams > 0,
      state: this.stream.state,
      url: redactUrl(this.stream.url || this.o.sseUrl),
      reconnects: this.stream.reconnects,
      rollovers: this.stream.rollovers,
      lastEventAt: this.stream.lastEventAt || null,
      feeds: this.feeds.size,
      staleFeeds: stale,
      catalog: { feeds: this.catalog.size, loadedAt: this.catalogLoadedAt || null },
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Stream reconnects so far. */
  get reconnects(): number {
    return this.stream.reconnects;
  }

  /** Feeds currently stale. */
  get staleFeeds(): number {
    return this.staleCount;
  }

  /** True while at least one upstream stream is open. */
  get connected(): boolean {
    return this.stream.openStreams > 0;
  }

  // ---- internals -------------------------------------------------------------------------------

  private *fallbackMetas(): Iterable<PythFeedMeta> {
    const seen = new Set<string>();
    for (const m of DEFAULT_META.values()) {
      seen.add(m.id);
      yield m;
    }
    for (const id of this.feeds.keys()) if (!seen.has(id)) yield { id, symbol: '', assetType: '', base: '', quote: '', instrument: undefined, attributes: {} };
  }

  private noteError(code: ErrorCode, message: string): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
    this.lastError = { code, message, at: this.now() };
  }

  private drop(reason: string, n = 1): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + n;
  }

  private currentUrl(): string {
    const url = streamUrl(this.o.sseUrl, this.feeds.keys());
    if (url !== this.connUrl) {
      this.connUrl = url;
      this.connId++;
    }
    return url;
  }

  private addSlot(id: string): void {
    if (this.feeds.has(id)) return;
    this.feeds.set(id, { id, last: undefined, binary: null, lastAdvanceAt: 0, stale: false });
    this._version++;
  }

  /** Configured entries → streamed ids (symbols need the catalog). */
  private resolveFeeds(): void {
    for (const entry of this.o.feeds) {
      if (this.feeds.size >= this.maxFeeds) break;
      const id = parsePythFeedId(entry) ?? this.bySymbol.get(entry.trim().toLowerCase());
      if (id !== undefined) {
        this.addSlot(id);
      } else if (this.catalog.size > 0 && !this.warnedUnresolved.has(entry)) {
        this.warnedUnresolved.add(entry);
        this.o.log.warn({ feed: entry }, 'configured Pyth feed is neither a feed id nor a catalog symbol');
      }
    }
  }

  private feedsChanged(): void {
    if (this.stopped) return;
    if (!this.streamStarted) {
      this.ensureStream();
      return;
    }
    // Coalesce bursts of subscriptions into one rollover (Hermes allows 30 requests / 10 s per IP).
    if (this.rolloverDebounce) return;
    this.rolloverDebounce = setTimeout(() => {
      this.rolloverDebounce = undefined;
      if (!this.stopped) this.stream.rolloverNow();
    }, 250);
  }

  private ensureStream(): void {
    if (this.stopped || this.streamStarted || this.feeds.size === 0) return;
    this.streamStarted = true;
    this.stream.start();
  }

  private async loadCatalog(): Promise<void> {
    this.catalogTimer = undefined;
    if (this.stopped) return;
    let delay: number;
    try {
      const body = await this.o.http.get(`${this.restBase}${HERMES_FEEDS_PATH}`);
      if (this.stopped) return;
      const { feeds, dropped } = decodeCatalog(body);
      const map = new Map<string, PythFeedMeta>();
      const bySymbol = new Map<string, string>();
      for (const m of feeds) {
        map.set(m.id, m);
        if (m.symbol) bySymbol.set(m.symbol.toLowerCase(), m.id);
      }
      this.catalog = map;
      this.bySymbol = bySymbol;
      this.catalogLoadedAt = this.now();
      this.catalogAttempt = 0;
      if (dropped > 0) this.drop('malformed_catalog_entry', dropped);
      const before = this.feeds.size;
      this.resolveFeeds();
      for (const id of this.feeds.keys()) {
        if (!map.has(id) && !this.warnedUnresolved.has(id)) {
          this.warnedUnresolved.add(id);
          this.o.log.warn({ feed: id }, 'streamed Pyth feed id is not in the Hermes catalog');
        }
      }
      this._version++;
      if (this.feeds.size !== before) this.feedsChanged();
      this.o.log.info({ feeds: map.size }, 'Pyth catalog loaded');
      delay = this.catalogRefreshMs;
    } catch (e) {
      if (this.stopped) return;
      const code: ErrorCode = e instanceof TributaryError ? e.code : 'HTTP_ERROR';
      this.noteError(code, `catalog: ${errorMessage(e)}`);
      const attempt = ++this.catalogAttempt;
      delay = backoffDelay(attempt, { baseMs: this.o.backoff?.baseMs, capMs: this.o.backoff?.capMs, minFraction: 0.1, random: this.o.random });
      const retryAfter = e instanceof TributaryError ? (e.context?.retryAfterSec as number | undefined) : undefined;
      if (code === 'VENUE_RATE_LIMITED') delay = Math.max(delay, retryAfter !== undefined ? retryAfter * 1000 : (this.o.rateLimitDelayMs ?? 60_000));
      if (attempt === 1 || attempt % 10 === 0) this.o.log.warn({ err: errorMessage(e), attempt, delayMs: delay }, 'Pyth catalog load failed; retrying');
    }
    this.catalogTimer = setTimeout(() => void this.loadCatalog(), delay);
    this.catalogTimer.unref?.();
  }

  /** Hot path: one SSE event. */
  private onSseEvent(ev: SseEvent, recvTs: number): void {
    this.counters.events++;
    const tap = this.o.onEvent;
    if (tap) {
      try {
        tap(`PYTH.sse.${this.connId}`, this.connUrl, ev, recvTs);
      } catch {
        // the recorder must not break ingest
      }
    }
    if (ev.type !== 'message') {
      if (ev.type === 'error') this.noteError('STREAM_ERROR_EVENT', ev.data.slice(0, 200));
      else this.drop('unknown_event');
      return;
    }
    const r = decodePriceEvent(ev.data, recvTs, this.keepBinary);
    if (!r.ok) {
      this.drop('malformed_event');
      this.noteError(r.code, r.reason);
      return;
    }
    if (r.dropped > 0) this.drop('malformed_entry', r.dropped);
    let accepted: OraclePrice[] | undefined;
    for (const u of r.updates) {
      const f = this.feeds.get(u.id);
      if (f === undefined) {
        this.drop('unsubscribed');
        continue;
      }
      const last = f.last;
      let advanced = true;
      if (last !== undefined) {
        if (u.publishTime < last.publishTime) {
          this.drop('out_of_order');
          continue;
        }
        if (u.publishTime === last.publishTime) {
          if (u.slot === null || last.slot === null || u.slot <= last.slot) {
            this.drop('duplicate');
            continue;
          }
          advanced = false;
        }
      }
      if (advanced) {
        f.lastAdvanceAt = recvTs;
        if (f.stale) {
          f.stale = false;
          this.staleCount--;
        }
      }
      const meta = this.meta(u.id);
      const v: OraclePrice = meta ? { ...u, symbol: meta.symbol || null, instrument: meta.instrument ?? null } : u;
      f.last = v;
      f.binary = r.binary;
      (accepted ??= []).push(v);
    }
    if (accepted === undefined) return;
    this.counters.updates += accepted.length;
    if (this.o.bus.has('oracle_price')) this.o.bus.publish('oracle_price', { kind: 'oracle_price', source: PYTH_SOURCE, updates: accepted, binary: r.binary, recvTs });
  }

  private checkStale(): void {
    const now = this.now();
    for (const f of this.feeds.values()) {
      if (f.stale || f.last === undefined) continue;
      if (now - f.lastAdvanceAt > this.staleAfterMs) {
        f.stale = true;
        this.staleCount++;
        f.last = { ...f.last, status: 'stale' };
        if (this.o.bus.has('oracle_price')) this.o.bus.publish('oracle_price', { kind: 'oracle_price', source: PYTH_SOURCE, updates: [f.last], binary: null, recvTs: now });
        this.noteError('ORACLE_STALE', `${f.id}: publish_time ${f.last.publishTime} has not advanced for ${now - f.lastAdvanceAt} ms`);
        try {
          this.o.onStale?.(f.id);
        } catch (e) {
          this.o.log.warn({ err: errorMessage(e) }, 'onStale listener threw');
        }
      }
    }
  }
}
