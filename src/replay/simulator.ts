/**
 * The venue simulator: one local HTTP server (with a WebSocket endpoint on the same port) that plays
 * venues from recordings, so the gateway and tests run on real recorded traffic over real sockets.
 *
 * - Venue id = the recording header's `exchange`, lowercased (`BYBIT` → `bybit`); recordings of the same
 *   venue are merged.
 * - WebSocket: `/{venue}{recordedPath}` (or the bare recorded path when only one venue has it) streams the
 *   `recv` frames of every recorded connection whose `connect.addr` has that pathname, merged in recorded
 *   time order, filtered to the topics the client is subscribed to (see {@link ReplayHooks}).
 * - Subscriptions change at any time on an open socket (the venue hooks turn client frames into topics and acks):
 *   an unsubscribed topic stops at once; a topic subscribed after streaming started (or after the client's last loop
 *   ended) is first caught up, in one burst, with its recorded frames the client's walk already passed in this pass
 *   (for a book: its recorded snapshot and every update since, i.e. the state a venue sends on a subscribe), then
 *   streams with the rest. {@link Simulator.activeTopics} tells which topics each client holds now.
 * - HTTP: `GET /{venue}{path}?{query}` (or the bare path when unambiguous) answers from `http` records.
 * - Server-Sent Events: `GET /{venue}{path}` (or the bare path) on a path recorded in `sse` records streams those
 *   events (`text/event-stream`, merged in recorded time order, paced and looped like WebSocket frames), each with
 *   `id: <n>` (its position in the played sequence); a reconnecting client sending `Last-Event-ID: n` resumes after
 *   it (204 when nothing is left). A venue's {@link SseReplayHooks} may filter events per request (e.g. to the
 *   feeds in its query); keep-alive comments are sent while idle.
 *
 * Timing, looping and backpressure are described on {@link SimulatorOptions}.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { TributaryError, errorMessage } from '../core/errors.ts';
import type { ReplayHooks } from '../venues/connector.ts';
import type { SseReplayHooks } from '../core/transport-types.ts';
import type { HeaderRecord, Recording } from './recording.ts';
import { HttpMatcher, normPath } from './http-match.ts';

/** Pace of streaming: the recorded pace, a multiple of it (2 = twice as fast), or as fast as the socket drains. */
export type SimulatorSpeed = 'recorded' | 'max' | number;

/** Minimal pino-compatible logger (a pino `Logger` fits). */
export interface SimulatorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** Recordings to serve (see `loadRecording`). Recordings with the same venue id are merged. */
  readonly recordings: readonly Recording[];
  /**
   * Replay hooks per venue id. A venue without hooks serves HTTP only (its WebSocket paths answer 404),
   * because its frames cannot be tied to subscriptions.
   */
  readonly hooks: (venue: string) => ReplayHooks | undefined;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 (default) picks a free one (see {@link Simulator.port}). */
  readonly port?: number;
  /**
   * `recorded` (default): frame i is sent at `start + (ts_i − ts_first) / factor` with factor 1;
   * a number is that factor (2 = twice the recorded pace); `max`: as fast as the socket drains.
   */
  readonly speed?: SimulatorSpeed;
  /** How many times each client is played the frame list: 1 (default) = once, 0 = forever. */
  readonly loop?: number;
  /**
   * A client's stream clock starts this long after its first subscription (URL topics count as one at
   * connect), so a burst of separate subscribe frames all take effect before streaming starts. Default 100.
   */
  readonly settleMs?: number;
  /**
   * Per-client backpressure limit in bytes (default 1 MiB): when more than this has been handed to the socket
   * but not yet written to the kernel, streaming pauses until it falls to half of it.
   */
  readonly highWaterMark?: number;
  /** Optional logger; nothing is logged per frame. */
  readonly log?: SimulatorLogger;
  /** SSE replay hooks per venue id (e.g. Pyth: keep the feeds a request asks for). Default: none (events sent unchanged). */
  readonly sseHooks?: (venue: string) => SseReplayHooks | undefined;
  /** Keep-alive comment interval on idle SSE streams (ms). Default 15000. */
  readonly sseKeepAliveMs?: number;
}

/** How a source's recorded SSE events are served to one request (declared in `core/transport-types.ts`). */
export type { SseReplayHooks } from '../core/transport-types.ts';

