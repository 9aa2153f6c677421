/**
 * The `tributary` command line: dispatch to one module per command (`start`, `replay`, `simulate`, `record`,
 * `demo`, loaded only when run) and `--help`, whose defaults, venues, source flags and environment variables come
 * from the configuration, the venue and source registries and the env table — never from a list written here.
 *
 * Exit codes: 0 done; 1 runtime failure (e.g. `record` got nothing); 2 usage or environment problem the user can
 * fix (invalid configuration or recording, unknown flag or command, busy port).
 */
import { SINK_SPEC_HELP } from '../sinks/index.ts';
import { configFromObject, enabledVenues, loadConfig, redact, renderEnvHelp, sourceSections, LOG_LEVELS, type Config } from '../config/index.ts';
import { TributaryError, errorMessage } from '../core/errors.ts';
import { ORACLE_SOURCES, sourceFlagHelp } from '../oracles/index.ts';
import { VENUES } from '../venues/index.ts';
import { overrides, parse, type Values } from './args.ts';
import { DEMO_CONFIG } from './demo.ts';
import { CliExit, commandConfig } from './lifecycle.ts';

/** Loads a configuration for the help text, or undefined when it does not load (help must always print). */
function tryConfig(load: () => Readonly<Config>): Readonly<Config> | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}

/**
 * The `--help` text. Defaults are the configuration's own; the venues `start` runs are those the configuration in
 * effect (flags `v`, environment, `--config` file) enables, falling back to the built-in defaults when that
 * configuration does not load; known venues come from the venue registry.
 */
export function helpText(v: Partial<Values> = {}): string {
  const d = configFromObject({});
  const current = tryConfig(() => loadConfig(overrides(v as Values)));
  const runs = enabledVenues(current ?? d);
  const known = Object.keys(VENUES).sort();
  const demo = tryConfig(() => loadConfig({ config: DEMO_CONFIG }, {}));
  const demoVenues = demo ? (demo.aggregation.venues ?? enabledVenues(demo)).join(' + ') : '';
  const demoGroups = demo ? demo.aggregation.quote_groups.map((g) => g.join(' = ')).join('; ') : '';
  const demoWhat = demo ? `consolidates ${demoVenues}${demoGroups ? ` under ${demoGroups}` : ''}` : 'the demo settings';
  const sourceFlags = sourceFlagHelp(sourceSections(d)).map(([flag, text]) => `\n  ${flag.padEnd(23)}${text}`).join('');
  return `tributary — market-data aggregator and gateway

Usage:
  tributary start [options]                 connect live to the venues' public endpoints (runs: ${runs.join(', ') || 'none'})
  tributary replay FILE... [options]        start the venue simulator on FILEs and the gateway pointed at it
  tributary simulate FILE... [options]      serve recordings as the venues did (WebSocket + REST) on 127.0.0.1
  tributary record --venue V --out F.jsonl.gz [--symbols A,B] [--duration S]
                                            record live raw traffic of one venue (or oracle source) in the
                                            recording format; exits 1 when nothing was received
  tributary demo [FILE...] [options]        replay ../shared/recordings/*.jsonl.gz (real traffic, one recording
                                            per venue, taken at different times) looping, with config/demo.json
                                            (${demoWhat});
                                            prints summaries and venue health every few seconds
  tributary help                            this text

Gateway options (start, replay, demo):
  --host HOST            WebSocket server interface (default ${d.server.host})
  --port N               WebSocket server port (default ${d.server.port}; 0 = any free port)
  --api-host HOST        REST API interface (default ${d.api.host})
  --api-port N           REST API port (default ${d.api.port}; 0 = any free port)
  --log-level LEVEL      ${LOG_LEVELS.join('|')}, any case (default ${d.log.level})
  --config FILE          JSON config file (see README: Configuration)
  --print-config         print the configuration in effect (secrets redacted) and exit
  --symbols A,B          canonical symbols (start default ${d.symbols.join(',')}; replay default: what was recorded)
  --venues V,W           venues start runs (default: those the configuration enables, now ${runs.join(', ') || 'none'})
                         known venues: ${known.join(', ')}${sourceFlags}

Replay / simulate options:
  --speed S              recorded | max | a multiple of recorded pace, e.g. 10 (default recorded)
  --loop N               play each recording N times; 0 = forever (default 1; demo 0)
  --sim-port N           simulator port for replay (default: a free port)
  --exit-on-end          replay: exit once the recordings have been played and processed (exit 2 when
                         --symbols matched nothing recorded)
  --dump-books OUT.json  replay: on exit, write every final book as JSON
  --print-summaries      replay: print consolidated summaries and venue health every few seconds
  --sink SPEC            start, replay: feed normalized events to a sink (repeatable). ${SINK_SPEC_HELP.split('  ')[0]}
                         (rotating JSON-lines files: one {"topic","event"} object per line)

Record options:
  --venue V              the venue to record, one of: ${[...known, ...ORACLE_SOURCES].join(', ')}
  --out FILE             output recording (gzip JSON lines, same format as ../shared/recordings)
  --duration S           stop after S seconds (default: until Ctrl-C)
  (--symbols and --config as for start; config ws_base/rest_base overrides apply, e.g. to record a simulator)

A busy port stops start, replay and demo with exit code 2 and names the flag to change it.

${renderEnvHelp()}
`;
}

/**
 * Runs the CLI with `argv` (without node and script) in this process. Resolves with the exit code when the
 * command is done or failed (messages already printed), or undefined when it keeps running (servers up; it then
 * exits on SIGINT / SIGTERM). Unexpected errors (bugs) are rethrown with their stack.
 */
export async function run(argv: readonly string[]): Promise<number | undefined> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`tributary: ${errorMessage(e)}\n\n${helpText()}`);
    return 2;
  }
  const [cmd, ...rest] = parsed.positionals;
  const v = parsed.values;
  if (v.help || cmd === undefined || cmd === 'help') {
    console.log(helpText(v));
    return 0;
  }
  try {
    if (v['print-config']) {
      // The configuration the command would run with (demo: config/demo.json unless told otherwise).
      console.log(JSON.stringify(redact(commandConfig(v, cmd === 'demo' ? DEMO_CONFIG : undefined)), null, 2));
      return 0;
    }
    switch (cmd) {
      case 'start':
        await (await import('./start.ts')).startCommand(v);
        return undefined;
      case 'replay': {
        await (await import('./replay.ts')).replayCommand(rest, v);
        return v['exit-on-end'] ? 0 : undefined;
      }
      case 'simulate':
        await (await import('./simulate.ts')).simulateCommand(rest, v);
        return undefined;
      case 'record':
        await (await import('./record.ts')).recordCommand(v);
        return v.duration !== undefined ? 0 : undefined;
      case 'demo':
        await (await import('./demo.ts')).demoCommand(rest, v);
        return v['exit-on-end'] ? 0 : undefined;
      default:
        console.error(`tributary: unknown command ${JSON.stringify(cmd)}\n\n${helpText()}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof CliExit) {
      if (e.message) console.error(`tributary: ${e.message}`);
      return e.code;
    }
    if (e instanceof TributaryError) {
      console.error(`tributary: ${e.code}: ${e.message}`);
      return e.code === 'CONFIG_INVALID' || e.code === 'RECORDING_INVALID' ? 2 : 1;
    }
    throw e;
  }
}

/**
 * The `tributary` entry point (`bin/tributary.js`): {@link run}, then exits with its code when the command is
 * done; a running command (servers, simulator) keeps the process alive.
 */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  if (code !== undefined) process.exit(code);
}
