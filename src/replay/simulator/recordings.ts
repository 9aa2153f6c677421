/**
 * The simulator's tables: recordings turned into per-venue frame lists (WebSocket frames tagged with their topic,
 * SSE events), merged in recorded time order, and recorded HTTP answers.
 */
import type { ReplayHooks } from '../../venues/connector.ts';
import type { SseReplayHooks } from '../../core/transport-types.ts';
import type { HeaderRecord } from '../recording.ts';
import { HttpMatcher, normPath } from '../http-match.ts';
import type { SimulatorLogger, SimulatorOptions } from './types.ts';

/** Venue id of a recording: its header's `exchange`, lowercased, non-alphanumerics as `-` (`CRYPTO.COM` → `crypto-com`). */
export function venueIdOf(header: HeaderRecord): string {
  // "CRYPTO.COM" → "crypto-com": the venue id is also the venue's folder name under src/venues/.
  return header.exchange.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** One recorded frame ready to stream. */
export interface Frame {
  /** Recorded time, seconds. */
  readonly ts: number;
  readonly topic: string;
  readonly buf: Buffer;
}

/** One recorded SSE event ready to stream. */
export interface SseFrame {
  /** Recorded time, seconds. */
  readonly ts: number;
  readonly event: string | undefined;
  readonly data: string;
}

/** One venue served: its hooks and its recorded WebSocket, SSE and HTTP traffic. */
export interface Venue {
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

/** Pathname of a recorded absolute URL, or undefined when it does not parse. */
function pathOfUrl(u: string): string | undefined {
  try {
    return normPath(new URL(u).pathname);
  } catch {
    return undefined;
  }
}

/** Builds the per-venue tables from the recordings; topics are computed once here. */
export function loadVenues(opts: SimulatorOptions, log: SimulatorLogger): Map<string, Venue> {
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