/** Counters of a running simulator. */
export interface SimulatorStats {
  /** WebSocket clients currently connected. */
  readonly clients: number;
  /** Recorded frames sent to clients (replies not included), all clients, since start. */
  readonly framesSent: number;
  /** Bytes of recorded frames sent. */
  readonly bytesSent: number;
  /** Replies (`onClientFrame` replies: acks, pongs) sent. */
  readonly repliesSent: number;
  /** HTTP requests answered from a recorded response. */
  readonly httpServed: number;
  /** HTTP requests answered 404/405, and WebSocket upgrades rejected. */
  readonly httpRejected: number;
  /** Client frames ignored: binary frames, frames the hooks threw on or did not understand, protocol errors. */
  readonly ignoredClientFrames: number;
  /** Clients currently paused by backpressure. */
  readonly blockedClients: number;
  /** SSE clients currently connected. */
  readonly sseClients: number;
}

/** A running simulator. */
export interface Simulator {
  readonly host: string;
  readonly port: number;
  /** Venue ids served, sorted. */
  readonly venues: readonly string[];
  /** `ws://host:port/{venue}`: use as the venue's `wsBase` endpoint override. @throws TributaryError `CONFIG_INVALID` for an unknown venue. */
  wsBase(venue: string): string;
  /** `http://host:port/{venue}`: use as the venue's `restBase` endpoint override. @throws TributaryError `CONFIG_INVALID` for an unknown venue. */
  restBase(venue: string): string;
  /** Current counters. */
  stats(): SimulatorStats;
  /**
   * The topics (venue-specific, see {@link ReplayHooks}) each WebSocket client of `venue` connected now is subscribed
   * to right now: URL topics and subscribe frames, minus unsubscribes; one entry per client in connection order, topics
   * sorted. A closed connection is not listed. Lets a test see an upstream subscription released.
   * @throws TributaryError `CONFIG_INVALID` for an unknown venue.
   */
  activeTopics(venue: string): { readonly path: string; readonly topics: readonly string[] }[];
  /**
   * Resolves once, when at least one client has started streaming and no connected client is still
   * streaming (or waiting out its settle delay): every connected streaming client has finished its last
   * loop (clients that disconnected no longer count). Never resolves with `loop: 0`, nor because of
   * {@link close}.
   */
  readonly ended: Promise<void>;
  /** `end` fires once, when {@link ended} resolves. */
  on(event: 'end', listener: () => void): this;
  /** Removes an `end` listener. */
  off(event: 'end', listener: () => void): this;
  /** Closes every client (close frame, then terminate after 250 ms) and the server. Idempotent. */
  close(): Promise<void>;
}

