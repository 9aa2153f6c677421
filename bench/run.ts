/**
 * Benchmarks (never run as tests): `npm run bench [-- --frames N --socket-loops M --skip-socket --venues a,b]`.
 *
 * 1. direct, per venue with a recording: decode + sync + book (sequence checks and checksums on) over the
 *    recording's frames, repeated, on one core; printed next to a bare `JSON.parse` loop over the same frames.
 *    For Bybit also the P1 figure over its order-book frames only.
 * 2. socket: `tributary replay bybit.jsonl.gz --speed max --loop M --exit-on-end` as a child process
 *    (the simulator in its own process, the gateway over real sockets): frames/s the gateway processed and
 *    the gateway process's peak RSS.
 * Results are printed and written to `bench/results/<date>.json`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Instrument } from '../src/core/instruments.ts';
import { Bus } from '../src/bus/bus.ts';
import { VenueRunner } from '../src/pipeline/ingest.ts';
import { ReplayHttp, recordedRequests } from '../src/replay/direct.ts';
import { loadRecording, type HttpRecord } from '../src/replay/recording.ts';
import { venueIdOf } from '../src/replay/simulator.ts';
import type { BookSnapshot, ConnectionPlan } from '../src/venues/connector.ts';
import { VENUES, getConnector } from '../src/venues/index.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const recordings = resolve(root, '../shared/recordings');
const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '150000' },
    rounds: { type: 'string', default: '5' },
    'socket-loops': { type: 'string', default: '60' },
    'skip-socket': { type: 'boolean', default: false },
    venues: { type: 'string' },
  },
});
const silent = { info() {}, warn() {}, error() {}, debug() {} };

interface Frame {
  conn: string;
  data: string;
  ts: number;
}

/** decode + sync + book over `frames` (repeated to at least `--frames`), best of `--rounds`, vs bare JSON.parse. */
async function benchDirect(file: string, filter?: (data: string) => boolean) {
  const rec = loadRecording(file);
  const venue = venueIdOf(rec.header);
  const connector = getConnector(venue)!;
  const http = new ReplayHttp(rec.records.filter((r): r is HttpRecord => r.t === 'http'));
  const runner = new VenueRunner({ connector, endpoints: connector.defaultEndpoints, http, bus: new Bus(), log: silent, requests: recordedRequests(rec, connector) });
  await runner.prepare();
  const plans = connector.plan(runner.subscriptions, connector.defaultEndpoints);
  const planOf = new Map<string, ConnectionPlan>();
  const frames: Frame[] = [];
  for (const r of rec.records) {
    if (r.t === 'connect') {
      const path = new URL(r.addr).pathname;
      planOf.set(r.conn, plans.find((p) => new URL(p.url).pathname === path) ?? plans[0]);
    } else if (r.t === 'recv' && planOf.has(r.conn) && (!filter || filter(r.data))) {
      frames.push({ conn: r.conn, data: r.data, ts: r.ts * 1000 });
    }
  }
  // REST snapshots (rest-sync venues) fetched once, re-applied at the start of every pass (as after a reconnect).
  // Their response bodies are JSON-parsed in both columns (the gateway parses them too), so the comparison stays fair.
  const snaps: [Instrument, BookSnapshot][] = [];
  const snapBodies: string[] = [];
  const capture = { get: async (u: string) => { const b = await http.get(u); snapBodies.push(b); return b; } };
  if (connector.capabilities.bookSync.snapshot === 'rest' && connector.bookSnapshot) {
    for (const s of runner.subscriptions) {
      if (s.channel !== 'book') continue;
      try {
        snaps.push([s.instrument, await connector.bookSnapshot(s.instrument, s.depth ?? connector.capabilities.defaultDepth, capture, connector.defaultEndpoints)]);
      } catch {
        /* not recorded */
      }
    }
  }
  const keys = runner.sync.books().map((b) => b.key);
  const passes = Math.max(1, Math.ceil(Number(values.frames) / frames.length));
  const total = passes * frames.length;
  const pass = () => {
    const conns = new Map<string, { id: string; session: unknown }>();
    for (const [id, plan] of planOf) conns.set(id, { id, session: connector.newSession(plan) });
    runner.sync.invalidate(keys, 'disconnected');
    for (const b of snapBodies) if (JSON.parse(b) === null) sink++;
    for (const [inst, snap] of snaps) runner.sync.onRestSnapshot(inst.key, snap);
    for (const f of frames) runner.process(conns.get(f.conn)!, f.data, f.ts);
  };
  pass(); // warm-up
  let sink = 0;
  let best = Infinity;
  let bestParse = Infinity;
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    const q0 = process.cpuUsage();
    for (let i = 0; i < passes; i++) {
      for (const b of snapBodies) if (JSON.parse(b) === null) sink++;
      for (const f of frames) if (JSON.parse(f.data) === null) sink++;
    }
    const parse = process.cpuUsage(q0);
    bestParse = Math.min(bestParse, (parse.user + parse.system) / 1e6);
    const c0 = process.cpuUsage();
    for (let i = 0; i < passes; i++) pass();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e6);
  }
  const books = runner.sync.books();
  const checksums = books.reduce((n, b) => n + b.stats.checksumsOk, 0);
  return {
    venue,
    framesPerPass: frames.length,
    framesMeasured: total,
    framesPerSecond: Math.round(total / best),
    cpuSecondsPer100k: +((best / total) * 1e5).toFixed(4),
    jsonParseCpuSecondsPer100k: +((bestParse / total) * 1e5).toFixed(4),
    ratioToJsonParse: +(best / bestParse).toFixed(3),
    booksValidAfter: `${books.filter((b) => b.valid).length}/${books.length}`,
    gaps: books.reduce((n, b) => n + b.stats.gaps, 0),
    checksumsVerified: checksums,
    checksumFailures: books.reduce((n, b) => n + b.stats.checksumFailures, 0),
    sink,
  };
}

