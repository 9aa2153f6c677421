/**
 * Venue health: per venue, whether it is usable right now and the numbers behind the verdict.
 *
 * Inputs (any mix):
 * - updates: `onFrame(venue, venueTs, recvTs)` per market-data update, or derived from the bus (every
 *   `book`, `trade` and `ticker` message counts as one update, using the book's / event's `ts` and `recvTs`);
 *   use one or the other, not both, or updates are counted twice;
 * - connection state from bus `venue_status` (per connection id), book validity from bus `book` /
 *   `book_reset`, reconnects (`reconnecting` statuses) and gaps (`book_reset` with reason `gap`);
 * - optionally a pull function giving authoritative per-venue counters (e.g. from `VenueRunner.counters`),
 *   which replace the counts derived from the bus; `onError(venue, message)` for errors not on the bus.
 *
 * Every `intervalMs` the timer recomputes one report per venue and tells the listeners; `snapshot()` returns
 * the last reports (computed at once if there are none yet).
 * - `updatesPerSecond`: updates since the previous refresh / seconds since the previous refresh;
 * - `latencyMs`: mean `recvTs − venueTs` over the updates since the previous refresh (venue clock skew
 *   included; updates without a venue time are skipped); the previous value is kept when there were none,
 *   null before the first. Both times come from the event, so in replay both are the recording's (the
 *   latency the recording saw) as long as replay sets `recvTs` from the recording;
 * - `healthy` = connected (every known connection of the venue is `open`; a venue with no `venue_status`
 *   seen counts as connected unless the pull says otherwise) AND fresh (last update received within
 *   `staleAfterMs` of `now()`) AND not "every book resyncing" (the venue has books and none of them is valid);
 * - `now()` is the pipeline's data clock (`clock.ts`: the latest receive time seen, advancing with the wall clock
 *   between frames), so `lastUpdate`, staleness and the update rate are all on the data's time (the recording's in
 *   replay), never a mix of recording and wall time;
 * - `errorMessage`: when unhealthy, why (plus the last error if any); when healthy, the last error reported
 *   (pull `lastError` or `onError`), else null.
 */
import type { Bus } from '../bus/bus.ts';
import type { BookDeltaMsg, BookSnapshotMsg } from '../core/events.ts';

/** Counters of one venue as pulled from the ingest (all optional; absent fields fall back to bus-derived counts). */
export interface VenueCounters {
  /** Errors since start (e.g. the sum of `IngestCounters.errors`). */
  readonly errors?: number;
  /** Reconnects since start. */
  readonly reconnects?: number;
  /** Book sequence gaps since start (e.g. the sum of the books' `stats.gaps`). */
  readonly gaps?: number;
  /** Latest error message. */
  readonly lastError?: string;
  /** Connection state, overriding the one derived from `venue_status`. */
  readonly connected?: boolean;
}

export type { VenueHealthReport } from '../core/events.ts';
import type { VenueHealthReport } from '../core/events.ts';


export interface HealthMonitorOptions {
  /** Refresh period of the reports, ms (default 5000). */
  readonly intervalMs?: number;
  /** A venue with no update received for longer than this (ms) is unhealthy (default 30000). */
  readonly staleAfterMs?: number;
  /** Clock, ms since epoch (default `Date.now`); the pipeline passes its data clock (`clock.ts`). */
  readonly now?: () => number;
  /** Per-venue clock (ms) a venue's last update is judged against (default: `now`); see the Consolidator's. */
  readonly venueNow?: (venue: string) => number;
  /** Bus to derive status, resyncs and (with `updatesFromBus`) updates from. */
  readonly bus?: Bus;
  /** Count bus `book` / `trade` / `ticker` messages as updates (default true; set false when calling `onFrame`). */
  readonly updatesFromBus?: boolean;
  /** Venues reported even before any event (e.g. the configured ones). */
  readonly venues?: readonly string[];
  /** Authoritative per-venue counters, pulled at each refresh. */
  readonly counters?: (venue: string) => VenueCounters | undefined;
}

