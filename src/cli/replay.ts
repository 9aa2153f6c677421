/**
 * `tributary replay FILE...`: the venue simulator (own process) plays the recordings, and the gateway, pointed at
 * it, subscribes to exactly what the recorded sessions subscribed to (or `--symbols`). Also the engine of `demo`.
 */
import { writeFileSync } from 'node:fs';
import { VENUE_CHANNELS, type Config } from '../config/index.ts';
import { TributaryError } from '../core/errors.ts';
import { Gateway } from '../main.ts';
import { ORACLE_SOURCES, isOracleSource, oracleRecordedFeeds, oracleReplayOverride } from '../oracles/index.ts';
import type { SubscriptionRequest } from '../pipeline/ingest.ts';
import { recordedRequests } from '../replay/direct.ts';
import { loadRecording, recordedRecvTimes, type Recording } from '../replay/recording.ts';
import { startSimulatorThread, type SimulatorThread } from '../replay/sim-thread.ts';
import { venueIdOf } from '../replay/simulator.ts';
import type { VenueEndpoints } from '../venues/connector.ts';
import { VENUES, getConnector } from '../venues/index.ts';
import { csv, intFlag, parseSpeed, sinkFlags, type Values } from './args.ts';
import { CliExit, gatewayPorts, onSignals, setup, startListening, waitUntil } from './lifecycle.ts';

/** What `demo` changes about `replay`. */
export interface ReplayOptions {
  /** Config file used when neither `--config` nor `TRIBUTARY_CONFIG` names one. */
  readonly defaultConfigFile?: string;
  /** `--loop` when not given (replay: 1). */
  readonly defaultLoop?: number;
  /** Print summaries and health every few seconds even without `--print-summaries`. */
  readonly printSummaries?: boolean;
}

/**
 * Loads every recording named on the command line.
 * @throws TributaryError `CONFIG_INVALID` when none is given; `RECORDING_INVALID` for an unreadable one.
 */
export function loadRecordings(files: readonly string[]): Recording[] {
  if (files.length === 0) throw new TributaryError('CONFIG_INVALID', 'give at least one recording FILE');
  return files.map((f) => loadRecording(f));
}

/** What the recordings ask of the gateway. */
export interface ReplayPlan {
  /** Subscription requests per venue (recorded, or `--symbols` × the venue's channels). */
  readonly requests: Map<string, SubscriptionRequest[]>;
  /** Instrument keys the recorded sessions subscribed to, per venue (what the simulator can stream). */
  readonly recordedKeys: Map<string, Set<string>>;
  /** Oracle sources with a recording, and the feed ids their recorded streams asked for. */
  readonly sources: Map<string, Set<string>>;
}

/**
 * Reads the recorded subscriptions of every recording; with `symbols`, venues request those symbols on their
 * configured channels instead. @throws TributaryError `CONFIG_INVALID` for a recording of an unknown venue.
 */
export function replayPlan(recordings: readonly Recording[], config: Readonly<Config>, symbols: readonly string[] | undefined): ReplayPlan {
  const requests = new Map<string, SubscriptionRequest[]>();
  const recordedKeys = new Map<string, Set<string>>();
  const sources = new Map<string, Set<string>>();
  for (const rec of recordings) {
    const venue = venueIdOf(rec.header);
    if (isOracleSource(venue)) {
      const feeds = sources.get(venue) ?? new Set<string>();
      sources.set(venue, feeds);
      // The feeds the recorded streams asked for (else the source streams those its config names).
      for (const id of oracleRecordedFeeds(venue, rec.records.flatMap((r) => (r.t === 'sse' ? [r.url] : [])))) feeds.add(id);
      continue;
    }
    const c = getConnector(venue);
    if (!c) throw new TributaryError('CONFIG_INVALID', `${rec.path}: no connector for venue ${JSON.stringify(venue)} (known: ${Object.keys(VENUES).join(', ')})`);
    const recorded = recordedRequests(rec, c);
    requests.set(venue, [...(requests.get(venue) ?? []), ...recorded]);
    const keys = recordedKeys.get(venue) ?? new Set<string>();
    for (const r of recorded) if (r.key !== undefined) keys.add(r.key);
    recordedKeys.set(venue, keys);
  }
  // "Unless told otherwise": --symbols replaces what the recorded sessions subscribed to.
  if (symbols) {
    for (const venue of requests.keys()) {
      const channels = config.venues[venue]?.channels ?? VENUE_CHANNELS;
      requests.set(venue, symbols.flatMap((symbol) => channels.map((channel) => ({ symbol, channel }))));
    }
  }
  return { requests, recordedKeys, sources };
}

/** The gateway's source overrides: a recorded source streams from the simulator, every other source is off. */
function sourceOverrides(plan: ReplayPlan, sim: SimulatorThread, config: Readonly<Config>): Record<string, false | Record<string, unknown>> {
  const out: Record<string, false | Record<string, unknown>> = {};
  for (const id of ORACLE_SOURCES) {
    const feeds = plan.sources.get(id);
    const enabled = (config as unknown as Record<string, { enabled?: boolean } | undefined>)[id]?.enabled !== false;
    if (!feeds || !enabled) {
      out[id] = false;
      continue;
    }
    out[id] = oracleReplayOverride(id, sim.restBase(id), [...feeds]);
  }
  return out;
}

