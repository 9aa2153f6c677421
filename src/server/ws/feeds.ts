/**
 * The WebSocket server's feed registry: which sessions watch which feed, with one upstream acquire per feed (first
 * subscriber) and one release (last subscriber gone), and the feed id of each bus event (cached per instrument).
 */
import type { Instrument } from '../../core/instruments.ts';
import type { AcquireResult, GatewayApi } from '../../pipeline/read-api.ts';
import { formatFeedId, type FeedInfo } from '../../protocol/messages.ts';
import type { ClientSession } from './session.ts';

/** Subscribers of one feed. */
export interface Feed {
  readonly info: FeedInfo;
  readonly clients: Set<ClientSession>;
  /** Set while the upstream subscription waits for its venue: the reason; cleared when the first data arrives. */
  pending: string | undefined;
}

/** Feed ids of one instrument, built once. */
export interface InstrumentFeedIds {
  readonly book: string;
  readonly trades: string;
  readonly ticker: string;
}

/** See the module comment. */
export class FeedRegistry {
  private readonly feeds = new Map<string, Feed>();
  private readonly ids = new WeakMap<Instrument, InstrumentFeedIds>();

  constructor(
    private readonly api: GatewayApi,
    private readonly onReleaseError: (feedId: string, e: unknown) => void,
  ) {}

  /** Feed ids of an instrument (cached by object identity: instruments are immutable). */
  idsOf(inst: Instrument): InstrumentFeedIds {
    let ids = this.ids.get(inst);
    if (ids === undefined) {
      ids = { book: formatFeedId(inst.venue, inst.symbol, 'book'), trades: formatFeedId(inst.venue, inst.symbol, 'trades'), ticker: formatFeedId(inst.venue, inst.symbol, 'ticker') };
      this.ids.set(inst, ids);
    }
    return ids;
  }

  /** The feed's subscribers, or undefined when nobody watches it. */
  get(feedId: string): Feed | undefined {
    return this.feeds.get(feedId);
  }

  /**
   * Adds a session to a feed; the first one acquires it upstream.
   * @throws what `api.acquire` throws (the session is then not added).
   */
  join(c: ClientSession, info: FeedInfo): AcquireResult {
    const feedId = info.feed_id;
    let feed = this.feeds.get(feedId);
    if (feed === undefined) {
      const result = this.api.acquire(feedId);
      feed = { info, clients: new Set(), pending: result.state === 'pending' ? result.reason : undefined };
      this.feeds.set(feedId, feed);
    }
    feed.clients.add(c);
    c.feeds.add(feedId);
    return feed.pending === undefined ? { state: 'active' } : { state: 'pending', reason: feed.pending };
  }

  /** Removes a session from a feed; the last one releases it upstream. */
  leave(c: ClientSession, feedId: string): void {
    c.feeds.delete(feedId);
    const feed = this.feeds.get(feedId);
    if (feed === undefined) return;
    feed.clients.delete(c);
    if (feed.clients.size > 0) return;
    this.feeds.delete(feedId);
    try {
      this.api.release(feedId);
    } catch (e) {
      this.onReleaseError(feedId, e);
    }
  }
}
