/**
 * Ingest for one venue: loads instruments, resolves subscriptions, runs one {@link ManagedSocket} per
 * connection, decodes frames with the venue's pure decoder, feeds book events to the sync stage,
 * publishes trades/tickers on the bus, answers venue pings, and executes resync requests
 * (REST snapshot fetch with retry, or resubscribe on the instrument's own connection).
 *
 * Subscriptions are on demand: besides the configured requests, {@link VenueRunner.addSubscriptions} and
 * {@link VenueRunner.removeSubscriptions} change the upstream subscriptions at run time. An addition goes to an open
 * connection with room (the venue's per-connection limit, and `plan()` still fitting the connection's subscriptions on
 * one connection) with the venue's own subscribe request, else to a new connection; a removal sends the venue's
 * unsubscribe request, stops tracking the book, and closes a connection left with nothing. Each connection owns its
 * current subscription set and re-plans exactly that set on every (re)connect.
 *
 * Layout: this module keeps the runner's lifecycle, its sockets and the frame hot path; `subscriptions.ts` keeps the
 * requested subscriptions and their status, `connections.ts` places them on connections, `snapshots.ts` queues REST
 * snapshot fetches.
 */
import type { Channel } from '../core/events.ts';
import { TributaryError, errorMessage, type ErrorCode } from '../core/errors.ts';
import { InstrumentIndex, type Instrument } from '../core/instruments.ts';
import { ManagedSocket } from '../transport/ws.ts';
import { backoffDelay } from '../transport/backoff.ts';
import type { Connector, ConnectionPlan, Http, Subscription, VenueEndpoints } from '../venues/connector.ts';
import type { Bus } from '../bus/bus.ts';
import { ConnectionSet, type Conn } from './connections.ts';
import { QUIET_BOOK_GRACE_MS, SnapshotQueue } from './snapshots.ts';
import { SubscriptionTable, type SubscriptionRequest, type SubscriptionStatus } from './subscriptions.ts';
import { BookSync, type ResyncReason } from './sync.ts';

export type { SubscriptionRequest, SubscriptionState, SubscriptionStatus } from './subscriptions.ts';

/** Logger shape used here (pino fits). */
export interface IngestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** What a {@link VenueRunner} runs on. */
export interface VenueRunnerOptions {
  readonly connector: Connector;
  readonly endpoints: VenueEndpoints;
  readonly http: Http;
  readonly bus: Bus;
  readonly log: IngestLogger;
  readonly requests: readonly SubscriptionRequest[];
  readonly transport?: { connectTimeoutMs?: number; backoffBaseMs?: number; backoffCapMs?: number };
  /** Called for every frame sent on a venue socket (recorder). */
  readonly onSent?: (connId: string, url: string, data: string, tsMs: number) => void;
  /** Called for every frame received (recorder). */
  readonly onRecv?: (connId: string, data: string, tsMs: number) => void;
  /** REST request budget for snapshot fetches (token bucket); unlimited when absent. */
  readonly rateLimit?: { requestsPerSecond: number; burstSize: number };
  /** Instruments clients watch: their resyncs are fetched first. */
  readonly isWatched?: (key: string) => boolean;
  /** Called when a snapshot fetch had to wait for the request budget. */
  readonly onBudgetWait?: () => void;
  /** Timer for retries and backoff (default real timers); direct replay passes its virtual clock. */
  readonly schedule?: (delayMs: number, fn: () => void) => void;
  /**
   * Maps a received frame to its receive time (ms since epoch), given the socket's wall-clock time. Replay through
   * the simulator passes the recording's receive times, so `recvTs`, latency and staleness read in recording time.
   */
  readonly recvTime?: (data: string, wallRecvTs: number) => number;
  /** Called on every connection open (recorder). */
  readonly onConnect?: (connId: string, url: string, tsMs: number) => void;
  /**
   * Called whenever a requested subscription changes state later than the synchronous answer of
   * {@link VenueRunner.addSubscriptions}: pending → active (its connection opened), active → pending (its connection
   * dropped; active again on reconnect), pending → pending `connection` / rejected (`INSTRUMENT_UNKNOWN`) once
   * instruments load. Removals are answered synchronously only. Not called after `stop()`.
   */
  readonly onSubscriptionStatus?: (status: SubscriptionStatus) => void;
}

