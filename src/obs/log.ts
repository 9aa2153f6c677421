/**
 * Logging: one pino root logger per process, child loggers per module / venue / connection.
 *
 * - JSON lines on stdout by default (machine-readable, cheap).
 * - Human-readable output through pino-pretty, run as a synchronous stream in this thread (no worker
 *   transport), when asked for (`pretty: true`) or, with `pretty: 'auto'`, when stdout is a TTY.
 * - Secrets are never logged: common secret-bearing keys are redacted at the top level, one and two
 *   levels deep, and in HTTP header objects.
 * - No per-message logging on the hot path: callers log lifecycle and errors only.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Keys whose values are replaced by `[redacted]` wherever they appear in logged objects (see {@link REDACT_PATHS}). */
export const SECRET_KEYS: readonly string[] = [
  'apiKey',
  'api_key',
  'apiSecret',
  'api_secret',
  'secret',
  'signature',
  'sign',
  'token',
  'accessToken',
  'refreshToken',
  'password',
  'passphrase',
  'authorization',
  'Authorization',
  'cookie',
];

/** pino redact paths derived from {@link SECRET_KEYS}: top level, 1 and 2 levels deep, and `*.headers.*`. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
  '*.headers["x-bapi-api-key"]',
  '*.headers["x-mbx-apikey"]',
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level: `trace` | `debug` | `info` | `warn` | `error` | `fatal` | `silent`. Default `info`. */
  level?: LevelWithSilent | string;
  /**
   * `false` (default): JSON lines. `true`: pino-pretty (synchronous, colorized on a TTY).
   * `'auto'`: pretty only when stdout is a TTY.
   */
  pretty?: boolean | 'auto';
  /** Where to write (tests pass a stream); default stdout. With `pretty`, the pretty text goes here. */
  destination?: DestinationStream;
  /** Bindings on every line (e.g. `{ service: 'tributary' }`). */
  base?: Record<string, unknown>;
}

/**
 * Creates the process's root logger. Call it once in the composition root and hand children
 * ({@link childLogger}) to modules.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const isTty = process.stdout.isTTY === true;
  const usePretty = opts.pretty === true || (opts.pretty === 'auto' && isTty);
  const options = {
    level,
    base: opts.base ?? null,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (usePretty) {
    const stream = pretty({
      sync: true,
      colorize: opts.destination === undefined && isTty,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      ...(opts.destination !== undefined ? { destination: opts.destination as NodeJS.WritableStream } : {}),
    });
    // pino-pretty needs the numeric level, so no level formatter in pretty mode.
    return pino({ ...options, formatters: {} }, stream);
  }
  return opts.destination !== undefined ? pino(options, opts.destination) : pino(options);
}

/**
 * Child logger carrying `bindings` on every line, e.g. `{ module: 'ws' }` or `{ venue, conn }`.
 * Bindings are redacted like any other logged object.
 */
export function childLogger(root: Logger, bindings: Record<string, unknown>): Logger {
  return root.child(bindings);
}
