/**
 * The client WebSocket server: the protocol in `src/protocol/messages.ts` over `ws`.
 *
 * - Shared upstream: per-feed subscriber sets; `api.acquire(feed)` on the first subscriber,
 *   `api.release(feed)` when the last one unsubscribes or disconnects.
 * - Fan-out: each bus message is serialized once per feed and the same string is written to every subscriber.
 * - Backpressure / conflation per client: when a client's `bufferedAmount` exceeds `maxBufferedBytes` it is
 *   marked congested and gets no data messages (book updates / snapshots / resets, trades, tickers; each one
 *   counted in `ws_messages_dropped_total{reason="backpressure"}`). Once its buffer drains below half the limit
 *   it is sent a fresh `book_snapshot` (or a `book_reset` when the book is not valid) for each book feed, so it
 *   never holds a wrong book. Replies to its own requests are still sent, up to twice the limit; a client
 *   past that is not reading at all and is terminated. Nothing is ever queued in this module.
 * - Bad client input (invalid JSON, unknown type / feed, missing `feed_id`, frames larger than
 *   `maxClientFrameBytes`, binary frames) is answered with an `error` message and the connection stays open.
 *   Frames larger than the ws-level `maxPayloadBytes` (default 1 MiB) are refused by `ws` itself, which
 *   closes the connection with code 1009 (message too big): that limit protects memory, not protocol.
 * - Liveness: a ping every `pingIntervalMs` (30 s); a client that has not answered the previous ping is terminated.
 * - Pyth: a Pyth feed id (`0x` + 64 hex, any spelling; keyed by the canonical one from `api.getFeed`) streams
 *   `price_update` messages (from `feed_data`), the latest one right after the confirmation. Hermes' own WS messages
 *   (a JSON object with an `ids` field: `subscribe` / `unsubscribe`) are answered in Hermes' protocol (`response`,
 *   then `price_update` with `price_feed`), see `server/hermes.ts`; they share the per-client conflation. Clients on
 *   the path `/ws` (Hermes' WebSocket path) get no `connection_established`, so they see Hermes messages only.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from 'pino';
import type { Level } from '../core/events.ts';
import type { Instrument } from '../core/instruments.ts';
import { TributaryError, errorMessage } from '../core/errors.ts';
import type { BookView } from '../pipeline/book.ts';
import type { Bus, BookReset, BookUpdate, BusTopics, OracleBatch } from '../pipeline/bus.ts';
import type { Metrics, BoundCounter, BoundHistogram } from '../obs/metrics.ts';
import {
  CLIENT_BAD_REQUEST,
  formatFeedId,
  parseClientMessage,
  type BookResetMessage,
  type BookSnapshotMessage,
  type BookUpdateMessage,
  type FeedInfo,
  type PriceSize,
  type TickerMessage,
  type TradeMessage,
} from '../protocol/messages.ts';
import type { GatewayApi } from './gateway-api.ts';
import { hermesWsPriceUpdate, hermesWsResponse, parseHermesWsMessage, type HermesWsRequest } from './hermes.ts';

/** Options of {@link startWsServer}. */
export interface WsServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8765. */
  port?: number;
  bus: Bus;
  api: GatewayApi;
  metrics: Metrics;
  log: Logger;
  /** Largest client text frame handled (bytes); larger ones get an `error`. Default 4096. */
  maxClientFrameBytes?: number;
  /** Per-client send buffer (bytes) above which the client is conflated. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Levels per side in `book_snapshot` messages. Default: the whole book. Deltas may touch deeper levels. */
  snapshotDepth?: number;
  /** ws-level frame limit (bytes); larger frames close the connection (1009). Default max(1 MiB, 4 × maxClientFrameBytes). */
  maxPayloadBytes?: number;
  /** Ping interval (ms); clients not answering a ping by the next one are terminated. Default 30000. */
  pingIntervalMs?: number;
  /** How often (ms) a congested client's buffer is checked for draining. Default 20. */
  drainCheckMs?: number;
}

