/**
 * The simulator's request routing: which venue and recorded path a request is for, and a venue's synthesized HTTP
 * answers (see `ReplayHooks.synthesizeHttp`).
 */
import type { IncomingMessage } from 'node:http';
import { normPath } from '../http-match.ts';
import type { Venue } from './recordings.ts';

/**
 * Finds `pick(venue, path)` for `/{venue}{path}`, else for the bare path when exactly one venue has it.
 */
export function route<T>(venueMap: ReadonlyMap<string, Venue>, pathname: string, pick: (v: Venue, path: string) => T | undefined): { venue: Venue; path: string; value: T } | undefined {
  const m = /^\/([^/]+)(\/.*)?$/.exec(pathname);
  if (m) {
    const v = venueMap.get(decodeURIComponentSafe(m[1]));
    if (v) {
      const path = normPath(m[2] ?? '');
      const value = pick(v, path);
      if (value !== undefined) return { venue: v, path, value };
    }
  }
  const path = normPath(pathname);
  const hits: { venue: Venue; path: string; value: T }[] = [];
  for (const v of venueMap.values()) {
    const value = pick(v, path);
    if (value !== undefined) hits.push({ venue: v, path, value });
  }
  return hits.length === 1 ? hits[0] : undefined;
}

/** A venue's `synthesizeHttp` hook answer for requests the recording cannot serve (prefixed paths only). */
export function synthesize(venueMap: ReadonlyMap<string, Venue>, req: IncomingMessage, wsBase: (venue: string) => string): string | undefined {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const m = /^\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const v = m ? venueMap.get(decodeURIComponentSafe(m[1])) : undefined;
  const hook = v?.hooks?.synthesizeHttp;
  if (!m || !v || !hook) return undefined;
  return hook.call(v.hooks, req.method ?? 'GET', (m[2] ?? '/') + url.search, wsBase(v.id));
}

/** `decodeURIComponent`, or the text unchanged when it is not valid percent-encoding. */
function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