/** Venue id of a recording: its header's `exchange`, lowercased, non-alphanumerics as `-` (`CRYPTO.COM` → `crypto-com`). */
export function venueIdOf(header: HeaderRecord): string {
  // "CRYPTO.COM" → "crypto-com": the venue id is also the venue's folder name under src/venues/.
  return header.exchange.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** One recorded frame ready to stream. */
interface Frame {
  /** Recorded time, seconds. */
  readonly ts: number;
  readonly topic: string;
  readonly buf: Buffer;
}

/** One recorded SSE event ready to stream. */
interface SseFrame {
  /** Recorded time, seconds. */
  readonly ts: number;
  readonly event: string | undefined;
  readonly data: string;
}

interface Venue {
  readonly id: string;
  readonly hooks: ReplayHooks | undefined;
  readonly sseHooks: SseReplayHooks | undefined;
  /** Recorded SSE pathname → merged events (time order). */
  readonly sse: Map<string, SseFrame[]>;
  /** Recorded WebSocket pathname → merged frames (time order). Only when hooks exist. */
  readonly ws: Map<string, Frame[]>;
  /** Recorded HTTP responses. */
  readonly http: HttpMatcher;
}

const noopLog: SimulatorLogger = { debug() {}, info() {}, warn() {} };
const BATCH_FRAMES = 512;
const BATCH_BYTES = 256 * 1024;
const CLOSE_GRACE_MS = 250;

/** Pathname of a recorded absolute URL, or undefined when it does not parse. */
function pathOfUrl(u: string): string | undefined {
  try {
    return normPath(new URL(u).pathname);
  } catch {
    return undefined;
  }
}

function validate(opts: SimulatorOptions): { factor: number | null; loops: number; settleMs: number; hwm: number } {
  const bad = (why: string): never => {
    throw new TributaryError('CONFIG_INVALID', `simulator: ${why}`);
  };
  const speed = opts.speed ?? 'recorded';
  let factor: number | null;
  if (speed === 'max') factor = null;
  else if (speed === 'recorded') factor = 1;
  else if (typeof speed === 'number' && Number.isFinite(speed) && speed > 0) factor = speed;
  else return bad(`speed must be 'recorded', 'max' or a positive number, got ${String(speed)}`);
  const loops = opts.loop ?? 1;
  if (!Number.isInteger(loops) || loops < 0) bad(`loop must be an integer >= 0, got ${loops}`);
  const settleMs = opts.settleMs ?? 100;
  if (!Number.isFinite(settleMs) || settleMs < 0) bad(`settleMs must be >= 0, got ${settleMs}`);
  const hwm = opts.highWaterMark ?? 1024 * 1024;
  if (!Number.isFinite(hwm) || hwm <= 0) bad(`highWaterMark must be > 0, got ${hwm}`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) bad(`port must be 0..65535, got ${port}`);
  return { factor, loops, settleMs, hwm };
}

/** Builds the per-venue tables from the recordings; topics are computed once here. */
function loadVenues(opts: SimulatorOptions, log: SimulatorLogger): Map<string, Venue> {
  const venues = new Map<string, Venue>();
  for (const rec of opts.recordings) {
    const id = venueIdOf(rec.header);
    let v = venues.get(id);
    if (!v) {
      const hooks = opts.hooks(id);
      if (!hooks && rec.records.some((r) => r.t === 'recv')) log.warn({ venue: id }, 'simulator: no replay hooks for venue; serving HTTP only');
      v = { id, hooks, sseHooks: opts.sseHooks?.(id), sse: new Map(), ws: new Map(), http: new HttpMatcher() };
      venues.set(id, v);
    }
    // A recv may in theory precede its connect record (clock skew between tasks): fall back to the first connect.
    const firstAddr = new Map<string, string>();
    for (const r of rec.records) {
      if (r.t === 'connect' && !firstAddr.has(r.conn)) {
        const p = pathOfUrl(r.addr);
        if (p !== undefined) firstAddr.set(r.conn, p);
      }
    }
    const current = new Map<string, string>();
    let badTopic = 0;
    for (const r of rec.records) {
      if (r.t === 'http') {
        v.http.add(r.url, { ts: r.ts, data: r.data });
      } else if (r.t === 'sse') {
        const p = pathOfUrl(r.url);
        if (p === undefined) continue;
        let frames = v.sse.get(p);
        if (!frames) v.sse.set(p, (frames = []));
        frames.push({ ts: r.ts, event: r.event, data: r.data });
      } else if (!v.hooks) {
        continue;
      } else if (r.t === 'connect') {
        const p = pathOfUrl(r.addr);
        if (p === undefined) continue;
        current.set(r.conn, p);
        if (!v.ws.has(p)) v.ws.set(p, []);
      } else if (r.t === 'recv') {
        const path = current.get(r.conn) ?? firstAddr.get(r.conn);
        if (path === undefined) continue;
        let topic: string | null;
        try {
          topic = v.hooks.topicOfFrame(r.data);
        } catch {
          badTopic++;
          topic = null;
        }
        if (topic === null) continue;
        let frames = v.ws.get(path);
        if (!frames) v.ws.set(path, (frames = []));
        frames.push({ ts: r.ts, topic, buf: Buffer.from(r.data, 'utf8') });
      }
    }
    if (badTopic > 0) log.warn({ venue: id, frames: badTopic, path: rec.path }, 'simulator: topicOfFrame threw; frames skipped');
  }
  // Merge: connections and recordings interleave in recorded time (stable for equal ts).
  for (const v of venues.values()) {
    v.http.sortByTime();
    for (const [p, frames] of v.ws) {
      const sorted = frames.map((f, i) => ({ f, i })).sort((a, b) => a.f.ts - b.f.ts || a.i - b.i).map((x) => x.f);
      v.ws.set(p, sorted);
    }
    for (const [p, frames] of v.sse) {
      v.sse.set(p, frames.map((f, i) => ({ f, i })).sort((a, b) => a.f.ts - b.f.ts || a.i - b.i).map((x) => x.f));
    }
  }
  return venues;
}

type ClientState = 'idle' | 'settling' | 'streaming' | 'parked' | 'finished' | 'closed';

/** What a client connection needs from the simulator. */
interface ClientHost {
  readonly factor: number | null;
  readonly loops: number;
  readonly settleMs: number;
  readonly hwm: number;
  counters: { framesSent: number; bytesSent: number; repliesSent: number; ignoredClientFrames: number };
  onStreaming(): void;
  onDone(): void;
}

/** One WebSocket client: its subscriptions and its walk over the frame list. */
class SimClient {
  state: ClientState = 'idle';
  blocked = false;
  private readonly topics = new Set<string>();
  private idx = 0;
  private loopsDone = 0;
  private sentThisPass = 0;
  private startAt = 0;
  private outstanding = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly t0: number;
  /** Recorded frames sent on this socket (for `rewriteFrame`). */
  private nth = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly hooks: ReplayHooks,
    private readonly frames: readonly Frame[],
    private readonly host: ClientHost,
    readonly venue = '',
    readonly path = '',
  ) {
    this.t0 = frames.length > 0 ? frames[0].ts : 0;
  }

  /** The topics subscribed now, sorted. */
  topicsNow(): string[] {
    return [...this.topics].sort();
  }

  /** Applies the connection URL's topics. */
  start(urlTopics: readonly string[]): void {
    this.subscribe(urlTopics);
  }

  /** Handles one client frame: subscribe/unsubscribe and replies. Never throws. */
  onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (isBinary) {
      this.host.counters.ignoredClientFrames++;
      return;
    }
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    let r: ReturnType<ReplayHooks['onClientFrame']>;
    try {
      r = this.hooks.onClientFrame(text);
    } catch {
      this.host.counters.ignoredClientFrames++;
      return;
    }
    if (!r || (!r.subscribe?.length && !r.unsubscribe?.length && !r.replies?.length)) {
      this.host.counters.ignoredClientFrames++;
      return;
    }
    for (const t of r.unsubscribe ?? []) this.topics.delete(t);
    for (const reply of r.replies ?? []) {
      this.host.counters.repliesSent++;
      this.send(Buffer.from(reply, 'utf8'));
    }
    if (r.subscribe?.length) this.subscribe(r.subscribe);
  }

  private subscribe(topics: readonly string[]): void {
    if (topics.length === 0) return;
    const fresh = new Set<string>();
    for (const t of topics) {
      if (!this.topics.has(t)) fresh.add(t);
      this.topics.add(t);
    }
    if ((this.state === 'streaming' || this.state === 'finished') && fresh.size > 0) this.catchUp(fresh);
    if (this.state === 'idle') {
      this.state = 'settling';
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.beginStreaming();
      }, this.host.settleMs);
    } else if (this.state === 'parked') {
      this.state = 'streaming';
      this.newPass(performance.now());
      this.schedule();
    }
  }

  /**
   * A topic subscribed mid-stream first gets, in one burst, its frames the walk already passed in this pass (for a
   * book: the recorded snapshot and every update since), so the client holds what a venue would send on a subscribe.
   */
  private catchUp(fresh: ReadonlySet<string>): void {
    const end = Math.min(this.idx, this.frames.length);
    if (end === 0) return;
    const sock = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    sock?.cork();
    try {
      const rewrite = this.hooks.rewriteFrame;
      for (let i = 0; i < end; i++) {
        const f = this.frames[i];
        if (!fresh.has(f.topic)) continue;
        this.send(rewrite ? Buffer.from(rewrite.call(this.hooks, f.buf.toString('utf8'), this.nth++), 'utf8') : f.buf);
        this.sentThisPass++;
        this.host.counters.framesSent++;
        this.host.counters.bytesSent += f.buf.length;
      }
    } finally {
      sock?.uncork();
    }
  }

  private beginStreaming(): void {
    if (this.state !== 'settling') return;
    this.state = 'streaming';
    this.host.onStreaming();
    if (this.frames.length === 0) {
      this.finish();
      return;
    }
    this.newPass(performance.now());
    this.pump();
  }

  private newPass(now: number): void {
    this.idx = 0;
    this.sentThisPass = 0;
    this.startAt = now;
  }

  private schedule(): void {
    if (this.immediate || this.timer || this.state !== 'streaming') return;
    this.immediate = setImmediate(this.pump);
  }

  /** Sends what is due, in batches; re-arms itself by timer (recorded pace), setImmediate (batch) or drain. */
  private readonly pump = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.state !== 'streaming' || this.blocked) return;
    // One write syscall per batch instead of one per frame: `ws` corks/uncorks around each frame, which only
    // flushes when the outermost cork is released. `_socket` is ws's (undocumented) underlying net.Socket.
    const sock = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    sock?.cork();
    try {
      this.pumpBatch();
    } finally {
      sock?.uncork();
    }
  };

  private pumpBatch(): void {
    const { factor, hwm } = this.host;
    const frames = this.frames;
    const now = performance.now();
    let budget = BATCH_FRAMES;
    let bytes = 0;
    for (;;) {
      if (this.idx >= frames.length) {
        this.loopsDone++;
        if (this.host.loops !== 0 && this.loopsDone >= this.host.loops) {
          this.finish();
          return;
        }
        if (this.host.loops === 0 && this.sentThisPass === 0) {
          // Forever-loop with nothing subscribed that exists: idle until the subscriptions change.
          this.state = 'parked';
          return;
        }
        this.newPass(now);
        this.immediate = setImmediate(this.pump);
        return;
      }
      if (this.outstanding > hwm) {
        this.blocked = true;
        return;
      }
      const f = frames[this.idx];
      if (factor !== null) {
        const due = this.startAt + ((f.ts - this.t0) * 1000) / factor;
        if (due > now + 0.5) {
          this.timer = setTimeout(this.pump, Math.max(1, Math.ceil(due - now)));
          return;
        }
      }
      this.idx++;
      if (this.topics.has(f.topic)) {
        const rewrite = this.hooks.rewriteFrame;
        this.send(rewrite ? Buffer.from(rewrite.call(this.hooks, f.buf.toString('utf8'), this.nth++), 'utf8') : f.buf);
        this.sentThisPass++;
        this.host.counters.framesSent++;
        this.host.counters.bytesSent += f.buf.length;
        bytes += f.buf.length;
      }
      if (--budget <= 0 || bytes >= BATCH_BYTES) {
        this.immediate = setImmediate(this.pump);
        return;
      }
    }
  }

  /** Sends a text frame, counting its bytes as outstanding until the socket has written them. */
  private send(buf: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const n = buf.length;
    this.outstanding += n;
    this.ws.send(buf, { binary: false }, () => {
      this.outstanding -= n;
      if (this.blocked && this.outstanding <= this.host.hwm / 2) {
        this.blocked = false;
        this.schedule();
      }
    });
  }

  private finish(): void {
    this.state = 'finished';
    this.host.onDone();
  }

  /** Stops all timers; the client will send nothing more. */
  stop(): void {
    this.state = 'closed';
    this.blocked = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** True while the client still has frames to stream (or is about to start). */
  get active(): boolean {
    return this.state === 'settling' || this.state === 'streaming' || this.state === 'parked';
  }
}

