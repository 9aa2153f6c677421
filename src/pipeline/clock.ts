/**
 * The pipeline's data clock: "now" as the market data sees it, shared by the stages that judge freshness
 * (consolidation's `max_quote_age_ms`, venue health's staleness, arbitrage report times).
 *
 * `now()` is the latest receive time observed (`recvTs` of the newest book / trade / ticker event), advanced by the
 * wall time elapsed since it was observed, so staleness keeps growing when frames stop. Live, receive times are wall
 * times and the clock tracks the wall clock (less the smallest processing delay seen, typically < 1 ms). In replay,
 * receive times are the recording's, so the clock runs on the recording's time: data recorded months ago is not
 * "months old" and a replay at `--speed max` moves the clock as fast as the recording is played.
 *
 * The clock never goes backwards once started: an observed time behind `now()` (an event that waited in a queue, a
 * second recording made earlier than the first) does not move it. Before the first observation `now()` is the wall
 * clock; the first observation sets it, even to an earlier time (a replay of an old recording).
 */
import type { Bus } from '../bus/bus.ts';

export interface DataClockOptions {
  /** Wall clock, ms since the epoch (default `Date.now`). */
  readonly wall?: () => number;
}

/** See the module comment. `now` and `observe` are bound: pass them around as plain functions. */
export class DataClock {
  private readonly wall: () => number;
  /** Data time (ms) at the last forward jump; NaN before the first observation. */
  private base = NaN;
  /** Wall time (ms) of the last forward jump. */
  private baseWall = 0;

  constructor(opts: DataClockOptions = {}) {
    this.wall = opts.wall ?? Date.now;
  }

  /** True once a receive time was observed (before that, `now()` is the wall clock). */
  get started(): boolean {
    return !Number.isNaN(this.base);
  }

  /**
   * One receive time (ms since the epoch) of an event just seen. Moves the clock to it when it is ahead of `now()`
   * (or it is the first); non-finite and non-positive times are ignored.
   */
  readonly observe = (recvTs: number): void => {
    if (!(recvTs > 0) || recvTs === Infinity) return;
    const base = this.base;
    // Fast path: not ahead of the last jump, so not ahead of now() either (no wall-clock read).
    if (recvTs <= base) return;
    const w = this.wall();
    if (Number.isNaN(base) || recvTs > base + Math.max(0, w - this.baseWall)) {
      this.base = recvTs;
      this.baseWall = w;
    }
  };

  /** Data time now, ms since the epoch (see the module comment). */
  readonly now = (): number => {
    const w = this.wall();
    if (Number.isNaN(this.base)) return w;
    return this.base + Math.max(0, w - this.baseWall);
  };

  /**
   * Feeds the clock from the bus: the `recvTs` of every `book_snapshot`, `book_delta`, `trade` and `ticker` event.
   * Returns the detach function.
   */
  attach(bus: Bus): () => void {
    const offs = [
      bus.on('book_snapshot', (e) => this.observe(e.recvTs)),
      bus.on('book_delta', (e) => this.observe(e.recvTs)),
      bus.on('trade', (e) => this.observe(e.recvTs)),
      bus.on('ticker', (e) => this.observe(e.recvTs)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }
}

/**
 * One clock per venue: the venue's latest receive time plus the wall time elapsed since it was seen. Unlike the
 * shared {@link DataClock} it follows a venue's time backwards too (a looping replay restarts its recording), so a
 * venue's freshness is always judged against its own time: recordings of different venues made at different times
 * never make each other look stale. Live, every venue clock is the wall clock.
 */
export class VenueClocks {
  private readonly last = new Map<string, { t: number; wall: number }>();

  constructor(private readonly wall: () => number = Date.now) {}

  /** A receive time (ms) of one of `venue`'s events. */
  observe(venue: string, recvTs: number): void {
    if (!(recvTs > 0) || recvTs === Infinity) return;
    const l = this.last.get(venue);
    if (l === undefined) this.last.set(venue, { t: recvTs, wall: this.wall() });
    else if (recvTs !== l.t) {
      l.t = recvTs;
      l.wall = this.wall();
    }
  }

  /** `venue`'s time now (ms): the wall clock before its first event. */
  readonly now = (venue: string): number => {
    const l = this.last.get(venue);
    const w = this.wall();
    return l === undefined ? w : l.t + Math.max(0, w - l.wall);
  };
}
