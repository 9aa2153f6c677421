/**
 * The gateway with a venue and Pyth (both from the simulator: the Coinbase recording and the project's Hermes
 * fixture): the consolidated BTC/USD summary carries the Pyth price and the mid's deviation, which is also exported
 * as `tributary_oracle_deviation_bps`; the Pyth prices of a watched feed are on the bus (`oracle_price`), which the
 * servers encode as `price_update`.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/index.ts';
import { Gateway } from '../../src/main.ts';
import { createLogger } from '../../src/obs/log.ts';
import { pythSseReplayHooks } from '../../src/oracles/pyth/decode.ts';
import { PriceUpdateMessageSchema } from '../../src/protocol/messages.ts';
import { priceUpdate } from '../../src/server/encode.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { getConnector } from '../../src/venues/index.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/pyth/hermes.jsonl', import.meta.url));
const BTC = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
const coinbase = recordingPath('coinbase.jsonl.gz');

describe.skipIf(!coinbase)('gateway: oracle vs market', () => {
  let sim: Simulator | undefined;
  let gw: Gateway | undefined;
  afterAll(async () => {
    await gw?.stop();
    await sim?.close();
  });

  it('publishes the deviation of the consolidated mid from the Pyth price on the summary and as a metric', async () => {
    sim = await startSimulator({
      recordings: [loadRecording(coinbase!), loadRecording(FIXTURE)],
      hooks: (v) => getConnector(v)?.replay,
      sseHooks: () => pythSseReplayHooks,
      speed: 4,
      loop: 0,
    });
    const config = configFromObject({
      venues: { coinbase: { symbols: ['BTC/USD'], channels: ['book'] } },
      aggregation: { summary_interval_ms: 100 },
    });
    gw = new Gateway({
      config,
      log: createLogger({ level: 'silent' }),
      venues: ['coinbase'],
      serve: false,
      endpoints: new Map([['coinbase', { wsBase: sim.wsBase('coinbase'), restBase: sim.restBase('coinbase') }]]),
      sources: { pyth: { sseUrl: `${sim.restBase('pyth')}/v2/updates/price/stream`, restBase: sim.restBase('pyth') } },
    });
    // What a client of the feed gets: every `oracle_price` update of the feed, encoded as the server does.
    const messages: { feedId: string; message: { type?: string } }[] = [];
    gw.bus.on('oracle_price', (ev) => {
      for (const u of ev.updates) messages.push({ feedId: u.id, message: PriceUpdateMessageSchema.parse(priceUpdate(u)) });
    });
    await gw.start();
    expect(gw.pipeline.acquire(BTC)).toEqual({ state: 'active' });
    const s = await waitFor(() => {
      const x = gw!.consolidator.getSummary('BTC/USD');
      return x?.oracle && x.mid !== null ? x : undefined;
    }, 15000, 'summary with oracle');
    expect(s.oracle).toMatchObject({ source: 'pyth', feedId: BTC });
    expect(s.oracle!.price).toBeGreaterThan(64_000);
    const expected = ((s.mid! - s.oracle!.price) / s.oracle!.price) * 10000;
    expect(s.oracle!.deviationBps).toBeCloseTo(expected, 6);
    expect(Math.abs(s.oracle!.deviationBps!)).toBeLessThan(100); // realistic: fixture and recording agree within 1 %
    await waitFor(async () => /tributary_oracle_deviation_bps\{symbol="BTC\/USD"\} -?\d/.test(await gw!.metrics.registry.metrics()), 10000, 'deviation metric');
    await waitFor(() => messages.some((m) => m.feedId === BTC && m.message.type === 'price_update'), 10000, 'price_update on the bus');
    expect(gw.pipeline.listFeeds().filter((f) => f.venue === 'pyth').map((f) => f.id)).toContain(BTC);
    expect(gw.pipeline.getFeed(BTC.slice(2).toUpperCase())?.feed_id).toBe(BTC);
    expect(gw.pipeline.oracles()).toEqual([expect.objectContaining({ source: 'pyth', connected: true })]);
    // The feed's state for a new subscriber is its latest price.
    const state = gw.pipeline.feedState(BTC);
    expect(state).toMatchObject({ kind: 'oracle_price', source: 'pyth', updates: [expect.objectContaining({ id: BTC, instrument: 'BTC/USD' })] });
  });
});
