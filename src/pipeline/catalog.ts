/**
 * The feed catalog: every feed a client can subscribe to, and the refcounts that drive upstream subscriptions.
 *
 * Feeds:
 * - venue feeds `{venue}:{symbol}:{channel}` for every instrument a venue lists (not only the configured ones): a
 *   subscription to one that is not streamed yet subscribes upstream on demand (first subscriber), and the last
 *   unsubscribe releases it after a grace period (`releaseGraceMs`, default 60 s); configured subscriptions stay;
 * - derived feeds `consolidated:{key}:book|summary`, `arbitrage`, `health`;
 * - feeds of source plug-ins (oracles, quotes), resolved through {@link FeedSource}.
 * `available_feeds` lists what is streamed now (plus the plug-ins' own listings); a query also searches the venues'
 * whole instrument lists and the plug-ins' catalogs.
 */
import { CHANNELS, type Channel } from '../core/events.ts';
import { TributaryError } from '../core/errors.ts';
import type { FeedSource } from '../core/plugin.ts';
import { ARBITRAGE_FEED, CONSOLIDATED_VENUE, HEALTH_FEED, formatFeedId, parseFeedId, type FeedInfo } from '../protocol/messages.ts';
import type { AcquireResult } from './read-api.ts';

/** What the catalog needs of one venue's ingest (the `VenueRunner` fits). */
export interface CatalogVenue {
  /** Active subscriptions (configured and on-demand). */
  readonly subscriptions: readonly { readonly instrument: { readonly symbol: string; readonly venueSymbol: string; readonly key: string }; readonly channel: Channel }[];
  /** Instruments the venue lists (empty while loading). */
  listed(): readonly { readonly symbol: string; readonly venueSymbol: string; readonly key: string }[];
  /** Bumped whenever the subscriptions or the instrument list change (cheap; keys the catalog's cache). */
  readonly version: number;
  /** The listed instrument of a canonical symbol, or undefined. */
  find(symbol: string): { readonly symbol: string; readonly venueSymbol: string; readonly key: string } | undefined;
  /**
   * Subscribes upstream on demand. Returns the state; @throws TributaryError `INSTRUMENT_UNKNOWN` (not listed),
   * `CLIENT_BAD_REQUEST` (channel not offered).
   */
  demand(symbol: string, channel: Channel): AcquireResult;
  /** Releases an on-demand subscription (configured ones are kept by the venue). */
  undemand(symbol: string, channel: Channel): void;
}

/** Options of {@link FeedCatalog}. */
export interface FeedCatalogOptions {
  readonly venues: ReadonlyMap<string, CatalogVenue>;
  /** Source plug-ins (oracles, quotes) serving feeds of their own. */
  readonly sources: readonly FeedSource[];
  /** Consolidation key of a canonical symbol (quote groups applied). */
  readonly consolidationKey: (symbol: string) => string;
  /** Venues whose books are consolidated (all when undefined). */
  readonly aggregationVenues?: readonly string[];
  /** Grace period before an unwatched on-demand subscription is released upstream (ms, default 60000). */
  readonly releaseGraceMs?: number;
}

/** See the module comment. */
export class FeedCatalog {
  private readonly interest = new Map<string, number>();
  private readonly releaseTimers = new Map<string, NodeJS.Timeout>();
  private cache: Map<string, FeedInfo> | undefined;
  private cacheVersion = -1;
  private readonly graceMs: number;

  constructor(private readonly o: FeedCatalogOptions) {
    this.graceMs = o.releaseGraceMs ?? 60_000;
  }

  /** True when some client watches `feedId`. */
  watched(feedId: string): boolean {
    return this.interest.has(feedId);
  }

  /** True when nobody watches anything (lets producers skip work). */
  get idle(): boolean {
    return this.interest.size === 0;
  }

  private version(): number {
    let v = 0;
    for (const r of this.o.venues.values()) v += r.version;
    return v;
  }

  /** Streamed venue feeds and the derived feeds, keyed by feed id (rebuilt when subscriptions change). */
  private feedMap(): Map<string, FeedInfo> {
    const version = this.version();
    if (this.cache !== undefined && version === this.cacheVersion) return this.cache;
    const m = new Map<string, FeedInfo>();
    const consolidated = new Set<string>();
    const agg = this.o.aggregationVenues;
    for (const [venue, r] of this.o.venues) {
      for (const s of r.subscriptions) {
        const feed_id = formatFeedId(venue, s.instrument.symbol, s.channel);
        m.set(feed_id, { feed_id, venue, symbol: s.instrument.symbol, venue_symbol: s.instrument.venueSymbol, channel: s.channel });
        if (s.channel === 'book' && (!agg || agg.includes(venue))) consolidated.add(this.o.consolidationKey(s.instrument.symbol));
      }
    }
    for (const symbol of [...consolidated].sort()) {
      for (const channel of ['book', 'summary'] as const) {
        const feed_id = formatFeedId(CONSOLIDATED_VENUE, symbol, channel);
        m.set(feed_id, { feed_id, venue: CONSOLIDATED_VENUE, symbol, venue_symbol: '', channel, derived: true });
      }
    }
    m.set(ARBITRAGE_FEED, { feed_id: ARBITRAGE_FEED, venue: '*', symbol: '*', venue_symbol: '', channel: 'arbitrage', derived: true });
    m.set(HEALTH_FEED, { feed_id: HEALTH_FEED, venue: '*', symbol: '*', venue_symbol: '', channel: 'health', derived: true });
    this.cache = m;
    this.cacheVersion = version;
    return m;
  }

