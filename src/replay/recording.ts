/**
 * The recording format: gzip JSON lines. First line `{"t":"header","format":2,"exchange",...}`, then in
 * time order `http` (a REST response body), `connect`, `send` (a frame the client sent) and `recv`
 * (a frame received) records. `ts` is seconds since the epoch (float) in the file; readers expose it as-is.
 *
 * Server-Sent Events (Pyth Hermes) add one record type, `{"t":"sse","conn","ts","url","data","event"?,"id"?}`:
 * one dispatched event received on the stream requested at `url` (with its query), `data` its data (lines joined
 * with `\n`), `event` its type when not `message`, `id` the stream's last event id when set. Files without
 * `sse` records are unchanged, and readers that do not know `sse` may skip it. The simulator serves these events
 * as an SSE stream on the recorded path (paced like WebSocket frames).
 */
import { createReadStream, createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { gunzipSync, createGzip, type Gzip } from 'node:zlib';
import { once } from 'node:events';
import { TributaryError } from '../core/errors.ts';

export interface HeaderRecord {
  readonly t: 'header';
  readonly format: number;
  readonly exchange: string;
  readonly [k: string]: unknown;
}
export interface HttpRecord {
  readonly t: 'http';
  readonly conn: string;
  readonly ts: number;
  readonly url: string;
  readonly data: string;
}
export interface ConnectRecord {
  readonly t: 'connect';
  readonly conn: string;
  readonly ts: number;
  readonly addr: string;
}
export interface SendRecord {
  readonly t: 'send';
  readonly conn: string;
  readonly ts: number;
  readonly addr: string;
  readonly data: string;
}
export interface RecvRecord {
  readonly t: 'recv';
  readonly conn: string;
  readonly ts: number;
  readonly data: string;
}
/** One Server-Sent Event received on the stream requested at `url`. */
export interface SseRecord {
  readonly t: 'sse';
  readonly conn: string;
  readonly ts: number;
  readonly url: string;
  readonly data: string;
  /** Event type when not `message` (e.g. `error`). */
  readonly event?: string;
  /** The stream's last event id, when the server set one. */
  readonly id?: string;
}
export type DataRecord = HttpRecord | ConnectRecord | SendRecord | RecvRecord | SseRecord;
export type RecordingRecord = HeaderRecord | DataRecord;

/** A whole recording in memory, data records sorted by `ts` (stable: file order breaks ties). */
export interface Recording {
  readonly path: string;
  readonly header: HeaderRecord;
  readonly records: readonly DataRecord[];
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** Validates one parsed line. @throws TributaryError `RECORDING_INVALID`. */
export function parseRecord(o: unknown, where: string): RecordingRecord {
  const r = o as Record<string, unknown>;
  const bad = (why: string): never => {
    throw new TributaryError('RECORDING_INVALID', `${where}: ${why}`);
  };
  if (!r || typeof r !== 'object') bad('not an object');
  switch (r.t) {
    case 'header':
      if (!isString(r.exchange)) bad('header without exchange');
      return r as unknown as HeaderRecord;
    case 'http':
      if (!isString(r.url) || !isString(r.data) || typeof r.ts !== 'number') bad('http record needs url, data, ts');
      return r as unknown as HttpRecord;
    case 'connect':
      if (!isString(r.addr) || !isString(r.conn) || typeof r.ts !== 'number') bad('connect record needs conn, addr, ts');
      return r as unknown as ConnectRecord;
    case 'send':
      if (!isString(r.data) || !isString(r.conn) || typeof r.ts !== 'number') bad('send record needs conn, data, ts');
      return r as unknown as SendRecord;
    case 'recv':
      if (!isString(r.data) || !isString(r.conn) || typeof r.ts !== 'number') bad('recv record needs conn, data, ts');
      return r as unknown as RecvRecord;
    case 'sse':
      if (!isString(r.data) || !isString(r.conn) || !isString(r.url) || typeof r.ts !== 'number') bad('sse record needs conn, url, data, ts');
      if ((r.event !== undefined && !isString(r.event)) || (r.id !== undefined && !isString(r.id))) bad('sse record: event and id must be strings');
      return r as unknown as SseRecord;
    default:
      return bad(`unknown record type ${JSON.stringify(r.t)}`);
  }
}

/**
 * Reads a whole recording (gzip or plain JSON lines).
 * @throws TributaryError `RECORDING_INVALID` when unreadable, missing the header or a line is malformed.
 */
export function loadRecording(path: string): Recording {
  let text: string;
  try {
    const buf = readFileSync(path);
    text = (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8');
  } catch (e) {
    throw new TributaryError('RECORDING_INVALID', `cannot read recording ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  const lines = text.split('\n');
  let header: HeaderRecord | undefined;
  const records: DataRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new TributaryError('RECORDING_INVALID', `${path}:${i + 1}: invalid JSON`, { path, line: i + 1 });
    }
    const rec = parseRecord(o, `${path}:${i + 1}`);
    if (rec.t === 'header') {
      if (header) throw new TributaryError('RECORDING_INVALID', `${path}:${i + 1}: second header`);
      header = rec;
    } else {
      records.push(rec);
    }
  }
  if (!header) throw new TributaryError('RECORDING_INVALID', `${path}: no header record`, { path });
  // Stable sort by time: files written by different tasks are not always in global time order.
  const sorted = records.map((r, i) => ({ r, i })).sort((a, b) => a.r.ts - b.r.ts || a.i - b.i).map((x) => x.r);
  return { path, header, records: sorted };
}

/** Streams a recording's raw lines, for very large files. */
export async function* readRecordingLines(path: string): AsyncGenerator<RecordingRecord> {
  const { createGunzip } = await import('node:zlib');
  const { createInterface } = await import('node:readline');
  const input = createReadStream(path).pipe(createGunzip());
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    yield parseRecord(JSON.parse(line), `${path}:${n}`);
  }
}

/** Writes a recording (gzip JSON lines). Used by the recorder; `ts` given in ms is stored in seconds. */
export class RecordingWriter {
  private readonly gz: Gzip;
  private readonly out: WriteStream;

  constructor(path: string, exchange: string, extra: Record<string, unknown> = {}) {
    this.gz = createGzip();
    this.out = createWriteStream(path);
    this.gz.pipe(this.out);
    this.line({ t: 'header', format: 2, exchange, recorded: Date.now() / 1000, ...extra });
  }

  private line(o: object): void {
    this.gz.write(JSON.stringify(o) + '\n');
  }

  http(conn: string, tsMs: number, url: string, data: string): void {
    this.line({ t: 'http', conn, ts: tsMs / 1000, url, data });
  }
  connect(conn: string, tsMs: number, addr: string): void {
    this.line({ t: 'connect', conn, ts: tsMs / 1000, addr });
  }
  send(conn: string, tsMs: number, addr: string, data: string): void {
    this.line({ t: 'send', conn, ts: tsMs / 1000, addr, data });
  }
  recv(conn: string, tsMs: number, data: string): void {
    this.line({ t: 'recv', conn, ts: tsMs / 1000, data });
  }
  /** One SSE event (`type` `message` is not written; `lastEventId` '' is not written). */
  sse(conn: string, tsMs: number, url: string, ev: { readonly type: string; readonly data: string; readonly lastEventId: string }): void {
    this.line({ t: 'sse', conn, ts: tsMs / 1000, url, data: ev.data, ...(ev.type !== 'message' ? { event: ev.type } : {}), ...(ev.lastEventId !== '' ? { id: ev.lastEventId } : {}) });
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    this.gz.end();
    await once(this.out, 'close');
  }
}

/**
 * The recorded receive time of a frame, for replay through the simulator: the recording's `recv` frames by content
 * → their `ts` (ms), so the gateway's `recvTs` (and so latency = receive − venue time, and staleness) read in the
 * recording's time on every loop, not in today's wall time. A frame the recording does not hold verbatim (rewritten
 * by the simulator, e.g. renumbered sequences) gets the last mapped time plus the wall time elapsed since.
 * Identical frames recorded several times map to their first time. Returns `(data, wallRecvTs) => recvTs (ms)`.
 */
export function recordedRecvTimes(recs: readonly Recording[]): (data: string, wallRecvTs: number) => number {
  const byData = new Map<string, number>();
  for (const rec of recs) for (const r of rec.records) if (r.t === 'recv' && !byData.has(r.data)) byData.set(r.data, Math.round(r.ts * 1000));
  let lastMapped = NaN;
  let lastWall = 0;
  return (data, wall) => {
    const t = byData.get(data);
    if (t !== undefined) {
      lastMapped = t;
      lastWall = wall;
      return t;
    }
    return Number.isNaN(lastMapped) ? wall : lastMapped + Math.max(0, wall - lastWall);
  };
}