function benchSocket(file: string): Promise<Record<string, unknown>> {
  const loops = Number(values['socket-loops']);
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [resolve(root, 'bin/tributary.js'), 'replay', file, '--speed', 'max', '--loop', String(loops), '--exit-on-end', '--port', '0', '--api-port', '0', '--log-level', 'warn'],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* process gone */
      }
    }, 100);
    child.stdout.on('data', (d) => (out += String(d)));
    child.on('exit', (code) => {
      clearInterval(poll);
      const wall = (performance.now() - t0) / 1000;
      const m = /replay finished: (\d+) frames, (\d+)\/(\d+) books valid/.exec(out);
      const pm = /processing: ([\d.]+) s/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`replay exited ${code}: ${out}`));
      const frames = Number(m[1]);
      const seconds = pm ? Number(pm[1]) : wall;
      resolveP({
        loops,
        frames,
        booksValid: `${m[2]}/${m[3]}`,
        streamSeconds: +seconds.toFixed(3),
        framesPerSecond: Math.round(frames / seconds),
        wallSecondsIncludingStartup: +wall.toFixed(2),
        peakRssMb: Math.round(peakKb / 1024),
        note: 'gateway process only (the simulator runs in its own child process); frames counted from first to last received',
      });
    });
  });
}

const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model };
const bybitFile = resolve(recordings, 'bybit.jsonl.gz');
result.p1BybitBookFrames = await benchDirect(bybitFile, (d) => d.startsWith('{"topic":"orderbook.'));
console.log('P1 direct decode+sync+book, Bybit order-book frames:', result.p1BybitBookFrames);
const perVenue: unknown[] = [];
const only = values.venues?.split(',');
for (const venue of Object.keys(VENUES)) {
  if (only && !only.includes(venue)) continue;
  const file = resolve(recordings, `${venue}.jsonl.gz`);
  if (!existsSync(file)) continue;
  const r = await benchDirect(file);
  perVenue.push(r);
  console.log(`${venue.padEnd(11)} ${String(r.framesPerSecond).padStart(8)} frames/s  ${r.cpuSecondsPer100k.toFixed(3)} CPU-s/100k  JSON.parse ${r.jsonParseCpuSecondsPer100k.toFixed(3)}  ratio ${r.ratioToJsonParse}  books ${r.booksValidAfter}  checksums ${r.checksumsVerified}`);
}
result.perVenue = perVenue;
if (!values['skip-socket']) {
  result.socket = await benchSocket(bybitFile);
  console.log('Through sockets (replay --speed max, Bybit):', result.socket);
}
mkdirSync(resolve(root, 'bench/results'), { recursive: true });
const out = resolve(root, `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify(result, null, 2));
console.log(`written ${out}`);