/** One SSE client: its walk over the recorded events of one path (same pacing and looping as {@link SimClient}). */
class SseSimClient {
  state: ClientState = 'idle';
  blocked = false;
  private idx = 0;
  private loopsDone = 0;
  private sentThisPass = 0;
  private startAt = 0;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly t0: number;

  constructor(
    readonly res: ServerResponse,
    private readonly frames: readonly SseFrame[],
    private readonly host: ClientHost,
    private readonly filter: ((data: string) => string | undefined) | undefined,
    private readonly keepAliveMs: number,
  ) {
    this.t0 = frames.length > 0 ? frames[0].ts : 0;
  }

  /**
   * Starts streaming after `lastEventId` (a sequence number this simulator sent; undefined = from the start).
   * Returns false when nothing is left to play (the caller answers 204: "do not reconnect").
   */
  start(lastEventId: string | undefined): boolean {
    const n = this.frames.length;
    const last = lastEventId !== undefined && /^[0-9]{1,15}$/.test(lastEventId) ? Number(lastEventId) : -1;
    const next = last + 1;
    if (n > 0) {
      this.loopsDone = Math.floor(next / n);
      this.idx = next % n;
    }
    if (n === 0 || (this.host.loops !== 0 && this.loopsDone >= this.host.loops)) return false;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.res.flushHeaders();
    this.lastWriteAt = performance.now();
    this.keepAlive = setInterval(() => {
      if (this.state === 'closed' || this.res.writableEnded) return;
      if (performance.now() - this.lastWriteAt >= this.keepAliveMs) this.write(':\n\n');
    }, Math.max(10, Math.floor(this.keepAliveMs / 2)));
    this.keepAlive.unref();
    this.state = 'settling';
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state !== 'settling') return;
      this.state = 'streaming';
      this.host.onStreaming();
      this.resumeClock(performance.now());
      this.pump();
    }, this.host.settleMs);
    return true;
  }

  /** Sets the pass clock so that frame `idx` is due now (resumed streams and loop starts). */
  private resumeClock(now: number): void {
    const f = this.frames[this.idx];
    this.startAt = this.host.factor === null || f === undefined ? now : now - ((f.ts - this.t0) * 1000) / this.host.factor;
  }

  private write(s: string): void {
    this.lastWriteAt = performance.now();
    if (!this.res.write(s) && !this.blocked) {
      this.blocked = true;
      this.res.once('drain', () => {
        this.blocked = false;
        if (this.state === 'streaming' && !this.timer && !this.immediate) this.immediate = setImmediate(this.pump);
      });
    }
  }

  private readonly pump = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.state !== 'streaming' || this.blocked) return;
    const { factor } = this.host;
    const frames = this.frames;
    const n = frames.length;
    const now = performance.now();
    let budget = BATCH_FRAMES;
    let out = '';
    const flush = (): void => {
      if (out.length > 0) this.write(out);
      out = '';
    };
    for (;;) {
      if (this.idx >= n) {
        this.loopsDone++;
        if (this.host.loops !== 0 && this.loopsDone >= this.host.loops) {
          flush();
          this.finish();
          return;
        }
        if (this.host.loops === 0 && this.sentThisPass === 0) {
          flush();
          this.state = 'parked'; // nothing this client wants: keep-alives only
          return;
        }
        this.idx = 0;
        this.sentThisPass = 0;
        this.resumeClock(now);
        flush();
        this.immediate = setImmediate(this.pump);
        return;
      }
      const f = frames[this.idx];
      if (factor !== null) {
        const due = this.startAt + ((f.ts - this.t0) * 1000) / factor;
        if (due > now + 0.5) {
          flush();
          this.timer = setTimeout(this.pump, Math.max(1, Math.ceil(due - now)));
          return;
        }
      }
      const seq = this.loopsDone * n + this.idx;
      this.idx++;
      const data = this.filter ? this.filter(f.data) : f.data;
      if (data !== undefined) {
        let ev = `id: ${seq}\n`;
        if (f.event !== undefined) ev += `event: ${f.event}\n`;
        for (const line of data.split('\n')) ev += `data: ${line}\n`;
        ev += '\n';
        out += ev;
        this.sentThisPass++;
        this.host.counters.framesSent++;
        this.host.counters.bytesSent += ev.length;
      }
      if (--budget <= 0 || out.length >= BATCH_BYTES) {
        flush();
        if (!this.blocked) this.immediate = setImmediate(this.pump);
        return;
      }
    }
  };

  private finish(): void {
    this.state = 'finished';
    this.stopTimers();
    this.res.end();
    this.host.onDone();
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.timer = undefined;
    this.immediate = undefined;
    this.keepAlive = undefined;
  }

  /** Stops all timers; nothing more is written. */
  stop(): void {
    this.state = 'closed';
    this.stopTimers();
  }

  get active(): boolean {
    return this.state === 'settling' || this.state === 'streaming' || this.state === 'parked';
  }
}

