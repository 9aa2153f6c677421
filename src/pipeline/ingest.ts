/**
 * Ingest for one venue: loads instruments, resolves subscriptions, runs one {@link ManagedSocket} per
 * connection plan, decodes frames with the venue's pure decoder, feeds book events to the sync stage,
 * publishes trades/tickers on the bus, answers venue pings, and executes resync requests
 * (REST snapshot fetch with retry, or resubscribe on the instrument's own connection).
 */
import type { Channel } from '../core/events.ts';
import { TributaryError, errorMessage, type ErrorCode } from '../core/errors.ts';
import { InstrumentIndex, type Instrument } from '../core/instruments.ts';
import { ManagedSocket } from '../transport/ws.ts';
import { TokenBucket } from '../transport/rate-limit.ts';
import type { Connector, ConnectionPlan, Http, Subscription, VenueEndpoints } from '../venues/connector.ts';
import type { Bus } from './bus.ts';
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
  /** Called on every connection open (recorder). */
  readonly onConnect?: (connId: string, url: string, tsMs: number) => void;
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
  plan: ConnectionPlan;
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
  /** Resolved subscriptions. */
  subscriptions: Subscription[] = [];
  /** Venue-level state: `loading` instruments, `running`, `stopped`, or `failed` (no instrument resolvable). */
  state: 'idle' | 'loading' | 'running' | 'stopped' = 'idle';
  lastError: string | undefined;
  private conns: Conn[] = [];
  private readonly bookSubs = new Map<string, { sub: Subscription; connId: string }>();
  private readonly depthByKey = new Map<string, number>();
  private stopped = false;
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
          const cap = this.o.transport?.backoffCapMs ?? 30000;
          const base = this.o.transport?.backoffBaseMs ?? 500;
          const delay = Math.round(Math.random() * Math.min(cap, base * 2 ** Math.min(attempt, 16)));
          this.o.log.warn({ attempt, delayMs: delay, err: errorMessage(e) }, 'instrument load failed; retrying');
          this.loadTimer = setTimeout(() => void tryLoad(), delay);
          resolve(); // start() resolves; connections open once instruments load
        }
      };
      void tryLoad();
    });
  }

  /**
   * Loads instruments once and resolves the subscription requests (no connections).
   * Used by `start()` and by direct replay. @throws what the connector's `loadInstruments` throws.
   */
  async prepare(): Promise<void> {
    const list = await this.o.connector.loadInstruments(this.o.http, this.o.endpoints);
    this.instruments = new InstrumentIndex(this.venue, list);
    this.resolveSubscriptions();
  }

  private count(code: ErrorCode): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
  }

  private resolveSubscriptions(): void {
    const subs: Subscription[] = [];
    const seen = new Set<string>();
    for (const r of this.o.requests) {
      const inst = r.key !== undefined ? this.instruments.get(r.key) : r.symbol !== undefined ? this.instruments.resolve(r.symbol) : undefined;
      if (!inst) {
        this.count('INSTRUMENT_UNKNOWN');
        this.o.log.error({ symbol: r.symbol ?? r.key, code: 'INSTRUMENT_UNKNOWN' }, 'symbol not listed by the venue; skipped');
        continue;
      }
      if (!this.o.connector.capabilities.channels.includes(r.channel)) continue;
      const id = `${inst.key}|${r.channel}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const requested = r.depth ?? this.o.connector.capabilities.defaultDepth;
      const depth = r.channel === 'book' ? (this.o.connector.bookDepth?.(requested) ?? requested) : undefined;
      subs.push({ instrument: inst, channel: r.channel, depth });
      if (r.channel === 'book') {
        this.sync.track(inst);
        if (depth !== undefined) this.depthByKey.set(inst.key, depth);
      }
    }
    this.subscriptions = subs;
  }

  private openConnections(): void {
    const plans = this.o.connector.plan(this.subscriptions, this.o.endpoints);
    for (const p of plans) {
      const id = p.id;
      // Re-run plan() on every (re)connect: the connection's plan is looked up by id in a fresh plan.
      const prepare = this.o.connector.prepareConnection;
      const planFn = (): ConnectionPlan | Promise<ConnectionPlan> => {
        const fresh = this.o.connector.plan(this.subscriptions, this.o.endpoints).find((x) => x.id === id);
        if (!fresh) throw new TributaryError('CONFIG_INVALID', `connection ${id} no longer planned`);
        return prepare ? prepare.call(this.o.connector, fresh, this.o.http, this.o.endpoints) : fresh;
      };
      const conn: Conn = { id, plan: p, session: undefined, socket: undefined as unknown as ManagedSocket };
      const socket = new ManagedSocket({
        plan: planFn,
        name: `${this.venue}/${id}`,
        onFrame: (data, recvTs) => this.onFrame(conn, data, recvTs),
        connectTimeoutMs: this.o.transport?.connectTimeoutMs,
        backoff: { baseMs: this.o.transport?.backoffBaseMs, capMs: this.o.transport?.backoffCapMs },
        log: this.o.log,
      });
      (conn as { socket: ManagedSocket }).socket = socket;
      for (const s of p.subscriptions) if (s.channel === 'book') this.bookSubs.set(s.instrument.key, { sub: s, connId: id });
      socket.on('connecting', () => this.o.bus.publish('venue_status', { venue: this.venue, connId: id, state: 'connecting', ts: Date.now() }));
      socket.on('open', ({ plan, url }) => {
        conn.plan = plan;
        conn.session = this.o.connector.newSession(plan);
        if (this.o.connector.capabilities.bookSync.snapshot === 'rest') {
          // A quiet instrument may send no delta for minutes: fetch its snapshot anyway after a grace period
          // (deltas arriving meanwhile are buffered and trigger the fetch themselves).
          this.later(QUIET_BOOK_GRACE_MS, () => {
            for (const k of this.bookKeysOf(conn)) this.sync.requestSnapshot(k);
          });
        }
        this.o.onConnect?.(id, url, Date.now());
        this.o.bus.publish('venue_status', { venue: this.venue, connId: id, state: 'open', ts: Date.now() });
      });
      socket.on('closed', ({ reason }) => {
        this.sync.invalidate(this.bookKeysOf(conn), 'disconnected');
        this.o.bus.publish('venue_status', { venue: this.venue, connId: id, state: 'closed', detail: reason, ts: Date.now() });
      });
      socket.on('reconnecting', ({ attempt, delayMs }) => {
        this.counters.reconnects++;
        this.o.log.warn({ conn: id, attempt, delayMs }, 'reconnecting');
        this.o.bus.publish('venue_status', { venue: this.venue, connId: id, state: 'reconnecting', detail: `attempt ${attempt} in ${delayMs} ms`, ts: Date.now() });
      });
      socket.on('error', ({ error }) => {
        this.count(error.code);
        this.lastError = error.message;
      });
      if (this.o.onSent) {
        const onSent = this.o.onSent;
        socket.on('sent', ({ data, ts }) => onSent(id, socket.url, data, ts));
      }
      this.conns.push(conn);
      socket.start();
    }
  }

  private bookKeysOf(conn: Conn): string[] {
    const keys: string[] = [];
    for (const s of conn.plan.subscriptions) if (s.channel === 'book') keys.push(s.instrument.key);
    return keys;
  }

  /** Hot path: one frame. */
  private onFrame(conn: Conn, data: string, recvTs: number): void {
    if (this.counters.frames++ === 0) this.counters.firstFrameAt = recvTs;
    this.counters.lastFrameAt = recvTs;
    this.o.onRecv?.(conn.id, data, recvTs);
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
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i];
      counts[ev.type] = (counts[ev.type] ?? 0) + 1;
      if (ev.type === 'book_delta' || ev.type === 'book_snapshot') {
        this.sync.onEvent(ev);
      } else {
        const instrument = this.instruments.get(ev.key);
        if (instrument === undefined) continue;
        if (ev.type === 'trade') this.o.bus.publish('trade', { instrument, event: ev });
        else this.o.bus.publish('ticker', { instrument, event: ev });
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
          const plan = conn.plan ?? this.conns.find((c) => c.id === conn.id)?.plan;
          const keys = plan ? plan.subscriptions.filter((s) => s.channel === 'book').map((s) => s.instrument.key) : [];
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

  /** Full-jitter exponential backoff (ms) for retry `attempt` (1-based). */
  private backoff(attempt: number): number {
    const base = this.o.transport?.backoffBaseMs ?? 500;
    const cap = this.o.transport?.backoffCapMs ?? 30000;
    return Math.round(Math.random() * Math.min(cap, base * 2 ** Math.min(attempt - 1, 16)));
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
