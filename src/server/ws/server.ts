/**
 * The client WebSocket server: the protocol in `src/protocol/messages.ts` over `ws`, fed by the bus.
 *
 * - Feeds are shared: the first subscriber acquires the feed (an upstream subscription made on demand when the
 *   venue lists the instrument), the last one releases it (see `feeds.ts`). A subscription made while the venue is
 *   not up yet is answered `subscription_pending`; once the venue is up, the first data of the feed is preceded by
 *   `subscription_confirmed`.
 * - Fan-out: each bus event is encoded once per feed (`server/encode.ts`) and the same string goes to every
 *   subscriber; per-client backpressure and conflation are in `session.ts`.
 * - Bad client input (invalid JSON, unknown type / feed, missing `feed_id`, frames larger than `maxClientFrameBytes`,
 *   binary frames) is answered with an `error` and the connection stays open. Frames larger than the ws-level
 *   `maxPayloadBytes` (default max(1 MiB, 4 × maxClientFrameBytes)) are refused by `ws` itself, which closes the
 *   connection with code 1009 (message too big): that limit protects memory, not protocol.
 * - Liveness: a ping every `pingIntervalMs` (30 s); a client that has not answered the previous ping is terminated.
 * - Source plug-ins may handle messages of their own protocol on the same sockets, and own a path whose clients get
 *   only that protocol (no `connection_established`).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { TributaryError, errorMessage as messageOf } from '../../core/errors.ts';
import type { DomainEvents } from '../../core/events.ts';
import type { PluginWsHandler, SourcePlugin } from '../../core/plugin.ts';
import type { Bus } from '../../bus/bus.ts';
import type { Metrics } from '../../obs/metrics.ts';
import type { GatewayApi } from '../../pipeline/read-api.ts';
import { ARBITRAGE_FEED, CLIENT_BAD_REQUEST, CONSOLIDATED_VENUE, HEALTH_FEED, formatFeedId, parseClientMessage, type FeedInfo } from '../../protocol/messages.ts';
import * as enc from '../encode.ts';
import { FeedRegistry, type Feed } from './feeds.ts';
import { ClientSession } from './session.ts';

/** Options of {@link startWsServer}. */
export interface WsServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8765. */
  port?: number;
  bus: Bus;
  api: GatewayApi;
  /** Source plug-ins whose own WebSocket protocol is served here too. */
  plugins?: readonly SourcePlugin[];
  metrics: Metrics;
  log: Logger;
  /** Largest client text frame handled (bytes); larger ones get an `error`. Default 4096. */
  maxClientFrameBytes?: number;
  /** Per-client send buffer (bytes) above which the client is conflated. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Levels per side in `book_snapshot` messages. Default: the whole book. */
  snapshotDepth?: number;
  /** ws-level frame limit (bytes); larger frames close the connection (1009). */
  maxPayloadBytes?: number;
  /** Ping interval (ms). Default 30000. */
  pingIntervalMs?: number;
  /** How often (ms) a congested client's buffer is checked for draining. Default 20. */
  drainCheckMs?: number;
}

/** A running WebSocket server. */
export interface WsServer {
  readonly port: number;
  readonly clientCount: number;
  /** Stops listening, disconnects every client (releasing their feeds) and detaches from the bus. */
  close(): Promise<void>;
}

