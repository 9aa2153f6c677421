/**
 * JSON-lines sink: every domain event it is given, one JSON object per line, `{"topic": <kind>, "event": <event>}`
 * (the event exactly as published: events are plain values, so `JSON.parse` of the line gives back an equal event),
 * appended in order to rotating files in one directory.
 *
 * Files: `events-<UTC time the file was opened, YYYY-MM-DDTHH-MM-SS.mmmZ>-<n, 6 digits>.jsonl`, `n` counting the
 * files this sink opened from 1; sorting the names sorts the files in write order. A file is opened on the first
 * event after start or rotation (no empty files), and rotated before a line would take it past `maxBytes` (a single
 * longer line gets a file of its own) or once it is `maxAgeMs` old (checked on write, and by a timer while idle).
 * Only the newest file is ever being written; the others are complete and closed.
 *
 * Writes go through a `fs.WriteStream` and respect its backpressure: `consume` resolves only once the stream has
 * room again. A write error makes the current file be abandoned (its last line may be partial; `readJsonlFile` skips
 * it) and writing goes on in a new file: when the error hits the running `consume`, that call rejects and the runner
 * writes the batch again (at-least-once: the abandoned file may hold part of it twice); when it hits writes of a
 * batch already accepted, their events are counted in `dropped`.
 */
import { mkdir, access, constants, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WriteStream } from 'node:fs';
import type { DomainEvent, Topic } from '../core/events.ts';
import { TributaryError, errorMessage } from '../core/errors.ts';
import type { Sink, SinkHealth, SinkState } from './sink.ts';

/** Default size rotation threshold: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Default time rotation threshold: 1 h, in ms. */
export const DEFAULT_MAX_AGE_MS = 3_600_000;

/** Options of {@link JsonlSink}. */
export interface JsonlSinkOptions {
  /** Directory of the files (created, with parents, on start). */
  readonly dir: string;
  /** Sink name: logs, health, metrics label `sink` (default `jsonl`). */
  readonly name?: string;
  /** Rotate before a file would exceed this many bytes (integer ≥ 1; default {@link DEFAULT_MAX_BYTES}). */
  readonly maxBytes?: number;
  /** Rotate once a file is this old, ms (integer ≥ 1, or `Infinity` for never; default {@link DEFAULT_MAX_AGE_MS}). */
  readonly maxAgeMs?: number;
  /** Write stream buffer, bytes, past which `consume` waits for the disk (default 1 MiB). */
  readonly highWaterMark?: number;
  /** Clock, ms since epoch (file names and age; default `Date.now`). */
  readonly now?: () => number;
}

/** One line of a JSON-lines sink file. */
export interface JsonlRecord {
  readonly topic: Topic;
  readonly event: DomainEvent;
}

/** A file the sink opened: path, size written so far (bytes), lines, open time (ms since epoch). */
export interface JsonlFileInfo {
  readonly path: string;
  readonly bytes: number;
  readonly events: number;
  readonly openedAt: number;
}

interface OpenFile {
  readonly path: string;
  readonly openedAt: number;
  readonly stream: WriteStream;
  bytes: number;
  events: number;
  /** Resolves when the callback of the last write fired. */
  lastWrite: Promise<void>;
  /** Set once a write or the stream failed: the file is abandoned. */
  error: Error | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** `events-<UTC time>-<n>.jsonl` for a file opened at `openedAt` (ms since epoch), `n` ≥ 1. */
export function jsonlFileName(openedAt: number, n: number): string {
  const t = new Date(openedAt).toISOString().replace(/:/g, '-');
  return `events-${t}-${String(n).padStart(6, '0')}.jsonl`;
}

/** Whether `name` is a JSON-lines sink file name (see {@link jsonlFileName}). */
export function isJsonlFileName(name: string): boolean {
  return /^events-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-\d{6,}\.jsonl$/.test(name);
}

/** The sink files in `dir`, full paths, in write order (name order). @throws (rejects) when `dir` is unreadable. */
export async function listJsonlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isJsonlFileName).sort().map((n) => join(dir, n));
}

/**
 * Reads every record of one sink file, in order. A partial last line (a file abandoned after a write error) is
 * skipped. @throws (rejects) on an unreadable file, or `TributaryError` `RECORDING_INVALID` on a malformed line.
 */
