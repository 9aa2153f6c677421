/**
 * Benchmarks (never run as tests): `npm run bench [-- --loops N --socket-loops M --skip-socket]`.
 *
 * 1. direct: decode + sync + book over the Bybit recording's order-book frames (sequence checks on),
 *    looped, on one core; printed next to a bare `JSON.parse` loop over the same frames.
 * 2. socket: `tributary replay bybit.jsonl.gz --speed max --loop M --exit-on-end` as a child process:
 *    frames/s the gateway processed through real sockets, and its peak RSS.
 * Results are printed and written to `bench/results/<date>.json`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Bus } from '../src/pipeline/bus.ts';
import { VenueRunner } from '../src/pipeline/ingest.ts';
import { ReplayHttp, recordedRequests } from '../src/replay/direct.ts';
import { loadRecording, type HttpRecord } from '../src/replay/recording.ts';
import { getConnector } from '../src/venues/index.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    loops: { type: 'string', default: '60' },
    'socket-loops': { type: 'string', default: '60' },
    'skip-socket': { type: 'boolean', default: false },
    recording: { type: 'string', default: resolve(root, '../shared/recordings/bybit.jsonl.gz') },
  },
});

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function direct() {
  const rec = loadRecording(values.recording!);
  const connector = getConnector('bybit')!;
  const http = new ReplayHttp(rec.records.filter((r): r is HttpRecord => r.t === 'http'));
  const runner = new VenueRunner({
    connector, endpoints: connector.defaultEndpoints, http, bus: new Bus(),
    log: { info() {}, warn() {}, error() {}, debug() {} }, requests: recordedRequests(rec, connector),
  });
  await runner.prepare();
  const plans = connector.plan(runner.subscriptions, connector.defaultEndpoints);
  const conns = new Map<string, { id: string; session: unknown }>();
  const frames: { conn: { id: string; session: unknown }; data: string; ts: number }[] = [];
  for (const r of rec.records) {
    if (r.t === 'connect') {
      const path = new URL(r.addr).pathname;
      conns.set(r.conn, { id: r.conn, session: connector.newSession(plans.find((p) => new URL(p.url).pathname === path)!) });
    } else if (r.t === 'recv' && r.data.startsWith('{"topic":"orderbook.')) {
      frames.push({ conn: conns.get(r.conn)!, data: r.data, ts: r.ts * 1000 });
    }
  }
  const loops = Number(values.loops);
  const total = frames.length * loops;
  // Warm-up, then measure.
  for (const f of frames) runner.process(f.conn, f.data, f.ts);
  let sink = 0;
  const p0 = process.cpuUsage();
  for (let l = 0; l < loops; l++) for (const f of frames) sink += (JSON.parse(f.data) as { ts: number }).ts & 1;
  const parseCpu = cpuSeconds(process.cpuUsage(p0));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let l = 0; l < loops; l++) for (const f of frames) runner.process(f.conn, f.data, f.ts);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(process.cpuUsage(c0));
  const books = runner.sync.books();
  const gaps = books.reduce((n, b) => n + b.stats.gaps, 0);
  if (gaps > 0 || books.some((b) => !b.valid)) throw new Error(`bench replay produced gaps (${gaps}) or invalid books`);
  return {
    frames: total,
    bookFramesPerLoop: frames.length,
    framesPerSecond: Math.round(total / cpu),
    cpuSecondsPer100k: +((cpu / total) * 1e5).toFixed(4),
    wallSeconds: +wall.toFixed(3),
    bareJsonParseCpuSecondsPer100k: +((parseCpu / total) * 1e5).toFixed(4),
    ratioToJsonParse: +(cpu / parseCpu).toFixed(3),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    sink,
  };
}

function socket(): Promise<Record<string, unknown>> {
  const loops = Number(values['socket-loops']);
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [resolve(root, 'bin/tributary.js'), 'replay', values.recording!, '--speed', 'max', '--loop', String(loops), '--exit-on-end', '--port', '0', '--api-port', '0', '--log-level', 'warn'],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(s);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* process gone */
      }
    }, 200);
    child.stdout.on('data', (d) => (out += String(d)));
    child.on('exit', (code) => {
      clearInterval(poll);
      const wall = (performance.now() - t0) / 1000;
      const m = /replay finished: (\d+) frames.*?(\d+)\/(\d+) books valid/.exec(out);
      const pm = /processing: ([\d.]+) s/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`replay exited ${code}: ${out}`));
      const frames = Number(m[1]);
      const streamSeconds = pm ? Number(pm[1]) : wall;
      resolveP({
        loops,
        frames,
        booksValid: `${m[2]}/${m[3]}`,
        streamSeconds: +streamSeconds.toFixed(3),
        framesPerSecond: Math.round(frames / streamSeconds),
        wallSecondsIncludingStartup: +wall.toFixed(2),
        peakRssMb: Math.round(peakKb / 1024),
      });
    });
  });
}

const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length };
result.direct = await direct();
console.log('direct decode+sync+book (Bybit book frames):', result.direct);
if (!values['skip-socket']) {
  result.socket = await socket();
  console.log('through sockets (replay --speed max):', result.socket);
}
mkdirSync(resolve(root, 'bench/results'), { recursive: true });
const file = resolve(root, `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(result, null, 2));
console.log(`written ${file}`);
