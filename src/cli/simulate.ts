/**
 * `tributary simulate FILE...`: serves recordings as the venues did, on 127.0.0.1 (WebSocket paths from each
 * recorded address, REST answers from the recorded responses, SSE for oracle recordings), until SIGINT / SIGTERM.
 */
import { oracleSseHooks } from '../oracles/index.ts';
import { startSimulator, type Simulator } from '../replay/simulator.ts';
import { getConnector } from '../venues/index.ts';
import { intFlag, parseSpeed, type Values } from './args.ts';
import { onSignals, setup, startListening } from './lifecycle.ts';
import { loadRecordings } from './replay.ts';

/**
 * Starts the simulator on `--port` (default: a free port) and prints `simulator listening on 127.0.0.1:PORT (venues)`.
 * @throws TributaryError `CONFIG_INVALID` / `RECORDING_INVALID`; CliExit(2) when the port is busy.
 */
export async function simulateCommand(files: string[], v: Values): Promise<void> {
  const { log } = setup(v);
  const recordings = loadRecordings(files);
  const port = intFlag('port', v.port) ?? 0;
  let sim: Simulator | undefined;
  await startListening(
    async () =>
      void (sim = await startSimulator({
        recordings,
        hooks: (venue) => getConnector(venue)?.replay,
        sseHooks: oracleSseHooks,
        host: '127.0.0.1',
        port,
        speed: parseSpeed(v.speed),
        loop: intFlag('loop', v.loop) ?? 1,
        log: log.child({ module: 'simulator' }),
      })),
    [{ port, host: '127.0.0.1', what: 'simulator', flag: '--port N' }],
  );
  const s = sim!;
  for (const venue of s.venues) log.info({ venue, ws: s.wsBase(venue), rest: s.restBase(venue) }, 'simulating venue');
  console.log(`simulator listening on 127.0.0.1:${s.port} (${s.venues.join(', ')})`);
  onSignals(() => s.close());
}
