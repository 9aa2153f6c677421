/**
 * The venue registry: every folder under `src/venues/` is one venue and appears here under its venue id
 * (`test/unit/venue-registry.test.ts` keeps the two equal). Shared code looks venues up here and never
 * imports a venue folder directly.
 */
import type { Connector } from './connector.ts';
import { binanceConnector } from './binance/connector.ts';
import { bybitConnector } from './bybit/connector.ts';
import { krakenConnector } from './kraken/connector.ts';
import { okxConnector } from './okx/connector.ts';
import { coinbaseConnector } from './coinbase/connector.ts';
import { bitstampConnector } from './bitstamp/connector.ts';
import { kucoinConnector } from './kucoin/connector.ts';
import { cryptoComConnector } from './crypto-com/connector.ts';

/** All venues by venue id. */
export const VENUES: Record<string, Connector> = {
  bybit: bybitConnector,
  kraken: krakenConnector,
  okx: okxConnector,
  binance: binanceConnector,
  coinbase: coinbaseConnector,
  bitstamp: bitstampConnector,
  kucoin: kucoinConnector,
  'crypto-com': cryptoComConnector,
};

/** Venues `start` runs when the configuration names none (no `venues` and no `exchanges` section). */
export const DEFAULT_VENUES: readonly string[] = ['bybit', 'binance'];

/**
 * The connector of venue `id` (lower-case venue id, e.g. `bybit`), or `undefined` when no venue has that id
 * (callers such as the simulator host recordings of venues without a connector and decide themselves).
 */
export function getConnector(id: string): Connector | undefined {
  return Object.hasOwn(VENUES, id) ? VENUES[id] : undefined;
}
