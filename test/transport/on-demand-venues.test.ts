/**
 * On-demand upstream subscriptions, smoke test over all eight venues and their shared recordings, over real sockets:
 * a runner started with one book gets a second book of the recording added mid-stream on its open connection (the
 * venue's own subscribe request; no new connection, no reconnect), which becomes valid and ends equal to the book the
 * production pipeline computes from the whole recording (direct replay, itself checked against naive recomputations
 * by the conformance tests); the first book is never resynced. Removing the second book releases its topic upstream;
 * removing the first closes the connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadRecording, type Recording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { replayDirect, recordedRequests } from '../../src/replay/direct.ts';
import { VenueRunner } from '../../src/pipeline/ingest.ts';
import { Bus } from '../../src/bus/bus.ts';
import { createHttp } from '../../src/transport/http.ts';
import { VENUES, getConnector } from '../../src/venues/index.ts';
import type { Connector } from '../../src/venues/connector.ts';
import type { L2Book } from '../../src/pipeline/book.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const SILENT = { info() {}, warn() {}, error() {}, debug() {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Recording length (s) between the first and the last received frame. */
function durationOf(rec: Recording): number {
  const ts = rec.records.filter((r) => r.t === 'recv').map((r) => r.ts);
  return ts[ts.length - 1] - ts[0];
}

const levels = (b: L2Book): string => JSON.stringify([b.bids.top(), b.asks.top()]);
const topicsOf = (sim: Simulator, venue: string): string[][] => sim.activeTopics(venue).map((c) => [...c.topics]);

describe.each(Object.keys(VENUES).sort())('on-demand subscriptions (smoke): %s', (venue) => {
  const path = recordingPath(`${venue}.jsonl.gz`);

  it.skipIf(!path)('adds a second book mid-stream on the open connection, then removes both', async () => {
    const rec = loadRecording(path!);
    const connector = getConnector(venue) as Connector;
    // The two books: the first two recorded books of one market (so they can share a connection).
    const books = recordedRequests(rec, connector).filter((r) => r.channel === 'book');
    const first = books[0];
    const second = books.find((r) => r.key !== first.key && r.key!.split(':')[0] === first.key!.split(':')[0])!;
    expect(second, 'a second book in the recording').toBeDefined();
    // What the production pipeline makes of the whole recording.
    const direct = await replayDirect(rec, connector);
    const expected = new Map(direct.runner.sync.books().map((b) => [b.key, levels(b)]));

    const sim = await startSimulator({ recordings: [rec], hooks: (v) => getConnector(v)?.replay, speed: Math.max(1, durationOf(rec) / 5), settleMs: 20 });
    cleanups.push(() => sim.close());
    let ended = false;
    void sim.ended.then(() => (ended = true));
    const runner = new VenueRunner({
      connector,
      endpoints: { wsBase: sim.wsBase(venue), restBase: sim.restBase(venue) },
      http: createHttp(),
      bus: new Bus(),
      log: SILENT,
      requests: [first],
      transport: { backoffBaseMs: 50, backoffCapMs: 200 },
    });
    cleanups.push(() => runner.stop());
    await runner.start();
    await waitFor(() => runner.sync.book(first.key!)?.valid, 15_000, `${first.key} valid`);
    const before = topicsOf(sim, venue);
    expect(before).toHaveLength(1);
    const conns = runner.connections().map((c) => c.id);

    const [st] = runner.addSubscriptions([second]);
    expect(ended, 'added mid-stream').toBe(false);
    expect(st).toMatchObject({ state: 'active', key: second.key, connId: conns[0] });
    expect(runner.connections().map((c) => c.id)).toEqual(conns);
    await waitFor(() => topicsOf(sim, venue)[0]?.length > before[0].length, 3000, 'topic added upstream');

    await waitFor(() => runner.sync.book(second.key!)?.valid, 15_000, `${second.key} valid`);
    await sim.ended;
    await waitFor(
      () => [first, second].every((r) => runner.sync.book(r.key!)?.valid && levels(runner.sync.book(r.key!)!) === expected.get(r.key!)),
      15_000,
      'both books equal the direct replay of the recording',
    );
    for (const r of [first, second]) {
      const b = runner.sync.book(r.key!)!;
      expect(b.isCrossed()).toBe(false);
      expect(b.bids.length + b.asks.length).toBeGreaterThan(0);
    }
    const a = runner.sync.book(first.key!)!;
    expect(a.stats.resyncs + a.stats.gaps + a.stats.checksumFailures, 'first book never resynced').toBe(0);
    expect(runner.counters.reconnects).toBe(0);

    runner.removeSubscriptions([second]);
    expect(runner.sync.book(second.key!)).toBeUndefined();
    await waitFor(() => JSON.stringify(topicsOf(sim, venue)) === JSON.stringify(before), 3000, 'topic released upstream');
    expect(runner.sync.book(first.key!)!.valid).toBe(true);

    runner.removeSubscriptions([first]);
    await waitFor(() => sim.activeTopics(venue).length === 0, 3000, 'connection closed');
    expect(runner.connections()).toEqual([]);
  });
});
