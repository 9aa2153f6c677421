/**
 * The `tributary` command line: `start`, `replay`, `simulate`.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, venueSymbols, type CliOverrides } from './config/index.ts';
import { TributaryError, errorMessage } from './core/errors.ts';
import { Gateway } from './main.ts';
import { createLogger, type Logger } from './obs/log.ts';
import type { SubscriptionRequest } from './pipeline/ingest.ts';
import { recordedRequests } from './replay/direct.ts';
import { RecordingWriter, loadRecording, type Recording } from './replay/recording.ts';
import { createHttp } from './transport/http.ts';
import { startSimulatorThread } from './replay/sim-thread.ts';
import { startSimulator, venueIdOf, type Simulator, type SimulatorSpeed } from './replay/simulator.ts';
import type { VenueEndpoints } from './venues/connector.ts';
import { VENUES, getConnector } from './venues/index.ts';
import { isOracleSource, oracleSseHooks } from './oracle/index.ts';
import { requestedIds } from './oracle/pyth/decode.ts';
import { HERMES_STREAM_PATH } from './oracle/pyth/wire.ts';
import { PYTH_SOURCE } from './protocol/messages.ts';

const HELP = `tributary — market-data aggregator and gateway

Usage:
  tributary start [options]                 connect live to the venues' public endpoints
  tributary replay FILE... [options]        start the venue simulator on FILEs and the gateway pointed at it
  tributary simulate FILE... [options]      serve recordings as the venues did (WebSocket + REST) on 127.0.0.1
  tributary record --venue V --out F.jsonl.gz [--symbols A,B] [--duration S]
                                            record live raw traffic of one venue in the recording format
                                            (--venue pyth records the Hermes catalog and SSE stream)
  tributary demo [FILE...] [options]        replay every shared recording (default ../shared/recordings/*.jsonl.gz)
                                            with the demo config (config/demo.json: Bybit + Coinbase consolidated
                                            under USDT = USD = USDC, plus Pyth prices from test/fixtures/pyth/hermes.jsonl)
                                            and print summaries, oracle deviation and venue health
  tributary help                            this text

Gateway options (start, replay):
  --host HOST            WebSocket server interface (default 0.0.0.0)
  --port N               WebSocket server port (default 8765)
  --api-host HOST        REST API interface (default 0.0.0.0)
  --api-port N           REST API port (default 8080)
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --config FILE          JSON config file (see README: Configuration)
  --symbols A,B          canonical symbols (start default BTC/USDT,ETH/USDT; replay default: what was recorded)
  --venues V,W           venues for start (default: all enabled: ${Object.keys(VENUES).join(', ')})
  --pyth-sse-url URL     Pyth Hermes SSE stream (default https://hermes.pyth.network/v2/updates/price/stream)
  --pyth-feeds A,B       Pyth feed ids (0x…) or symbols (Crypto.BTC/USD) to stream (default BTC/USD, ETH/USD, SOL/USD)
  --no-pyth              start without Pyth prices

Replay / simulate options:
  --speed S              recorded | max | a multiple of recorded pace, e.g. 10 (default recorded)
  --loop N               play each recording N times; 0 = forever (default 1)
  --sim-port N           simulator port for replay (default: a free port)
  --exit-on-end          replay: exit once the recordings have been played and processed
  --dump-books OUT.json  replay: on exit, write every final book as JSON
  --print-summaries      replay: print consolidated summaries and venue health every few seconds

Record options:
  --venue V              the venue to record (one of: ${Object.keys(VENUES).join(', ')})
  --out FILE             output recording (gzip JSON lines, same format as ../shared/recordings)
  --duration S           stop after S seconds (default: until Ctrl-C)
  (--symbols and --config as for start; config wsBase/restBase overrides apply, e.g. to record a simulator)

Environment: TRIBUTARY_CONFIG, TRIBUTARY_HOST, TRIBUTARY_PORT, TRIBUTARY_API_HOST, TRIBUTARY_API_PORT,
TRIBUTARY_LOG_LEVEL, TRIBUTARY_SYMBOLS, TRIBUTARY_VENUES, TRIBUTARY_PYTH_SSE_URL, TRIBUTARY_PYTH_FEEDS,
TRIBUTARY_PYTH_ENABLED (flags win over env, env over the file).

Replay: a Pyth recording (header exchange PYTH, sse records) is served as an SSE stream by the simulator and
streamed by the gateway's Pyth source; clients get price_update messages and the Hermes-compatible API.
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'log-level': { type: 'string' },
  config: { type: 'string' },
  symbols: { type: 'string' },
  venues: { type: 'string' },
  'pyth-sse-url': { type: 'string' },
  'pyth-feeds': { type: 'string' },
  'no-pyth': { type: 'boolean' },
  speed: { type: 'string' },
  loop: { type: 'string' },
  'sim-port': { type: 'string' },
  'exit-on-end': { type: 'boolean' },
  'dump-books': { type: 'string' },
  'print-summaries': { type: 'boolean' },
  venue: { type: 'string' },
  out: { type: 'string' },
  duration: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TributaryError('CONFIG_INVALID', `--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function parseSpeed(v: string | undefined): SimulatorSpeed {
  if (v === undefined || v === 'recorded') return 'recorded';
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new TributaryError('CONFIG_INVALID', `--speed must be recorded, max or a positive number, got ${JSON.stringify(v)}`);
  return n;
}

const csv = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

type Values = ReturnType<typeof parse>['values'];
function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

function overrides(v: Values): CliOverrides {
  return {
    config: v.config,
    host: v.host,
    port: intFlag('port', v.port),
    apiHost: v['api-host'],
    apiPort: intFlag('api-port', v['api-port']),
    logLevel: v['log-level'],
    symbols: csv(v.symbols),
    venues: csv(v.venues),
    pythSseUrl: v['pyth-sse-url'],
    pythFeeds: csv(v['pyth-feeds']),
    pythEnabled: v['no-pyth'] ? false : undefined,
  };
}

function loadRecordings(files: string[]): Recording[] {
  if (files.length === 0) throw new TributaryError('CONFIG_INVALID', 'give at least one recording FILE');
  return files.map((f) => loadRecording(f));
}

async function startSim(recordings: Recording[], v: Values, log: Logger, port = 0): Promise<Simulator> {
  return startSimulator({
    recordings,
    hooks: (venue) => getConnector(venue)?.replay,
    sseHooks: oracleSseHooks,
    host: '127.0.0.1',
    port,
    speed: parseSpeed(v.speed),
    loop: intFlag('loop', v.loop) ?? 1,
    log: log.child({ module: 'simulator' }),
  });
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    void stop().then(
      () => process.exit(0),
      (e) => {
        console.error(`error while stopping after ${sig}: ${errorMessage(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

async function cmdStart(v: Values): Promise<void> {
  const config = loadConfig(overrides(v));
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? 'auto' });
  const gw = new Gateway({ config, log, pythByDefault: true });
  await gw.start();
  log.info(
    { ws: `ws://${config.server.host}:${gw.wsPort}`, api: `http://${config.api.host}:${gw.apiPort}`, venues: [...gw.runners.keys()], pyth: gw.pyth ? gw.pyth.feedIds() : false },
    'tributary started',
  );
  onSignals(() => gw.stop());
}

async function cmdSimulate(files: string[], v: Values): Promise<void> {
  const config = loadConfig(overrides(v));
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? 'auto' });
  const recordings = loadRecordings(files);
  const sim = await startSim(recordings, v, log, intFlag('port', v.port) ?? 0);
  for (const venue of sim.venues) log.info({ venue, ws: sim.wsBase(venue), rest: sim.restBase(venue) }, 'simulating venue');
  console.log(`simulator listening on 127.0.0.1:${sim.port} (${sim.venues.join(', ')})`);
  onSignals(() => sim.close());
}

async function cmdReplay(files: string[], v: Values): Promise<void> {
  const config = loadConfig(overrides(v));
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? 'auto' });
  const recordings = loadRecordings(files);
  const requests = new Map<string, SubscriptionRequest[]>();
  const pythFeeds = new Set<string>();
  let pythRecorded = false;
  for (const rec of recordings) {
    const venue = venueIdOf(rec.header);
    if (isOracleSource(venue)) {
      // Oracle recordings: the feeds the recorded streams asked for (else those their events carried).
      pythRecorded = true;
      for (const r of rec.records) if (r.t === 'sse') for (const id of requestedIds(new URL(r.url))) pythFeeds.add(id);
      continue;
    }
    const c = getConnector(venue);
    if (!c) throw new TributaryError('CONFIG_INVALID', `${rec.path}: no connector for venue ${JSON.stringify(venue)} (known: ${Object.keys(VENUES).join(', ')})`);
    requests.set(venue, [...(requests.get(venue) ?? []), ...recordedRequests(rec, c)]);
  }
  // "Unless told otherwise": --symbols replaces what the recorded sessions subscribed to.
  const symbols = csv(v.symbols);
  if (symbols) {
    for (const venue of requests.keys()) {
      const channels = config.venues[venue]?.channels ?? ['book', 'trades', 'ticker'];
      requests.set(venue, symbols.flatMap((symbol) => channels.map((channel) => ({ symbol, channel }))));
    }
  }
  // The simulator runs in its own thread: it paces and writes on one core while the gateway decodes on another.
  const sim = await startSimulatorThread({
    files,
    host: '127.0.0.1',
    port: intFlag('sim-port', v['sim-port']) ?? 0,
    speed: parseSpeed(v.speed),
    loop: intFlag('loop', v.loop) ?? 1,
    logLevel: config.log.level,
  });
  const endpoints = new Map<string, VenueEndpoints>();
  for (const venue of requests.keys()) endpoints.set(venue, { wsBase: sim.wsBase(venue), restBase: sim.restBase(venue) });
  const pyth = pythRecorded && config.pyth.enabled !== false
    ? { sseUrl: `${sim.restBase(PYTH_SOURCE)}${HERMES_STREAM_PATH}`, restBase: sim.restBase(PYTH_SOURCE), ...(pythFeeds.size > 0 ? { feeds: [...pythFeeds] } : {}) }
    : false;
  const gw = new Gateway({ config, log, venues: [...requests.keys()], requests, endpoints, pyth });
  await gw.start();
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  const apiHost = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host;
  console.log(`replaying ${files.join(', ')} (speed ${v.speed ?? 'recorded'}, loop ${v.loop ?? 1})`);
  console.log(`  WebSocket: ws://${host}:${gw.wsPort}   e.g. {"type":"subscribe","feed_id":"${gw.listFeeds().find((f) => f.channel === 'book')?.feed_id ?? 'bybit:BTC/USDT:book'}"}`);
  console.log(`  REST:      http://${apiHost}:${gw.apiPort}/health  /status  /feeds  /v1/books/{venue}/{symbol}  /metrics`);
  if (gw.pyth) {
    console.log(`  Pyth:      {"type":"subscribe","feed_id":"${gw.pyth.feedIds()[0] ?? '0x…'}"}   Hermes API: http://${apiHost}:${gw.apiPort}/v2/price_feeds`);
  }
  const stopAll = async () => {
    await gw.stop();
    await sim.close();
  };
  if (v['print-summaries']) {
    const timer = setInterval(() => printSummaries(gw), Math.max(2000, config.monitoring.health_check_interval_ms));
    timer.unref();
  }
  if (!v['exit-on-end']) {
    onSignals(stopAll);
    return;
  }
  await sim.ended;
  // The simulator has written everything; wait until the gateway has processed it (no new frames for 300 ms).
  let last = -1;
  for (;;) {
    const n = gw.totalFrames();
    if (n === last) break;
    last = n;
    await new Promise((r) => setTimeout(r, 300));
  }
  // Snapshot fetches still in flight finish quickly against the local simulator.
  for (let i = 0; i < 50 && [...gw.runners.values()].some((r) => r.sync.books().some((b) => !b.valid)); i++) await new Promise((r) => setTimeout(r, 100));
  const dump = gw.dumpBooks();
  if (v['dump-books']) {
    writeFileSync(v['dump-books'], JSON.stringify(dump, null, 1));
    console.log(`wrote ${dump.books.length} books to ${v['dump-books']}`);
  }
  gw.syncMetrics();
  const frames = gw.totalFrames();
  const rs = [...gw.runners.values()].map((r) => r.counters).filter((c) => c.frames > 0);
  if (rs.length > 0) {
    const span = (Math.max(...rs.map((c) => c.lastFrameAt)) - Math.min(...rs.map((c) => c.firstFrameAt))) / 1000;
    console.log(`processing: ${span.toFixed(3)} s from first to last frame (${Math.round(frames / Math.max(span, 0.001))} frames/s)`);
  }
  console.log(`replay finished: ${frames} frames, ${dump.books.filter((b) => b.valid).length}/${dump.books.length} books valid`);
  await stopAll();
}

async function cmdRecord(v: Values): Promise<void> {
  const config = loadConfig(overrides(v));
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? 'auto' });
  const venue = v.venue;
  if (!venue || (!getConnector(venue) && venue !== PYTH_SOURCE)) throw new TributaryError('CONFIG_INVALID', `--venue must be one of ${[...Object.keys(VENUES), PYTH_SOURCE].join(', ')}`);
  if (!v.out) throw new TributaryError('CONFIG_INVALID', '--out FILE.jsonl.gz is required');
  const duration = v.duration === undefined ? undefined : Number(v.duration);
  if (duration !== undefined && !(duration > 0)) throw new TributaryError('CONFIG_INVALID', `--duration must be a positive number of seconds, got ${JSON.stringify(v.duration)}`);
  if (venue === PYTH_SOURCE) return recordPyth(config, log, v.out, duration);
  const writer = new RecordingWriter(v.out, venue.toUpperCase(), { recordedBy: 'tributary', symbols: venueSymbols(config, venue) });
  const conn = (id: string) => `${venue.toUpperCase()}.ws.${id}`;
  const http = createHttp({ timeoutMs: config.transport.httpTimeoutMs, onResponse: (url, body, ts) => writer.http(`${venue.toUpperCase()}.http`, ts, url, body) });
  const gw = new Gateway({
    config,
    log,
    venues: [venue],
    serve: false,
    http,
    pyth: false,
    taps: {
      onConnect: (_v, id, url, ts) => writer.connect(conn(id), ts, url),
      onSent: (_v, id, url, data, ts) => writer.send(conn(id), ts, url, data),
      onRecv: (_v, id, data, ts) => writer.recv(conn(id), ts, data),
    },
  });
  await gw.start();
  log.info({ venue, out: v.out, duration }, 'recording');
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    await gw.stop();
    await writer.close();
    console.log(`recorded ${gw.totalFrames()} frames from ${venue} to ${v.out}`);
  };
  if (duration !== undefined) {
    await new Promise((r) => setTimeout(r, duration * 1000));
    await finish();
  } else {
    onSignals(finish);
  }
}

/** `record --venue pyth`: the Hermes catalog (`http` records) and the SSE stream's events (`sse` records). */
async function recordPyth(config: ReturnType<typeof loadConfig>, log: Logger, out: string, duration: number | undefined): Promise<void> {
  const pc = config.pyth;
  const writer = new RecordingWriter(out, 'PYTH', { recordedBy: 'tributary', feeds: pc.feeds });
  const http = createHttp({ timeoutMs: config.transport.httpTimeoutMs, headers: pc.headers, onResponse: (url, body, ts) => writer.http('PYTH.http', ts, url, body) });
  const gw = new Gateway({
    config,
    log,
    venues: [],
    serve: false,
    http,
    pyth: { sseUrl: pc.sse_url, restBase: pc.rest_base, feeds: pc.feeds },
    taps: { onSse: (connId, url, ev, ts) => writer.sse(connId, ts, url, ev) },
  });
  await gw.start();
  log.info({ source: PYTH_SOURCE, out, duration }, 'recording');
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    await gw.stop();
    await writer.close();
    console.log(`recorded ${gw.totalFrames()} events from ${PYTH_SOURCE} to ${out}`);
  };
  if (duration !== undefined) {
    await new Promise((r) => setTimeout(r, duration * 1000));
    await finish();
  } else {
    onSignals(finish);
  }
}

