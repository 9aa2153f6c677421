/**
 * REST snapshot fetches of a venue go through its request budget (token bucket), one at a time, and the
 * instruments clients watch are fetched first.
 */
import { describe, expect, it } from 'vitest';
import type { Instrument } from '../../src/core/instruments.ts';
import { Bus } from '../../src/bus/bus.ts';
import { VenueRunner } from '../../src/pipeline/ingest.ts';
import type { BookSnapshot, Connector, Http } from '../../src/venues/connector.ts';
import { waitFor } from '../helpers/wait.ts';

const inst = (s: string): Instrument => ({ venue: 'fake', key: `spot:${s}`, venueSymbol: s, symbol: `${s}/USD`, base: s, quote: 'USD', type: 'spot' });
const instruments = ['AAA', 'BBB', 'CCC', 'DDD'].map(inst);

function fakeConnector(fetched: { symbol: string; at: number }[]): Connector {
  return {
    venue: 'fake',
    capabilities: { channels: ['book'], transport: 'ws', defaultDepth: 10, bookSync: { snapshot: 'rest', sequence: 'contiguous', source: 'test' } },
    defaultEndpoints: { wsBase: 'ws://127.0.0.1:1', restBase: 'http://127.0.0.1:1' },
    loadInstruments: async () => instruments,
    plan: () => [],
    newSession: () => ({}),
    decode: () => ({ events: [] }),
    bookSnapshot: async (i: Instrument): Promise<BookSnapshot> => {
      fetched.push({ symbol: i.venueSymbol, at: Date.now() });
      return { bids: [['1', '1']], asks: [['2', '1']], seq: 0, ts: Date.now() };
    },
    replay: { topicsFromUrl: () => [], onClientFrame: () => ({}), topicOfFrame: () => null, recordedSubscriptions: () => [] },
  };
}

describe('REST snapshot queue', () => {
  it('respects the request budget and fetches watched instruments first', async () => {
    const fetched: { symbol: string; at: number }[] = [];
    const http: Http = { get: async () => '' };
    const runner = new VenueRunner({
      connector: fakeConnector(fetched),
      endpoints: { wsBase: 'ws://127.0.0.1:1', restBase: 'http://127.0.0.1:1' },
      http,
      bus: new Bus(),
      log: { info() {}, warn() {}, error() {}, debug() {} },
      requests: instruments.map((i) => ({ key: i.key, channel: 'book' as const })),
      rateLimit: { requestsPerSecond: 20, burstSize: 1 },
      isWatched: (key) => key === 'spot:DDD',
    });
    await runner.prepare();
    // The first delta of each book asks for its snapshot: AAA, BBB, CCC, DDD in that order.
    for (const i of instruments) runner.sync.onEvent({ type: 'book_delta', venue: 'fake', key: i.key, bids: [], asks: [], firstSeq: 1, lastSeq: 1, ts: 0, recvTs: 0 });
    await waitFor(() => fetched.length === 4, 5000, 'all snapshots fetched');
    // AAA took the only token at once; DDD (watched) jumps the queue; one fetch per 50 ms after that.
    expect(fetched.map((f) => f.symbol)).toEqual(['AAA', 'DDD', 'BBB', 'CCC']);
    for (let k = 1; k < 4; k++) expect(fetched[k].at - fetched[k - 1].at).toBeGreaterThanOrEqual(40);
    expect(runner.sync.books().every((b) => b.valid)).toBe(true);
    await runner.stop();
  });
});
