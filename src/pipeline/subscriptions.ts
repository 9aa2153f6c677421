/**
 * On-demand subscriptions of one venue: the requested subscriptions (configured and added at run time), their
 * resolution against the venue's instruments, where each stands ({@link SubscriptionStatus}) and the changes told to
 * `onSubscriptionStatus`. Placing them on connections is `connections.ts`; {@link VenueRunner} (`ingest.ts`) exposes
 * this as `addSubscriptions` / `removeSubscriptions` / `demand` / `undemand` / `subscriptionStatus(es)`.
 */
import type { Channel } from '../core/events.ts';
import { TributaryError, errorMessage, type ErrorCode } from '../core/errors.ts';
import type { Instrument, InstrumentIndex } from '../core/instruments.ts';
import type { Connector, Subscription, VenueEndpoints } from '../venues/connector.ts';
import { subId, type Conn, type ConnectionSet } from './connections.ts';
import type { IngestLogger } from './ingest.ts';
import type { SnapshotQueue } from './snapshots.ts';
import type { BookSync } from './sync.ts';

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

/** What the subscription table needs from its venue runner. */
export interface SubscriptionTableOptions {
  readonly connector: Connector;
  readonly endpoints: VenueEndpoints;
  readonly log: IngestLogger;
  readonly sync: BookSync;
  /** The configured requests (resolved once instruments load; kept by `undemand`). */
  readonly requests: readonly SubscriptionRequest[];
  /** See `VenueRunnerOptions.onSubscriptionStatus`. */
  readonly onSubscriptionStatus?: (status: SubscriptionStatus) => void;
  readonly conns: ConnectionSet;
  readonly snapshots: SnapshotQueue;
  /** Book depth kept per instrument key (shared with the runner's sync stage). */
  readonly depthByKey: Map<string, number>;
  /** Trade / ticker subscriptions removed at run time (`key|channel`; shared with the runner's frame path). */
  readonly dropped: Set<string>;
  /** The venue's instruments (replaced when they load). */
  readonly instruments: () => InstrumentIndex;
  /** Counts an error by code. */
  readonly count: (code: ErrorCode) => void;
  /** True once the runner stopped. */
  readonly isStopped: () => boolean;
}

/** The requested subscriptions of one venue. See the module comment. */
export class SubscriptionTable {
  /** Resolved subscriptions: all connections' current sets (replaced, never mutated, on every change). */
  subscriptions: Subscription[] = [];
  /** Bumped on every change of {@link SubscriptionTable.subscriptions}. */
  subscriptionVersion = 0;
  private readonly venue: string;
  private readonly conns: ConnectionSet;
  /** Instruments are loaded (requests resolve); connections are opened (subscriptions go to connections). */
  private loaded = false;
  private opened = false;
  /** Requested subscriptions by id (`key|channel`, or `?{symbol}|channel` before instruments are loaded). */
  private readonly entries = new Map<string, Entry>();
  /** Rejected requests by request id, newest last (bounded). */
  private readonly rejected = new Map<string, SubscriptionStatus>();

  constructor(private readonly o: SubscriptionTableOptions) {
    this.venue = o.connector.venue;
    this.conns = o.conns;
  }

  /** See {@link VenueRunner.addSubscriptions}. */
  add(requests: readonly SubscriptionRequest[]): SubscriptionStatus[] {
    const placed = new Map<Conn, Subscription[]>();
    const fresh: Conn[] = [];
    const results: (Entry | SubscriptionStatus)[] = [];
    for (const r of requests) results.push(this.addOne(r, placed, fresh));
    for (const [conn, subs] of placed) this.conns.afterAdd(conn, subs, fresh.includes(conn));
    for (const c of fresh) c.socket.start();
    this.refreshSubscriptions();
    return results.map((x) => {
      if ('state' in x) return x;
      const st = this.statusOf(x);
      x.told = `${st.state}:${st.waitingFor ?? ''}`;
      return st;
    });
  }