export async function readJsonlFile(path: string): Promise<JsonlRecord[]> {
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n');
  const complete = lines.length - 1; // the piece after the last "\n" is '' or a partial line
  const out: JsonlRecord[] = [];
  for (let i = 0; i < complete; i++) {
    let o: unknown;
    try {
      o = JSON.parse(lines[i]);
    } catch {
      throw new TributaryError('RECORDING_INVALID', `${path}:${i + 1}: invalid JSON`, { path, line: i + 1 });
    }
    const r = o as { topic?: unknown; event?: { kind?: unknown } };
    if (typeof r?.topic !== 'string' || typeof r.event !== 'object' || r.event === null || r.event.kind !== r.topic) {
      throw new TributaryError('RECORDING_INVALID', `${path}:${i + 1}: not a {topic, event} record`, { path, line: i + 1 });
    }
    out.push(o as JsonlRecord);
  }
  return out;
}

/** Validates a positive integer option. @throws TributaryError `CONFIG_INVALID`. */
function positiveInt(name: string, v: number, allowInfinity = false): number {
  if ((allowInfinity && v === Infinity) || (Number.isInteger(v) && v >= 1)) return v;
  throw new TributaryError('CONFIG_INVALID', `jsonl sink: ${name} must be an integer ≥ 1${allowInfinity ? ' (or Infinity)' : ''}, got ${v}`, { [name]: v });
}

/** The JSON-lines sink (see the module comment). */
export class JsonlSink implements Sink {
  readonly name: string;
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  private readonly highWaterMark: number;
  private readonly now: () => number;
  private state: SinkState = 'starting';
  private cur: OpenFile | undefined;
  private readonly opened: OpenFile[] = [];
  private readonly closing = new Set<Promise<void>>();
  private fileCount = 0;
  private written = 0;
  private dropped = 0;
  /** Events handed to the stream whose write has not completed. */
  private pending = 0;
  private lastError: string | null = null;
  private busy = false;
  /** Number of the running (or last) `consume` call: a write failing during its own call is reported by rejecting it. */
  private call = 0;
  private closePromise: Promise<void> | undefined;

  /** @throws TributaryError `CONFIG_INVALID` when an option is out of range. */
  constructor(o: JsonlSinkOptions) {
    if (typeof o.dir !== 'string' || o.dir === '') throw new TributaryError('CONFIG_INVALID', 'jsonl sink: dir is required');
    this.dir = o.dir;
    this.name = o.name ?? 'jsonl';
    this.maxBytes = positiveInt('maxBytes', o.maxBytes ?? DEFAULT_MAX_BYTES);
    this.maxAgeMs = positiveInt('maxAgeMs', o.maxAgeMs ?? DEFAULT_MAX_AGE_MS, true);
    this.highWaterMark = positiveInt('highWaterMark', o.highWaterMark ?? 1024 * 1024);
    this.now = o.now ?? Date.now;
  }

