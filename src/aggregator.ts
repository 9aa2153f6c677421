/**
 * Library API: embed Tributary's aggregation in your own process, without the WebSocket/REST servers.
 *
 * ```ts
import { Aggregator } from 'tributary/src/aggregator.ts';
 * const agg = new Aggregator({ config: { exchanges: { bybit: { trading_pairs: ['BTC/USDT'] }, coinbase: { trading_pairs: ['BTC/USD'] } },
 *                                        aggregation: { quote_groups: [['USDT', 'USD']] } } });
 * await agg.start();
 * for await (const s of agg.subscribeSummaries()) console.log(s.symbol, s.nbbo.bid?.price, s.nbbo.ask?.price, s.venues);
 * ```
 *
 * Summaries: `{symbol, spread: {abs, bps} | null, mid, nbbo, bids, asks (each level {price, size, venue}), venues,
 * excluded, quoteEquivalence?, timestamp}` (prices in quote currency as the venues' strings, sizes in base
 * units, timestamps ms since epoch). Arbitrage: `{id, buyVenue, sellVenue, symbol, buyPrice, sellPrice,
 * profitBps (net of taker fees), volume, timestamp, ...}`.
 */
import { configFromObject, loadConfig, type Config } from './config/index.ts';
import { subscriptionIterable } from './core/async-iter.ts';
import { Gateway } from './main.ts';
import { createLogger } from './obs/log.ts';
import type { ArbitrageOpportunity } from './pipeline/arbitrage.ts';
import type { Summary } from './pipeline/consolidate.ts';
import type { VenueHealthReport } from './pipeline/health.ts';
import type { VenueEndpoints } from './venues/connector.ts';

export type { ArbitrageOpportunity, Summary, VenueHealthReport };

export interface AggregatorOptions {
  /** Configuration in the config-file shape (validated the same way), or the path of a JSON config file. */
  readonly config?: Record<string, unknown> | string;
  /** Log level (default `warn`). */
  readonly logLevel?: string;
  /** Per-venue endpoint overrides, e.g. a local venue simulator. */
  readonly endpoints?: Readonly<Record<string, VenueEndpoints>>;
  /** Also run the WebSocket and REST servers (default false). */
  readonly serve?: boolean;
}

/** The aggregator as a library: venues → books → consolidated summaries, arbitrage and venue health. */
export class Aggregator {
  readonly config: Readonly<Config>;
  private readonly gateway: Gateway;

  /** @throws TributaryError `CONFIG_INVALID` for an invalid configuration or unknown venue. */
  constructor(opts: AggregatorOptions = {}) {
    this.config =
      typeof opts.config === 'string'
        ? loadConfig({ config: opts.config }, {})
        : configFromObject({ server: { port: 0 }, api: { port: 0 }, ...(opts.config ?? {}) });
    const log = createLogger({ level: opts.logLevel ?? 'warn' });
    this.gateway = new Gateway({
      config: this.config,
      log,
      serve: opts.serve ?? false,
      endpoints: opts.endpoints ? new Map(Object.entries(opts.endpoints)) : undefined,
    });
  }

  /** Connects to the venues (instrument loading retries in the background when offline). */
  start(): Promise<void> {
    return this.gateway.start();
  }

  /** Disconnects and stops every timer; open iterators end. */
  stop(): Promise<void> {
    return this.gateway.stop();
  }

  /** Summaries as they are emitted (on change, at most one per symbol per `summary_interval_ms`). */
  subscribeSummaries(): AsyncIterableIterator<Summary> {
    return this.gateway.consolidator.stream();
  }

  /** Listener form of {@link subscribeSummaries}; returns the unsubscribe function. */
  onSummary(listener: (s: Summary) => void): () => void {
    return this.gateway.consolidator.subscribe(listener);
  }

  /** Arbitrage opportunities as they appear (or change materially). */
  subscribeArbitrage(): AsyncIterableIterator<ArbitrageOpportunity> {
    return subscriptionIterable<ArbitrageOpportunity>((fn) => this.gateway.arbitrage.subscribe(fn), { limit: 1000, overflow: 'drop-oldest' });
  }

  /** Listener form of {@link subscribeArbitrage}; returns the unsubscribe function. */
  onArbitrage(listener: (o: ArbitrageOpportunity) => void): () => void {
    return this.gateway.arbitrage.subscribe(listener);
  }

  /** Current summary of a consolidated symbol (e.g. `BTC/USDT`), or undefined. */
  getSummary(pair: string): Summary | undefined {
    return this.gateway.consolidator.getSummary(pair);
  }

  /** Current summaries of every consolidated symbol. */
  getAllSummaries(): Summary[] {
    return this.gateway.consolidator.getAllSummaries();
  }

  /** Health of every venue: `{venue, healthy, lastUpdate, errorMessage, updatesPerSecond, latencyMs, errorCount, reconnects, gaps}`. */
  getAllHealthStatuses(): VenueHealthReport[] {
    return [...this.gateway.healthMonitor.snapshot()];
  }

  /** Recent arbitrage opportunities, newest first. */
  recentArbitrage(limit = 100): ArbitrageOpportunity[] {
    return [...this.gateway.arbitrage.recent(limit)];
  }
}
