/**
 * `tributary record --venue V --out FILE.jsonl.gz`: live raw traffic of one venue (REST answers used, connects,
 * frames sent and received) or one oracle source (catalog and SSE events), written in the shared recording
 * format, so any live session can be replayed (`replay`, `demo FILE`) and turned into a test.
 */
import type { Config } from '../config/index.ts';
import { TributaryError } from '../core/errors.ts';
import { Gateway } from '../main.ts';
import type { Logger } from '../obs/log.ts';
import { ORACLE_SOURCES, isOracleSource, oracleRecordSettings } from '../oracles/index.ts';
import { sourceSections, venueSymbols } from '../config/index.ts';
import { RecordingWriter } from '../replay/recording.ts';
import { createHttp } from '../transport/http.ts';
import { VENUES, getConnector } from '../venues/index.ts';
import type { Values } from './args.ts';
import { CliExit, onSignals, setup } from './lifecycle.ts';

/** Every oracle source off (a venue recording records the venue only). */
const NO_SOURCES = (): Record<string, false> => Object.fromEntries(ORACLE_SOURCES.map((id) => [id, false]));

/**
 * Records until `--duration` seconds have passed (or SIGINT / SIGTERM), then prints
 * `recorded N frames from V to FILE`. @throws TributaryError `CONFIG_INVALID` for a bad `--venue`, `--out` or
 * `--duration`; CliExit(1) when nothing was recorded (0 frames: the venue was unreachable or the symbols unknown).
 */
export async function recordCommand(v: Values): Promise<void> {
  const { config, log } = setup(v);
  const venue = v.venue;
  const known = [...Object.keys(VENUES), ...ORACLE_SOURCES];
  if (!venue || (!getConnector(venue) && !isOracleSource(venue))) throw new TributaryError('CONFIG_INVALID', `--venue must be one of ${known.join(', ')}`);
  if (!v.out) throw new TributaryError('CONFIG_INVALID', '--out FILE.jsonl.gz is required');
  const duration = v.duration === undefined ? undefined : Number(v.duration);
  if (duration !== undefined && !(duration > 0)) throw new TributaryError('CONFIG_INVALID', `--duration must be a positive number of seconds, got ${JSON.stringify(v.duration)}`);
  const session = isOracleSource(venue) ? sourceSession(config, log, venue, v.out) : venueSession(config, log, venue, v.out);
  await session.gw.start();
  log.info({ venue, out: v.out, duration }, 'recording');
  let done: Promise<number> | undefined;
  const finish = (): Promise<number> =>
    (done ??= (async () => {
      await session.gw.stop();
      await session.writer.close();
      const n = session.gw.totalFrames();
      console.log(`recorded ${n} ${session.unit} from ${venue} to ${v.out}`);
      return n;
    })());
  const emptyMessage = `nothing was recorded from ${venue} (is it reachable from here? are --symbols listed there?); ${v.out} holds no traffic`;
  if (duration === undefined) {
    onSignals(async () => {
      if ((await finish()) > 0) return 0;
      console.error(`tributary: ${emptyMessage}`);
      return 1;
    });
    return;
  }
  await new Promise((r) => setTimeout(r, duration * 1000));
  if ((await finish()) === 0) throw new CliExit(1, emptyMessage);
}

interface Session {
  readonly gw: Gateway;
  readonly writer: RecordingWriter;
  /** What is counted: `frames` (venue) or `events` (source). */
  readonly unit: string;
}

/** A venue: its REST answers, connects, sends and receives. */
function venueSession(config: Readonly<Config>, log: Logger, venue: string, out: string): Session {
  const name = venue.toUpperCase();
  const writer = new RecordingWriter(out, name, { recordedBy: 'tributary', symbols: venueSymbols(config, venue) });
  const conn = (id: string) => `${name}.ws.${id}`;
  const http = createHttp({ timeoutMs: config.transport.http_timeout_ms, onResponse: (url, body, ts) => writer.http(`${name}.http`, ts, url, body) });
  const gw = new Gateway({
    config,
    log,
    venues: [venue],
    serve: false,
    http,
    sources: NO_SOURCES(),
    taps: {
      onConnect: (_v, id, url, ts) => writer.connect(conn(id), ts, url),
      onSent: (_v, id, url, data, ts) => writer.send(conn(id), ts, url, data),
      onRecv: (_v, id, data, ts) => writer.recv(conn(id), ts, data),
    },
  });
  return { gw, writer, unit: 'frames' };
}

/** An oracle source: its catalog (`http` records) and its stream's events (`sse` records). */
function sourceSession(config: Readonly<Config>, log: Logger, source: string, out: string): Session {
  const rec = oracleRecordSettings(source, sourceSections(config)[source]);
  const writer = new RecordingWriter(out, source.toUpperCase(), { recordedBy: 'tributary', ...rec.meta });
  const http = createHttp({ timeoutMs: config.transport.http_timeout_ms, headers: rec.headers, onResponse: (url, body, ts) => writer.http(`${source.toUpperCase()}.http`, ts, url, body) });
  const gw = new Gateway({
    config,
    log,
    venues: [],
    serve: false,
    http,
    sources: { ...NO_SOURCES(), [source]: rec.override },
    taps: { onSse: (connId, url, ev, ts) => writer.sse(connId, ts, url, ev) },
  });
  return { gw, writer, unit: 'events' };
}