/** What a venue runner offers for the `--symbols` check (a subset of `VenueRunner`). */
export interface RunnerView {
  readonly subscriptions: readonly { readonly instrument: { readonly key: string } }[];
  readonly instruments: { get(key: string): { readonly symbol: string } | undefined };
}

/**
 * When `--symbols` was given: undefined if some venue subscribed to an instrument its recording streams, else the
 * one-line message saying that nothing matched and what was recorded (canonical symbols per venue).
 */
export function unmatchedSymbolsMessage(symbols: readonly string[], runners: ReadonlyMap<string, RunnerView>, recordedKeys: ReadonlyMap<string, ReadonlySet<string>>): string | undefined {
  for (const [venue, r] of runners) if (r.subscriptions.some((s) => recordedKeys.get(venue)?.has(s.instrument.key))) return undefined;
  const recorded = [...recordedKeys]
    .filter(([, keys]) => keys.size > 0)
    .map(([venue, keys]) => `${venue} ${[...new Set([...keys].map((k) => runners.get(venue)?.instruments.get(k)?.symbol ?? k))].join(', ')}`);
  return `--symbols ${symbols.join(',')} matched no recorded subscription (recorded: ${recorded.join('; ') || 'none'})`;
}

/**
 * Runs `replay` (and `demo`): prints the WebSocket / REST addresses, then serves until a signal, or with
 * `--exit-on-end` plays to the end, writes `--dump-books`, prints `replay finished: N frames, V/B books valid`
 * and resolves. @throws TributaryError (`CONFIG_INVALID`, `RECORDING_INVALID`); CliExit(2) when a port is busy
 * or, with `--exit-on-end`, when `--symbols` matched no recorded subscription.
 */
export async function replayCommand(files: string[], v: Values, opts: ReplayOptions = {}): Promise<void> {
  const { config, log } = setup(v, opts.defaultConfigFile);
  const recordings = loadRecordings(files);
  const symbols = csv(v.symbols);
  const plan = replayPlan(recordings, config, symbols);
  const speed = parseSpeed(v.speed);
  const loop = intFlag('loop', v.loop) ?? opts.defaultLoop ?? 1;
  const simPort = intFlag('sim-port', v['sim-port']) ?? 0;
  // The simulator runs in its own process: it paces and writes on one core while the gateway decodes on another.
  let sim: SimulatorThread | undefined;
  await startListening(
    async () => void (sim = await startSimulatorThread({ files, host: '127.0.0.1', port: simPort, speed, loop, logLevel: config.log.level })),
    [{ port: simPort, host: '127.0.0.1', what: 'venue simulator', flag: '--sim-port N' }],
  );
  const s = sim!;
  const endpoints = new Map<string, VenueEndpoints>();
  for (const venue of plan.requests.keys()) endpoints.set(venue, { wsBase: s.wsBase(venue), restBase: s.restBase(venue) });
  // Receive times in the recording's time (latency and staleness read as recorded, on every loop).
  const recvTimes = new Map([...plan.requests.keys()].map((venue) => [venue, recordedRecvTimes(recordings.filter((r) => venueIdOf(r.header) === venue))] as const));
  const gw = new Gateway({ config, log, venues: [...plan.requests.keys()], requests: plan.requests, endpoints, recvTimes, sinks: sinkFlags(v), sources: sourceOverrides(plan, s, config) });
  const stopAll = async () => {
    await gw.stop();
    await s.close();
  };
  await startListening(() => gw.start(), gatewayPorts(config), stopAll);

  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  const apiHost = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host;
  console.log(`replaying ${files.join(', ')} (speed ${v.speed ?? 'recorded'}, loop ${loop})`);
  const example = gw.pipeline.listFeeds().find((f) => f.channel === 'book')?.feed_id ?? `${[...plan.requests.keys()][0] ?? 'venue'}:BTC/USDT:book`;
  console.log(`  WebSocket: ws://${host}:${gw.wsPort}   e.g. {"type":"subscribe","feed_id":"${example}"}`);
  console.log(`  REST:      http://${apiHost}:${gw.apiPort}/health  /status  /feeds  /v1/books/{venue}/{symbol}  /metrics`);
  for (const src of gw.sources) {
    console.log(`  ${src.name}: {"type":"subscribe","feed_id":"${src.listFeeds()[0]?.feed_id ?? '…'}"}   feeds: http://${apiHost}:${gw.apiPort}/feeds`);
  }

  if (symbols && plan.requests.size > 0) {
    // Instruments load from the simulator's recorded answers: quick, but asynchronous.
    await waitUntil(() => [...gw.runners.values()].every((r) => r.state !== 'loading' && r.state !== 'idle'), 10_000);
    const msg = unmatchedSymbolsMessage(symbols, gw.runners, plan.recordedKeys);
    if (msg !== undefined) {
      if (v['exit-on-end']) {
        await stopAll();
        throw new CliExit(2, msg);
      }
      console.error(`tributary: warning: ${msg}; nothing will stream`);
    }
  }
  if (v['print-summaries'] || opts.printSummaries) {
    const timer = setInterval(() => printSummaries(gw), Math.max(2000, config.monitoring.health_check_interval_ms));
    timer.unref();
  }
  if (!v['exit-on-end']) {
    onSignals(stopAll);
    return;
  }
  await s.ended;
  await finishReplay(gw, v['dump-books']);
  await stopAll();
}

