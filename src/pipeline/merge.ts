/**
 * The pure computations of the consolidate stage (`consolidate.ts`): the consolidation key of a symbol under quote
 * equivalence groups; the best-first k-way merge of the included venue books into one list where every level keeps its
 * venue, with the NBBO, the spread (absolute and in bps of the mid), the mid, the venue-time skew and the oracle
 * reference of one consolidated book; and the equality of two summaries that decides whether a summary is emitted
 * again. Nothing here keeps state or reads a clock.
 */
import type { BookSideView, BookView } from '../core/book-view.ts';
import type { ConsolidatedBook, ConsolidatedLevel, ExcludedVenue, Nbbo, OraclePrice, OracleRef, Spread } from '../core/events.ts';

/** One included venue book of a consolidation key, as merged (read-only; never mutated here). */
export interface MergeMember {
  readonly venue: string;
  /** The venue instrument's canonical symbol. */
  readonly symbol: string;
  /** Its quote currency, upper-cased. */
  readonly quote: string;
  readonly book: BookView;
}

/** Quote-currency equivalence groups (`[["USD","USDT","USDC"]]`) as quote → its group, upper-cased (groups of one are ignored). */
export function buildGroups(groups: readonly (readonly string[])[] | undefined): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>();
  for (const g of groups ?? []) {
    const up = g.map((q) => q.toUpperCase());
    if (up.length < 2) continue;
    for (const q of up) m.set(q, up);
  }
  return m;
}

/**
 * The consolidation key of a canonical symbol: the symbol itself, except spot symbols (`BASE/QUOTE`)
 * whose quote is in an equivalence group, which map to `BASE/<first of group>`. Derivatives
 * (`BASE/QUOTE:SETTLE`) always keep their own symbol.
 */
export function consolidationKey(symbol: string, groups: ReadonlyMap<string, readonly string[]>): string {
  if (groups.size === 0 || symbol.includes(':')) return symbol;
  const slash = symbol.indexOf('/');
  if (slash < 0) return symbol;
  const g = groups.get(symbol.slice(slash + 1).toUpperCase());
  return g ? `${symbol.slice(0, slash)}/${g[0]}` : symbol;
}

const round12 = (x: number): number => Number(x.toPrecision(12));

/**
 * Best-first k-way merge of `sides` (one per member, members sorted by venue then symbol) down to `depth`
 * levels. Equal prices keep one level per member, in member order.
 */
function mergeSides(members: readonly MergeMember[], sides: readonly BookSideView[], depth: number, descending: boolean, withSymbol: boolean): ConsolidatedLevel[] {
  const k = sides.length;
  const idx = new Array<number>(k).fill(0);
  const out: ConsolidatedLevel[] = [];
  while (out.length < depth) {
    let best = -1;
    let bestPx = 0;
    for (let j = 0; j < k; j++) {
      const s = sides[j];
      const i = idx[j];
      if (i >= s.length) continue;
      const p = s.priceNum(i);
      if (best < 0 || (descending ? p > bestPx : p < bestPx)) {
        best = j;
        bestPx = p;
      }
    }
    if (best < 0) break;
    const s = sides[best];
    const i = idx[best]++;
    const m = members[best];
    out.push(withSymbol ? { price: s.price(i), size: s.size(i), venue: m.venue, symbol: m.symbol } : { price: s.price(i), size: s.size(i), venue: m.venue });
  }
  return out;
}

/**
 * The consolidated book of key `symbol` from its included members `inc` (sorted by venue, then symbol) and its
 * `excluded` venues, `depth` levels per side, at `now` (its `timestamp`). `group` is the key's quote-equivalence group
 * (levels then carry their instrument symbol); `oracle` the latest oracle price of the key's instrument, if any.
 */