/** One screenful: every consolidated summary (NBBO with venues, spread, venues in) and every venue's health. */
function printSummaries(gw: Gateway): void {
  const lines: string[] = [`-- ${new Date().toISOString()} --`];
  for (const s of gw.consolidator.getAllSummaries()) {
    const bid = s.nbbo.bid ? `${s.nbbo.bid.price} (${s.nbbo.bid.venue})` : '-';
    const ask = s.nbbo.ask ? `${s.nbbo.ask.price} (${s.nbbo.ask.venue})` : '-';
    const spread = s.spread ? `${s.spread.abs.toPrecision(6)} = ${s.spread.bps.toFixed(2)} bps` : '-';
    const eq = s.quoteEquivalence ? ` [${s.quoteEquivalence.join('≈')}]` : '';
    const out = s.excluded.length ? `; excluded ${s.excluded.map((e) => `${e.venue}:${e.reason}`).join(', ')}` : '';
    const oracle = s.oracle ? `  pyth ${s.oracle.price} (${s.oracle.deviationBps === null ? '-' : `${s.oracle.deviationBps >= 0 ? '+' : ''}${s.oracle.deviationBps.toFixed(2)} bps`})` : '';
    lines.push(`${s.symbol.padEnd(16)} bid ${bid}  ask ${ask}  spread ${spread}  venues ${s.venues.join('+')}${eq}${oracle}${out}`);
  }
  const p = gw.pyth;
  if (p) {
    for (const id of p.feedIds()) {
      const st = p.state(id);
      const sym = p.meta(id)?.symbol || id.slice(0, 10);
      lines.push(`pyth ${sym.padEnd(16)} ${st?.last ? `${st.last.priceNum} ± ${st.last.confNum}  ${st.status}  published ${new Date(st.last.publishTime * 1000).toISOString()}` : 'no price yet'}`);
    }
  }
  for (const h of gw.healthMonitor.snapshot()) {
    // Replayed traffic carries the venue times of the recording, so receive − venue time is meaningless there.
    const lat = h.latencyMs === null ? '-' : Math.abs(h.latencyMs) > 3_600_000 ? 'n/a (venue clock off by hours: replay?)' : `${Math.round(h.latencyMs)} ms`;
    lines.push(`health ${h.venue.padEnd(11)} ${h.healthy ? 'healthy  ' : 'UNHEALTHY'} ${h.updatesPerSecond.toFixed(1).padStart(7)} upd/s  latency ${lat}  errors ${h.errorCount}  gaps ${h.gaps}${h.errorMessage ? `  (${h.errorMessage})` : ''}`);
  }
  const arb = gw.arbitrage.recent(3);
  for (const a of arb) lines.push(`arbitrage ${a.symbol}: buy ${a.buyVenue} ${a.buyPrice} sell ${a.sellVenue} ${a.sellPrice} net ${a.profitBps.toFixed(2)} bps vol ${a.volume}`);
  console.log(lines.join('\n'));
}

