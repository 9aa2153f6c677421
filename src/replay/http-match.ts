/**
 * Matching REST requests against recorded `http` records, shared by the simulator and direct replay.
 *
 * Records are grouped by pathname and query parameters (compared as a set; empty keys such as Bybit's
 * `?&category=...` ignored). A request gets the exact group, else the unique group that has at least as many
 * equal parameters as every other and no more mismatching ones (a parameter differs or is on one side only);
 * a tie answers nothing rather than a wrong body. A group's records are served in recorded order, then the
 * last one repeats.
 */

/** `/a/b/` → `/a/b`, `` → `/`. */
export function normPath(p: string): string {
  if (p === '') return '/';
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Query params as key → all values joined (sorted), ignoring empty keys. */
export function paramsOf(sp: URLSearchParams): Map<string, string> {
  const multi = new Map<string, string[]>();
  for (const [k, v] of sp) {
    if (k === '') continue;
    const a = multi.get(k);
    if (a) a.push(v);
    else multi.set(k, [v]);
  }
  const out = new Map<string, string>();
  for (const k of [...multi.keys()].sort()) out.set(k, multi.get(k)!.sort().join('\u0000'));
  return out;
}

function paramsKey(p: Map<string, string>): string {
  return [...p].map(([k, v]) => `${k}=${v}`).join('&');
}

/** One recorded response: its recorded time (seconds) and body. */
export interface RecordedResponse {
  readonly ts: number;
  readonly data: string;
}

interface Group {
  readonly params: Map<string, string>;
  readonly key: string;
  readonly bodies: RecordedResponse[];
  next: number;
}

function chooseGroup(groups: readonly Group[], req: Map<string, string>): Group | undefined {
  const key = paramsKey(req);
  const exact = groups.find((g) => g.key === key);
  if (exact) return exact;
  const scored = groups.map((g) => {
    let equal = 0;
    let mismatch = 0;
    for (const [k, v] of req) {
      if (g.params.get(k) === v) equal++;
      else mismatch++;
    }
    for (const k of g.params.keys()) if (!req.has(k)) mismatch++;
    return { g, equal, mismatch };
  });
  const winners = scored.filter((s) => scored.every((o) => s.equal >= o.equal && s.mismatch <= o.mismatch));
  return winners.length === 1 ? winners[0].g : undefined;
}

/** Recorded REST responses of one venue, answerable by path and query. */
export class HttpMatcher {
  private readonly byPath = new Map<string, Group[]>();

  /** Adds one recorded response for an absolute URL (records must be added in recorded time order). Bad URLs are skipped. */
  add(url: string, response: RecordedResponse): void {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return;
    }
    const path = normPath(u.pathname);
    const params = paramsOf(u.searchParams);
    const key = paramsKey(params);
    let groups = this.byPath.get(path);
    if (!groups) this.byPath.set(path, (groups = []));
    let g = groups.find((x) => x.key === key);
    if (!g) groups.push((g = { params, key, bodies: [], next: 0 }));
    g.bodies.push(response);
  }

  /** Orders each URL's responses by recorded time (after merging several recordings). */
  sortByTime(): void {
    for (const groups of this.byPath.values()) for (const g of groups) g.bodies.sort((a, b) => a.ts - b.ts);
  }

  /**
   * The recorded path that ends with `pathname` or that `pathname` ends with (the longest such), for
   * recordings made behind a path prefix (a recording of the simulator has `/bybit/v5/...`). Exact paths win.
   */
  resolvePath(pathname: string): string | undefined {
    const p = normPath(pathname);
    if (this.byPath.has(p)) return p;
    let best: string | undefined;
    for (const k of this.byPath.keys()) {
      if ((k.endsWith(p) || p.endsWith(k)) && (best === undefined || k.length > best.length)) best = k;
    }
    return best;
  }

  /** True when something was recorded for `pathname`. */
  has(pathname: string): boolean {
    return this.byPath.has(normPath(pathname));
  }

  /** The response for a request (advancing that URL's cursor), or undefined when none matches unambiguously. */
  match(pathname: string, search: URLSearchParams): RecordedResponse | undefined {
    const groups = this.byPath.get(normPath(pathname));
    if (!groups) return undefined;
    const g = chooseGroup(groups, paramsOf(search));
    if (!g) return undefined;
    const r = g.bodies[Math.min(g.next, g.bodies.length - 1)];
    g.next++;
    return r;
  }
}
