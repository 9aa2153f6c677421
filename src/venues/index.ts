/**
 * The venue registry: every folder under `src/venues/` is one venue and appears here under its venue id
 * (`test/unit/venue-registry.test.ts` keeps the two equal). Shared code looks venues up here and never
 * imports a venue folder directly.
 */
import type { Connector } from './connector.ts';
import { binanceConnector } from './binance/connector.ts';
import { bybitConnector } from './bybit/connector.ts';

/** All venues by venue id. */
export const VENUES: Record<string, Connector> = {
  bybit: bybitConnector,
  binance: binanceConnector,
};

/**
 * The connector of venue `id` (lower-case venue id, e.g. `bybit`), or `undefined` when no venue has that id
 * (callers such as the simulator host recordings of venues without a connector and decide themselves).
 */
export function getConnector(id: string): Connector | undefined {
  return Object.hasOwn(VENUES, id) ? VENUES[id] : undefined;
}