/** After the simulator has written everything: waits until the gateway has processed it, dumps and reports. */
async function finishReplay(gw: Gateway, dumpFile: string | undefined): Promise<void> {
  // Processed when no new frame arrived for 300 ms.
  let last = -1;
  for (;;) {
    const n = gw.totalFrames();
    if (n === last) break;
    last = n;
    await new Promise((r) => setTimeout(r, 300));
  }
  // Snapshot fetches still in flight finish quickly against the local simulator.
  await waitUntil(() => ![...gw.runners.values()].some((r) => r.sync.books().some((b) => !b.valid)), 5000, 100);
  const dump = gw.dumpBooks();
  if (dumpFile) {
    writeFileSync(dumpFile, JSON.stringify(dump, null, 1));
    console.log(`wrote ${dump.books.length} books to ${dumpFile}`);
  }
  gw.syncMetrics();
  const frames = gw.totalFrames();
  const rs = [...gw.runners.values()].map((r) => r.counters).filter((c) => c.frames > 0);
  if (rs.length > 0) {
    const span = (Math.max(...rs.map((c) => c.lastFrameAt)) - Math.min(...rs.map((c) => c.firstFrameAt))) / 1000;
    console.log(`processing: ${span.toFixed(3)} s from first to last frame (${Math.round(frames / Math.max(span, 0.001))} frames/s)`);
  }
  console.log(`replay finished: ${frames} frames, ${dump.books.filter((b) => b.valid).length}/${dump.books.length} books valid`);
}

/** One screenful: every consolidated summary (NBBO with venues, spread, venues in), source feeds, venue health, arbitrage. */
function printSummaries(gw: Gateway): void {
  const lines: string[] = [`-- ${new Date().toISOString()} --`];
  for (const s of gw.consolidator.getAllSummaries()) {
    const bid = s.nbbo.bid ? `${s.nbbo.bid.price} (${s.nbbo.bid.venue})` : '-';
    const ask = s.nbbo.ask ? `${s.nbbo.ask.price} (${s.nbbo.ask.venue})` : '-';
    const spread = s.spread ? `${s.spread.abs.toPrecision(6)} = ${s.spread.bps.toFixed(2)} bps` : '-';
    const eq = s.quoteEquivalence ? ` [${s.quoteEquivalence.join('≈')}]` : '';
    const out = s.excluded.length ? `; excluded ${s.excluded.map((e) => `${e.venue}:${e.reason}`).join(', ')}` : '';
    const skew = s.venueSkewMs !== undefined ? `  venue-time skew ${(s.venueSkewMs / 60_000).toFixed(1)} min` : '';
    const o = s.oracle;
    const oracle = o ? `  ${o.source} ${o.price}${o.stale ? ' STALE' : ''} (${o.deviationBps === null ? '-' : `${o.deviationBps >= 0 ? '+' : ''}${o.deviationBps.toFixed(2)} bps`})` : '';
    lines.push(`${s.symbol.padEnd(16)} bid ${bid}  ask ${ask}  spread ${spread}  venues ${s.venues.join('+')}${eq}${skew}${oracle}${out}`);
  }
  for (const src of gw.sources) {
    for (const f of src.listFeeds()) {
      const sym = f.source_symbol || f.symbol || f.feed_id.slice(0, 10);
      const price = f.price === null || f.price === undefined ? 'no price yet' : `${f.price} ± ${f.conf ?? '-'}  ${f.status ?? ''}`;
      lines.push(`${src.name} ${sym.padEnd(16)} ${price}`);
    }
  }
  for (const h of gw.healthMonitor.snapshot()) {
    // Replay maps receive times onto the recording's clock, so this is the latency as recorded.
    const lat = h.latencyMs === null ? '-' : `${Math.round(h.latencyMs)} ms`;
    lines.push(`health ${h.venue.padEnd(11)} ${h.healthy ? 'healthy  ' : 'UNHEALTHY'} ${h.updatesPerSecond.toFixed(1).padStart(7)} upd/s  latency ${lat}  errors ${h.errorCount}  gaps ${h.gaps}${h.errorMessage ? `  (${h.errorMessage})` : ''}`);
  }
  for (const a of gw.arbitrage.recent(3)) lines.push(`arbitrage ${a.symbol}: buy ${a.buyVenue} ${a.buyPrice} sell ${a.sellVenue} ${a.sellPrice} net ${a.profitBps.toFixed(2)} bps vol ${a.volume}`);
  console.log(lines.join('\n'));
}
