/**
 * What the Hermes-compatible API (`routes.ts`: REST + SSE, `ws.ts`: WebSocket) needs from the Pyth source, and the
 * Hermes shapes both send. Ids are 64 hex digits without `0x` in responses, as Hermes.
 */
import type { OracleBinary, OraclePrice } from '../../../core/events.ts';
import { PYTHNET_CHAIN_ID, type HermesParsedPriceUpdate, type HermesPriceFeedMetadata, type HermesRpcPrice } from '../wire.ts';

/** What the Hermes-compatible API needs from the gateway. */
export interface HermesApi {
  /** Catalog entries in Hermes' shape, filtered as Hermes does. */
  priceFeeds(query?: string, assetType?: string): HermesPriceFeedMetadata[];
  /** True when a canonical feed id (`0x…`) is streamed or listed in the catalog. */
  known(id: string): boolean;
  /** Latest price of a streamed feed and the binary payload of the event that carried it. */
  latest(id: string): { price: OraclePrice; binary: OracleBinary | null } | undefined;
  /** First / last interest in a feed (streams it upstream when needed). May throw. */
  acquire(id: string): void;
  release(id: string): void;
}

// ───────── shapes ─────────

/** A feed id as Hermes writes it (without `0x`). */
export const bare = (id: string): string => (id.startsWith('0x') ? id.slice(2) : id);

function rpcPrice(price: string, conf: string, expo: number, publishTime: number): HermesRpcPrice {
  return { price, conf, expo, publish_time: publishTime };
}

/** One price as a Hermes v2 `parsed[]` entry. */
export function toHermesParsed(p: OraclePrice): HermesParsedPriceUpdate {
  return {
    id: bare(p.id),
    price: rpcPrice(p.price, p.conf, p.expo, p.publishTime),
    ema_price: rpcPrice(p.emaPrice, p.emaConf, p.emaExpo, p.emaPublishTime),
    metadata: { slot: p.slot, proof_available_time: p.proofAvailableTime, prev_publish_time: p.prevPublishTime },
  };
}

/** One price as a Hermes WS `price_update` (serialized). `verbose` adds `metadata`. */
export function hermesWsPriceUpdate(p: OraclePrice, verbose: boolean): string {
  const feed: Record<string, unknown> = {
    id: bare(p.id),
    price: rpcPrice(p.price, p.conf, p.expo, p.publishTime),
    ema_price: rpcPrice(p.emaPrice, p.emaConf, p.emaExpo, p.emaPublishTime),
  };
  if (verbose) {
    feed.metadata = { slot: p.slot, emitter_chain: PYTHNET_CHAIN_ID, price_service_receive_time: p.proofAvailableTime, prev_publish_time: p.prevPublishTime };
  }
  return JSON.stringify({ type: 'price_update', price_feed: feed });
}

/** A Hermes WS response (serialized). */
export function hermesWsResponse(error?: string): string {
  return JSON.stringify(error === undefined ? { type: 'response', status: 'success' } : { type: 'response', status: 'error', error });
}

const reencoded = new WeakMap<OracleBinary, string[]>();

/** The blobs of `b` in `encoding` (converted once and cached when it differs). */
export function encodeBinary(b: OracleBinary, encoding: 'hex' | 'base64'): readonly string[] {
  if (b.encoding === encoding) return b.data;
  let out = reencoded.get(b);
  if (!out) {
    out = b.data.map((d) => Buffer.from(d, b.encoding).toString(encoding));
    reencoded.set(b, out);
  }
  return out;
}