/** Counters of one venue's ingest (read by the metrics collector at scrape time). */
export interface IngestCounters {
  frames: number;
  events: Record<string, number>;
  errors: Partial<Record<ErrorCode, number>>;
  ignored: Record<string, number>;
  reconnects: number;
  snapshotRequests: number;
  snapshotFailures: number;
  resubscribes: number;
  /** Receive time (ms) of the first and last frame. */
  firstFrameAt: number;
  lastFrameAt: number;
  /** Sampled processing time of one frame (decode + sync + publish), seconds; drained by the metrics collector. */
  stageSamples: number[];
}

/** Connection state as reported in health. */
export interface ConnectionHealth {
  readonly id: string;
  readonly state: string;
  readonly url: string;
  readonly reconnects: number;
  readonly lastFrameAt: number | null;
}

const SAMPLE_EVERY = 256;

/** Runs one venue. */
export class VenueRunner {
  readonly venue: string;
  readonly sync: BookSync;
  instruments: InstrumentIndex;
  readonly counters: IngestCounters = {
    frames: 0, firstFrameAt: 0, lastFrameAt: 0, events: {}, errors: {}, ignored: {}, reconnects: 0, snapshotRequests: 0, snapshotFailures: 0, resubscribes: 0, stageSamples: [],
  };
  /** Venue-level state: `loading` instruments, `running`, `stopped`, or `failed` (no instrument resolvable). */
  state: 'idle' | 'loading' | 'running' | 'stopped' = 'idle';
  lastError: string | undefined;
  private readonly conns: ConnectionSet;
  private readonly subs: SubscriptionTable;
  private readonly snapshots: SnapshotQueue;
  private readonly depthByKey = new Map<string, number>();
  private stopped = false;
  /** Trade / ticker subscriptions removed at run time (`key|channel`): frames still in flight are dropped. */
  private readonly dropped = new Set<string>();
  private loadTimer: NodeJS.Timeout | undefined;
  /** Snapshot retry and quiet-book timers (several instruments can wait at once). */
  private readonly timers = new Set<NodeJS.Timeout>();
  private sampleTick = 0;

  constructor(private readonly o: VenueRunnerOptions) {
    this.venue = o.connector.venue;
    this.instruments = new InstrumentIndex(this.venue);
    const checksum = o.connector.checksum;
    this.sync = new BookSync(this.venue, o.connector.capabilities.bookSync, o.bus, {
      requestResync: (i, r) => this.onResyncRequest(i, r),
      depthFor: (k) => this.depthByKey.get(k),
      checksum: checksum ? (book, expected) => checksum.call(o.connector, book, expected) : undefined,
    });
    const count = (code: ErrorCode): void => this.count(code);
    const later = (delayMs: number, fn: () => void): void => this.later(delayMs, fn);
    const isStopped = (): boolean => this.stopped;
    const { connector, endpoints, log } = o;
    const sync = this.sync;
    this.snapshots = new SnapshotQueue({
      connector, endpoints, log, sync, http: o.http, counters: this.counters, depthByKey: this.depthByKey, rateLimit: o.rateLimit, isWatched: o.isWatched,
      onBudgetWait: o.onBudgetWait, count, backoff: (attempt) => this.backoff(attempt), later, isStopped,
    });
    this.conns = new ConnectionSet({ connector, endpoints, http: o.http, log, sync, count, later, createConn: (id, subs) => this.createConn(id, subs) });
    this.subs = new SubscriptionTable({
      connector, endpoints, log, sync, requests: o.requests, onSubscriptionStatus: o.onSubscriptionStatus, conns: this.conns, snapshots: this.snapshots,
      depthByKey: this.depthByKey, dropped: this.dropped, instruments: () => this.instruments, count, isStopped,
    });
  }

  /** Resolved subscriptions: all connections' current sets (replaced, never mutated, on every change). */
  get subscriptions(): Subscription[] {
    return this.subs.subscriptions;
  }

  /** Bumped on every change of {@link VenueRunner.subscriptions} (feed catalogs cache on it). */
  get subscriptionVersion(): number {
    return this.subs.subscriptionVersion;
  }

