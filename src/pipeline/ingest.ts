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
 */
import type { Channel } from '../core/events.ts';
import { TributaryError, errorMessage, type ErrorCode } from '../core/errors.ts';
import { InstrumentIndex, type Instrument } from '../core/instruments.ts';
import { ManagedSocket } from '../transport/ws.ts';
import { TokenBucket } from '../transport/rate-limit.ts';
import { backoffDelay } from '../transport/backoff.ts';
import type { Connector, ConnectionPlan, Http, Subscription, VenueEndpoints } from '../venues/connector.ts';
import type { Bus } from '../bus/bus.ts';
import { BookSync, type ResyncReason } from './sync.ts';

/**
 * What to subscribe to: a canonical symbol (`BTC/USDT`) or the venue's own symbol (`BTCUSDT`, spot preferred),
 * or an instrument key (`spot:BTCUSDT`); one channel.
 */
export interface SubscriptionRequest {
  readonly symbol?: string;
  readonly key?: string;
  readonly channel: Channel;
  readonly depth?: number;
}

/** Logger shape used here (pino fits). */
export interface IngestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

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

/**
 * Where one requested subscription stands:
 * - `pending`: accepted, not on an open connection yet (instruments still loading, or its connection is connecting /
 *   reconnecting); it becomes `active` by itself;
 * - `active`: subscribed upstream on an open connection (the venue's subscribe request sent; a book is valid once its
 *   snapshot arrives: see `sync.book(key)`);
 * - `rejected`: never will be (`error`: `INSTRUMENT_UNKNOWN` for a symbol the venue does not list, `CLIENT_BAD_REQUEST`
 *   for a channel it does not serve or a malformed request);
 * - `removed`: the answer to a removal (no longer subscribed, or never was).
 */
export type SubscriptionState = 'pending' | 'active' | 'rejected' | 'removed';

/** The status of one requested subscription (see {@link SubscriptionState}). */
export interface SubscriptionStatus {
  readonly venue: string;
  readonly request: SubscriptionRequest;
  readonly channel: Channel;
  readonly state: SubscriptionState;
  /** Instrument key and canonical symbol, once instruments are loaded and the request resolved. */
  readonly key?: string;
  readonly symbol?: string;
  /** The connection carrying it (for `pending` once resolved: the one it will be subscribed on). */
  readonly connId?: string;
  /** `pending` only: what it waits for, the venue's instruments or its connection. */
  readonly waitingFor?: 'instruments' | 'connection';
  /** `rejected` only. */
  readonly error?: TributaryError;
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

interface Conn {
  readonly id: string;
  readonly socket: ManagedSocket;
  session: unknown;
  /** The plan the current (or last) connection opened with. */
  plan: ConnectionPlan;
  /** What this connection should carry now: re-planned on every (re)connect, changed by add / remove. */
  subs: Subscription[];
  /** Subscription ids (`key|channel`) the live connection has been asked for (plan on open, then adds / removes). */
  readonly sent: Set<string>;
  /** Released (no subscription left): stopping, never reused. */
  closing: boolean;
}

/** One requested subscription (see {@link SubscriptionStatus}). */
interface Entry {
  readonly id: string;
  readonly request: SubscriptionRequest;
  /** Set once resolved. */
  sub?: Subscription;
  connId?: string;
  /** Last state told to `onSubscriptionStatus`. */
  told?: string;
  /** From the runner's configured requests (kept by `undemand`). */
  configured?: boolean;
}

/** Rejected requests remembered for status queries (bounded: oldest forgotten first). */
const MAX_REJECTED = 256;

/** `key|channel`: one subscription's id. */
function subId(s: { instrument: { key: string }; channel: Channel }): string {
  return `${s.instrument.key}|${s.channel}`;
}

const SAMPLE_EVERY = 256;
/** After a connection opens, books of REST-snapshot venues still without any delta get their snapshot anyway (ms). */
const QUIET_BOOK_GRACE_MS = 2000;

/** Runs one venue. */
export class VenueRunner {
  readonly venue: string;
  readonly sync: BookSync;
  instruments: InstrumentIndex;
  readonly counters: IngestCounters = {
    frames: 0, firstFrameAt: 0, lastFrameAt: 0, events: {}, errors: {}, ignored: {}, reconnects: 0, snapshotRequests: 0, snapshotFailures: 0, resubscribes: 0, stageSamples: [],
  };
  /** Resolved subscriptions: all connections' current sets (replaced, never mutated, on every change). */
  subscriptions: Subscription[] = [];
  /** Bumped on every change of {@link VenueRunner.subscriptions} (feed catalogs cache on it). */
  subscriptionVersion = 0;
  /** Venue-level state: `loading` instruments, `running`, `stopped`, or `failed` (no instrument resolvable). */
  state: 'idle' | 'loading' | 'running' | 'stopped' = 'idle';
  lastError: string | undefined;
  private conns: Conn[] = [];
  private readonly bookSubs = new Map<string, { sub: Subscription; connId: string }>();
  private readonly depthByKey = new Map<string, number>();
  private stopped = false;
  /** Instruments are loaded (requests resolve); connections are opened (subscriptions go to connections). */
  private loaded = false;
  private opened = false;
  /** Requested subscriptions by id (`key|channel`, or `?{symbol}|channel` before instruments are loaded). */
  private readonly entries = new Map<string, Entry>();
  /** Rejected requests by request id, newest last (bounded). */
  private readonly rejected = new Map<string, SubscriptionStatus>();
  /** Trade / ticker subscriptions removed at run time (`key|channel`): frames still in flight are dropped. */
  private readonly dropped = new Set<string>();
  private loadTimer: NodeJS.Timeout | undefined;
  private readonly snapshotQueue: { instrument: Instrument; attempt: number }[] = [];
  private readonly queued = new Set<string>();
  private snapshotBusy = false;
  private readonly bucket: TokenBucket | undefined;
  private budgetWaiting = false;
  /** Snapshot retry and quiet-book timers (several instruments can wait at once). */
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Consecutive stale REST snapshots per instrument (backoff on refetch). */
  private readonly staleAttempts = new Map<string, number>();
  private sampleTick = 0;

