/**
 * `tributary start`: the gateway live on the venues' public endpoints (the venues and symbols the configuration
 * enables; `--venues` / `--symbols` narrow them), serving WebSocket and REST until SIGINT / SIGTERM.
 */
import { Gateway } from '../main.ts';
import { sinkFlags, type Values } from './args.ts';
import { gatewayPorts, onSignals, setup, startListening } from './lifecycle.ts';

/**
 * Starts the gateway and logs `tributary started` with `{ws, api, venues, sources}` (the URLs served, the venues
 * run, and each source's feed ids). Resolves once listening; the process then runs until a signal.
 * @throws TributaryError `CONFIG_INVALID` (invalid configuration, unknown venue); CliExit(2) when a port is busy.
 */
export async function startCommand(v: Values): Promise<void> {
  const { config, log } = setup(v);
  const gw = new Gateway({ config, log, sourcesByDefault: true, sinks: sinkFlags(v) });
  await startListening(() => gw.start(), gatewayPorts(config), () => gw.stop());
  log.info(
    {
      ws: `ws://${config.server.host}:${gw.wsPort}`,
      api: `http://${config.api.host}:${gw.apiPort}`,
      venues: [...gw.runners.keys()],
      sources: Object.fromEntries(gw.sources.map((s) => [s.name, s.listFeeds().map((f) => f.feed_id)])),
    },
    'tributary started',
  );
  onSignals(() => gw.stop());
}
