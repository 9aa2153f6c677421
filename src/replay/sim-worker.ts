/**
 * The venue simulator as a child process of `replay`, so it paces and writes recorded traffic on its own
 * core and in its own heap while the gateway decodes. IPC messages: child → parent `ready` {port, venues,
 * bases} then `ended`; parent → child `close`. The child exits when the parent goes away.
 */
import { createLogger } from '../obs/log.ts';
import { oracleSseHooks } from '../oracles/index.ts';
import { getConnector } from '../venues/index.ts';
import { loadRecording } from './recording.ts';
import { startSimulator, type SimulatorSpeed } from './simulator.ts';

/** What the parent passes to the child (as its first argument, JSON). */
export interface SimWorkerData {
  readonly files: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly speed: SimulatorSpeed;
  readonly loop: number;
  readonly logLevel: string;
}

const send = (m: unknown) => process.send?.(m);
const d = JSON.parse(process.argv[2] ?? '{}') as SimWorkerData;
process.on('disconnect', () => process.exit(0));
try {
  const log = createLogger({ level: d.logLevel, base: { module: 'simulator' } });
  const sim = await startSimulator({
    recordings: d.files.map((f) => loadRecording(f)),
    hooks: (venue) => getConnector(venue)?.replay,
    sseHooks: oracleSseHooks,
    host: d.host,
    port: d.port,
    speed: d.speed,
    loop: d.loop,
    log,
  });
  send({ type: 'ready', port: sim.port, venues: sim.venues, bases: Object.fromEntries(sim.venues.map((v) => [v, { ws: sim.wsBase(v), rest: sim.restBase(v) }])) });
  void sim.ended.then(() => send({ type: 'ended', stats: sim.stats() }));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'close') void sim.close().then(() => process.exit(0));
  });
} catch (e) {
  send({ type: 'error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
  process.exit(1);
}
