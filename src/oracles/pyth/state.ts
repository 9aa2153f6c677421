/**
 * What the Pyth source reports (`source.ts`): a streamed feed's latest state, the source's health (REST `/health`
 * and `/status`, under `oracles`) and its plain counters (copied into metrics off the hot path).
 */
import type { ErrorCode } from '../../core/errors.ts';
import type { OracleBinary, OraclePrice } from '../../core/events.ts';

/** Latest state of one streamed feed. */
export interface PythFeedState {
  readonly id: string;
  /** Latest accepted price (undefined before the first). */
  readonly last: OraclePrice | undefined;
  /** The binary payload of the event that carried `last`. */
  readonly binary: OracleBinary | null;
  readonly status: 'trading' | 'stale' | 'unknown';
}

/** Health of the source (REST `/health` and `/status`). Times in ms since the epoch. */
export interface OracleHealth {
  source: string;
  connected: boolean;
  state: string;
  /** Stream URL without its query. */
  url: string;
  reconnects: number;
  rollovers: number;
  lastEventAt: number | null;
  feeds: number;
  staleFeeds: number;
  catalog: { feeds: number; loadedAt: number | null };
  lastError?: { code: string; message: string; at: number };
}

/** Plain counters, copied into metrics off the hot path. */
export interface PythCounters {
  /** SSE events received (any type). */
  events: number;
  /** Prices accepted. */
  updates: number;
  /** Dropped input by reason: `malformed_event`, `malformed_entry`, `duplicate`, `out_of_order`, `unsubscribed`, `unknown_event`. */
  dropped: Record<string, number>;
  /** Errors by catalog code (transport, catalog, `STREAM_ERROR_EVENT`). */
  errors: Partial<Record<ErrorCode, number>>;
}