  /**
   * Feeds streamed now, the derived feeds and the plug-ins' feeds. With `query` (case-insensitive substring of the
   * id, symbol or venue symbol) only matches, and the venues' whole instrument lists and the plug-ins' catalogs are
   * searched too (anything found can be subscribed to).
   */
  list(query?: string): FeedInfo[] {
    const out = [...this.feedMap().values()];
    for (const s of this.o.sources) out.push(...s.listFeeds());
    if (query === undefined) return out;
    const q = query.toLowerCase();
    const hit = (f: FeedInfo): boolean =>
      f.feed_id.toLowerCase().includes(q) || f.symbol.toLowerCase().includes(q) || f.venue_symbol.toLowerCase().includes(q);
    const hits = out.filter(hit);
    const seen = new Set(hits.map((f) => f.feed_id));
    for (const [venue, r] of this.o.venues) {
      for (const i of r.listed()) {
        if (!i.symbol.toLowerCase().includes(q) && !i.venueSymbol.toLowerCase().includes(q)) continue;
        for (const channel of CHANNELS) {
          const feed_id = formatFeedId(venue, i.symbol, channel);
          if (seen.has(feed_id)) continue;
          seen.add(feed_id);
          hits.push({ feed_id, venue, symbol: i.symbol, venue_symbol: i.venueSymbol, channel });
          if (hits.length >= 500) return hits;
        }
      }
    }
    for (const s of this.o.sources) for (const f of s.searchFeeds(query, 200)) if (!seen.has(f.feed_id)) hits.push(f);
    return hits;
  }

  /**
   * One feed by id (canonical spelling in the result), or undefined. Venue feeds of any instrument the venue lists
   * resolve (the subscription is then made on demand); a venue that is still loading resolves any well-formed id.
   */
  get(feedId: string): FeedInfo | undefined {
    const f = this.feedMap().get(feedId);
    if (f !== undefined) return f;
    for (const s of this.o.sources) {
      const x = s.getFeed(feedId);
      if (x !== undefined) return x;
    }
    const p = parseFeedId(feedId);
    if (p === null || p.channel === 'summary') return undefined;
    const r = this.o.venues.get(p.venue);
    if (r === undefined) return undefined;
    const inst = r.find(p.symbol);
    return { feed_id: feedId, venue: p.venue, symbol: p.symbol, venue_symbol: inst?.venueSymbol ?? '', channel: p.channel };
  }

  /**
   * First interest in a feed (the WS server calls it once per feed on 0→1, REST and the library too): venue feeds
   * subscribe upstream on demand, plug-in feeds start streaming. Pending when the venue is not up yet.
   * @throws TributaryError `INSTRUMENT_UNKNOWN` / `CLIENT_BAD_REQUEST`.
   */
  acquire(feedId: string): AcquireResult {
    let result: AcquireResult = { state: 'active' };
    const source = this.o.sources.find((s) => s.getFeed(feedId) !== undefined);
    if (source !== undefined) {
      source.acquire(feedId);
    } else {
      const p = parseFeedId(feedId);
      const r = p && p.venue !== CONSOLIDATED_VENUE ? this.o.venues.get(p.venue) : undefined;
      if (p && r && p.channel !== 'summary') {
        const t = this.releaseTimers.get(feedId);
        if (t !== undefined) {
          clearTimeout(t);
          this.releaseTimers.delete(feedId);
        } else {
          result = r.demand(p.symbol, p.channel);
        }
      }
    }
    this.interest.set(feedId, (this.interest.get(feedId) ?? 0) + 1);
    return result;
  }

  /** Interest gone: venue feeds are released upstream after the grace period, plug-in feeds at once. */
  release(feedId: string): void {
    const n = (this.interest.get(feedId) ?? 0) - 1;
    if (n > 0) {
      this.interest.set(feedId, n);
      return;
    }
    this.interest.delete(feedId);
    const source = this.o.sources.find((s) => s.getFeed(feedId) !== undefined);
    if (source !== undefined) {
      source.release(feedId);
      return;
    }
    const p = parseFeedId(feedId);
    const r = p && this.o.venues.get(p.venue);
    if (!p || !r || p.channel === 'summary') return;
    const t = setTimeout(() => {
      this.releaseTimers.delete(feedId);
      if (!this.interest.has(feedId)) r.undemand(p.symbol, p.channel as Channel);
    }, this.graceMs);
    t.unref();
    this.releaseTimers.set(feedId, t);
  }

  /** Cancels pending releases (shutdown). */
  close(): void {
    for (const t of this.releaseTimers.values()) clearTimeout(t);
    this.releaseTimers.clear();
  }
}

/** Throws the catalog's error for an unknown feed id. */
export function unknownFeed(feedId: string): TributaryError {
  return new TributaryError('CLIENT_BAD_REQUEST', `unknown feed "${feedId}"`, { feed: feedId });
}
