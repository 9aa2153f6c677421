/**
 * Server-Sent Events: an incremental parser of the `text/event-stream` format (the managed stream that uses it is
 * `SseStream` in `./sse.ts`, which also re-exports everything here).
 *
 * Parsing follows the WHATWG rules (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * lines end in CRLF, LF or CR (a CRLF split across two chunks is one line end); a leading BOM is dropped; a line
 * starting with `:` is a comment (servers send them as keep-alives); `field: value` drops one space after the colon;
 * several `data` lines of one event are joined with `\n`; `event` sets the type (default `message`); `id` sets the
 * last event id (ignored when it contains NUL; sent back as `Last-Event-ID` on reconnect); `retry` (ASCII digits)
 * sets the reconnection time; a blank line dispatches the event; an event without data is not dispatched; an
 * unterminated event at end of stream is discarded.
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event` field, `message` when the event had none. */
  readonly type: string;
  /** The `data` lines joined with `\n` (no trailing newline). */
  readonly data: string;
  /** The stream's last event id after this event (set by this or an earlier event's `id` field; '' when none). */
  readonly lastEventId: string;
}

/** Options of {@link SseParser}. */
export interface SseParserOptions {
  /** Called for each comment line (text after the `:`), e.g. to count keep-alives. */
  readonly onComment?: (text: string) => void;
  /** Called when a `retry` field sets the reconnection time (ms). */
  readonly onRetry?: (ms: number) => void;
  /**
   * Longest line kept while waiting for its end (UTF-16 code units). A longer line is discarded together with
   * the event it belongs to, counted in {@link SseParser.oversized}; parsing resumes at the next line. Default 8 Mi.
   */
  readonly maxLineLength?: number;
  /** Also the largest event (sum of its data lines), same unit and handling. Default 8 Mi. */
  readonly maxEventLength?: number;
}

/** Incremental `text/event-stream` parser (see the module doc). Never throws on input. */
export class SseParser {
  /** Comment lines seen. */
  comments = 0;
  /** Events dispatched. */
  events = 0;
  /** Lines or events dropped for exceeding the size limits. */
  oversized = 0;
  /** Reconnection time from the last valid `retry` field (ms), if any. */
  retryMs: number | undefined;
  private pending = '';
  private data = '';
  private hasData = false;
  private eventType = '';
  private lastId = '';
  /** The previous chunk ended in CR: a leading LF of the next chunk belongs to that line end. */
  private skipLf = false;
  private started = false;
  /** Inside an oversized line: drop text until the next line end. */
  private discarding = false;
  /** The current event lost data: drop it at its dispatch. */
  private broken = false;
  private readonly maxLine: number;
  private readonly maxEvent: number;

  constructor(
    private readonly onEvent: (ev: SseEvent) => void,
    private readonly opts: SseParserOptions = {},
  ) {
    this.maxLine = opts.maxLineLength ?? 8 * 1024 * 1024;
    this.maxEvent = opts.maxEventLength ?? 8 * 1024 * 1024;
  }

  /** The last event id seen (carried over {@link reset}). */
  get lastEventId(): string {
    return this.lastId;
  }

  /** Sets the last event id, e.g. to resume a stream on a new connection. */
  set lastEventId(v: string) {
    this.lastId = v;
  }

  /** Forgets a partial line / event (for a new connection); keeps the last event id and `retryMs`. */
  reset(): void {
    this.pending = '';
    this.data = '';
    this.hasData = false;
    this.eventType = '';
    this.skipLf = false;
    this.started = false;
    this.discarding = false;
    this.broken = false;
  }

  /** Feeds decoded text. Dispatches every event completed by it, in order. */
  push(chunk: string): void {
    if (chunk.length === 0) return;
    let s = chunk;
    if (!this.started) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (this.skipLf) {
      this.skipLf = false;
      if (s.charCodeAt(0) === 10) s = s.slice(1);
    }
    const text = this.pending.length > 0 ? this.pending + s : s;
    let lineStart = 0;
    let i = this.pending.length;
    this.pending = '';
    const n = text.length;
    let nextLf = text.indexOf('\n', i);
    let nextCr = text.indexOf('\r', i);
    while (i < n) {
      if (nextLf !== -1 && nextLf < i) nextLf = text.indexOf('\n', i);
      if (nextCr !== -1 && nextCr < i) nextCr = text.indexOf('\r', i);
      let end: number;
      if (nextLf === -1 && nextCr === -1) break;
      else if (nextLf === -1) end = nextCr;
      else if (nextCr === -1) end = nextLf;
      else end = nextLf < nextCr ? nextLf : nextCr;
      this.line(text, lineStart, end);
      if (text.charCodeAt(end) === 13) {
        if (end + 1 < n) {
          if (text.charCodeAt(end + 1) === 10) end++;
        } else {
          this.skipLf = true;
        }
      }
      i = lineStart = end + 1;
    }
    if (lineStart < n) {
      if (this.discarding) return;
      const rest = lineStart === 0 ? text : text.slice(lineStart);
      if (rest.length > this.maxLine) {
        this.oversized++;
        this.discarding = true;
        this.broken = true;
      } else {
        this.pending = rest;
      }
    }
  }

  /** End of stream: an unterminated event is discarded (per spec); the parser is reset for a new connection. */
  end(): void {
    this.reset();
  }

  private line(text: string, start: number, end: number): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (start === end) {
      this.dispatch();
      return;
    }
    const first = text.charCodeAt(start);
    if (first === 58 /* : */) {
      this.comments++;
      this.opts.onComment?.(text.slice(start + 1, end));
      return;
    }
    const colon = text.indexOf(':', start);
    let field: string;
    let value: string;
    if (colon === -1 || colon >= end) {
      field = text.slice(start, end);
      value = '';
    } else {
      field = text.slice(start, colon);
      let v = colon + 1;
      if (v < end && text.charCodeAt(v) === 32) v++;
      value = text.slice(v, end);
    }
    switch (field) {
      case 'data':
        if (this.broken) return;
        if (this.data.length + value.length > this.maxEvent) {
          this.oversized++;
          this.broken = true;
          this.data = '';
          return;
        }
        this.data = this.hasData ? this.data + '\n' + value : value;
        this.hasData = true;
        return;
      case 'event':
        this.eventType = value;
        return;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        return;
      case 'retry':
        if (/^[0-9]+$/.test(value)) {
          this.retryMs = Number(value);
          this.opts.onRetry?.(this.retryMs);
        }
        return;
      default:
        return; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const hasData = this.hasData;
    const broken = this.broken;
    const type = this.eventType;
    const data = this.data;
    this.data = '';
    this.hasData = false;
    this.eventType = '';
    this.broken = false;
    if (!hasData || broken) return;
    this.events++;
    this.onEvent({ type: type === '' ? 'message' : type, data, lastEventId: this.lastId });
  }
}
