/**
 * Matching REST requests against recorded `http` records, shared by the simulator and direct replay.
 *
 * Candidates have the same pathname. The exact query match wins (parameters compared as a set, empty
 * keys such as Bybit's `?&category=...` ignored); otherwise the candidate agreeing on the most parameters.
 * When several records answer the same request, they are served in recorded order and the last repeats.
 */
import type { HttpRecord } from './recording.ts';

function params(u: URL): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of u.searchParams) if (k !== '') m.set(k, v);
  return m;
}

interface Group {
  readonly params: Map<string, string>;
  readonly records: HttpRecord[];
  served: number;
}

/** Answers requests from recorded `http` records. */
export class HttpMatcher {
  private readonly byPath = new Map<string, Group[]>();

  constructor(records: Iterable<HttpRecord>) {
    for (const r of records) {
      let u: URL;
      try {
        u = new URL(r.url);
      } catch {
        continue;
      }
      const ps = params(u);
      const groups = this.byPath.get(u.pathname) ?? [];
      let g = groups.find((x) => sameParams(x.params, ps));
      if (!g) {
        g = { params: ps, records: [], served: 0 };
        groups.push(g);
      }
      g.records.push(r);
      this.byPath.set(u.pathname, groups);
    }
  }

  /**
   * The record answering `pathname` + `search` (the venue part of the URL, without any simulator prefix),
   * advancing that record group's cursor; undefined when nothing was recorded for the path.
   */
  match(pathname: string, search: string): HttpRecord | undefined {
    const groups = this.byPath.get(pathname);
    if (!groups || groups.length === 0) return undefined;
    const want = params(new URL(`http://x/${search.startsWith('?') ? search : `?${search}`}`));
    let best: Group | undefined;
    let bestScore = -1;
    for (const g of groups) {
      if (sameParams(g.params, want)) {
        best = g;
        break;
      }
      let score = 0;
      for (const [k, v] of want) if (g.params.get(k) === v) score++;
      if (score > bestScore) {
        bestScore = score;
        best = g;
      }
    }
    if (!best) return undefined;
    const i = Math.min(best.served, best.records.length - 1);
    best.served++;
    return best.records[i];
  }
}

function sameParams(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