async function cmdDemo(files: string[], v: Values): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = join(root, '../shared/recordings');
  const recordings = files.length > 0 ? files : existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz')).sort().map((f) => join(dir, f)) : [];
  if (recordings.length === 0) throw new TributaryError('CONFIG_INVALID', `no recordings found in ${dir}; pass FILE... explicitly`);
  // Pyth prices from the project's own fixture (written by test/fixtures/pyth/generate.ts; not captured traffic).
  const pythFixture = join(root, 'test/fixtures/pyth/hermes.jsonl');
  if (files.length === 0 && existsSync(pythFixture)) recordings.push(pythFixture);
  await cmdReplay(recordings, { ...v, config: v.config ?? join(root, 'config/demo.json'), loop: v.loop ?? '0', 'print-summaries': true });
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code for synchronous failures. */
export async function main(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`tributary: ${errorMessage(e)}\n\n${HELP}`);
    process.exit(2);
  }
  const [cmd, ...rest] = parsed.positionals;
  const v = parsed.values;
  if (v.help || cmd === undefined || cmd === 'help') {
    console.log(HELP);
    return;
  }
  try {
    switch (cmd) {
      case 'start':
        await cmdStart(v);
        break;
      case 'replay':
        await cmdReplay(rest, v);
        break;
      case 'simulate':
        await cmdSimulate(rest, v);
        break;
      case 'record':
        await cmdRecord(v);
        break;
      case 'demo':
        await cmdDemo(rest, v);
        break;
      default:
        console.error(`tributary: unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
        process.exit(2);
    }
  } catch (e) {
    if (e instanceof TributaryError) {
      console.error(`tributary: ${e.code}: ${e.message}`);
      process.exit(e.code === 'CONFIG_INVALID' || e.code === 'RECORDING_INVALID' ? 2 : 1);
    }
    throw e;
  }
}