  constructor(private readonly o: VenueRunnerOptions) {
    this.venue = o.connector.venue;
    this.instruments = new InstrumentIndex(this.venue);
    this.bucket = o.rateLimit ? new TokenBucket(o.rateLimit.requestsPerSecond, o.rateLimit.burstSize) : undefined;
    const checksum = o.connector.checksum;
    this.sync = new BookSync(this.venue, o.connector.capabilities.bookSync, o.bus, {
      requestResync: (i, r) => this.onResyncRequest(i, r),
      depthFor: (k) => this.depthByKey.get(k),
      checksum: checksum ? (book, expected) => checksum.call(o.connector, book, expected) : undefined,
    });
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
    this.loaded = true;
    this.resolveSubscriptions();
  }

  private count(code: ErrorCode): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
  }

  // ---- on-demand subscriptions --------------------------------------------------------------------------

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
    const placed = new Map<Conn, Subscription[]>();
    const fresh: Conn[] = [];
    const results: (Entry | SubscriptionStatus)[] = [];
    for (const r of requests) results.push(this.addOne(r, placed, fresh));
    for (const [conn, subs] of placed) this.afterAdd(conn, subs, fresh.includes(conn));
    for (const c of fresh) c.socket.start();
    this.refreshSubscriptions();
    return results.map((x) => {
      if ('state' in x) return x;
      const st = this.statusOf(x);
      x.told = `${st.state}:${st.waitingFor ?? ''}`;
      return st;
    });
  }

  /**
   * Unsubscribes upstream at run time; never throws. Each matching subscription (pending or active) is dropped: the
   * venue's unsubscribe request is sent on its connection when open, its book stops being tracked (a valid book gets a
   * last `book_reset`, reason `unsubscribed`; nothing is published for it afterwards), and a connection left with no
   * subscription is closed. Other connections and books are untouched. Answers `removed` for each request (also when
   * it was not subscribed).
   */
  removeSubscriptions(requests: readonly SubscriptionRequest[]): SubscriptionStatus[] {
    const touched = new Map<Conn, Subscription[]>();
    const out: SubscriptionStatus[] = [];
    for (const r of requests) {
      const rid = this.requestId(r);
      this.rejected.delete(rid.raw);
      if (rid.resolved !== undefined) this.rejected.delete(rid.resolved);
      const entry = (rid.resolved !== undefined ? this.entries.get(rid.resolved) : undefined) ?? this.entries.get(rid.raw);
      if (entry) {
        this.entries.delete(entry.id);
        if (entry.sub) this.detach(entry, touched);
      }
      out.push({ venue: this.venue, request: r, channel: r.channel, state: 'removed', key: entry?.sub?.instrument.key, symbol: entry?.sub?.instrument.symbol });
    }
    for (const [conn, subs] of touched) {
      if (conn.subs.length === 0) {
        this.release(conn);
        continue;
      }
      const live = subs.filter((s) => conn.sent.has(subId(s)));
      if (live.length > 0 && this.isLive(conn)) {
        if (this.o.connector.unsubscribeFrames) this.sendChange(conn, 'remove', live);
      }
      for (const s of subs) conn.sent.delete(subId(s));
      this.refreshBookSubs(conn);
    }
    this.refreshSubscriptions();
    return out;
  }

  /**
   * The feed catalog's form of {@link VenueRunner.addSubscriptions} for one canonical (or venue) symbol and channel:
   * `active`, or `pending` with the reason (instruments loading, connection not open yet).
   * @throws TributaryError `INSTRUMENT_UNKNOWN` (`<venue> does not list "<symbol>"`), `CLIENT_BAD_REQUEST` (a channel
   *         the venue does not serve).
   */
  demand(symbol: string, channel: Channel): { readonly state: 'active' } | { readonly state: 'pending'; readonly reason: string } {
    const [st] = this.addSubscriptions([{ symbol, channel }]);
    if (st.state === 'rejected') throw st.error!;
    if (st.state === 'active') return { state: 'active' };
    return {
      state: 'pending',
      reason: st.waitingFor === 'instruments' ? `${this.venue} is loading its instruments` : `${this.venue} connection ${st.connId ?? ''} is not open yet`,
    };
  }

  /**
   * The feed catalog's release of a demanded subscription: removed upstream ({@link VenueRunner.removeSubscriptions})
   * unless it is a configured one, which stays. Unknown subscriptions are ignored.
   */
  undemand(symbol: string, channel: Channel): void {
    const r: SubscriptionRequest = { symbol, channel };
    const rid = this.requestId(r);
    const entry = (rid.resolved !== undefined ? this.entries.get(rid.resolved) : undefined) ?? this.entries.get(rid.raw);
    if (entry?.configured) return;
    this.removeSubscriptions([r]);
  }

  /** The status of one request (as last given to `addSubscriptions`), or undefined when it was never requested. */
  subscriptionStatus(request: SubscriptionRequest): SubscriptionStatus | undefined {
    const rid = this.requestId(request);
    const entry = (rid.resolved !== undefined ? this.entries.get(rid.resolved) : undefined) ?? this.entries.get(rid.raw);
    if (entry) return this.statusOf(entry);
    return (rid.resolved !== undefined ? this.rejected.get(rid.resolved) : undefined) ?? this.rejected.get(rid.raw);
  }

  /** Every requested subscription's status (pending and active, then the remembered rejections). */
  subscriptionStatuses(): SubscriptionStatus[] {
    return [...[...this.entries.values()].map((e) => this.statusOf(e)), ...this.rejected.values()];
  }

  /** `raw`: id of the request as written; `resolved`: `key|channel` once instruments are loaded and it resolves. */
  private requestId(r: SubscriptionRequest): { raw: string; resolved?: string; instrument?: Instrument } {
    const raw = `?${r.key !== undefined ? `key=${r.key}` : String(r.symbol)}|${r.channel}`;
    if (!this.loaded) return { raw };
    const instrument = this.lookup(r);
    return instrument ? { raw, resolved: `${instrument.key}|${r.channel}`, instrument } : { raw };
  }

  private lookup(r: SubscriptionRequest): Instrument | undefined {
    return r.key !== undefined ? this.instruments.get(r.key) : r.symbol !== undefined ? this.instruments.resolve(r.symbol) : undefined;
  }

  private reject(r: SubscriptionRequest, id: string, error: TributaryError): SubscriptionStatus {
    const st: SubscriptionStatus = { venue: this.venue, request: r, channel: r.channel, state: 'rejected', error };
    this.rejected.delete(id);
    this.rejected.set(id, st);
    if (this.rejected.size > MAX_REJECTED) this.rejected.delete(this.rejected.keys().next().value as string);
    return st;
  }

  /** Why a request can never be served (bad channel / shape), or undefined. */
  private badRequest(r: SubscriptionRequest): TributaryError | undefined {
    const channels = this.o.connector.capabilities.channels;
    if (!channels.includes(r.channel)) {
      return new TributaryError('CLIENT_BAD_REQUEST', `${this.venue} does not serve the ${String(r.channel)} channel (it serves ${channels.join(', ')})`, {
        venue: this.venue,
        channel: r.channel,
      });
    }
    if ((r.symbol === undefined || r.symbol === '') && (r.key === undefined || r.key === '')) {
      return new TributaryError('CLIENT_BAD_REQUEST', `${this.venue}: a subscription needs a symbol or an instrument key`, { venue: this.venue });
    }
    if (this.stopped) return new TributaryError('CLIENT_BAD_REQUEST', `${this.venue} is stopped`, { venue: this.venue });
    return undefined;
  }

  private unknownSymbol(r: SubscriptionRequest): TributaryError {
    const name = r.symbol ?? r.key ?? '';
    return new TributaryError('INSTRUMENT_UNKNOWN', `${this.venue} does not list "${name}"`, { venue: this.venue, symbol: name });
  }

  /** The subscription of `r` on `inst` (book depth as the venue keeps it). */
  private subscriptionOf(inst: Instrument, r: SubscriptionRequest): Subscription {
    const requested = r.depth ?? this.o.connector.capabilities.defaultDepth;
    const depth = r.channel === 'book' ? (this.o.connector.bookDepth?.(requested) ?? requested) : undefined;
    return { instrument: inst, channel: r.channel, depth };
  }

  private addOne(r: SubscriptionRequest, placed: Map<Conn, Subscription[]>, fresh: Conn[]): Entry | SubscriptionStatus {
    const rid = this.requestId(r);
    const bad = this.badRequest(r);
    if (bad) return this.reject(r, rid.raw, bad);
    if (!this.loaded) {
      let e = this.entries.get(rid.raw);
      if (!e) {
        e = { id: rid.raw, request: r };
        this.entries.set(e.id, e);
        this.rejected.delete(rid.raw);
      }
      return e;
    }
    if (rid.resolved === undefined || rid.instrument === undefined) {
      this.count('INSTRUMENT_UNKNOWN');
      return this.reject(r, rid.raw, this.unknownSymbol(r));
    }
    const existing = this.entries.get(rid.resolved);
    if (existing) return existing;
    const sub = this.subscriptionOf(rid.instrument, r);
    let connId: string | undefined;
    if (this.opened) {
      try {
        connId = this.place(sub, placed, fresh).id;
      } catch (e) {
        const err = e instanceof TributaryError ? e : new TributaryError('INSTRUMENT_UNKNOWN', `${this.venue}: ${errorMessage(e)}`, { venue: this.venue });
        return this.reject(r, rid.resolved, err);
      }
    } else {
      this.subscriptions = [...this.subscriptions, sub];
    }
    const e: Entry = { id: rid.resolved, request: r, sub, connId };
    this.entries.set(e.id, e);
    this.rejected.delete(rid.resolved);
    this.rejected.delete(rid.raw);
    this.dropped.delete(e.id);
    this.startTracking(sub);
    return e;
  }

  private startTracking(sub: Subscription): void {
    if (sub.channel !== 'book') return;
    this.sync.track(sub.instrument);
    if (sub.depth !== undefined) this.depthByKey.set(sub.instrument.key, sub.depth);
  }

  /** True when `subs` plus `sub` still fit one connection by the venue's rules (`plan()`), within the count limit. */
  private fits(subs: readonly Subscription[], sub: Subscription): boolean {
    const max = this.o.connector.capabilities.maxSubscriptionsPerConnection ?? Number.POSITIVE_INFINITY;
    if (subs.length + 1 > max) return false;
    try {
      return this.o.connector.plan([...subs, sub], this.o.endpoints).length === 1;
    } catch {
      return false;
    }
  }

  /**
   * Puts `sub` on a connection with room (open ones only when the venue can subscribe on an open connection), else on
   * a new connection (created, not started). @throws what `plan()` throws for a subscription it cannot serve.
   */
  private place(sub: Subscription, placed: Map<Conn, Subscription[]>, fresh: Conn[]): Conn {
    const canAddLive = this.o.connector.subscribeFrames !== undefined;
    for (const c of this.conns) {
      if (c.closing || (!canAddLive && !fresh.includes(c))) continue;
      if (!this.fits(c.subs, sub)) continue;
      c.subs.push(sub);
      const list = placed.get(c);
      if (list) list.push(sub);
      else placed.set(c, [sub]);
      return c;
    }
    const [p] = this.o.connector.plan([sub], this.o.endpoints);
    if (!p) throw new TributaryError('INSTRUMENT_UNKNOWN', `${this.venue} cannot subscribe ${sub.instrument.symbol} ${sub.channel}`, { key: sub.instrument.key });
    const conn = this.createConn(this.freeConnId(p.id), [...p.subscriptions]);
    fresh.push(conn);
    placed.set(conn, [sub]);
    return conn;
  }

  /** `spot-3` → the first of `spot-0`, `spot-1`, … no running connection uses. */
  private freeConnId(planned: string): string {
    const m = /^(.*)-(\d+)$/.exec(planned);
    const prefix = m ? m[1] : planned;
    const used = new Set(this.conns.map((c) => c.id));
    for (let n = 0; ; n++) if (!used.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
  }

  /** After subscriptions were added to `conn`: subscribe them now on a live connection, refresh the lookups. */
  private afterAdd(conn: Conn, subs: Subscription[], isNew: boolean): void {
    this.refreshBookSubs(conn);
    if (isNew || !this.isLive(conn)) return; // the connection's next open plans (or reconciles) them
    this.sendChange(conn, 'add', subs);
    for (const s of subs) conn.sent.add(subId(s));
    this.afterLiveAdd(subs);
  }

  /** Books added to a live connection of a REST-snapshot venue get their snapshot even if no delta comes soon. */
  private afterLiveAdd(subs: readonly Subscription[]): void {
    if (this.o.connector.capabilities.bookSync.snapshot !== 'rest') return;
    const keys = subs.filter((s) => s.channel === 'book').map((s) => s.instrument.key);
    if (keys.length > 0) this.later(QUIET_BOOK_GRACE_MS, () => keys.forEach((k) => this.sync.requestSnapshot(k)));
  }

  /** Sends the venue's subscribe / unsubscribe request for `subs` on the open connection `conn`. */
  private sendChange(conn: Conn, op: 'add' | 'remove', subs: readonly Subscription[]): void {
    const c = this.o.connector;
    try {
      const make = op === 'add' ? c.subscribeFrames : c.unsubscribeFrames;
      let frames: readonly string[] = make ? make.call(c, subs, conn.plan) : [];
      if (c.updateSession) frames = c.updateSession.call(c, conn.session, op, subs, frames);
      for (const f of frames) conn.socket.send(f);
      this.o.log.info({ conn: conn.id, op, subscriptions: subs.map(subId) }, op === 'add' ? 'subscribed on an open connection' : 'unsubscribed on an open connection');
    } catch (e) {
      this.count(e instanceof TributaryError ? e.code : 'INTERNAL_ERROR');
      this.o.log.error({ conn: conn.id, op, err: errorMessage(e) }, 'subscription change failed');
    }
  }

  /** Drops one resolved subscription: from its connection, its book, the snapshot queue. */
  private detach(entry: Entry, touched: Map<Conn, Subscription[]>): void {
    const sub = entry.sub!;
    const id = entry.id;
    const key = sub.instrument.key;
    const conn = this.conns.find((c) => c.id === entry.connId);
    if (conn) {
      const i = conn.subs.findIndex((s) => subId(s) === id);
      if (i >= 0) conn.subs.splice(i, 1);
      const list = touched.get(conn);
      if (list) list.push(sub);
      else touched.set(conn, [sub]);
    } else {
      this.subscriptions = this.subscriptions.filter((s) => subId(s) !== id);
    }
    if (sub.channel === 'book') {
      this.sync.untrack(key);
      this.depthByKey.delete(key);
      this.bookSubs.delete(key);
      this.staleAttempts.delete(key);
      if (this.queued.delete(key)) {
        const j = this.snapshotQueue.findIndex((q) => q.instrument.key === key);
        if (j >= 0) this.snapshotQueue.splice(j, 1);
      }
    } else {
      this.dropped.add(id);
    }
  }

  /** Closes a connection left with no subscription (its socket stops; nothing reconnects it). */
  private release(conn: Conn): void {
    conn.closing = true;
    this.conns = this.conns.filter((c) => c !== conn);
    this.o.log.info({ conn: conn.id }, 'connection released: no subscription left');
    void conn.socket.stop();
  }

  private isLive(conn: Conn): boolean {
    return conn.socket.state === 'open' && conn.session !== undefined;
  }

  /** Re-derives `subscriptions` from the connections (after `openConnections`). */
  private refreshSubscriptions(): void {
    if (this.opened) this.subscriptions = this.conns.flatMap((c) => c.subs);
    this.subscriptionVersion++;
  }

  /** Book subscriptions of `conn` as the venue plans them (resync frames need the planned form, e.g. Kraken's protocol). */
  private refreshBookSubs(conn: Conn): void {
    if (conn.subs.length === 0) return;
    let planned: readonly Subscription[] = conn.subs;
    try {
      planned = this.o.connector.plan(conn.subs, this.o.endpoints)[0]?.subscriptions ?? conn.subs;
    } catch {
      // keep the raw subscriptions
    }
    for (const s of planned) if (s.channel === 'book') this.bookSubs.set(s.instrument.key, { sub: s, connId: conn.id });
  }

  private statusOf(e: Entry): SubscriptionStatus {
    const base = { venue: this.venue, request: e.request, channel: e.request.channel };
    if (!e.sub) return { ...base, state: 'pending', waitingFor: 'instruments' };
    const ids = { key: e.sub.instrument.key, symbol: e.sub.instrument.symbol, connId: e.connId };
    const conn = e.connId === undefined ? undefined : this.conns.find((c) => c.id === e.connId);
    if (conn && this.isLive(conn) && conn.sent.has(e.id)) return { ...base, ...ids, state: 'active' };
    return { ...base, ...ids, state: 'pending', waitingFor: 'connection' };
  }

  /** Tells `onSubscriptionStatus` about a state change of `e`. */
  private tell(e: Entry | undefined): void {
    if (!e || !this.o.onSubscriptionStatus || this.stopped) return;
    const st = this.statusOf(e);
    const sig = `${st.state}:${st.waitingFor ?? ''}`;
    if (e.told === sig) return;
    e.told = sig;
    this.o.onSubscriptionStatus(st);
  }

  private tellConn(conn: Conn): void {
    for (const s of conn.subs) this.tell(this.entries.get(subId(s)));
  }

  // ---- connections --------------------------------------------------------------------------------------

  /** Resolves the configured requests and those added before instruments were loaded. */
  private resolveSubscriptions(): void {
    const subs: Subscription[] = [];
    const waiting = [...this.entries.values()].filter((e) => !e.sub);
    for (const e of waiting) this.entries.delete(e.id);
    const requests: { r: SubscriptionRequest; configured: boolean }[] = [
      ...this.o.requests.map((r) => ({ r, configured: true })),
      ...waiting.map((e) => ({ r: e.request, configured: false })),
    ];
    for (const { r, configured } of requests) {
      const rid = this.requestId(r);
      const bad = this.badRequest(r);
      if (bad) {
        // configured requests for channels a venue lacks are skipped quietly (a shared symbol list)
        if (!configured) this.o.onSubscriptionStatus?.(this.reject(r, rid.raw, bad));
        continue;
      }
      if (rid.resolved === undefined || rid.instrument === undefined) {
        this.count('INSTRUMENT_UNKNOWN');
        const err = this.unknownSymbol(r);
        this.o.log.error({ symbol: r.symbol ?? r.key, code: 'INSTRUMENT_UNKNOWN' }, configured ? 'symbol not listed by the venue; skipped' : err.message);
        const st = this.reject(r, rid.raw, err);
        if (!configured) this.o.onSubscriptionStatus?.(st);
        continue;
      }
      if (this.entries.has(rid.resolved)) continue;
      const sub = this.subscriptionOf(rid.instrument, r);
      subs.push(sub);
      this.entries.set(rid.resolved, { id: rid.resolved, request: r, sub, configured });
      this.startTracking(sub);
    }
    this.subscriptions = subs;
    this.subscriptionVersion++;
    for (const e of this.entries.values()) if (e.sub && !e.configured) this.tell(e);
  }

  private openConnections(): void {
    this.opened = true;
    const plans = this.o.connector.plan(this.subscriptions, this.o.endpoints);
    const conns = plans.map((p) => this.createConn(p.id, [...p.subscriptions]));
    this.refreshSubscriptions();
    for (const c of conns) c.socket.start();
  }

  /**
   * A connection carrying `subs` (created, not started). On every (re)connect it plans exactly its current `subs`
   * (one connection by construction) under its own id; on open it reconciles what changed since that plan was made.
   */
  private createConn(id: string, subs: Subscription[]): Conn {
    const prepare = this.o.connector.prepareConnection;
    const conn: Conn = { id, plan: undefined as unknown as ConnectionPlan, session: undefined, socket: undefined as unknown as ManagedSocket, subs, sent: new Set(), closing: false };
    const planFn = (): ConnectionPlan | Promise<ConnectionPlan> => {
      const planned = this.o.connector.plan(conn.subs, this.o.endpoints);
      if (planned.length !== 1) throw new TributaryError('CONFIG_INVALID', `connection ${id}: its ${conn.subs.length} subscriptions plan to ${planned.length} connections`);
      const fresh = { ...planned[0], id };
      return prepare ? prepare.call(this.o.connector, fresh, this.o.http, this.o.endpoints) : fresh;
    };
    try {
      const first = this.o.connector.plan(subs, this.o.endpoints)[0];
      if (first) conn.plan = { ...first, id };
    } catch {
      // planFn reports it on connect
    }
    const socket = new ManagedSocket({
      plan: planFn,
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
      conn.sent.clear();
      for (const s of plan.subscriptions) conn.sent.add(subId(s));
      // Subscriptions added or removed after this connection's plan was made: the plan's frames go out right after
      // this event, then the difference (the venue's own requests on the now-open connection).
      const want = new Set(conn.subs.map(subId));
      const missing = conn.subs.filter((s) => !conn.sent.has(subId(s)));
      const extra = plan.subscriptions.filter((s) => !want.has(subId(s)));
      if (missing.length > 0 || extra.length > 0) {
        queueMicrotask(() => {
          if (conn.session !== session || !this.isLive(conn)) return;
          if (extra.length > 0 && this.o.connector.unsubscribeFrames) this.sendChange(conn, 'remove', extra);
          for (const s of extra) conn.sent.delete(subId(s));
          if (missing.length > 0) {
            this.sendChange(conn, 'add', missing);
            for (const s of missing) conn.sent.add(subId(s));
          }
          this.tellConn(conn);
        });
      }
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
      this.tellConn(conn);
    });
    socket.on('closed', ({ reason }) => {
      conn.session = undefined;
      conn.sent.clear();
      this.sync.invalidate(this.bookKeysOf(conn), 'disconnected');
      // A released connection is not a venue problem: no `closed` status for it.
      if (!conn.closing) this.status(id, 'closed', reason ?? null);
      this.tellConn(conn);
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
    for (const s of subs) {
      const e = this.entries.get(subId(s));
      if (e) e.connId = id;
    }
    this.conns.push(conn);
    this.refreshBookSubs(conn);
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
          const own = this.conns.find((c) => c.id === conn.id);
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
      if (reason === 'snapshot_stale') {
        // The snapshot was older than the buffered deltas: fetch again, with backoff (never a tight loop).
        const n = (this.staleAttempts.get(instrument.key) ?? 0) + 1;
        this.staleAttempts.set(instrument.key, n);
        this.later(this.backoff(n), () => {
          if (this.sync.awaiting(instrument.key)) this.enqueueSnapshot(instrument, n);
        });
      } else {
        this.enqueueSnapshot(instrument);
      }
    } else {
      const entry = this.bookSubs.get(instrument.key);
      const conn = entry && this.conns.find((c) => c.id === entry.connId);
      const frames = entry && this.o.connector.resubscribeFrames?.(entry.sub);
      if (conn && frames) {
        this.counters.resubscribes++;
        for (const f of frames) conn.socket.send(f);
      }
    }
  }

  private enqueueSnapshot(instrument: Instrument, attempt = 0): void {
    if (this.queued.has(instrument.key)) return;
    this.queued.add(instrument.key);
    this.snapshotQueue.push({ instrument, attempt });
    this.pumpSnapshots();
  }

  /** Fetches queued REST snapshots one at a time (a burst of resyncs never floods the venue). */
  private pumpSnapshots(): void {
    if (this.snapshotBusy || this.budgetWaiting || this.stopped || this.snapshotQueue.length === 0) return;
    if (this.bucket) {
      const wait = this.bucket.take();
      if (wait > 0) {
        this.budgetWaiting = true;
        this.o.onBudgetWait?.();
        this.later(wait, () => {
          this.budgetWaiting = false;
          this.pumpSnapshots();
        });
        return;
      }
    }
    // Instruments clients watch go first.
    const watched = this.o.isWatched ? this.snapshotQueue.findIndex((j) => this.o.isWatched!(j.instrument.key)) : -1;
    const job = this.snapshotQueue.splice(watched > 0 ? watched : 0, 1)[0];
    this.snapshotBusy = true;
    const { instrument } = job;
    const fetchSnapshot = this.o.connector.bookSnapshot;
    if (!fetchSnapshot) {
      this.snapshotBusy = false;
      this.queued.delete(instrument.key);
      return;
    }
    this.counters.snapshotRequests++;
    const depth = this.depthByKey.get(instrument.key) ?? this.o.connector.capabilities.defaultDepth;
    fetchSnapshot
      .call(this.o.connector, instrument, depth, this.o.http, this.o.endpoints)
      .then((snap) => {
        this.queued.delete(instrument.key);
        if (!this.stopped && this.sync.onRestSnapshot(instrument.key, snap)) this.staleAttempts.delete(instrument.key);
      })
      .catch((e: unknown) => {
        this.queued.delete(instrument.key);
        this.counters.snapshotFailures++;
        this.count((e as TributaryError).code ?? 'HTTP_ERROR');
        this.sync.snapshotFailed(instrument.key);
        const delay = this.backoff(job.attempt + 1);
        this.o.log.warn({ symbol: instrument.symbol, err: errorMessage(e), delayMs: delay }, 'snapshot fetch failed; retrying');
        this.later(delay, () => {
          if (this.sync.awaiting(instrument.key)) this.enqueueSnapshot(instrument, job.attempt + 1);
        });
      })
      .finally(() => {
        this.snapshotBusy = false;
        this.pumpSnapshots();
      });
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
    return this.conns.map((c) => ({
      id: c.id,
      state: c.socket.state,
      url: c.socket.url,
      reconnects: c.socket.reconnects,
      lastFrameAt: c.socket.lastFrameAt || null,
    }));
  }

  /** True when every planned connection is open. */
  get connected(): boolean {
    return this.conns.length > 0 && this.conns.every((c) => c.socket.state === 'open');
  }

  /** Stops all connections and timers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.loadTimer) clearTimeout(this.loadTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.conns.map((c) => c.socket.stop()));
  }
}
