/**
 * Runnable example of the library API: `node --import tsx examples/aggregator.ts`.
 *
 * Offline it points the aggregator at the venue simulator playing the shared Bybit and Coinbase recordings;
 * drop `endpoints` (and the simulator) to connect to the live venues instead.
 */
import { Aggregator } from '../src/aggregator.ts';
import { startSimulatorThread } from '../src/replay/sim-thread.ts';

const sim = await startSimulatorThread({
  files: ['../shared/recordings/bybit.jsonl.gz', '../shared/recordings/coinbase.jsonl.gz'],
  host: '127.0.0.1',
  port: 0,
  speed: 'recorded',
  loop: 0,
  logLevel: 'warn',
});

const agg = new Aggregator({
  config: {
    exchanges: {
      bybit: { trading_pairs: ['BTC/USDT', 'ETH/USDT'], taker_fee_bps: 10 },
      coinbase: { trading_pairs: ['BTC/USD', 'ETH/USD'], taker_fee_bps: 60 },
    },
    aggregation: { summary_interval_ms: 1000, max_price_levels: 5, quote_groups: [['USDT', 'USD']] },
  },
  endpoints: Object.fromEntries(sim.venues.map((v) => [v, { wsBase: sim.wsBase(v), restBase: sim.restBase(v) }])),
});
await agg.start();

let n = 0;
for await (const s of agg.subscribeSummaries()) {
  const bid = s.nbbo.bid ? `${s.nbbo.bid.price}@${s.nbbo.bid.venue}` : '-';
  const ask = s.nbbo.ask ? `${s.nbbo.ask.price}@${s.nbbo.ask.venue}` : '-';
  console.log(`${s.symbol}: bid ${bid} ask ${ask} spread ${s.spread?.bps.toFixed(2)} bps, venues ${s.venues.join('+')}`);
  if (++n === 8) break;
}
console.log(agg.getAllHealthStatuses().map((h) => `${h.venue}: ${h.healthy ? 'healthy' : h.errorMessage}`).join('; '));
await agg.stop();
await sim.close();