  /** See {@link VenueRunner.removeSubscriptions}. */
  remove(requests: readonly SubscriptionRequest[]): SubscriptionStatus[] {
    const touched = new Map<Conn, Subscription[]>();
    const out: SubscriptionStatus[] = [];
    for (const r of requests) {
      const rid = this.requestId(r);
      this.rejected.delete(rid.raw);
      if (rid.resolved !== undefined) this.rejected.delete(rid.resolved);
      const entry = this.entryOf(rid);
      if (entry) {
        this.entries.delete(entry.id);
        if (entry.sub) this.detach(entry, touched);
      }
      out.push({ venue: this.venue, request: r, channel: r.channel, state: 'removed', key: entry?.sub?.instrument.key, symbol: entry?.sub?.instrument.symbol });
    }
    this.conns.afterRemove(touched);
    this.refreshSubscriptions();
    return out;
  }

  /** See {@link VenueRunner.demand}. @throws TributaryError `INSTRUMENT_UNKNOWN`, `CLIENT_BAD_REQUEST`. */
  demand(symbol: string, channel: Channel): { readonly state: 'active' } | { readonly state: 'pending'; readonly reason: string } {
    const [st] = this.add([{ symbol, channel }]);
    if (st.state === 'rejected') throw st.error!;
    if (st.state === 'active') return { state: 'active' };
    return {
      state: 'pending',
      reason: st.waitingFor === 'instruments' ? `${this.venue} is loading its instruments` : `${this.venue} connection ${st.connId ?? ''} is not open yet`,
    };
  }

  /** See {@link VenueRunner.undemand}. */
  undemand(symbol: string, channel: Channel): void {
    const r: SubscriptionRequest = { symbol, channel };
    const entry = this.entryOf(this.requestId(r));
    if (entry?.configured) return;
    this.remove([r]);
  }

  /** See {@link VenueRunner.subscriptionStatus}. */
  status(request: SubscriptionRequest): SubscriptionStatus | undefined {
    const rid = this.requestId(request);
    const entry = this.entryOf(rid);
    if (entry) return this.statusOf(entry);
    return (rid.resolved !== undefined ? this.rejected.get(rid.resolved) : undefined) ?? this.rejected.get(rid.raw);
  }

  /** See {@link VenueRunner.subscriptionStatuses}. */
  statuses(): SubscriptionStatus[] {
    return [...[...this.entries.values()].map((e) => this.statusOf(e)), ...this.rejected.values()];
  }

  /** The entry of a request: by its resolved id, else as written. */
  private entryOf(rid: { raw: string; resolved?: string }): Entry | undefined {
    return (rid.resolved !== undefined ? this.entries.get(rid.resolved) : undefined) ?? this.entries.get(rid.raw);
  }

  /** `raw`: id of the request as written; `resolved`: `key|channel` once instruments are loaded and it resolves. */
  private requestId(r: SubscriptionRequest): { raw: string; resolved?: string; instrument?: Instrument } {
    const raw = `?${r.key !== undefined ? `key=${r.key}` : String(r.symbol)}|${r.channel}`;
    if (!this.loaded) return { raw };
    const instrument = this.lookup(r);
    return instrument ? { raw, resolved: `${instrument.key}|${r.channel}`, instrument } : { raw };
  }

