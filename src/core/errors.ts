/**
 * One catalog of error codes with a stable `code` and a `retryable` flag.
 * `docs/ERRORS.md` lists every code; a unit test keeps the two equal.
 */

/** Every error code Tributary raises or reports. */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, summary: 'Configuration failed validation (file, env or CLI).' },
  TRANSPORT_CONNECT_TIMEOUT: { retryable: true, summary: 'A connection did not open within the connect timeout.' },
  TRANSPORT_CLOSED: { retryable: true, summary: 'A connection closed or errored; it will be reopened with backoff.' },
  TRANSPORT_STALE: { retryable: true, summary: 'No frame (data or heartbeat reply) arrived within the stale timeout.' },
  HTTP_ERROR: { retryable: true, summary: 'A venue REST request failed (network error or non-2xx status).' },
  VENUE_REJECTED: { retryable: false, summary: 'The venue rejected a request (e.g. unknown topic or symbol).' },
  VENUE_RATE_LIMITED: { retryable: true, summary: 'The venue reported a rate limit; back off before retrying.' },
  VENUE_AUTH: { retryable: false, summary: 'The venue rejected authentication.' },
  PROTOCOL_MALFORMED: { retryable: false, summary: 'A frame could not be parsed or lacks required fields; it was dropped and counted.' },
  PROTOCOL_UNKNOWN: { retryable: false, summary: 'A well-formed frame of an unknown kind; it was ignored and counted.' },
  BOOK_GAP: { retryable: true, summary: 'A book sequence gap was detected; that instrument is resynced.' },
  BOOK_CHECKSUM: { retryable: true, summary: 'A book checksum mismatch was detected; that instrument is resynced.' },
  BOOK_CROSSED: { retryable: true, summary: 'A book became crossed (best bid >= best ask); that instrument is resynced.' },
  BOOK_SNAPSHOT_STALE: { retryable: true, summary: 'A REST snapshot was older than the buffered deltas; it is fetched again.' },
  INSTRUMENT_UNKNOWN: { retryable: false, summary: 'A configured or requested symbol is not listed by the venue.' },
  CLIENT_BAD_REQUEST: { retryable: false, summary: 'A client message was invalid (bad JSON, unknown type, unknown feed, too large).' },
  INTERNAL_ERROR: { retryable: false, summary: 'An unexpected internal failure while answering a request (a bug); logged with details.' },
  RECORDING_INVALID: { retryable: false, summary: 'A recording file is unreadable or not in the recording format.' },
  STREAM_ERROR_EVENT: { retryable: true, summary: 'An event stream sent `event: error` (e.g. a server ending a stream after 24 h); counted, and the stream is reopened when the server closes it.' },
  ORACLE_STALE: { retryable: true, summary: "An oracle feed's publish time stopped advancing; the feed is reported `stale` until it advances again." },
  SINK_WRITE_FAILED: { retryable: true, summary: 'A sink could not write a batch of events; retried with backoff, then counted as dropped and logged.' },
  SINK_OVERFLOW: { retryable: true, summary: "A sink's bounded queue overflowed: events were dropped (counted) or, for a `disconnect` topic, the queue was reset." },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base error: carries a stable `code`, the `retryable` flag from the catalog and optional context. */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, context?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TributaryError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.context = context;
  }
}

/** Narrows an unknown thrown value to a message string. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
