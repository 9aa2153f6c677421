/**
 * The library API: an embedded Aggregator (no servers) pointed at the venue simulator serving the Bybit and
 * Coinbase recordings yields consolidated summaries from both venues, health for both, and stops cleanly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator, type Summary } from '../../src/aggregator.ts';
import { TributaryError } from '../../src/core/errors.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { getConnector } from '../../src/venues/index.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { waitFor } from '../helpers/wait.ts';

const bybit = recordingPath('bybit.jsonl.gz');
const coinbase = recordingPath('coinbase.jsonl.gz');

describe.skipIf(!bybit || !coinbase)('Aggregator (library API)', () => {
  let sim: Simulator | undefined;
  let agg: Aggregator | undefined;
  afterAll(async () => {
    await agg?.stop();
    await sim?.close();
  });

  it('streams summaries and health without servers', async () => {
    sim = await startSimulator({ recordings: [loadRecording(bybit!), loadRecording(coinbase!)], hooks: (v) => getConnector(v)?.replay, speed: 4, loop: 0 });
    agg = new Aggregator({
      config: {
        exchanges: {
          bybit: { trading_pairs: ['BTCUSDT', 'ETH/USDT'], channels: ['book'], taker_fee_bps: 10 },
          coinbase: { trading_pairs: ['BTC-USD', 'ETH/USD'], channels: ['book'] },
        },
        // The two recordings were taken ~21 min apart: allow that lag (the summary reports it as venueSkewMs).
        aggregation: { summary_interval_ms: 200, max_price_levels: 5, max_quote_age_ms: 1_800_000, quote_groups: [['USDT', 'USD']] },
        monitoring: { health_check_interval_ms: 200 },
      },
      endpoints: {
        bybit: { wsBase: sim.wsBase('bybit'), restBase: sim.restBase('bybit') },
        coinbase: { wsBase: sim.wsBase('coinbase'), restBase: sim.restBase('coinbase') },
      },
    });
    await agg.start();
    const seen: Summary[] = [];
    for await (const s of agg.subscribeSummaries()) {
      seen.push(s);
      if (s.symbol === 'BTC/USDT' && s.venues.length === 2) break; // break ends the iterator
    }
    const btc = seen[seen.length - 1];
    expect(btc.bids.length).toBeLessThanOrEqual(5);
    expect(btc.quoteEquivalence).toEqual(['USDT', 'USD']);
    expect(agg.getSummary('BTC/USDT')?.venues).toEqual(['bybit', 'coinbase']);
    await waitFor(() => agg!.getAllSummaries().some((s) => s.symbol === 'ETH/USDT' && s.venues.length === 2), 10000, 'ETH summary');
    await waitFor(() => agg!.getAllHealthStatuses().filter((h) => h.healthy).length === 2, 10000, 'both venues healthy');
    expect(agg.getAllHealthStatuses().map((h) => h.venue)).toEqual(['bybit', 'coinbase']);
  });

  it('rejects an invalid configuration with CONFIG_INVALID', () => {
    expect(() => new Aggregator({ config: { aggregation: { max_price_levels: 0 } } })).toThrow(TributaryError);
    expect(() => new Aggregator({ config: { exchanges: { nope: {} } } })).toThrow(/unknown venue "nope"/);
  });
});