interface VenueState {
  readonly venue: string;
  updates: number;
  lastUpdate: number;
  latSum: number;
  latN: number;
  latency: number | null;
  /** connId → last state. */
  readonly conns: Map<string, string>;
  statusDetail: string | undefined;
  errors: number;
  reconnects: number;
  gaps: number;
  lastError: string | undefined;
  /** Instrument key → book valid. */
  readonly books: Map<string, boolean>;
  prevUpdates: number;
  prevAt: number;
}

/** Listener of refreshed reports. */
export type HealthListener = (reports: readonly VenueHealthReport[]) => void;

/** Venue health monitor. See the module comment. */
export class HealthMonitor {
  readonly intervalMs: number;
  readonly staleAfterMs: number;
  /** Listener exceptions caught. */
  listenerErrors = 0;
  private readonly now: () => number;
  private readonly venueNow: ((venue: string) => number) | undefined;
  private readonly pull: ((venue: string) => VenueCounters | undefined) | undefined;
  private readonly venues = new Map<string, VenueState>();
  private readonly listeners: HealthListener[] = [];
  private readonly unsubs: (() => void)[] = [];
  private reports: VenueHealthReport[] | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: HealthMonitorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 5000;
    this.staleAfterMs = opts.staleAfterMs ?? 30000;
    this.now = opts.now ?? Date.now;
    this.venueNow = opts.venueNow;
    this.pull = opts.counters;
    for (const v of opts.venues ?? []) this.state(v);
    if (opts.bus) this.attach(opts.bus, opts.updatesFromBus ?? true);
  }

  private state(venue: string): VenueState {
    let s = this.venues.get(venue);
    if (s === undefined) {
      s = {
        venue, updates: 0, lastUpdate: 0, latSum: 0, latN: 0, latency: null, conns: new Map(), statusDetail: undefined,
        errors: 0, reconnects: 0, gaps: 0, lastError: undefined, books: new Map(), prevUpdates: 0, prevAt: this.now(),
      };
      this.venues.set(venue, s);
    }
    return s;
  }

  /** Subscribes to the bus (see the module comment). Returns the detach function (also run by `stop()`). */
  attach(bus: Bus, updatesFromBus = true): () => void {
    const offs: (() => void)[] = [
      bus.on('venue_status', (st) => {
        const s = this.state(st.venue);
        s.conns.set(st.connId, st.state);
        if (st.state === 'reconnecting') s.reconnects++;
        if (st.state !== 'open') s.statusDetail = `${st.connId} ${st.state}${st.detail ? `: ${st.detail}` : ''}`;
      }),
      bus.on('book_reset', (r) => {
        const s = this.state(r.instrument.venue);
        s.books.set(r.instrument.key, false);
        if (r.reason === 'gap') s.gaps++;
      }),
      bus.on('book_snapshot', (u) => this.onBook(u, updatesFromBus)),
      bus.on('book_delta', (u) => this.onBook(u, updatesFromBus)),
    ];
    if (updatesFromBus) {
      offs.push(
        bus.on('trade', (t) => this.record(this.state(t.instrument.venue), t.ts, t.recvTs)),
        bus.on('ticker', (t) => this.record(this.state(t.instrument.venue), t.ts, t.recvTs)),
      );
    }
    const detach = (): void => {
      for (const o of offs) o();
    };
    this.unsubs.push(detach);
    return detach;
  }

  /** A published book event: the book is valid (only valid books publish) and, optionally, one update. */
  private onBook(u: BookSnapshotMsg | BookDeltaMsg, record: boolean): void {
    const s = this.state(u.instrument.venue);
    s.books.set(u.instrument.key, true);
    if (record) this.record(s, u.ts, u.recvTs);
  }

  private record(s: VenueState, venueTs: number, recvTs: number): void {
    s.updates++;
    if (recvTs > s.lastUpdate) s.lastUpdate = recvTs;
    if (venueTs > 0 && recvTs > 0) {
      s.latSum += recvTs - venueTs;
      s.latN++;
    }
  }

  /** One market-data update of `venue`: venue time and local receive time, ms since epoch (venueTs ≤ 0: unknown). */
  onFrame(venue: string, venueTs: number, recvTs: number): void {
    this.record(this.state(venue), venueTs, recvTs);
  }

  /** An error of `venue` not visible on the bus (counted unless the pull gives `errors`). */
  onError(venue: string, message: string): void {
    const s = this.state(venue);
    s.errors++;
    s.lastError = message;
  }

  /** Recomputes the reports now, tells the listeners and returns them. */
  refresh(): VenueHealthReport[] {
    const now = this.now();
    const out: VenueHealthReport[] = [];
    for (const s of this.venues.values()) out.push(this.report(s, now));
    out.sort((a, b) => (a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : 0));
    this.reports = out;
    for (const l of this.listeners.slice()) {
      try {
        l(out);
      } catch {
        this.listenerErrors++;
      }
    }
    return out;
  }

  private report(s: VenueState, now: number): VenueHealthReport {
    const dt = (now - s.prevAt) / 1000;
    const ups = dt > 0 ? (s.updates - s.prevUpdates) / dt : 0;
    s.prevUpdates = s.updates;
    s.prevAt = now;
    if (s.latN > 0) s.latency = Math.round((s.latSum / s.latN) * 10) / 10;
    s.latSum = 0;
    s.latN = 0;
    const c = this.pull?.(s.venue);
    let connected: boolean;
    if (c?.connected !== undefined) connected = c.connected;
    else if (s.conns.size === 0) connected = true;
    else connected = [...s.conns.values()].every((st) => st === 'open');
    let total = 0;
    let valid = 0;
    for (const v of s.books.values()) {
      total++;
      if (v) valid++;
    }
    const lastUpdate = s.lastUpdate > 0 ? s.lastUpdate : null;
    const vnow = this.venueNow ? this.venueNow(s.venue) : now;
    const fresh = lastUpdate !== null && vnow - lastUpdate <= this.staleAfterMs;
    const allResyncing = total > 0 && valid === 0;
    const lastError = c?.lastError ?? s.lastError;
    let why: string | undefined;
    if (!connected) why = `disconnected${s.statusDetail ? ` (${s.statusDetail})` : ''}`;
    else if (!fresh) why = lastUpdate === null ? 'no update yet' : `no update for ${vnow - lastUpdate} ms`;
    else if (allResyncing) why = `all ${total} books resyncing`;
    const healthy = why === undefined;
    return {
      venue: s.venue,
      healthy,
      lastUpdate,
      errorMessage: healthy ? (lastError ?? null) : lastError ? `${why}; last error: ${lastError}` : why!,
      updatesPerSecond: Math.round(ups * 100) / 100,
      latencyMs: s.latency,
      errorCount: c?.errors ?? s.errors,
      reconnects: c?.reconnects ?? s.reconnects,
      gaps: c?.gaps ?? s.gaps,
      connected,
      books: { total, valid },
    };
  }

  /** The last refreshed reports, sorted by venue (refreshed now if there are none yet). */
  snapshot(): VenueHealthReport[] {
    return this.reports ?? this.refresh();
  }

  /** True when at least `minHealthy` venues are healthy in the last reports (default 1). */
  ready(minHealthy = 1): boolean {
    let n = 0;
    for (const r of this.snapshot()) if (r.healthy) n++;
    return n >= minHealthy;
  }

  /** Calls `listener` after every refresh. Returns the unsubscribe function. */
  subscribe(listener: HealthListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Starts the refresh timer (idempotent; the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.refresh(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Stops the timer and detaches from the bus. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
  }
}