  /** Loads instruments (retrying with backoff while offline), then opens the connections. Never rejects. */
  start(): Promise<void> {
    this.state = 'loading';
    return new Promise((resolve) => {
      let attempt = 0;
      const tryLoad = async (): Promise<void> => {
        this.loadTimer = undefined;
        if (this.stopped) return resolve();
        try {
          await this.prepare();
          if (this.stopped) return resolve();
          this.openConnections();
          this.state = 'running';
          this.lastError = undefined;
          resolve();
        } catch (e) {
          attempt++;
          this.lastError = `instrument load failed: ${errorMessage(e)}`;
          this.count((e as TributaryError).code ?? 'HTTP_ERROR');
          const delay = this.backoff(attempt);
          this.o.log.warn({ attempt, delayMs: delay, err: errorMessage(e) }, 'instrument load failed; retrying');
          this.loadTimer = setTimeout(() => void tryLoad(), delay);
          resolve(); // start() resolves; connections open once instruments load
        }
      };
      void tryLoad();
    });
  }

  /**
   * Loads instruments once and resolves the subscription requests (no connections): the configured ones and those
   * added while loading. Used by `start()` and by direct replay. @throws what the connector's `loadInstruments` throws.
   */
  async prepare(): Promise<void> {
    const list = await this.o.connector.loadInstruments(this.o.http, this.o.endpoints);
    this.instruments = new InstrumentIndex(this.venue, list);
    this.subs.resolve();
  }