export function consolidatedBook(
  symbol: string,
  group: readonly string[] | undefined,
  inc: readonly MergeMember[],
  excluded: ExcludedVenue[],
  depth: number,
  oracle: OraclePrice | undefined,
  now: number,
): ConsolidatedBook {
  const withSymbol = group !== undefined;
  const d = Math.max(1, depth);
  const bidsAll = mergeSides(inc, inc.map((m) => m.book.bids), d, true, withSymbol);
  const asksAll = mergeSides(inc, inc.map((m) => m.book.asks), d, false, withSymbol);
  const bid = bidsAll[0];
  const ask = asksAll[0];
  let spread: Spread | null = null;
  let mid: number | null = null;
  let crossed = false;
  if (bid !== undefined && ask !== undefined) {
    // Best numeric prices: the merge's heads are the members' level 0.
    let b = -Infinity;
    let a = Infinity;
    for (const m of inc) {
      if (m.book.bids.length > 0 && m.book.bids.priceNum(0) > b) b = m.book.bids.priceNum(0);
      if (m.book.asks.length > 0 && m.book.asks.priceNum(0) < a) a = m.book.asks.priceNum(0);
    }
    const mv = (a + b) / 2;
    mid = round12(mv);
    spread = { abs: round12(a - b), bps: round12(((a - b) / mv) * 10000) };
    crossed = b > a;
  }
  const nbbo: Nbbo = bid !== undefined || ask !== undefined ? { ...(bid ? { bid } : {}), ...(ask ? { ask } : {}) } : {};
  const venues = [...new Set(inc.map((m) => m.venue))];
  let timed = 0;
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (const m of inc) {
    const t = m.book.ts;
    if (!(t > 0)) continue;
    timed++;
    if (t < minTs) minTs = t;
    if (t > maxTs) maxTs = t;
  }
  const ref: OracleRef | undefined =
    oracle === undefined
      ? undefined
      : {
          source: oracle.source,
          feedId: oracle.id,
          price: oracle.priceNum,
          confidence: oracle.confNum,
          publishTime: oracle.publishTime * 1000,
          deviationBps: mid === null || !(oracle.priceNum > 0) ? null : round12(((mid - oracle.priceNum) / oracle.priceNum) * 10000),
          ...(oracle.status === 'stale' ? { stale: true } : {}),
        };
  const out: ConsolidatedBook = {
    symbol,
    bids: depth >= 1 ? bidsAll.slice(0, depth) : [],
    asks: depth >= 1 ? asksAll.slice(0, depth) : [],
    nbbo,
    spread,
    mid,
    crossed,
    venues,
    excluded,
    ...(group ? { quoteEquivalence: group.filter((q) => inc.some((m) => m.quote === q)) } : {}),
    ...(ref ? { oracle: ref } : {}),
    ...(timed >= 2 ? { venueSkewMs: maxTs - minTs } : {}),
    timestamp: now,
  };
  return out;
}

function sameLevels(a: readonly ConsolidatedLevel[], b: readonly ConsolidatedLevel[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.price !== y.price || x.size !== y.size || x.venue !== y.venue || x.symbol !== y.symbol) return false;
  }
  return true;
}

function sameLevel(a: ConsolidatedLevel | undefined, b: ConsolidatedLevel | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.price === b.price && a.size === b.size && a.venue === b.venue && a.symbol === b.symbol;
}

/** True when two summaries differ only in `timestamp` or `venueSkewMs` (informational: a skew change alone does not re-emit). */
export function sameSummary(a: ConsolidatedBook, b: ConsolidatedBook): boolean {
  return (
    sameLevels(a.bids, b.bids) &&
    sameLevels(a.asks, b.asks) &&
    sameLevel(a.nbbo.bid, b.nbbo.bid) &&
    sameLevel(a.nbbo.ask, b.nbbo.ask) &&
    a.venues.join('\n') === b.venues.join('\n') &&
    a.excluded.map((e) => `${e.venue} ${e.symbol ?? ''} ${e.reason}`).join('\n') === b.excluded.map((e) => `${e.venue} ${e.symbol ?? ''} ${e.reason}`).join('\n') &&
    (a.quoteEquivalence ?? []).join() === (b.quoteEquivalence ?? []).join() &&
    a.oracle?.feedId === b.oracle?.feedId &&
    a.oracle?.price === b.oracle?.price &&
    a.oracle?.publishTime === b.oracle?.publishTime &&
    a.oracle?.stale === b.oracle?.stale
  );
}