  private lookup(r: SubscriptionRequest): Instrument | undefined {
    const instruments = this.o.instruments();
    return r.key !== undefined ? instruments.get(r.key) : r.symbol !== undefined ? instruments.resolve(r.symbol) : undefined;
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
    if (this.o.isStopped()) return new TributaryError('CLIENT_BAD_REQUEST', `${this.venue} is stopped`, { venue: this.venue });
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
      this.o.count('INSTRUMENT_UNKNOWN');
      return this.reject(r, rid.raw, this.unknownSymbol(r));
    }
    const existing = this.entries.get(rid.resolved);
    if (existing) return existing;
    const sub = this.subscriptionOf(rid.instrument, r);
    let connId: string | undefined;
    if (this.opened) {
      try {
        connId = this.conns.place(sub, placed, fresh).id;
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
    this.o.dropped.delete(e.id);
    this.startTracking(sub);
    return e;
  }

  private startTracking(sub: Subscription): void {
    if (sub.channel !== 'book') return;
    this.o.sync.track(sub.instrument);
    if (sub.depth !== undefined) this.o.depthByKey.set(sub.instrument.key, sub.depth);
  }

  /** Drops one resolved subscription: from its connection, its book, the snapshot queue. */
  private detach(entry: Entry, touched: Map<Conn, Subscription[]>): void {
    const sub = entry.sub!;
    const id = entry.id;
    const key = sub.instrument.key;
    if (!this.conns.detach(entry.connId, id, sub, touched)) this.subscriptions = this.subscriptions.filter((s) => subId(s) !== id);
    if (sub.channel === 'book') {
      this.o.sync.untrack(key);
      this.o.depthByKey.delete(key);
      this.conns.bookSubs.delete(key);
      this.o.snapshots.forget(key);
    } else {
      this.o.dropped.add(id);
    }
  }

  /** Re-derives `subscriptions` from the connections (after `open`). */
  private refreshSubscriptions(): void {
    if (this.opened) this.subscriptions = this.conns.list.flatMap((c) => c.subs);
    this.subscriptionVersion++;
  }

  private statusOf(e: Entry): SubscriptionStatus {
    const base = { venue: this.venue, request: e.request, channel: e.request.channel };
    if (!e.sub) return { ...base, state: 'pending', waitingFor: 'instruments' };
    const ids = { key: e.sub.instrument.key, symbol: e.sub.instrument.symbol, connId: e.connId };
    const conn = e.connId === undefined ? undefined : this.conns.find(e.connId);
    if (conn && this.conns.isLive(conn) && conn.sent.has(e.id)) return { ...base, ...ids, state: 'active' };
    return { ...base, ...ids, state: 'pending', waitingFor: 'connection' };
  }

  /** Tells `onSubscriptionStatus` about a state change of `e`. */
  private tell(e: Entry | undefined): void {
    if (!e || !this.o.onSubscriptionStatus || this.o.isStopped()) return;
    const st = this.statusOf(e);
    const sig = `${st.state}:${st.waitingFor ?? ''}`;
    if (e.told === sig) return;
    e.told = sig;
    this.o.onSubscriptionStatus(st);
  }

  /** Tells the state changes of the subscriptions `conn` carries (after it opened or closed). */
  tellConn(conn: Conn): void {
    for (const s of conn.subs) this.tell(this.entries.get(subId(s)));
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------

  /** Resolves the configured requests and those added before instruments were loaded (once instruments are loaded). */
  resolve(): void {
    this.loaded = true;
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
        this.o.count('INSTRUMENT_UNKNOWN');
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

  /** Makes the connections the venue plans for the resolved subscriptions (not started); later additions are placed. */
  open(): Conn[] {
    this.opened = true;
    const plans = this.o.connector.plan(this.subscriptions, this.o.endpoints);
    const conns = plans.map((p) => this.conns.create(p.id, [...p.subscriptions]));
    this.refreshSubscriptions();
    return conns;
  }

  /** Registers a new connection: its subscriptions' entries point to it. */
  register(conn: Conn): void {
    for (const s of conn.subs) {
      const e = this.entries.get(subId(s));
      if (e) e.connId = conn.id;
    }
    this.conns.add(conn);
  }

  /**
   * `conn` opened with session `session` and its `plan`: what the plan subscribed counts as sent; subscriptions added
   * or removed after the plan was made go out right after the plan's frames (the venue's own requests on the open
   * connection).
   */
  onOpen(conn: Conn, session: unknown): void {
    conn.sent.clear();
    for (const s of conn.plan.subscriptions) conn.sent.add(subId(s));
    const want = new Set(conn.subs.map(subId));
    const missing = conn.subs.filter((s) => !conn.sent.has(subId(s)));
    const extra = conn.plan.subscriptions.filter((s) => !want.has(subId(s)));
    if (missing.length === 0 && extra.length === 0) return;
    queueMicrotask(() => {
      if (conn.session !== session || !this.conns.isLive(conn)) return;
      if (extra.length > 0 && this.o.connector.unsubscribeFrames) this.conns.sendChange(conn, 'remove', extra);
      for (const s of extra) conn.sent.delete(subId(s));
      if (missing.length > 0) {
        this.conns.sendChange(conn, 'add', missing);
        for (const s of missing) conn.sent.add(subId(s));
      }
      this.tellConn(conn);
    });
  }
}