/** A running WebSocket server. */
export interface WsServer {
  /** The port actually listened on. */
  readonly port: number;
  /** Connected clients right now. */
  readonly clientCount: number;
  /** Stops listening, disconnects every client (releasing their feeds) and detaches from the bus. */
  close(): Promise<void>;
}

/** One connected client. */
interface Client {
  readonly id: string;
  readonly ws: WebSocket;
  /** Feed ids this client is subscribed to. */
  readonly feeds: Set<string>;
  /** Answered the last ping. */
  alive: boolean;
  /** Over the buffer limit: data messages are dropped until it drains. */
  congested: boolean;
  drainTimer: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Hermes WS subscriptions: canonical feed id → whether `metadata` is wanted (verbose). */
  hermes: Map<string, boolean> | undefined;
}

/** Feeds whose current state is sent on subscribe and after conflation (aggregated feeds and oracle prices). */
function hasState(info: FeedInfo): boolean {
  return info.derived === true || info.channel === 'price';
}

/** Subscribers of one feed. */
interface Feed {
  readonly info: FeedInfo;
  readonly clients: Set<Client>;
}

/** Feed ids of one instrument, built once. */
interface InstrumentFeedIds {
  readonly book: string;
  readonly trades: string;
  readonly ticker: string;
}

const DROP_BACKPRESSURE = 'backpressure';
/** Path Hermes WebSocket clients use (`wss://hermes.pyth.network/ws`): no `connection_established` there. */
const HERMES_WS_PATH = '/ws';

/** `[price, size]` pairs from venue levels (levels may carry extra venue fields). Reuses the array when it already has that shape. */
function pairs(levels: readonly Level[]): readonly Level[] {
  for (let i = 0; i < levels.length; i++) {
    if (levels[i].length !== 2) return levels.map((l) => [l[0], l[1]] as PriceSize);
  }
  return levels;
}

