/**
 * Oracle sources (not venues: they publish reference prices, not books, over their own transports). Today: Pyth
 * Hermes (`pyth/`). This registry lets shared code (CLI, simulator) handle an oracle's recordings without naming it.
 */
import type { Config } from '../config/index.ts';
import type { EventPublisher } from '../core/events.ts';
import type { SourcePlugin } from '../core/plugin.ts';
import type { Metrics } from '../obs/metrics.ts';
import type { SseEvent } from '../transport/sse.ts';
import { createHttp } from '../transport/http.ts';
import type { Http } from '../venues/connector.ts';
import { PYTH_SOURCE } from './pyth/ids.ts';
import { PythPlugin } from './pyth/plugin.ts';
import { PythSource } from './pyth/source.ts';
import { pythSseReplayHooks } from './pyth/decode.ts';
import type { SseReplayHooks } from '../replay/simulator.ts';

/** Oracle source ids (the recording header's `exchange`, lower case). */
export const ORACLE_SOURCES: readonly string[] = [PYTH_SOURCE];

/** True when a recording's source id is an oracle (served over SSE by the simulator, run by the gateway's oracle source). */
export function isOracleSource(id: string): boolean {
  return ORACLE_SOURCES.includes(id);
}

/** The simulator's SSE hooks of an oracle source, or undefined. */
export function oracleSseHooks(id: string): SseReplayHooks | undefined {
  return id === PYTH_SOURCE ? pythSseReplayHooks : undefined;
}

/** Raw-traffic taps of source plug-ins (the recorder): every SSE event received. */
export interface SourceTaps {
  onSse?: (connId: string, url: string, ev: SseEvent, tsMs: number) => void;
}

/** What {@link buildSourcePlugins} needs. */
export interface SourcePluginContext {
  readonly config: Readonly<Config>;
  /** Per-source overrides: `false` = off; an object = on with those endpoint overrides (`sseUrl`, `restBase`, `feeds`). */
  readonly overrides: Readonly<Record<string, false | Record<string, unknown>>>;
  /** Whether a source whose config leaves `enabled` unset runs. */
  readonly byDefault: boolean;
  readonly bus: EventPublisher;
  readonly log: { child(b: object): unknown } & { info(o: object, m?: string): void };
  readonly metrics?: Metrics;
  readonly transport: { connectTimeoutMs?: number; backoffBaseMs?: number; backoffCapMs?: number; httpTimeoutMs?: number };
  readonly http?: Http;
  readonly taps?: SourceTaps;
}

/** Builds the enabled source plug-ins from config and overrides. @throws TributaryError `CONFIG_INVALID`. */
export function buildSourcePlugins(ctx: SourcePluginContext): SourcePlugin[] {
  const out: SourcePlugin[] = [];
  const pc = ctx.config.pyth;
  const po = ctx.overrides[PYTH_SOURCE] as false | { sseUrl?: string; restBase?: string; feeds?: readonly string[] } | undefined;
  const on = po !== false && (po !== undefined || (pc.enabled ?? ctx.byDefault));
  if (on) {
    const source = new PythSource({
      sseUrl: po?.sseUrl ?? pc.sse_url,
      restBase: po ? po.restBase : pc.rest_base,
      feeds: po?.feeds ?? pc.feeds,
      http: ctx.http ?? createHttp({ timeoutMs: ctx.transport.httpTimeoutMs, headers: pc.headers }),
      bus: ctx.bus,
      log: ctx.log.child({ source: PYTH_SOURCE }) as never,
      staleAfterMs: pc.stale_after_ms,
      idleTimeoutMs: pc.idle_timeout_ms,
      rolloverMs: pc.rollover_ms,
      catalogRefreshMs: pc.catalog_refresh_ms,
      rateLimitDelayMs: pc.rate_limit_delay_ms,
      connectTimeoutMs: ctx.transport.connectTimeoutMs,
      backoff: { baseMs: ctx.transport.backoffBaseMs, capMs: ctx.transport.backoffCapMs },
      keepBinary: pc.keep_binary,
      headers: pc.headers,
      maxFeeds: pc.max_feeds,
      onEvent: ctx.taps?.onSse,
    });
    out.push(new PythPlugin({ source, metrics: ctx.metrics, keepAliveMs: pc.serve_keepalive_ms }));
  }
  return out;
}