  /** Creates the directory (with parents) and checks it is writable. @throws (rejects) TributaryError `CONFIG_INVALID`. */
  async start(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      await access(this.dir, constants.W_OK);
    } catch (err) {
      this.state = 'failing';
      this.lastError = errorMessage(err);
      throw new TributaryError('CONFIG_INVALID', `jsonl sink: directory ${this.dir} is not usable: ${this.lastError}`, { dir: this.dir }, { cause: err });
    }
    if (this.state === 'starting') this.state = 'running';
  }

  /**
   * Appends one line per event, rotating as configured. Resolves when the stream has room again (backpressure).
   * @throws (rejects) when the sink is closed, a file cannot be opened, or a write of this file failed (the file is
   *         then abandoned and the next call writes to a new one).
   */
  async consume(events: readonly DomainEvent[]): Promise<void> {
    if (this.closePromise !== undefined) throw new Error(`jsonl sink ${this.name} is closed`);
    this.busy = true;
    const call = ++this.call;
    const touched = new Set<OpenFile>();
    try {
      if (this.cur?.error !== undefined) this.abandon();
      if (this.cur !== undefined && this.now() - this.cur.openedAt >= this.maxAgeMs) this.rotate();
      let chunk = '';
      let chunkBytes = 0;
      let chunkEvents = 0;
      for (const ev of events) {
        const line = JSON.stringify({ topic: ev.kind, event: ev }) + '\n';
        const bytes = Buffer.byteLength(line);
        let f = this.cur;
        if (f !== undefined && f.bytes + chunkBytes > 0 && f.bytes + chunkBytes + bytes > this.maxBytes) {
          touched.add(f);
          await this.write(f, chunk, chunkBytes, chunkEvents, call);
          chunk = '';
          chunkBytes = 0;
          chunkEvents = 0;
          this.rotate();
          f = undefined;
        }
        if (f === undefined) await this.openNext();
        chunk += line;
        chunkBytes += bytes;
        chunkEvents++;
      }
      if (chunkEvents > 0) {
        touched.add(this.cur!);
        await this.write(this.cur!, chunk, chunkBytes, chunkEvents, call);
      }
      for (const f of touched) if (f.error !== undefined) throw f.error;
      if (this.state === 'failing') this.state = 'running';
    } catch (err) {
      this.lastError = errorMessage(err);
      if (this.state !== 'closed') this.state = 'failing';
      throw err;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Writes a chunk of whole lines to `f` for `consume` call number `call`, and waits for room when the stream is over
   * its high-water mark. A write that fails while its call still runs makes that call reject (the batch is retried
   * whole); one that fails later counts its events as `dropped`.
   */
  private async write(f: OpenFile, chunk: string, bytes: number, events: number, call: number): Promise<void> {
    if (events === 0) return;
    if (f.error !== undefined) throw f.error;
    f.bytes += bytes;
    f.events += events;
    this.pending += events;
    let done!: () => void;
    f.lastWrite = new Promise((r) => (done = r));
    const ok = f.stream.write(chunk, (err) => {
      this.pending -= events;
      if (err) {
        if (!(this.busy && this.call === call)) this.dropped += events;
        this.markFailed(f, err);
      } else {
        this.written += events;
      }
      done();
    });
    if (!ok) await waitForDrain(f.stream, f.path);
    if (f.error !== undefined) throw f.error;
  }

  private markFailed(f: OpenFile, err: Error): void {
    if (f.error === undefined) f.error = err;
    this.lastError = errorMessage(err);
    if (this.state !== 'closed') this.state = 'failing';
  }

  /** Opens the next file (exclusive create; a name already taken moves on to the next `n`). */
  private async openNext(): Promise<void> {
    const openedAt = this.now();
    for (;;) {
      const path = join(this.dir, jsonlFileName(openedAt, ++this.fileCount));
      let fh;
      try {
        fh = await open(path, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      const stream = fh.createWriteStream({ highWaterMark: this.highWaterMark });
      const f: OpenFile = { path, openedAt, stream, bytes: 0, events: 0, lastWrite: Promise.resolve(), error: undefined, timer: undefined };
      stream.on('error', (err) => this.markFailed(f, err));
      if (this.maxAgeMs !== Infinity) {
        f.timer = setTimeout(() => {
          f.timer = undefined;
          // Idle rotation: while a consume runs it checks the age itself.
          if (this.cur === f && !this.busy) this.rotate();
        }, Math.min(this.maxAgeMs, 2 ** 31 - 1));
        f.timer.unref();
      }
      this.cur = f;
      this.opened.push(f);
      return;
    }
  }

  /** Ends the current file (in the background; {@link flush} and {@link close} wait for it). */
  private rotate(): void {
    const f = this.cur;
    if (f === undefined) return;
    this.cur = undefined;
    if (f.timer !== undefined) clearTimeout(f.timer);
    const p = endStream(f.stream).finally(() => this.closing.delete(p));
    this.closing.add(p);
  }

  /** Drops the current (failed) file without waiting for it. */
  private abandon(): void {
    const f = this.cur;
    if (f === undefined) return;
    this.cur = undefined;
    if (f.timer !== undefined) clearTimeout(f.timer);
    f.stream.destroy();
  }

  /**
   * Resolves once every line handed to a stream so far is written to its file (rotated files closed).
   * @throws (rejects) with the write error when the current file failed.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.closing]);
    const f = this.cur;
    if (f === undefined) return;
    await f.lastWrite;
    if (f.error !== undefined) throw f.error;
  }

  /** Flushes and closes the current file. Idempotent; never rejects (errors go to `health().lastError`). */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      try {
        await this.flush();
      } catch (err) {
        this.lastError = errorMessage(err);
      }
      if (this.cur?.error !== undefined) this.abandon();
      else this.rotate();
      await Promise.all([...this.closing]);
      this.state = 'closed';
    })();
    return this.closePromise;
  }

  /** Files opened so far, oldest first, with their size and line count. */
  files(): JsonlFileInfo[] {
    return this.opened.map((f) => ({ path: f.path, bytes: f.bytes, events: f.events, openedAt: f.openedAt }));
  }

  health(): SinkHealth {
    return { name: this.name, state: this.state, written: this.written, dropped: this.dropped, lastError: this.lastError, queueDepth: this.pending };
  }
}

/** Ends a stream and resolves once its file is closed (at once if it already is; never rejects). */
function endStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    stream.once('close', () => resolve());
    if (!stream.destroyed) stream.end();
  });
}

/** Resolves on `drain`; rejects when the stream errors or closes first. */
function waitForDrain(stream: WriteStream, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`stream of ${path} closed while writing`));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