class SimulatorImpl implements Simulator, ClientHost {
  readonly venues: readonly string[];
  readonly ended: Promise<void>;
  port = 0;
  counters = { framesSent: 0, bytesSent: 0, repliesSent: 0, ignoredClientFrames: 0 };
  private httpServed = 0;
  private httpRejected = 0;
  private readonly clients = new Set<SimClient>();
  private readonly sseClients = new Set<SseSimClient>();
  private anyStreamed = false;
  private endedFired = false;
  private resolveEnded!: () => void;
  private readonly emitter = new EventEmitter();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly venueMap: Map<string, Venue>,
    readonly host: string,
    readonly factor: number | null,
    readonly loops: number,
    readonly settleMs: number,
    readonly hwm: number,
    private readonly log: SimulatorLogger,
    private readonly sseKeepAliveMs = 15_000,
  ) {
    this.venues = [...venueMap.keys()].sort();
    this.ended = new Promise<void>((r) => (this.resolveEnded = r));
    this.server = createServer((req, res) => this.onHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    this.server.on('error', (e) => this.log.warn({ err: errorMessage(e) }, 'simulator: server error'));
    this.log.info({ host: this.host, port: this.port, venues: this.venues }, 'simulator listening');
  }

  private base(scheme: string, venue: string): string {
    if (!this.venueMap.has(venue)) throw new TributaryError('CONFIG_INVALID', `simulator: unknown venue ${venue}`, { venue });
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${scheme}://${h}:${this.port}/${venue}`;
  }
  wsBase(venue: string): string {
    return this.base('ws', venue);
  }
  restBase(venue: string): string {
    return this.base('http', venue);
  }

  stats(): SimulatorStats {
    let blocked = 0;
    for (const c of this.clients) if (c.blocked) blocked++;
    return {
      clients: this.clients.size,
      framesSent: this.counters.framesSent,
      bytesSent: this.counters.bytesSent,
      repliesSent: this.counters.repliesSent,
      httpServed: this.httpServed,
      httpRejected: this.httpRejected,
      ignoredClientFrames: this.counters.ignoredClientFrames,
      blockedClients: blocked,
      sseClients: this.sseClients.size,
    };
  }

  activeTopics(venue: string): { readonly path: string; readonly topics: readonly string[] }[] {
    if (!this.venueMap.has(venue)) throw new TributaryError('CONFIG_INVALID', `simulator: unknown venue ${venue}`, { venue });
    const out: { path: string; topics: string[] }[] = [];
    for (const c of this.clients) if (c.venue === venue && c.state !== 'closed') out.push({ path: c.path, topics: c.topicsNow() });
    return out;
  }

  on(event: 'end', listener: () => void): this {
    this.emitter.on(event, listener);
    return this;
  }
  off(event: 'end', listener: () => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  onStreaming(): void {
    this.anyStreamed = true;
  }
  onDone(): void {
    this.checkEnded();
  }

  private checkEnded(): void {
    if (this.endedFired || !this.anyStreamed || this.closing) return;
    for (const c of this.clients) if (c.active) return;
    for (const c of this.sseClients) if (c.active) return;
    this.endedFired = true;
    this.log.info({ framesSent: this.counters.framesSent }, 'simulator: all clients served');
    this.resolveEnded();
    this.emitter.emit('end');
  }

  /**
   * Finds `pick(venue, path)` for `/{venue}{path}`, else for the bare path when exactly one venue has it.
   */
  private route<T>(pathname: string, pick: (v: Venue, path: string) => T | undefined): { venue: Venue; path: string; value: T } | undefined {
    const m = /^\/([^/]+)(\/.*)?$/.exec(pathname);
    if (m) {
      const v = this.venueMap.get(decodeURIComponentSafe(m[1]));
      if (v) {
        const path = normPath(m[2] ?? '');
        const value = pick(v, path);
        if (value !== undefined) return { venue: v, path, value };
      }
    }
    const path = normPath(pathname);
    const hits: { venue: Venue; path: string; value: T }[] = [];
    for (const v of this.venueMap.values()) {
      const value = pick(v, path);
      if (value !== undefined) hits.push({ venue: v, path, value });
    }
    return hits.length === 1 ? hits[0] : undefined;
  }

  /** A venue's `synthesizeHttp` hook answer for requests the recording cannot serve (prefixed paths only). */
  private synthesize(req: IncomingMessage): string | undefined {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const m = /^\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const v = m ? this.venueMap.get(decodeURIComponentSafe(m[1])) : undefined;
    const hook = v?.hooks?.synthesizeHttp;
    if (!m || !v || !hook) return undefined;
    return hook.call(v.hooks, req.method ?? 'GET', (m[2] ?? '/') + url.search, this.wsBase(v.id));
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    try {
      const synthetic = this.synthesize(req);
      if (synthetic !== undefined) {
        req.resume();
        this.httpServed++;
        reply(200, synthetic);
        return;
      }
      if (req.method === 'GET') {
        const u = new URL(req.url ?? '/', 'http://simulator.invalid');
        const sse = this.route(u.pathname, (v, p) => v.sse.get(p));
        if (sse) {
          this.onSseClient(req, res, sse.venue, sse.value, u);
          return;
        }
      }
      if (req.method !== 'GET') {
        this.httpRejected++;
        reply(405, JSON.stringify({ error: 'method not allowed', method: req.method }), { allow: 'GET' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://simulator.invalid');
      const hit = this.route(url.pathname, (v, p) => (v.http.has(p) ? v.http : undefined));
      const found = hit ? hit.value.match(hit.path, url.searchParams) : undefined;
      if (!found) {
        this.httpRejected++;
        reply(404, JSON.stringify({ error: 'no recorded response', path: req.url ?? '/' }));
        return;
      }
      this.httpServed++;
      reply(200, found.data);
    } catch (e) {
      this.log.warn({ err: errorMessage(e), url: req.url }, 'simulator: http handler failed');
      if (!res.headersSent) reply(500, JSON.stringify({ error: 'simulator error' }));
      else res.destroy();
    }
  }

  private onSseClient(req: IncomingMessage, res: ServerResponse, venue: Venue, frames: SseFrame[], url: URL): void {
    req.resume();
    if (this.closing) {
      res.writeHead(503).end();
      return;
    }
    let filter: ((data: string) => string | undefined) | undefined;
    try {
      filter = venue.sseHooks?.filterFor(url);
    } catch {
      this.counters.ignoredClientFrames++;
    }
    const client = new SseSimClient(res, frames, this, filter, this.sseKeepAliveMs);
    const lastId = req.headers['last-event-id'];
    if (!client.start(typeof lastId === 'string' ? lastId : undefined)) {
      this.httpServed++;
      res.writeHead(204).end();
      return;
    }
    this.httpServed++;
    this.sseClients.add(client);
    const done = (): void => {
      client.stop();
      if (this.sseClients.delete(client)) this.checkEnded();
    };
    res.on('close', done);
    res.on('error', done);
    this.log.debug({ venue: venue.id, path: url.pathname }, 'simulator: sse client connected');
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const reject = (status: number, text: string): void => {
      this.httpRejected++;
      const body = JSON.stringify({ error: text, path: req.url ?? '/' });
      socket.once('finish', () => socket.destroy());
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (this.closing) return reject(503, 'Service Unavailable');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator.invalid');
    } catch {
      return reject(400, 'Bad Request');
    }
    const hit = this.route(url.pathname, (v, p) => (v.hooks ? v.ws.get(p) : undefined));
    if (!hit) return reject(404, 'Not Found');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onClient(ws, hit.venue, hit.path, hit.value, url));
  }

  private onClient(ws: WebSocket, venue: Venue, path: string, frames: Frame[], reqUrl: URL): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    const hooks = venue.hooks!;
    const client = new SimClient(ws, hooks, frames, this, venue.id, path);
    this.clients.add(client);
    ws.on('error', () => this.counters.ignoredClientFrames++);
    ws.on('message', (data, isBinary) => client.onMessage(data, isBinary));
    ws.on('close', () => {
      client.stop();
      this.clients.delete(client);
      this.log.debug({ venue: venue.id, path }, 'simulator: client closed');
      this.checkEnded();
    });
    this.log.debug({ venue: venue.id, path }, 'simulator: client connected');
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    let urlTopics: string[] = [];
    try {
      urlTopics = hooks.topicsFromUrl(new URL(path + reqUrl.search, `ws://${h}:${this.port}`));
    } catch {
      this.counters.ignoredClientFrames++;
    }
    client.start(urlTopics);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const c of [...this.sseClients]) {
      c.stop();
      c.res.end();
    }
    this.sseClients.clear();
    const all = [...this.clients];
    for (const c of all) c.stop();
    await Promise.all(all.map((c) => closeSocket(c.ws)));
    this.clients.clear();
    await new Promise<void>((resolve) => {
      this.wss.close(() => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    });
    this.log.info({ port: this.port }, 'simulator closed');
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Close frame, then terminate if the peer has not closed within the grace period. */
function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    const t = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      ws.close(1001, 'simulator closing');
    } catch {
      ws.terminate();
    }
  });
}

/**
 * Starts a simulator serving `opts.recordings` (see the module doc and {@link SimulatorOptions}).
 * @throws TributaryError `CONFIG_INVALID` on bad options; the listen error when the port is taken.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const { factor, loops, settleMs, hwm } = validate(opts);
  const log = opts.log ?? noopLog;
  const venues = loadVenues(opts, log);
  const sim = new SimulatorImpl(venues, opts.host ?? '127.0.0.1', factor, loops, settleMs, hwm, log, opts.sseKeepAliveMs);
  await sim.listen(opts.port ?? 0);
  return sim;
}
