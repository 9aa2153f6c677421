/**
 * The connections of one venue and what each carries: placing a new subscription on a connection with room (the venue's
 * per-connection limit, and `plan()` still fitting the connection's subscriptions on one connection) or on a new one,
 * sending the venue's subscribe / unsubscribe requests on open connections, and releasing a connection left with no
 * subscription. Each connection owns its current subscription set. The sockets themselves are made by
 * {@link VenueRunner} (`ingest.ts`); the request bookkeeping is `subscriptions.ts`.
 */
import type { Channel } from '../core/events.ts';
import { TributaryError, errorMessage, type ErrorCode } from '../core/errors.ts';
import type { ManagedSocket } from '../transport/ws.ts';
import type { Connector, ConnectionPlan, Http, Subscription, VenueEndpoints } from '../venues/connector.ts';
import type { IngestLogger } from './ingest.ts';
import { QUIET_BOOK_GRACE_MS } from './snapshots.ts';
import type { BookSync } from './sync.ts';

/** One venue connection and the subscriptions it carries. */
export interface Conn {
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

/** `key|channel`: one subscription's id. */
export function subId(s: { instrument: { key: string }; channel: Channel }): string {
  return `${s.instrument.key}|${s.channel}`;
}

/** What the connection set needs from its venue runner. */
export interface ConnectionSetOptions {
  readonly connector: Connector;
  readonly endpoints: VenueEndpoints;
  /** For the venue's `prepareConnection`. */
  readonly http: Http;
  readonly log: IngestLogger;
  readonly sync: BookSync;
  /** Makes a connection carrying `subs` (registered, not started). */
  readonly createConn: (id: string, subs: Subscription[]) => Conn;
  /** Counts an error by code. */
  readonly count: (code: ErrorCode) => void;
  /** Runs `fn` after `delayMs` unless the runner stopped meanwhile. */
  readonly later: (delayMs: number, fn: () => void) => void;
}

/** The running connections of one venue. See the module comment. */
export class ConnectionSet {
  /** Running connections (a released one is removed). */
  list: Conn[] = [];
  /** Book subscriptions by instrument key as the venue plans them, with their connection (resubscribe frames). */
  readonly bookSubs = new Map<string, { sub: Subscription; connId: string }>();

  constructor(private readonly o: ConnectionSetOptions) {}

  /** A connection record carrying `subs`, with its first plan when they plan (its socket is set by the caller). */
  newConn(id: string, subs: Subscription[]): Conn {
    const conn: Conn = { id, plan: undefined as unknown as ConnectionPlan, session: undefined, socket: undefined as unknown as ManagedSocket, subs, sent: new Set(), closing: false };
    try {
      const first = this.o.connector.plan(subs, this.o.endpoints)[0];
      if (first) conn.plan = { ...first, id };
    } catch {
      // planFor reports it on connect
    }
    return conn;
  }

  /**
   * The plan `conn` (re)connects with: exactly its current subscriptions, on one connection by construction, under its
   * own id (then prepared by the venue, when it prepares connections). @throws TributaryError `CONFIG_INVALID` when they
   * plan to several connections.
   */
  planFor(conn: Conn): ConnectionPlan | Promise<ConnectionPlan> {
    const { connector, endpoints } = this.o;
    const planned = connector.plan(conn.subs, endpoints);
    if (planned.length !== 1) throw new TributaryError('CONFIG_INVALID', `connection ${conn.id}: its ${conn.subs.length} subscriptions plan to ${planned.length} connections`);
    const fresh = { ...planned[0], id: conn.id };
    const prepare = connector.prepareConnection;
    return prepare ? prepare.call(connector, fresh, this.o.http, endpoints) : fresh;
  }

  /** A new connection carrying `subs` (registered, not started). */
  create(id: string, subs: Subscription[]): Conn {
    return this.o.createConn(id, subs);
  }

  /** Adds a made connection to the set. */
  add(conn: Conn): void {
    this.list.push(conn);
    this.refreshBookSubs(conn);
  }

  /** The running connection `id`, if any. */
  find(id: string | undefined): Conn | undefined {
    return this.list.find((c) => c.id === id);
  }

