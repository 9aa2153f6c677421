/**
 * The venue simulator in a worker thread, so `replay` paces and writes recorded traffic on its own core
 * while the gateway decodes on the main thread. Messages: worker → parent `ready` {port, venues} then
 * `ended`; parent → worker `close`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../obs/log.ts';
import { getConnector } from '../venues/index.ts';
import { loadRecording } from './recording.ts';
import { startSimulator, type SimulatorSpeed } from './simulator.ts';

/** What the parent passes to the worker. */
export interface SimWorkerData {
  readonly files: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly speed: SimulatorSpeed;
  readonly loop: number;
  readonly logLevel: string;
}

const d = workerData as SimWorkerData;
const port = parentPort!;
try {
  const log = createLogger({ level: d.logLevel, base: { module: 'simulator' } });
  const sim = await startSimulator({
    recordings: d.files.map((f) => loadRecording(f)),
    hooks: (venue) => getConnector(venue)?.replay,
    host: d.host,
    port: d.port,
    speed: d.speed,
    loop: d.loop,
    log,
  });
  port.postMessage({ type: 'ready', port: sim.port, venues: sim.venues, bases: Object.fromEntries(sim.venues.map((v) => [v, { ws: sim.wsBase(v), rest: sim.restBase(v) }])) });
  void sim.ended.then(() => port.postMessage({ type: 'ended', stats: sim.stats() }));
  port.on('message', (m: { type: string }) => {
    if (m.type === 'close') void sim.close().then(() => port.close());
  });
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
}
