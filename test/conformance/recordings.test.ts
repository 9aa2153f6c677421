/**
 * Conformance: the shared Bybit and Binance recordings replayed through decode → sync → book.
 * Every frame must be handled or explicitly ignored; no book may end crossed or invalid; and the final
 * books must equal an independent, deliberately naive recomputation written here from the venue rules.
 */
import { describe, expect, it } from 'vitest';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { getConnector } from '../../src/venues/index.ts';
import type { Connector } from '../../src/venues/connector.ts';
import { recordingPath } from '../helpers/recordings.ts';

type Side = Map<number, [string, string]>;
interface NaiveBook {
  bids: Side;
  asks: Side;
  seq: number;
  ok: boolean;
}

const sorted = (s: Side, desc: boolean) => [...s.entries()].sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0])).map(([, l]) => l);

function applyNaive(side: Side, levels: [string, string][]) {
  for (const [p, q] of levels) {
    if (Number(q) === 0) side.delete(Number(p));
    else side.set(Number(p), [p, q]);
  }
}

/** Bybit: a snapshot replaces the book; each delta's `u` must be the previous `u` + 1. */
function naiveBybit(rec: Recording): Map<string, NaiveBook> {
  const market = new Map<string, string>();
  const books = new Map<string, NaiveBook>();
  for (const r of rec.records) {
    if (r.t === 'connect') market.set(r.conn, new URL(r.addr).pathname.split('/').pop()!);
    if (r.t !== 'recv') continue;
    const m = JSON.parse(r.data);
    if (typeof m.topic !== 'string' || !m.topic.startsWith('orderbook.')) continue;
    const key = `${market.get(r.conn)}:${m.data.s}`;
    if (m.type === 'snapshot') {
      const b: NaiveBook = { bids: new Map(), asks: new Map(), seq: m.data.u, ok: true };
      applyNaive(b.bids, m.data.b);
      applyNaive(b.asks, m.data.a);
      books.set(key, b);
    } else {
      const b = books.get(key)!;
      if (m.data.u !== b.seq + 1) b.ok = false;
      b.seq = m.data.u;
      applyNaive(b.bids, m.data.b);
      applyNaive(b.asks, m.data.a);
    }
  }
  return books;
}

/** Binance: REST snapshot, drop diffs with u <= lastUpdateId, first applied U <= id+1 <= u, then U == prev u + 1. */
function naiveBinance(rec: Recording): Map<string, NaiveBook> {
  const snaps = new Map<string, { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }>();
  for (const r of rec.records) {
    if (r.t === 'http' && r.url.includes('/depth')) snaps.set(new URL(r.url).searchParams.get('symbol')!, JSON.parse(r.data));
  }
  const books = new Map<string, NaiveBook>();
  for (const [sym, s] of snaps) {
    const b: NaiveBook = { bids: new Map(), asks: new Map(), seq: s.lastUpdateId, ok: true };
    applyNaive(b.bids, s.bids);
    applyNaive(b.asks, s.asks);
    books.set(`spot:${sym}`, b);
  }
  const started = new Set<string>();
  for (const r of rec.records) {
    if (r.t !== 'recv') continue;
    const m = JSON.parse(r.data);
    const d = m.data;
    if (d?.e !== 'depthUpdate') continue;
    const b = books.get(`spot:${d.s}`)!;
    if (d.u <= b.seq) continue;
    if (!started.has(d.s)) {
      if (!(d.U <= b.seq + 1 && b.seq + 1 <= d.u)) b.ok = false;
      started.add(d.s);
    } else if (d.U !== b.seq + 1) b.ok = false;
    b.seq = d.u;
    applyNaive(b.bids, d.b);
    applyNaive(b.asks, d.a);
  }
  return books;
}

const cases: { venue: string; file: string; naive: (r: Recording) => Map<string, NaiveBook>; books: number }[] = [
  { venue: 'bybit', file: 'bybit.jsonl.gz', naive: naiveBybit, books: 6 },
  { venue: 'binance', file: 'binance.jsonl.gz', naive: naiveBinance, books: 4 },
];

describe.each(cases)('$venue recording', ({ venue, file, naive, books: expectedBooks }) => {
  const path = recordingPath(file);

  it.skipIf(!path)('every frame is handled or explicitly ignored', () => {
    const rec = loadRecording(path!);
    const c = getConnector(venue) as Connector;
    const sessions = new Map<string, unknown>();
    const plans = c.plan([], c.defaultEndpoints);
    const outcomes: Record<string, number> = {};
    for (const r of rec.records) {
      if (r.t === 'connect') {
        const path = new URL(r.addr).pathname;
        const plan = plans.find((p) => new URL(p.url).pathname === path) ?? { id: path.split('/').pop()!, url: r.addr, subscriptions: [], subscribeFrames: [], heartbeat: { kind: 'none' }, staleAfterMs: 1 };
        sessions.set(r.conn, c.newSession(plan));
      }
      if (r.t !== 'recv') continue;
      const d = c.decode({ data: r.data, recvTs: r.ts * 1000 }, sessions.get(r.conn));
      const outcome = d.events.length > 0 ? 'events' : d.signal ? (d.signal.kind === 'error' ? `error:${d.signal.error.code}` : d.signal.kind) : 'nothing';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const bad = Object.keys(outcomes).filter((k) => k.startsWith('error') || k === 'nothing');
    expect(bad, JSON.stringify(outcomes)).toEqual([]);
    expect(outcomes.events).toBeGreaterThan(100);
  });

  it.skipIf(!path)('final books are valid, uncrossed, and equal an independent recomputation', async () => {
    const rec = loadRecording(path!);
    const { runner, frames } = await replayDirect(rec, getConnector(venue) as Connector);
    expect(frames).toBe(rec.records.filter((r) => r.t === 'recv').length);
    const protocolErrors = Object.entries(runner.counters.errors).filter(([k]) => k.startsWith('PROTOCOL'));
    expect(protocolErrors).toEqual([]);
    const expected = naive(rec);
    const books = runner.sync.books();
    expect(books.length).toBe(expectedBooks);
    for (const b of books) {
      const n = expected.get(b.key);
      expect(n, `naive book for ${b.key}`).toBeDefined();
      expect(n!.ok, `recording itself is continuous for ${b.key}`).toBe(true);
      expect(b.valid, `${b.key} valid`).toBe(true);
      expect(b.isCrossed(), `${b.key} crossed`).toBe(false);
      expect(b.stats.gaps).toBe(0);
      expect(b.seq).toBe(n!.seq);
      expect(b.bids.top()).toEqual(sorted(n!.bids, true));
      expect(b.asks.top()).toEqual(sorted(n!.asks, false));
      expect(b.bids.length).toBeGreaterThan(0);
      expect(b.asks.length).toBeGreaterThan(0);
    }
  });
});
