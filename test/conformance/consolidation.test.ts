/**
 * Replay: BTC and ETH from the Bybit and Coinbase recordings (taken ~20 minutes apart on the same day)
 * consolidated under USDT ≈ USD. At many moments while Coinbase replays on top of the final Bybit books, the
 * consolidated top N must equal the sorted union of the two venues' books at that same moment.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../src/bus/bus.ts';
import type { BookSideView, BookView } from '../../src/core/book-view.ts';
import type { BookDeltaMsg, BookSnapshotMsg } from '../../src/core/events.ts';
import { Consolidator, type ConsolidatedLevel } from '../../src/pipeline/consolidate.ts';
import { replayDirect } from '../../src/replay/direct.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { getConnector } from '../../src/venues/index.ts';
import { BookMirror } from '../helpers/books.ts';
import { recordingPath } from '../helpers/recordings.ts';

const bybitPath = recordingPath('bybit.jsonl.gz');
const coinbasePath = recordingPath('coinbase.jsonl.gz');
const N = 25;

/** The naive union: every level of both venues, sorted best first, ties by venue id, cut to n. */
function union(sides: { venue: string; side: BookSideView }[], desc: boolean, n: number): ConsolidatedLevel[] {
  const all: { p: number; level: ConsolidatedLevel }[] = [];
  for (const { venue, side } of sides) {
    for (const [price, size] of side.top()) all.push({ p: Number(price), level: { price, size, venue } });
  }
  all.sort((a, b) => (desc ? b.p - a.p : a.p - b.p) || (a.level.venue < b.level.venue ? -1 : 1));
  return all.slice(0, n).map((x) => x.level);
}

const strip = (ls: readonly ConsolidatedLevel[]) => ls.map((l) => ({ price: l.price, size: l.size, venue: l.venue }));

describe.skipIf(!bybitPath || !coinbasePath)('consolidation of the Bybit and Coinbase recordings', () => {
  it('the merged top N equals the sorted union of the venues\' books at the same moment', async () => {
    const bus = new Bus();
    let clock = 0;
    bus.on('book_snapshot', (u) => (clock = Math.max(clock, u.recvTs)));
    bus.on('book_delta', (u) => (clock = Math.max(clock, u.recvTs)));
    // The consolidator's read model: the venues' books rebuilt from the bus events alone (the replay's runners are
    // only handed back once a replay is over). Subscribed before the consolidator so it is current when it reads.
    const mirror = new BookMirror(bus);
    const consolidator = new Consolidator({
      bus,
      book: mirror.lookup,
      maxPriceLevels: N,
      summaryIntervalMs: 1_000_000, // no timer-driven summaries in this test: getBook is computed on demand
      maxQuoteAgeMs: 3_600_000, // the recordings are ~20 min apart
      quoteGroups: [['USDT', 'USD']],
      isVenueConnected: () => true,
      now: () => clock,
    });
    const bybit = await replayDirect(loadRecording(bybitPath!), getConnector('bybit')!, { bus });
    const pairs = [
      { key: 'BTC/USDT', bybit: 'spot:BTCUSDT', coinbase: 'spot:BTC-USD' },
      { key: 'ETH/USDT', bybit: 'spot:ETHUSDT', coinbase: 'spot:ETH-USD' },
    ];
    let checks = 0;
    let n = 0;
    // The venues' books at each moment: Bybit's from its (finished) runner, the sync stage's own books; Coinbase's
    // while its replay runs as rebuilt from the events, then its runner's.
    let coinbaseBook = (key: string): BookView | undefined => mirror.lookup('coinbase', key);
    const check = () => {
      for (const p of pairs) {
        const cb = coinbaseBook(p.coinbase);
        const bb = bybit.runner.sync.book(p.bybit)!;
        if (!cb?.valid) continue;
        const got = consolidator.getBook(p.key, N)!;
        expect(got.venues).toEqual(['bybit', 'coinbase']);
        expect(got.quoteEquivalence).toEqual(['USDT', 'USD']);
        const sides = (s: 'bids' | 'asks') => [{ venue: 'bybit', side: bb[s] }, { venue: 'coinbase', side: cb[s] }];
        expect(strip(got.bids)).toEqual(union(sides('bids'), true, N));
        expect(strip(got.asks)).toEqual(union(sides('asks'), false, N));
        // NBBO, spread and mid follow from the merged tops.
        const bid = Number(got.bids[0].price);
        const ask = Number(got.asks[0].price);
        expect(got.nbbo.bid?.price).toBe(got.bids[0].price);
        expect(got.spread!.abs).toBeCloseTo(ask - bid, 8);
        expect(got.mid!).toBeCloseTo((ask + bid) / 2, 8);
        checks++;
      }
    };
    // Check on every 20th Coinbase book update, while the replay is running.
    const onCoinbase = (u: BookSnapshotMsg | BookDeltaMsg) => {
      if (u.instrument.venue !== 'coinbase') return;
      if (++n % 20 === 0) check();
    };
    const offs = [bus.on('book_snapshot', onCoinbase), bus.on('book_delta', onCoinbase)];
    const coinbaseBooks = await replayDirect(loadRecording(coinbasePath!), getConnector('coinbase')!, { bus });
    for (const off of offs) off();
    expect(mirror.violations).toEqual([]);
    // The books rebuilt from the events are the sync stage's books.
    for (const [venue, runner] of [['bybit', bybit.runner], ['coinbase', coinbaseBooks.runner]] as const) {
      for (const p of pairs) {
        const key = venue === 'bybit' ? p.bybit : p.coinbase;
        const real = runner.sync.book(key)!;
        expect(mirror.lookup(venue, key)!.bids.top(), `${venue} ${key}`).toEqual(real.bids.top());
        expect(mirror.lookup(venue, key)!.asks.top(), `${venue} ${key}`).toEqual(real.asks.top());
      }
    }
    coinbaseBook = (key) => coinbaseBooks.runner.sync.book(key);
    check();
    expect(checks).toBeGreaterThan(40); // ~775 Coinbase book updates, both pairs
    // Excluding a venue: an invalid Coinbase book leaves Bybit alone in the consolidated book.
    coinbaseBooks.runner.sync.invalidate(['spot:BTC-USD'], 'gap');
    const only = consolidator.getBook('BTC/USDT', N)!;
    expect(only.venues).toEqual(['bybit']);
    expect(only.excluded).toEqual([expect.objectContaining({ venue: 'coinbase', reason: 'invalid' })]);
    consolidator.close();
  });
});