/** Byte length of a received ws message. */
function rawLength(data: RawData): number {
  if (Array.isArray(data)) {
    let n = 0;
    for (const b of data) n += b.length;
    return n;
  }
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** Text of a received ws message. */
function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/**
 * Starts the client WebSocket server and attaches it to the bus.
 * Resolves once listening; rejects if the port cannot be bound.
 */
export async function startWsServer(opts: WsServerOptions): Promise<WsServer> {
  const { bus, api, metrics } = opts;
  const log = opts.log.child({ module: 'ws' });
  const host = opts.host ?? '127.0.0.1';
  const maxClientFrameBytes = opts.maxClientFrameBytes ?? 4096;
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  const lowWater = maxBuffered / 2;
  const hardLimit = maxBuffered * 2;
  const snapshotDepth = opts.snapshotDepth ?? Infinity;
  const maxPayload = opts.maxPayloadBytes ?? Math.max(1024 * 1024, 4 * maxClientFrameBytes);
  const pingIntervalMs = opts.pingIntervalMs ?? 30_000;
  const drainCheckMs = opts.drainCheckMs ?? 20;

  const clients = new Set<Client>();
  const feeds = new Map<string, Feed>();
  const feedIdCache = new WeakMap<Instrument, InstrumentFeedIds>();
  const dropped: BoundCounter = metrics.dropped(DROP_BACKPRESSURE);
  const badRequests: BoundCounter = metrics.clientError(CLIENT_BAD_REQUEST);
  const fanoutLatency: BoundHistogram = metrics.stage('ws_fanout');

  function feedIdsOf(inst: Instrument): InstrumentFeedIds {
    let ids = feedIdCache.get(inst);
    if (ids === undefined) {
      ids = {
        book: formatFeedId(inst.venue, inst.symbol, 'book'),
        trades: formatFeedId(inst.venue, inst.symbol, 'trades'),
        ticker: formatFeedId(inst.venue, inst.symbol, 'ticker'),
      };
      feedIdCache.set(inst, ids);
    }
    return ids;
  }

  // ───────────── sending ─────────────

  /** Starts watching a client's buffer; it gets data again (with fresh book state) once below the low-water mark. */
  function markCongested(c: Client): void {
    if (c.congested) return;
    c.congested = true;
    log.debug({ client: c.id, buffered: c.ws.bufferedAmount }, 'client congested: conflating');
    c.drainTimer = setInterval(() => {
      if (c.closed) return;
      if (c.ws.bufferedAmount <= lowWater) {
        clearInterval(c.drainTimer);
        c.drainTimer = undefined;
        c.congested = false;
        log.debug({ client: c.id }, 'client drained: resending book state');
        resendBooks(c);
      }
    }, drainCheckMs);
    c.drainTimer.unref();
  }

  /** Sends one data message to one client unless it is congested; returns false if dropped. */
  function sendData(c: Client, data: string): boolean {
    if (c.congested || c.ws.readyState !== WebSocket.OPEN) {
      dropped.inc();
      return false;
    }
    c.ws.send(data);
    metrics.wsMessagesSent.inc();
    if (c.ws.bufferedAmount > maxBuffered) markCongested(c);
    return true;
  }

  /** Writes one serialized data message to every non-congested subscriber of a feed. */
  function fanout(feed: Feed, data: string): void {
    let sent = 0;
    let drops = 0;
    for (const c of feed.clients) {
      if (c.congested || c.ws.readyState !== WebSocket.OPEN) {
        drops++;
        continue;
      }
      c.ws.send(data);
      sent++;
      if (c.ws.bufferedAmount > maxBuffered) markCongested(c);
    }
    if (sent > 0) metrics.wsMessagesSent.inc(sent);
    if (drops > 0) dropped.inc(drops);
  }

  /** Sends a reply to a client request (not conflated). A client buffering past twice the limit is not reading: terminated. */
  function sendControl(c: Client, msg: object): void {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount > hardLimit) {
      log.warn({ client: c.id, buffered: c.ws.bufferedAmount }, 'client not reading: terminating');
      dropClient(c);
      c.ws.terminate();
      return;
    }
    c.ws.send(JSON.stringify(msg));
    metrics.wsMessagesSent.inc();
  }

  function sendError(c: Client, message: string, feedId?: string, code: string = CLIENT_BAD_REQUEST): void {
    if (code === CLIENT_BAD_REQUEST) badRequests.inc();
    else metrics.clientError(code).inc();
    sendControl(c, feedId === undefined ? { type: 'error', code, message } : { type: 'error', code, message, feed_id: feedId });
  }

  // ───────────── messages ─────────────

  function snapshotMessage(feedId: string, book: BookView): string {
    const msg: BookSnapshotMessage = {
      type: 'book_snapshot',
      feed_id: feedId,
      venue: book.venue,
      symbol: book.symbol,
      venue_symbol: book.venueSymbol,
      seq: book.seq ?? null,
      ts: book.ts,
      recv_ts: book.recvTs,
      bids: book.bids.top(snapshotDepth),
      asks: book.asks.top(snapshotDepth),
    };
    return JSON.stringify(msg);
  }

  function resetMessage(feedId: string, venue: string, symbol: string, reason: string, ts: number): string {
    const msg: BookResetMessage = { type: 'book_reset', feed_id: feedId, venue, symbol, reason, ts };
    return JSON.stringify(msg);
  }

  /** Current book state of a book feed for one client: a snapshot when valid, else a reset. Returns false if dropped. */
  function sendBookState(c: Client, info: FeedInfo, resetIfInvalid: boolean): boolean {
    const book = api.getBook(info.venue, info.symbol);
    if (book !== undefined && book.valid) return sendData(c, snapshotMessage(info.feed_id, book));
    if (resetIfInvalid) return sendData(c, resetMessage(info.feed_id, info.venue, info.symbol, 'unavailable', Date.now()));
    return true;
  }

  /** Current state of an aggregated feed for one client (if the gateway has one). Returns false if dropped. */
  function sendDerivedState(c: Client, feedId: string): boolean {
    const snap = api.feedSnapshot?.(feedId);
    return snap === undefined ? true : sendData(c, JSON.stringify(snap));
  }

  /** After conflation: fresh state of every book feed (and aggregated feed) of the client. */
  function resendBooks(c: Client): void {
    for (const fid of c.feeds) {
      const feed = feeds.get(fid);
      if (feed === undefined) continue;
      if (hasState(feed.info)) {
        if (!sendDerivedState(c, fid)) return;
        continue;
      }
      if (feed.info.channel !== 'book') continue;
      if (!sendBookState(c, feed.info, true)) return; // congested again: everything is resent on the next drain
    }
  }

  // ───────────── client requests ─────────────

  function subscribe(c: Client, requested: string): void {
    const info = api.getFeed(requested);
    if (info === undefined) {
      sendError(c, `unknown feed "${requested}"`, requested);
      return;
    }
    const feedId = info.feed_id;
    if (!c.feeds.has(feedId)) {
      let feed = feeds.get(feedId);
      if (feed === undefined) {
        try {
          api.acquire(feedId);
        } catch (e) {
          log.warn({ feed: feedId, err: errorMessage(e) }, 'acquire failed');
          sendError(c, `cannot subscribe to "${feedId}": ${errorMessage(e)}`, feedId, e instanceof TributaryError ? e.code : CLIENT_BAD_REQUEST);
          return;
        }
        feed = { info, clients: new Set() };
        feeds.set(feedId, feed);
      }
      feed.clients.add(c);
      c.feeds.add(feedId);
    }
    sendControl(c, { type: 'subscription_confirmed', feed_id: feedId });
    if (hasState(info)) sendDerivedState(c, feedId);
    else if (info.channel === 'book') sendBookState(c, info, false);
  }

  /** Removes a client from a feed; releases upstream on the last one. */
  function leave(c: Client, feedId: string): void {
    c.feeds.delete(feedId);
    const feed = feeds.get(feedId);
    if (feed === undefined) return;
    feed.clients.delete(c);
    if (feed.clients.size === 0) {
      feeds.delete(feedId);
      try {
        api.release(feedId);
      } catch (e) {
        log.warn({ feed: feedId, err: errorMessage(e) }, 'release failed');
      }
    }
  }

  function unsubscribe(c: Client, requested: string): void {
    const feedId = c.feeds.has(requested) ? requested : (api.getFeed(requested)?.feed_id ?? requested);
    if (!c.feeds.has(feedId) && api.getFeed(requested) === undefined) {
      sendError(c, `unknown feed "${requested}"`, requested);
      return;
    }
    leave(c, feedId);
    sendControl(c, { type: 'unsubscription_confirmed', feed_id: feedId });
  }

  function onMessage(c: Client, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      sendError(c, 'binary frames are not supported: send JSON text');
      return;
    }
    const size = rawLength(data);
    if (size > maxClientFrameBytes) {
      sendError(c, `message too large: ${size} bytes (max ${maxClientFrameBytes})`);
      return;
    }
    const text = rawText(data);
    const hermesMsg = parseHermesWsMessage(text);
    if (hermesMsg !== undefined) {
      if (hermesMsg.ok) onHermes(c, hermesMsg.message);
      else {
        badRequests.inc();
        sendControlText(c, hermesWsResponse(hermesMsg.error));
      }
      return;
    }
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      sendError(c, parsed.error, parsed.feed_id);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'subscribe':
        subscribe(c, m.feed_id);
        break;
      case 'unsubscribe':
        unsubscribe(c, m.feed_id);
        break;
      case 'get_available_feeds':
        sendControl(c, { type: 'available_feeds', feeds: m.query === undefined ? api.listFeeds() : api.listFeeds(m.query) });
        break;
    }
  }

  // ───────────── Hermes WS protocol ─────────────

  /** Hermes subscribers per canonical feed id. */
  const hermesSubs = new Map<string, Set<Client>>();
  let hermesClients = 0;
  const hermesGauge = metrics.hermesClients.labels({ kind: 'ws' });

  function sendControlText(c: Client, text: string): void {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return;
    c.ws.send(text);
    metrics.wsMessagesSent.inc();
  }

  function hermesLeave(c: Client, id: string): void {
    const h = c.hermes;
    if (h === undefined || !h.delete(id)) return;
    if (h.size === 0) {
      c.hermes = undefined;
      hermesGauge.set(--hermesClients);
    }
    const set = hermesSubs.get(id);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) {
      hermesSubs.delete(id);
      try {
        api.release(id);
      } catch (e) {
        log.warn({ feed: id, err: errorMessage(e) }, 'release failed');
      }
    }
  }

  function onHermes(c: Client, m: HermesWsRequest): void {
    const hermes = api.hermes?.();
    if (hermes === undefined) {
      badRequests.inc();
      sendControlText(c, hermesWsResponse('Pyth prices are not enabled on this gateway'));
      return;
    }
    if (m.type === 'unsubscribe') {
      for (const id of m.ids) hermesLeave(c, id);
      sendControlText(c, hermesWsResponse());
      return;
    }
    const unknown = [...m.invalid, ...m.ids.filter((id) => !hermes.known(id)).map((id) => id.slice(2))];
    if (unknown.length > 0 && !m.ignoreInvalid) {
      badRequests.inc();
      sendControlText(c, hermesWsResponse(`Price feed(s) with id(s) [${unknown.join(', ')}] not found`));
      return;
    }
    for (const id of m.ids) {
      if (!hermes.known(id)) continue;
      let set = hermesSubs.get(id);
      if (set === undefined) {
        try {
          api.acquire(id);
        } catch (e) {
          sendControlText(c, hermesWsResponse(`cannot subscribe to ${id.slice(2)}: ${errorMessage(e)}`));
          return;
        }
        set = new Set();
        hermesSubs.set(id, set);
      }
      set.add(c);
      if (c.hermes === undefined) {
        c.hermes = new Map();
        hermesGauge.set(++hermesClients);
      }
      c.hermes.set(id, m.verbose);
    }
    sendControlText(c, hermesWsResponse());
  }

  /** Oracle prices → Hermes WS subscribers: serialized once per variant (plain / verbose), conflated like data. */
  function onOracle(b: OracleBatch): void {
    if (hermesSubs.size === 0) return;
    for (const u of b.updates) {
      const set = hermesSubs.get(u.id);
      if (set === undefined) continue;
      let plain: string | undefined;
      let verbose: string | undefined;
      for (const c of set) {
        const v = c.hermes?.get(u.id) === true;
        sendData(c, v ? (verbose ??= hermesWsPriceUpdate(u, true)) : (plain ??= hermesWsPriceUpdate(u, false)));
      }
    }
  }

  /** Forgets a client: leaves its feeds (releasing upstream), stops its timers. Idempotent. */
  function dropClient(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    if (c.drainTimer !== undefined) clearInterval(c.drainTimer);
    c.drainTimer = undefined;
    for (const fid of [...c.feeds]) leave(c, fid);
    if (c.hermes !== undefined) for (const id of [...c.hermes.keys()]) hermesLeave(c, id);
    clients.delete(c);
    metrics.wsClients.set(clients.size);
  }

  // ───────────── bus → clients ─────────────

  function onBook(u: BookUpdate): void {
    const ids = feedIdsOf(u.instrument);
    const feed = feeds.get(ids.book);
    if (feed === undefined) return;
    const t0 = performance.now();
    const book = u.book;
    let data: string;
    if (u.kind === 'delta') {
      const msg = {
        type: 'book_update',
        feed_id: ids.book,
        venue: u.instrument.venue,
        symbol: u.instrument.symbol,
        seq: book.seq ?? null,
        ts: book.ts,
        recv_ts: book.recvTs,
        bids: pairs(u.bids),
        asks: pairs(u.asks),
      } satisfies Record<keyof BookUpdateMessage, unknown>;
      data = JSON.stringify(msg);
    } else {
      data = snapshotMessage(ids.book, book);
    }
    fanout(feed, data);
    fanoutLatency.observe((performance.now() - t0) / 1000);
  }

  function onBookReset(r: BookReset): void {
    const ids = feedIdsOf(r.instrument);
    const feed = feeds.get(ids.book);
    if (feed === undefined) return;
    fanout(feed, resetMessage(ids.book, r.instrument.venue, r.instrument.symbol, r.reason, r.ts));
  }

  function onTrade(t: BusTopics['trade']): void {
    const ids = feedIdsOf(t.instrument);
    const feed = feeds.get(ids.trades);
    if (feed === undefined) return;
    const t0 = performance.now();
    const e = t.event;
    const msg: TradeMessage = {
      type: 'trade',
      feed_id: ids.trades,
      venue: t.instrument.venue,
      symbol: t.instrument.symbol,
      price: e.price,
      size: e.size,
      side: e.side,
      trade_id: e.tradeId,
      ts: e.ts,
      recv_ts: e.recvTs,
    };
    fanout(feed, JSON.stringify(msg));
    fanoutLatency.observe((performance.now() - t0) / 1000);
  }

  function onTicker(t: BusTopics['ticker']): void {
    const ids = feedIdsOf(t.instrument);
    const feed = feeds.get(ids.ticker);
    if (feed === undefined) return;
    const t0 = performance.now();
    const e = t.event;
    const msg: TickerMessage = {
      type: 'ticker',
      feed_id: ids.ticker,
      venue: t.instrument.venue,
      symbol: t.instrument.symbol,
      bid_price: e.bidPrice ?? null,
      bid_size: e.bidSize ?? null,
      ask_price: e.askPrice ?? null,
      ask_size: e.askSize ?? null,
      last: e.last ?? null,
      ts: e.ts,
      recv_ts: e.recvTs,
    };
    fanout(feed, JSON.stringify(msg));
    fanoutLatency.observe((performance.now() - t0) / 1000);
  }

  // ───────────── server ─────────────

  const wss = new WebSocketServer({ host, port: opts.port ?? 8765, perMessageDeflate: false, maxPayload, clientTracking: false });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    wss.once('error', onError);
    wss.once('listening', () => {
      wss.off('error', onError);
      resolve();
    });
  });
  wss.on('error', (err) => log.error({ err: errorMessage(err) }, 'ws server error'));
  const port = (wss.address() as AddressInfo).port;

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const c: Client = { id: randomUUID(), ws, feeds: new Set(), alive: true, congested: false, drainTimer: undefined, closed: false, hermes: undefined };
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
        log.error({ client: c.id, err: errorMessage(e) }, 'client message handling failed');
        sendError(c, 'request failed');
      }
    });
    ws.on('error', (err) => log.debug({ client: c.id, err: errorMessage(err) }, 'client socket error'));
    ws.on('close', (code) => {
      log.debug({ client: c.id, code }, 'client disconnected');
      dropClient(c);
    });
    // Hermes clients connect to `/ws` (as on hermes.pyth.network) and expect only Hermes messages.
    if ((req.url ?? '/').split('?')[0] !== HERMES_WS_PATH) sendControl(c, { type: 'connection_established', client_id: c.id, message: 'connected to tributary' });
  });

  /** Aggregated feeds: the gateway publishes ready messages; serialized once, sent to the feed's subscribers. */
  function onFeedData(m: BusTopics['feed_data']): void {
    const feed = feeds.get(m.feedId);
    if (feed === undefined) return;
    fanout(feed, JSON.stringify(m.message));
  }

  const offs = [bus.on('book', onBook), bus.on('book_reset', onBookReset), bus.on('trade', onTrade), bus.on('ticker', onTicker), bus.on('feed_data', onFeedData), bus.on('oracle_price', onOracle)];

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
  }, pingIntervalMs);
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
