/**
 * The configuration schema: one casing (snake_case, as the config files use), every default defined once, on its
 * field. Objects use `.prefault({})` so their defaults come from their fields, never from a repeated literal.
 *
 * The file shape and the loaded shape are the same except for venues: `exchanges` (the seed aggregator's name)
 * and `venues` carry the same entries; the loader merges them into `venues` (see `load.ts`).
 */
import { z } from 'zod';
import { SOURCE_PLUGINS } from '../oracles/index.ts';
import { DEFAULT_VENUES } from '../venues/index.ts';

/** Log levels (pino's); the config accepts them in any case and keeps them lower case. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Channels a venue entry may subscribe to; all of them by default. */
export const VENUE_CHANNELS = ['book', 'trades', 'ticker'] as const;

/** Venues `start` runs when the configuration names none (`venues` and `exchanges` absent): the venue registry's defaults. */
export const DEFAULT_VENUE_IDS: readonly string[] = DEFAULT_VENUES;

const channel = z.enum(VENUE_CHANNELS);
const port = z.number().int().min(0).max(65535);
const secretString = z.string().min(1).describe('secret: redacted whenever the configuration is printed or logged');

/**
 * One venue's settings, the same under `venues` and under `exchanges` (all optional: the defaults, `enabled`
 * true and every channel, are applied by the loader after an `exchanges` entry has been laid over a `venues`
 * entry field by field). `symbols` and `trading_pairs` (the seed's name) are synonyms.
 */
export const venueEntrySchema = z
  .object({
    /** Run this venue (default true). */
    enabled: z.boolean().optional(),
    /** Canonical symbols (`BTC/USDT` spot, `BTC/USDT:USDT` linear perpetual) or the venue's own (`BTCUSDT`). */
    symbols: z.array(z.string().min(1)).min(1).optional(),
    /** The seed config's name for `symbols`. */
    trading_pairs: z.array(z.string().min(1)).min(1).optional(),
    /** Channels to subscribe (default all: book, trades, ticker). */
    channels: z.array(channel).min(1).optional(),
    /** Book depth asked of the venue (rounded by the connector to a depth the venue offers). */
    depth: z.number().int().positive().optional(),
    /** Override of the WebSocket base URL (e.g. the simulator). */
    ws_base: z.string().url().optional(),
    /** Override of the REST base URL. */
    rest_base: z.string().url().optional(),
    /** REST request budget (token bucket) for this venue's snapshot fetches. */
    rate_limit: z.object({ requests_per_second: z.number().positive(), burst_size: z.number().int().positive() }).strict().optional(),
    /** Taker fee in bps used by the arbitrage detector. */
    taker_fee_bps: z.number().min(0).max(1000).optional(),
    /** API key (seed config shape). Public market data needs none; secret. */
    api_key: secretString.optional(),
    /** API secret (seed config shape); secret. */
    api_secret: secretString.optional(),
  })
  .strict()
  .refine((e) => e.symbols === undefined || e.trading_pairs === undefined, { message: 'give symbols or trading_pairs, not both', path: ['trading_pairs'] });

