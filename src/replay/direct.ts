/**
 * Direct replay: a recording's `recv` frames fed to the production ingest (decode → sync → book → bus)
 * without sockets, with REST answered from the recording's `http` records *at their recorded time*
 * (a snapshot requested earlier is delivered when the replay clock reaches the record), so the sync rules
 * see the same interleaving the live session saw. Used by conformance tests and the decode/book bench.
 */
import { TributaryError } from '../core/errors.ts';
import { Bus } from '../bus/bus.ts';
import { VenueRunner, type IngestLogger, type SubscriptionRequest } from '../pipeline/ingest.ts';
import type { ConnectionPlan, Connector, Http } from '../venues/connector.ts';
import { HttpMatcher } from './http-match.ts';
import type { HttpRecord, Recording } from './recording.ts';

const SILENT: IngestLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** Fake {@link Http} answering from recorded `http` records, released by a replay clock (ms). */
export class ReplayHttp implements Http {
  private readonly matcher: HttpMatcher;
  private pending: { at: number; resolve: () => void }[] = [];
  /** Replay clock in ms since epoch; `Infinity` answers everything at once. */
  clock = Infinity;
  /** Set when a request was answered since the last flush. */
  dirty = false;
  requests = 0;

  /**
   * @param synthesize answers requests a recording cannot (the connector's `replay.synthesizeHttp`, bound to a
   *        WebSocket base): `(method, pathAndQuery)` → body, or undefined. Used by {@link ReplayHttp.post}.
   */
  constructor(records: Iterable<HttpRecord>, private readonly synthesize?: (method: string, pathAndQuery: string) => string | undefined) {
    this.matcher = new HttpMatcher();
    for (const r of records) this.matcher.add(r.url, { ts: r.ts, data: r.data });
  }

  /**
   * POST: recordings hold no POST answers, so this asks the `synthesize` hook (KuCoin's bullet token);
   * rejects with `HTTP_ERROR` (status 404) when it has no answer.
   */
  post(url: string, _body: string): Promise<string> {
    this.requests++;
    const u = new URL(url);
    const body = this.synthesize?.('POST', u.pathname + u.search);
    if (body === undefined) return Promise.reject(new TributaryError('HTTP_ERROR', `no synthesized response for POST ${url}`, { url, status: 404 }));
    this.dirty = true;
    return Promise.resolve(body);
  }

  get(url: string): Promise<string> {
    this.requests++;
    const u = new URL(url);
    const path = this.matcher.resolvePath(u.pathname);
    const rec = path === undefined ? undefined : this.matcher.match(path, u.searchParams);
    if (!rec) return Promise.reject(new TributaryError('HTTP_ERROR', `no recorded response for ${url}`, { url, status: 404 }));
    const at = rec.ts * 1000;
    return new Promise<string>((resolve) => {
      const done = () => {
        this.dirty = true;
        resolve(rec.data);
      };
      if (at <= this.clock) done();
      else this.pending.push({ at, resolve: done });
    });
  }

  /** Releases answers whose recorded time is ≤ `clock`; returns how many. */
  advance(clock: number): number {
    this.clock = clock;
    if (this.pending.length === 0) return 0;
    const ready = this.pending.filter((p) => p.at <= clock);
    if (ready.length === 0) return 0;
    this.pending = this.pending.filter((p) => p.at > clock);
    for (const p of ready) p.resolve();
    return ready.length;
  }

  get waiting(): number {
    return this.pending.length;
  }
}

/** Lets promise chains started by released answers run to completion. */
const flush = () => new Promise<void>((r) => setImmediate(r));

export interface DirectReplayOptions {
  readonly bus?: Bus;
  /** Subscriptions; default: exactly what the recorded session subscribed to. */
  readonly requests?: readonly SubscriptionRequest[];
  readonly log?: IngestLogger;
  /**
   * Fault injection: called for each `recv` frame with its text and index among `recv` frames; return the
   * text to feed (possibly altered), or null to drop the frame.
   */
  readonly transform?: (data: string, index: number) => string | null;
}