  private count(code: ErrorCode): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
  }

  // ---- on-demand subscriptions (subscriptions.ts, connections.ts) ----------------------------------------

  /**
   * Subscribes upstream to more instruments × channels at run time; never throws. Per request, in order:
   * - a channel the venue does not serve → `rejected` (`CLIENT_BAD_REQUEST`);
   * - before the venue's instruments are loaded (or while it is offline and retrying) → `pending`
   *   (`waitingFor: 'instruments'`), resolved once they load (a symbol the venue does not list is then `rejected`
   *   with `INSTRUMENT_UNKNOWN`, told through `onSubscriptionStatus`);
   * - a symbol the venue does not list → `rejected` (`INSTRUMENT_UNKNOWN`, message `<venue> does not list "<symbol>"`);
   * - already requested → its current status (idempotent; the first request's depth stays);
   * - else it is put on a connection with room (same market / URL, within `maxSubscriptionsPerConnection`, and
   *   `plan()` keeps it on one connection) with the venue's subscribe request when that connection is open (`active`),
   *   or on a new connection (`pending` until it opens). Other connections and books are never touched.
   * Book subscriptions start a book (`sync.book(key)`), valid once its snapshot arrives.
   */
  addSubscriptions(requests: readonly SubscriptionRequest[]): SubscriptionStatus[] {
    return this.subs.add(requests);
  }

  /**
   * Unsubscribes upstream at run time; never throws. Each matching subscription (pending or active) is dropped: the
   * venue's unsubscribe request is sent on its connection when open, its book stops being tracked (a valid book gets a
   * last `book_reset`, reason `unsubscribed`; nothing is published for it afterwards), and a connection left with no
   * subscription is closed. Other connections and books are untouched. Answers `removed` for each request (also when
   * it was not subscribed).
   */
  removeSubscriptions(requests: readonly SubscriptionRequest[]): SubscriptionStatus[] {
    return this.subs.remove(requests);
  }

  /**
   * The feed catalog's form of {@link VenueRunner.addSubscriptions} for one canonical (or venue) symbol and channel:
   * `active`, or `pending` with the reason (instruments loading, connection not open yet).
   * @throws TributaryError `INSTRUMENT_UNKNOWN` (`<venue> does not list "<symbol>"`), `CLIENT_BAD_REQUEST` (a channel
   *         the venue does not serve).
   */
  demand(symbol: string, channel: Channel): { readonly state: 'active' } | { readonly state: 'pending'; readonly reason: string } {
    return this.subs.demand(symbol, channel);
  }

  /**
   * The feed catalog's release of a demanded subscription: removed upstream ({@link VenueRunner.removeSubscriptions})
   * unless it is a configured one, which stays. Unknown subscriptions are ignored.
   */
  undemand(symbol: string, channel: Channel): void {
    this.subs.undemand(symbol, channel);
  }

  /** The status of one request (as last given to `addSubscriptions`), or undefined when it was never requested. */
  subscriptionStatus(request: SubscriptionRequest): SubscriptionStatus | undefined {
    return this.subs.status(request);
  }

  /** Every requested subscription's status (pending and active, then the remembered rejections). */
  subscriptionStatuses(): SubscriptionStatus[] {
    return this.subs.statuses();
  }

  // ---- connections --------------------------------------------------------------------------------------

  private openConnections(): void {
    for (const c of this.subs.open()) c.socket.start();
  }

  /**
   * A connection carrying `subs` (created, registered, not started). On every (re)connect it plans exactly its current
   * `subs` (one connection by construction) under its own id; on open it reconciles what changed since that plan was made.
   */
  private createConn(id: string, subs: Subscription[]): Conn {
    const conn = this.conns.newConn(id, subs);
    const socket = new ManagedSocket({
      plan: () => this.conns.planFor(conn),
      name: `${this.venue}/${id}`,
      onFrame: (data, recvTs) => this.onFrame(conn, data, recvTs),
      connectTimeoutMs: this.o.transport?.connectTimeoutMs,
      backoff: { baseMs: this.o.transport?.backoffBaseMs, capMs: this.o.transport?.backoffCapMs },
      log: this.o.log,
    });
    (conn as { socket: ManagedSocket }).socket = socket;
    socket.on('connecting', () => {
      if (!conn.closing) this.status(id, 'connecting', null);
    });
    socket.on('open', ({ plan, url }) => {
      conn.plan = plan;
      const session = this.o.connector.newSession(plan);
      conn.session = session;
      this.subs.onOpen(conn, session);
      if (this.o.connector.capabilities.bookSync.snapshot === 'rest') {
        // A quiet instrument may send no delta for minutes: fetch its snapshot anyway after a grace period
        // (deltas arriving meanwhile are buffered and trigger the fetch themselves).
        this.later(QUIET_BOOK_GRACE_MS, () => {
          if (conn.session !== session) return;
          for (const k of this.bookKeysOf(conn)) this.sync.requestSnapshot(k);
        });
      }
      this.o.onConnect?.(id, url, Date.now());
      this.status(id, 'open', null);
      this.subs.tellConn(conn);
    });
    socket.on('closed', ({ reason }) => {
      conn.session = undefined;
      conn.sent.clear();
      this.sync.invalidate(this.bookKeysOf(conn), 'disconnected');
      // A released connection is not a venue problem: no `closed` status for it.
      if (!conn.closing) this.status(id, 'closed', reason ?? null);
      this.subs.tellConn(conn);
    });
    socket.on('reconnecting', ({ attempt, delayMs }) => {
      this.counters.reconnects++;
      this.o.log.warn({ conn: id, attempt, delayMs }, 'reconnecting');
      this.status(id, 'reconnecting', `attempt ${attempt} in ${delayMs} ms`);
    });
    socket.on('error', ({ error }) => {
      this.count(error.code);
      this.lastError = error.message;
    });
    if (this.o.onSent) {
      const onSent = this.o.onSent;
      socket.on('sent', ({ data, ts }) => onSent(id, socket.url, data, ts));
    }
    this.subs.register(conn);
    return conn;
  }

  private status(connId: string, state: 'connecting' | 'open' | 'closed' | 'reconnecting', detail: string | null): void {
    this.o.bus.publish('venue_status', { kind: 'venue_status', venue: this.venue, connId, state, detail, ts: Date.now() });
  }

  /** Book keys the connection carries now. */
  private bookKeysOf(conn: Conn): string[] {
    const keys: string[] = [];
    for (const s of conn.subs) if (s.channel === 'book') keys.push(s.instrument.key);
    return keys;
  }

  /** Hot path: one frame. */
  private onFrame(conn: Conn, data: string, wallTs: number): void {
    this.o.onRecv?.(conn.id, data, wallTs);
    const recvTs = this.o.recvTime === undefined ? wallTs : this.o.recvTime(data, wallTs);
    if (this.counters.frames++ === 0) this.counters.firstFrameAt = recvTs;
    this.counters.lastFrameAt = recvTs;
    const sample = ++this.sampleTick === SAMPLE_EVERY;
    const t0 = sample ? performance.now() : 0;
    if (sample) this.sampleTick = 0;
    this.process(conn, data, recvTs);
    if (sample && this.counters.stageSamples.length < 4096) this.counters.stageSamples.push((performance.now() - t0) / 1000);
  }

  /** Decodes and dispatches one frame (also used by direct replay). */
  process(conn: { session: unknown; socket?: ManagedSocket; id: string; plan?: ConnectionPlan }, data: string, recvTs: number): void {
    const d = this.o.connector.decode({ data, recvTs }, conn.session);
    const evs = d.events;
    const counts = this.counters.events;
    const dropped = this.dropped;
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i];
      counts[ev.type] = (counts[ev.type] ?? 0) + 1;
      if (ev.type === 'book_delta' || ev.type === 'book_snapshot') {
        this.sync.onEvent(ev);
      } else {
        const instrument = this.instruments.get(ev.key);
        if (instrument === undefined) continue;
        if (ev.type === 'trade') {
          if (dropped.size !== 0 && dropped.has(ev.key + '|trades')) continue; // unsubscribed, still in flight
          this.o.bus.publish('trade', { kind: 'trade', instrument, price: ev.price, size: ev.size, side: ev.side, tradeId: ev.tradeId, ts: ev.ts, recvTs: ev.recvTs });
        } else {
          if (dropped.size !== 0 && dropped.has(ev.key + '|ticker')) continue;
          this.o.bus.publish('ticker', {
            kind: 'ticker',
            instrument,
            bidPrice: ev.bidPrice ?? null,
            bidSize: ev.bidSize ?? null,
            askPrice: ev.askPrice ?? null,
            askSize: ev.askSize ?? null,
            last: ev.last ?? null,
            volume24h: ev.volume24h ?? null,
            ts: ev.ts,
            recvTs: ev.recvTs,
          });
        }
      }
    }
    if (d.replies && conn.socket) for (const r of d.replies) conn.socket.send(r);
    const sig = d.signal;
    if (sig !== undefined) {
      switch (sig.kind) {
        case 'ignored':
          this.counters.ignored[sig.reason] = (this.counters.ignored[sig.reason] ?? 0) + 1;
          break;
        case 'error':
          this.count(sig.error.code);
          if ((this.counters.errors[sig.error.code] ?? 0) <= 5) this.o.log.warn({ conn: conn.id, code: sig.error.code, err: sig.error.message }, 'venue frame error');
          break;
        case 'resync':
          this.sync.invalidate([sig.key], 'venue', true);
          break;
        case 'resync_connection': {
          const own = this.conns.find(conn.id);
          const subs = own ? own.subs : (conn.plan?.subscriptions ?? []);
          const keys = subs.filter((s) => s.channel === 'book').map((s) => s.instrument.key);
          this.o.log.warn({ conn: conn.id, reason: sig.reason, books: keys.length }, 'resyncing every book on the connection');
          this.sync.invalidate(keys, 'gap', true);
          break;
        }
        case 'reconnect':
          this.o.log.warn({ conn: conn.id, reason: sig.reason }, 'venue asked to reconnect');
          conn.socket?.forceReconnect(sig.reason);
          break;
        default:
          break;
      }
    }
  }

  private onResyncRequest(instrument: Instrument, reason: ResyncReason): void {
    if (reason !== 'initial') this.o.log.warn({ symbol: instrument.symbol, reason }, 'book resync');
    if (this.o.connector.capabilities.bookSync.snapshot === 'rest') {
      this.snapshots.resync(instrument, reason);
    } else {
      const entry = this.conns.bookSubs.get(instrument.key);
      const conn = entry && this.conns.find(entry.connId);
      const frames = entry && this.o.connector.resubscribeFrames?.(entry.sub);
      if (conn && frames) {
        this.counters.resubscribes++;
        for (const f of frames) conn.socket.send(f);
      }
    }
  }

  /** Retry delay (ms) for retry `attempt` (1-based): the project's one backoff (full jitter, capped). */
  private backoff(attempt: number): number {
    return backoffDelay(attempt, { baseMs: this.o.transport?.backoffBaseMs ?? 500, capMs: this.o.transport?.backoffCapMs ?? 30000 });
  }

  /** Runs `fn` after `delayMs` unless stopped; the timer does not keep the process alive by itself. */
  private later(delayMs: number, fn: () => void): void {
    if (this.o.schedule) {
      this.o.schedule(delayMs, () => {
        if (!this.stopped) fn();
      });
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  /** Connection health for `/health`. */
  connections(): ConnectionHealth[] {
    return this.conns.list.map((c) => ({
      id: c.id,
      state: c.socket.state,
      url: c.socket.url,
      reconnects: c.socket.reconnects,
      lastFrameAt: c.socket.lastFrameAt || null,
    }));
  }

  /** True when every planned connection is open. */
  get connected(): boolean {
    return this.conns.list.length > 0 && this.conns.list.every((c) => c.socket.state === 'open');
  }

  /** Stops all connections and timers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.loadTimer) clearTimeout(this.loadTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.conns.list.map((c) => c.socket.stop()));
  }
}