const aggregationSchema = z
  .object({
    /** At most one summary per consolidated symbol per this many ms. */
    summary_interval_ms: z.number().int().min(10).default(1000),
    /** Levels per side in summaries. */
    max_price_levels: z.number().int().min(1).max(1000).default(20),
    /** A venue book not updated for this long is excluded from consolidation (ms). */
    max_quote_age_ms: z.number().int().positive().default(10000),
    /** Quote-currency equivalence groups, e.g. [["USDT","USD","USDC"]]; off by default. */
    quote_groups: z.array(z.array(z.string().min(1)).min(2)).default([]),
    /** Venues whose books are consolidated (default: all enabled). */
    venues: z.array(z.string()).optional(),
    arbitrage: z
      .object({
        /** Smallest net edge (after both taker fees) reported, in bps. */
        min_net_edge_bps: z.number().default(0),
        /** Taker fee for venues without `taker_fee_bps`, in bps. */
        default_taker_fee_bps: z.number().min(0).default(10),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const monitoringSchema = z
  .object({
    /** Venue health is recomputed and published this often (ms). */
    health_check_interval_ms: z.number().int().min(50).default(5000),
    /** `/health` answers 200 only when at least this many venues are healthy. */
    min_healthy_venues: z.number().int().min(0).default(1),
    /** A venue with no update for this long is unhealthy; `/ready` fails when no venue has fresh data (ms). */
    stale_after_ms: z.number().int().positive().default(30000),
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        /** `port`: a dedicated Prometheus listener besides the API's `/metrics`. */
        prometheus: z.object({ enabled: z.boolean().default(true), port: port.optional() }).strict().prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The config sections of the source plug-ins, typed per plug-in: `<name>: <its schema>`, defaults from its fields. */
type SourceSectionsShape = { [D in (typeof SOURCE_PLUGINS)[number] as D['name']]: z.ZodPrefault<D['configSchema']> };

/** One section per source plug-in of the registry (`src/oracles/index.ts`), named after it. */
const sourceSections = Object.fromEntries(SOURCE_PLUGINS.map((d) => [d.name, d.configSchema.prefault({})])) as SourceSectionsShape;

/** Names of the config sections that belong to source plug-ins. */
export const SOURCE_SECTION_NAMES: readonly string[] = Object.keys(sourceSections);

/** The configuration file (and library object) shape. Unknown keys are rejected at every level. */
export const configSchema = z
  .object({
    server: z
      .object({
        /** WebSocket server interface. */
        host: z.string().default('0.0.0.0'),
        /** WebSocket server port (0 = any free port). */
        port: port.default(8765),
        /** Client frames larger than this get an error message (bytes). */
        max_client_frame_bytes: z.number().int().positive().default(4096),
        /** A client whose send buffer exceeds this is conflated (bytes). */
        max_buffered_bytes: z.number().int().positive().default(4 * 1024 * 1024),
        /** A venue subscription opened for clients is released this long after its last client left (ms). */
        release_grace_ms: z.number().int().min(0).default(60000),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /** REST API interface. */
        host: z.string().default('0.0.0.0'),
        /** REST API port (0 = any free port). */
        port: port.default(8080),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        /** Minimum level, any case (`INFO` = `info`). */
        level: z.string().toLowerCase().pipe(z.enum(LOG_LEVELS)).default('info'),
        /** Pretty logs; default: when stdout is a TTY. */
        pretty: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
    /** Default symbols for venues that do not list their own. */
    symbols: z.array(z.string().min(3)).min(1).default(['BTC/USDT', 'ETH/USDT']),
    /** Venues by id (see `src/venues/index.ts`). Absent (and no `exchanges`): {@link DEFAULT_VENUE_IDS}. */
    venues: z.record(z.string(), venueEntrySchema).optional(),
    /** The seed aggregator's name for `venues`; an entry here is laid over the `venues` entry of the same id. */
    exchanges: z.record(z.string(), venueEntrySchema).optional(),
    aggregation: aggregationSchema.prefault({}),
    /** Source plug-ins' sections (each plug-in's own schema, e.g. an oracle's endpoints and feeds). */
    ...sourceSections,
    monitoring: monitoringSchema.prefault({}),
    transport: z
      .object({
        /** A connection that has not opened after this long is retried (ms). */
        connect_timeout_ms: z.number().int().positive().default(10000),
        /** Reconnect backoff: first delay and cap (ms; full jitter). */
        backoff_base_ms: z.number().int().positive().default(500),
        backoff_cap_ms: z.number().int().positive().default(30000),
        /** REST request timeout (ms). */
        http_timeout_ms: z.number().int().positive().default(10000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** A parsed venue entry (before defaults). */
export type VenueEntry = z.output<typeof venueEntrySchema>;
/** The parsed file (before venues are resolved). */
export type ParsedConfig = z.output<typeof configSchema>;
