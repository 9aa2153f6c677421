/**
 * Pyth's configuration: the `pyth` section of the config file (schema with its defaults), its environment
 * variables and flags (rows of the env table in `config/env.ts`), and its `--help` lines. The registry hands these
 * to `src/config` and the CLI, which compose them without naming Pyth.
 */
import { z } from 'zod';
import type { SourceEnvVar, SourceFlagHelp } from '../descriptor.ts';
import { DEFAULT_PYTH_FEEDS, DEFAULT_PYTH_SSE_URL } from './wire.ts';

/**
 * Pyth Hermes (oracle prices). Times in ms. Doc: https://docs.pyth.network/price-feeds/how-pyth-works/hermes
 */
export const pythConfigSchema = z
  .object({
    /**
     * Stream Pyth prices. Unset: on for `start`, off for the library API; `replay` runs Pyth only from a Pyth
     * recording; `record --venue pyth` always.
     */
    enabled: z.boolean().optional(),
    /** Hermes SSE stream URL (`--pyth-sse-url`, `TRIBUTARY_PYTH_SSE_URL`). */
    sse_url: z.string().url().default(DEFAULT_PYTH_SSE_URL),
    /** Base URL for `/v2/price_feeds` (default: `sse_url` without `/v2/updates/price/stream`). */
    rest_base: z.string().url().optional(),
    /** Feed ids (with or without 0x) or Pyth symbols (`Crypto.BTC/USD`) to stream. Default BTC/USD, ETH/USD, SOL/USD. */
    feeds: z.array(z.string().min(1)).min(1).default(DEFAULT_PYTH_FEEDS.map((f) => f.id)),
    /** A feed whose publish_time has not advanced for this long is reported `stale`. */
    stale_after_ms: z.number().int().min(10).default(30000),
    /** The stream is reopened when no byte (events or keep-alive comments) arrives for this long. */
    idle_timeout_ms: z.number().int().min(10).default(60000),
    /** A replacement stream is opened this long after a stream opened (Hermes closes streams after 24 h). */
    rollover_ms: z.number().int().min(100).default(23 * 3600 * 1000),
    /** The feed catalog is refreshed this often. */
    catalog_refresh_ms: z.number().int().min(1000).default(600000),
    /** Wait after HTTP 429 when Hermes sends no Retry-After (its penalty lasts 60 s). */
    rate_limit_delay_ms: z.number().int().min(0).default(60000),
    /** Keep the upstream binary update (the Hermes-compatible API serves it). */
    keep_binary: z.boolean().default(true),
    /** Most feeds streamed at once (configured plus those clients ask for). */
    max_feeds: z.number().int().min(1).max(500).default(100),
    /** Extra request headers for Hermes (e.g. an API key); every value is secret (redacted when printed). */
    headers: z.record(z.string(), z.string()).optional(),
    /** Keep-alive comment interval of the Hermes-compatible SSE endpoint served to clients. */
    serve_keepalive_ms: z.number().int().min(10).default(15000),
  })
  .strict();

/** The parsed `pyth` section. */
export type PythConfig = z.output<typeof pythConfigSchema>;

/** Pyth's rows of the environment-variable table (in this order after the gateway's own). */
export const PYTH_ENV_VARS: readonly SourceEnvVar[] = [
  { name: 'TRIBUTARY_PYTH_SSE_URL', key: 'pythSseUrl', flag: '--pyth-sse-url', path: 'pyth.sse_url', type: 'string', secret: false, description: 'Pyth Hermes SSE stream URL' },
  { name: 'TRIBUTARY_PYTH_FEEDS', key: 'pythFeeds', flag: '--pyth-feeds', path: 'pyth.feeds', type: 'list', secret: false, description: 'Pyth feed ids or symbols (comma list)' },
  { name: 'TRIBUTARY_PYTH_ENABLED', key: 'pythEnabled', flag: '--no-pyth', path: 'pyth.enabled', type: 'boolean', secret: false, description: 'stream Pyth prices (`false` = `--no-pyth`)' },
];

/** `tributary --help` lines of Pyth's flags, with the defaults of `c` (feeds by display symbol when known). */
export function pythFlagHelp(c: PythConfig): readonly SourceFlagHelp[] {
  const feedNames = c.feeds.map((id) => DEFAULT_PYTH_FEEDS.find((f) => f.id === id)?.attributes.display_symbol ?? id).join(', ');
  return [
    ['--pyth-sse-url URL', `Pyth Hermes SSE stream (default ${c.sse_url})`],
    ['--pyth-feeds A,B', `Pyth feed ids (0x…) or symbols (Crypto.BTC/USD) to stream (default ${feedNames})`],
    ['--no-pyth', 'start without Pyth prices'],
  ];
}