/** Feeds whose current state is a domain event sent on subscribe and after conflation (books have their own path). */
function hasState(info: FeedInfo): boolean {
  return info.derived === true || info.channel === 'price' || info.channel === 'ticker';
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Starts the server and attaches it to the bus. Rejects if the port cannot be bound. */
export async function startWsServer(opts: WsServerOptions): Promise<WsServer> {
  const { bus, api, metrics } = opts;
  const log = opts.log.child({ module: 'ws' });
  const host = opts.host ?? '127.0.0.1';
  const maxClientFrameBytes = opts.maxClientFrameBytes ?? 4096;
  const snapshotDepth = opts.snapshotDepth ?? Infinity;
  const dropped = metrics.dropped('backpressure');
  const badRequests = metrics.clientError(CLIENT_BAD_REQUEST);
  const fanoutLatency = metrics.stage('ws_fanout');
  const clients = new Set<ClientSession>();
  const registry = new FeedRegistry(api, (feed, e) => log.warn({ feed, err: messageOf(e) }, 'release failed'));
  const ctx = { bus, badRequest: () => badRequests.inc(), log };
  const handlers: PluginWsHandler[] = (opts.plugins ?? []).flatMap((p) => (p.wsHandler ? [p.wsHandler(ctx)] : []));
  const pluginPaths = new Set(handlers.flatMap((h) => (h.path ? [h.path] : [])));
  const sessionOpts = {
    maxBufferedBytes: opts.maxBufferedBytes ?? 4 * 1024 * 1024,
    drainCheckMs: opts.drainCheckMs ?? 20,
    onDropped: (n: number) => dropped.inc(n),
    onSent: (n: number) => metrics.wsMessagesSent.inc(n),
    onDrained: (c: ClientSession) => resendState(c),
    onStuck: (c: ClientSession) => {
      log.warn({ client: c.id }, 'client not reading: terminating');
      dropClient(c);
    },
  };

  const sendError = (c: ClientSession, message: string, feedId?: string, code: string = CLIENT_BAD_REQUEST): void => {
    if (code === CLIENT_BAD_REQUEST) badRequests.inc();
    else metrics.clientError(code).inc();
    c.sendControl(JSON.stringify(enc.errorMessage(code, message, feedId)));
  };

  /** Encoded current state of a feed for one client, or undefined. `resetIfInvalid`: a book that is not valid → reset. */
  function stateOf(info: FeedInfo, resetIfInvalid: boolean): string | undefined {
    if (hasState(info)) {
      const ev = api.feedState?.(info.feed_id);
      return ev === undefined ? undefined : encodeFor(info.feed_id, ev);
    }
    if (info.channel !== 'book') return undefined;
    const book = api.getBook(info.venue, info.symbol);
    if (book !== undefined && book.valid) return JSON.stringify(enc.bookSnapshotFromView(info.feed_id, book, snapshotDepth));
    if (!resetIfInvalid) return undefined;
    const instrument = { venue: info.venue, symbol: info.symbol } as never;
    return JSON.stringify(enc.bookReset(info.feed_id, { instrument, epoch: book?.epoch ?? 0, reason: 'unavailable', ts: Date.now() }));
  }

  /** After conflation: fresh state of every feed of the client. */
  function resendState(c: ClientSession): void {
    for (const fid of c.feeds) {
      const feed = registry.get(fid);
      if (feed === undefined) continue;
      const s = stateOf(feed.info, true);
      if (s !== undefined && !c.sendData(s)) return; // congested again: everything is resent on the next drain
    }
  }

  function subscribe(c: ClientSession, requested: string): void {
    const info = api.getFeed(requested);
    if (info === undefined) return sendError(c, `unknown feed "${requested}"`, requested);
    let result;
    try {
      result = registry.join(c, info);
    } catch (e) {
      log.debug({ feed: info.feed_id, err: messageOf(e) }, 'acquire failed');
      return sendError(c, `cannot subscribe to "${info.feed_id}": ${messageOf(e)}`, info.feed_id, e instanceof TributaryError ? e.code : CLIENT_BAD_REQUEST);
    }
    if (result.state === 'pending') {
      c.sendControl(JSON.stringify({ type: 'subscription_pending', feed_id: info.feed_id, reason: result.reason }));
      return;
    }
    c.sendControl(JSON.stringify({ type: 'subscription_confirmed', feed_id: info.feed_id }));
    const s = stateOf(info, false);
    if (s !== undefined) c.sendData(s);
  }

  function unsubscribe(c: ClientSession, requested: string): void {
    const feedId = c.feeds.has(requested) ? requested : (api.getFeed(requested)?.feed_id ?? requested);
    if (!c.feeds.has(feedId) && api.getFeed(requested) === undefined) return sendError(c, `unknown feed "${requested}"`, requested);
    registry.leave(c, feedId);
    c.sendControl(JSON.stringify({ type: 'unsubscription_confirmed', feed_id: feedId }));
  }

  function onMessage(c: ClientSession, data: RawData, isBinary: boolean): void {
    if (isBinary) return sendError(c, 'binary frames are not supported: send JSON text');
    const size = rawLength(data);
    if (size > maxClientFrameBytes) return sendError(c, `message too large: ${size} bytes (max ${maxClientFrameBytes})`);
    const text = rawText(data);
    for (const h of handlers) if (h.onMessage(c, text)) return;
    const parsed = parseClientMessage(text);
    if (!parsed.ok) return sendError(c, parsed.error, parsed.feed_id);
    const m = parsed.message;
    if (m.type === 'subscribe') subscribe(c, m.feed_id);
    else if (m.type === 'unsubscribe') unsubscribe(c, m.feed_id);
    else c.sendControl(JSON.stringify({ type: 'available_feeds', feeds: m.query === undefined ? api.listFeeds() : api.listFeeds(m.query) }));
  }

  /** Forgets a client: leaves its feeds (releasing upstream), stops its timers. Idempotent. */
  function dropClient(c: ClientSession): void {
    if (!c.close()) return;
    for (const fid of [...c.feeds]) registry.leave(c, fid);
    for (const h of handlers) h.onClose(c);
    clients.delete(c);
    metrics.wsClients.set(clients.size);
  }

  // ───────────── bus → clients ─────────────

  /** Writes one encoded message to every writable subscriber of a feed. */
  function fanout(feed: Feed, data: string): void {
    if (feed.pending !== undefined) {
      // The venue is up and data flows: the pending subscriptions are confirmed now.
      feed.pending = undefined;
      const confirmed = JSON.stringify({ type: 'subscription_confirmed', feed_id: feed.info.feed_id });
      for (const c of feed.clients) c.sendControl(confirmed);
    }
    let sent = 0;
    let drops = 0;
    for (const c of feed.clients) {
      if (!c.writable) {
        drops++;
        continue;
      }
      c.write(data);
      sent++;
    }
    if (sent > 0) metrics.wsMessagesSent.inc(sent);
    if (drops > 0) dropped.inc(drops);
  }

  /** The encoded message of a state-like event for `feedId`. */
  function encodeFor(feedId: string, ev: DomainEvents[keyof DomainEvents]): string | undefined {
    switch (ev.kind) {
      case 'summary':
        return JSON.stringify(enc.summaryMessage(feedId, ev));
      case 'consolidated_book':
        return JSON.stringify(enc.consolidatedBookMessage(feedId, ev));
      case 'health':
        return JSON.stringify(enc.healthMessage(ev.venues, ev.ts));
      case 'oracle_price':
        return ev.updates.length > 0 ? JSON.stringify(enc.priceUpdate(ev.updates[ev.updates.length - 1])) : undefined;
      case 'ticker':
        return JSON.stringify(enc.ticker(feedId, ev));
      default:
        return undefined;
    }
  }

  const timed = <T>(f: (ev: T) => void) => (ev: T): void => {
    const t0 = performance.now();
    f(ev);
    fanoutLatency.observe((performance.now() - t0) / 1000);
  };
  const offs = [
    bus.on('book_snapshot', timed((ev) => {
      const feed = registry.get(registry.idsOf(ev.instrument).book);
      if (feed) fanout(feed, JSON.stringify(enc.bookSnapshotFromEvent(feed.info.feed_id, ev, snapshotDepth)));
    })),
    bus.on('book_delta', timed((ev) => {
      const feed = registry.get(registry.idsOf(ev.instrument).book);
      if (feed) fanout(feed, JSON.stringify(enc.bookUpdate(feed.info.feed_id, ev)));
    })),
    bus.on('book_reset', (ev) => {
      const feed = registry.get(registry.idsOf(ev.instrument).book);
      if (feed) fanout(feed, JSON.stringify(enc.bookReset(feed.info.feed_id, ev)));
    }),
    bus.on('trade', timed((ev) => {
      const feed = registry.get(registry.idsOf(ev.instrument).trades);
      if (feed) fanout(feed, JSON.stringify(enc.trade(feed.info.feed_id, ev)));
    })),
    bus.on('ticker', timed((ev) => {
      const feed = registry.get(registry.idsOf(ev.instrument).ticker);
      if (feed) fanout(feed, JSON.stringify(enc.ticker(feed.info.feed_id, ev)));
    })),
    bus.on('summary', (ev) => {
      const feed = registry.get(formatFeedId(CONSOLIDATED_VENUE, ev.symbol, 'summary'));
      if (feed) fanout(feed, JSON.stringify(enc.summaryMessage(feed.info.feed_id, ev)));
    }),
    bus.on('consolidated_book', (ev) => {
      const feed = registry.get(formatFeedId(CONSOLIDATED_VENUE, ev.symbol, 'book'));
      if (feed) fanout(feed, JSON.stringify(enc.consolidatedBookMessage(feed.info.feed_id, ev)));
    }),
    bus.on('arbitrage', (ev) => {
      const feed = registry.get(ARBITRAGE_FEED);
      if (feed) fanout(feed, JSON.stringify(enc.arbitrageMessage(ev)));
    }),
    bus.on('health', (ev) => {
      const feed = registry.get(HEALTH_FEED);
      if (feed) fanout(feed, JSON.stringify(enc.healthMessage(ev.venues, ev.ts)));
    }),
    bus.on('oracle_price', (ev) => {
      for (const u of ev.updates) {
        const feed = registry.get(u.id);
        if (feed) fanout(feed, JSON.stringify(enc.priceUpdate(u)));
      }
    }),
  ];

  // ───────────── server ─────────────

  const maxPayload = opts.maxPayloadBytes ?? Math.max(1024 * 1024, 4 * maxClientFrameBytes);
  const wss = new WebSocketServer({ host, port: opts.port ?? 8765, perMessageDeflate: false, maxPayload, clientTracking: false });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    wss.once('error', onError);
    wss.once('listening', () => {
      wss.off('error', onError);
      resolve();
    });
  });
  wss.on('error', (err) => log.error({ err: messageOf(err) }, 'ws server error'));
  const port = (wss.address() as AddressInfo).port;

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const c = new ClientSession(randomUUID(), ws, sessionOpts);
    clients.add(c);
    metrics.wsClients.set(clients.size);
    log.debug({ client: c.id, addr: req.socket.remoteAddress }, 'client connected');
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(c, data, isBinary);
      } catch (e) {
        log.error({ client: c.id, err: messageOf(e) }, 'client message handling failed');
        sendError(c, 'request failed', undefined, 'INTERNAL_ERROR');
      }
    });
    ws.on('error', (err) => log.debug({ client: c.id, err: messageOf(err) }, 'client socket error'));
    ws.on('close', (code) => {
      log.debug({ client: c.id, code }, 'client disconnected');
      dropClient(c);
    });
    if (!pluginPaths.has((req.url ?? '/').split('?')[0])) c.sendControl(JSON.stringify(enc.connectionEstablished(c.id)));
  });

  const pingTimer = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        log.debug({ client: c.id }, 'client missed ping: terminating');
        dropClient(c);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        // socket not open: its close event cleans up
      }
    }
  }, opts.pingIntervalMs ?? 30_000);
  pingTimer.unref();
  log.info({ host, port }, 'websocket server listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    get clientCount() {
      return clients.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(pingTimer);
        for (const off of offs) off();
        for (const h of handlers) h.close();
        for (const c of [...clients]) {
          dropClient(c);
          c.ws.terminate();
        }
        wss.close(() => resolve());
      });
      return closing;
    },
  };
}