export interface DirectReplayResult {
  readonly runner: VenueRunner;
  readonly bus: Bus;
  /** `recv` frames fed to the decoder. */
  readonly frames: number;
  /** `recv` frames on connections with no `connect` record (not decodable: no session). */
  readonly orphanFrames: number;
}

/** What a recorded session subscribed to, as subscription requests keyed by instrument key. */
export function recordedRequests(rec: Recording, connector: Connector): SubscriptionRequest[] {
  const sends = new Map<string, string[]>();
  for (const r of rec.records) if (r.t === 'send') (sends.get(r.conn) ?? sends.set(r.conn, []).get(r.conn)!).push(r.data);
  const out: SubscriptionRequest[] = [];
  for (const r of rec.records) {
    if (r.t !== 'connect') continue;
    for (const s of connector.replay.recordedSubscriptions(r.addr, sends.get(r.conn) ?? [])) {
      out.push({ key: `${s.market}:${s.venueSymbol}`, channel: s.channel, depth: s.depth });
    }
  }
  return out;
}

/**
 * Replays one recording directly through the venue's connector and the production sync stage.
 * @throws TributaryError when the recording's instrument answers are missing or malformed.
 */
export async function replayDirect(rec: Recording, connector: Connector, opts: DirectReplayOptions = {}): Promise<DirectReplayResult> {
  const bus = opts.bus ?? new Bus();
  const synthesize = connector.replay.synthesizeHttp;
  const http = new ReplayHttp(
    rec.records.filter((r): r is HttpRecord => r.t === 'http'),
    synthesize ? (method, path) => synthesize.call(connector.replay, method, path, connector.defaultEndpoints.wsBase) : undefined,
  );
  // Retries and backoff run on the replay clock, not the wall clock.
  let clock = -Infinity;
  let timers: { at: number; fn: () => void }[] = [];
  const runTimers = (until: number): number => {
    const due = timers.filter((t) => t.at <= until);
    if (due.length === 0) return 0;
    timers = timers.filter((t) => t.at > until);
    for (const t of due) t.fn();
    return due.length;
  };
  const runner = new VenueRunner({
    connector,
    endpoints: connector.defaultEndpoints,
    http,
    schedule: (delayMs, fn) => timers.push({ at: (clock === -Infinity ? 0 : clock) + delayMs, fn }),
    bus,
    log: opts.log ?? SILENT,
    requests: opts.requests ?? recordedRequests(rec, connector),
  });
  http.clock = Infinity; // instrument lists are answered whenever asked
  await runner.prepare();
  const plans = connector.plan(runner.subscriptions, connector.defaultEndpoints);
  const conns = new Map<string, { id: string; session: unknown; plan?: ConnectionPlan }>();
  let frames = 0;
  let orphanFrames = 0;
  let recvIndex = 0;
  http.clock = -Infinity;
  for (const r of rec.records) {
    const now = r.ts * 1000;
    clock = now;
    if (runTimers(now) > 0) await flush();
    if (http.advance(now) > 0 || http.dirty) {
      http.dirty = false;
      await flush();
    }
    if (r.t === 'connect') {
      const path = new URL(r.addr).pathname;
      // A recording made through a path prefix (the simulator's `/{venue}`) still matches the venue path.
      const plan = plans.find((p) => new URL(p.url).pathname === path) ?? plans.find((p) => path.endsWith(new URL(p.url).pathname)) ?? plans[0];
      if (plan) conns.set(r.conn, { id: r.conn, session: connector.newSession(plan), plan });
    } else if (r.t === 'recv') {
      const idx = recvIndex++;
      const c = conns.get(r.conn);
      if (!c) {
        orphanFrames++;
        continue;
      }
      const data = opts.transform ? opts.transform(r.data, idx) : r.data;
      if (data === null) continue;
      frames++;
      runner.counters.frames++;
      runner.process(c, data, now);
      if (http.dirty) {
        http.dirty = false;
        await flush();
      }
    }
  }
  // Answers recorded after the last frame still arrive.
  for (let i = 0; i < 10 && (runTimers(clock + 60_000) + http.advance(Infinity) > 0 || http.dirty); i++) {
    http.dirty = false;
    await flush();
  }
  return { runner, bus, frames, orphanFrames };
}