  /** True when the connection is open with a session (subscription requests can be sent on it). */
  isLive(conn: Conn): boolean {
    return conn.socket.state === 'open' && conn.session !== undefined;
  }

  /**
   * Puts `sub` on a connection with room (open ones only when the venue can subscribe on an open connection), else on
   * a new connection (created, not started). @throws what `plan()` throws for a subscription it cannot serve.
   */
  place(sub: Subscription, placed: Map<Conn, Subscription[]>, fresh: Conn[]): Conn {
    const canAddLive = this.o.connector.subscribeFrames !== undefined;
    for (const c of this.list) {
      if (c.closing || (!canAddLive && !fresh.includes(c))) continue;
      if (!this.fits(c.subs, sub)) continue;
      c.subs.push(sub);
      const list = placed.get(c);
      if (list) list.push(sub);
      else placed.set(c, [sub]);
      return c;
    }
    const [p] = this.o.connector.plan([sub], this.o.endpoints);
    if (!p) throw new TributaryError('INSTRUMENT_UNKNOWN', `${this.o.connector.venue} cannot subscribe ${sub.instrument.symbol} ${sub.channel}`, { key: sub.instrument.key });
    const conn = this.create(this.freeConnId(p.id), [...p.subscriptions]);
    fresh.push(conn);
    placed.set(conn, [sub]);
    return conn;
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

  /** `spot-3` → the first of `spot-0`, `spot-1`, … no running connection uses. */
  private freeConnId(planned: string): string {
    const m = /^(.*)-(\d+)$/.exec(planned);
    const prefix = m ? m[1] : planned;
    const used = new Set(this.list.map((c) => c.id));
    for (let n = 0; ; n++) if (!used.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
  }

  /** After subscriptions were added to `conn`: subscribe them now on a live connection, refresh the lookups. */
  afterAdd(conn: Conn, subs: Subscription[], isNew: boolean): void {
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
    if (keys.length > 0) this.o.later(QUIET_BOOK_GRACE_MS, () => keys.forEach((k) => this.o.sync.requestSnapshot(k)));
  }

  /** Takes subscription `id` (`sub`) off connection `connId`, noting it in `touched`; false when no such connection runs. */
  detach(connId: string | undefined, id: string, sub: Subscription, touched: Map<Conn, Subscription[]>): boolean {
    const conn = this.find(connId);
    if (!conn) return false;
    const i = conn.subs.findIndex((s) => subId(s) === id);
    if (i >= 0) conn.subs.splice(i, 1);
    const list = touched.get(conn);
    if (list) list.push(sub);
    else touched.set(conn, [sub]);
    return true;
  }

  /** After subscriptions were taken off connections: unsubscribe them on live ones, release emptied ones. */
  afterRemove(touched: Map<Conn, Subscription[]>): void {
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
  }

  /** Sends the venue's subscribe / unsubscribe request for `subs` on the open connection `conn`. */
  sendChange(conn: Conn, op: 'add' | 'remove', subs: readonly Subscription[]): void {
    const c = this.o.connector;
    try {
      const make = op === 'add' ? c.subscribeFrames : c.unsubscribeFrames;
      let frames: readonly string[] = make ? make.call(c, subs, conn.plan) : [];
      if (c.updateSession) frames = c.updateSession.call(c, conn.session, op, subs, frames);
      for (const f of frames) conn.socket.send(f);
      this.o.log.info({ conn: conn.id, op, subscriptions: subs.map(subId) }, op === 'add' ? 'subscribed on an open connection' : 'unsubscribed on an open connection');
    } catch (e) {
      this.o.count(e instanceof TributaryError ? e.code : 'INTERNAL_ERROR');
      this.o.log.error({ conn: conn.id, op, err: errorMessage(e) }, 'subscription change failed');
    }
  }

  /** Closes a connection left with no subscription (its socket stops; nothing reconnects it). */
  private release(conn: Conn): void {
    conn.closing = true;
    this.list = this.list.filter((c) => c !== conn);
    this.o.log.info({ conn: conn.id }, 'connection released: no subscription left');
    void conn.socket.stop();
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
}
