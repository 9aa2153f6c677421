/**
 * What every command shares around its work: loading the configuration and the logger,
 * turning bind failures into a one-line message naming the port and the flag to change it, signals, and
 * {@link CliExit} (how a command ends the process with a code and a message, without a stack trace).
 */
import { loadConfig, redact, type Config } from '../config/index.ts';
import { errorMessage } from '../core/errors.ts';
import { createLogger, type Logger } from '../obs/log.ts';
import { overrides, type Values } from './args.ts';

/**
 * Thrown by a command to end with exit `code`; `message` (one line, may be empty) goes to stderr as
 * `tributary: <message>`. Code 0 means done, 1 a runtime failure, 2 a usage or
 * environment problem the user can fix (bad flag, busy port).
 */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/**
 * The configuration from flags, env and file; `defaultConfigFile` stands in for a missing `--config` (as `demo`
 * uses `config/demo.json`). @throws TributaryError `CONFIG_INVALID` for an invalid configuration.
 */
export function commandConfig(v: Values, defaultConfigFile?: string): Readonly<Config> {
  const o = overrides(v);
  return loadConfig({ ...o, config: o.config ?? defaultConfigFile });
}

/**
 * {@link commandConfig} and the root logger; the configuration is logged at `debug`, secrets redacted.
 * @throws TributaryError `CONFIG_INVALID` for an invalid configuration.
 */
export function setup(v: Values, defaultConfigFile?: string): { config: Readonly<Config>; log: Logger } {
  const config = commandConfig(v, defaultConfigFile);
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? 'auto' });
  log.debug({ config: redact(config) }, 'configuration');
  return { config, log };
}

/** A listening socket a command opens, for bind-error messages. */
export interface PortSpec {
  /** The configured port (0 = any free port, which cannot be busy). */
  readonly port: number;
  /** The configured interface. */
  readonly host?: string;
  /** What listens there, e.g. `WebSocket server`. */
  readonly what: string;
  /** How to change the port, e.g. `--port N`. */
  readonly flag: string;
  /** How to change the interface, e.g. `--host H`. */
  readonly hostFlag?: string;
}

/** The gateway's listeners as configured: WebSocket (`--port`), REST (`--api-port`), optional Prometheus. */
export function gatewayPorts(config: Readonly<Config>): PortSpec[] {
  const out: PortSpec[] = [
    { port: config.server.port, host: config.server.host, what: 'WebSocket server', flag: '--port N', hostFlag: '--host H' },
    { port: config.api.port, host: config.api.host, what: 'REST API', flag: '--api-port N', hostFlag: '--api-host H' },
  ];
  const prom = config.monitoring.metrics;
  if (prom.enabled && prom.prometheus.enabled && prom.prometheus.port !== undefined) {
    out.push({ port: prom.prometheus.port, host: config.api.host, what: 'Prometheus listener', flag: 'monitoring.metrics.prometheus.port in the config file' });
  }
  return out;
}

const BIND_CODES = ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'] as const;

/**
 * The one-line message for a failure to listen (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, as Node's error or as
 * its text inside another error's message), naming the port and the flag that changes it; undefined when `err`
 * is not a bind failure. The listener is the one whose configured port is the error's, else the only candidate.
 */
export function bindErrorMessage(err: unknown, ports: readonly PortSpec[]): string | undefined {
  const e = err as { code?: unknown; port?: unknown; address?: unknown; message?: unknown } | null;
  const text = typeof e?.message === 'string' ? e.message : String(err);
  const code = BIND_CODES.find((c) => e?.code === c) ?? BIND_CODES.find((c) => text.includes(c));
  if (!code) return undefined;
  const m = /\s(\S+):(\d+)\s*$/.exec(text);
  const port = typeof e?.port === 'number' ? e.port : m ? Number(m[2]) : undefined;
  const address = typeof e?.address === 'string' ? e.address : m?.[1];
  const spec = ports.find((p) => p.port === port && p.port !== 0) ?? (ports.length === 1 ? ports[0] : undefined);
  const what = spec ? ` (${spec.what}${address ? ` on ${address}` : ''})` : address ? ` (on ${address})` : '';
  const change = spec ? `; choose another with ${spec.flag}` : '';
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port ?? '?'} is already in use${what}${change}`;
    case 'EACCES':
      return `not allowed to listen on port ${port ?? '?'}${what} (ports below 1024 need privileges)${change}`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${address ?? 'that address'}${spec ? ` (${spec.what})` : ''}: not an address of this machine${spec?.hostFlag ? `; change it with ${spec.hostFlag}` : ''}`;
  }
}

/**
 * Runs `start` (which opens listeners); a bind failure becomes CliExit(2) with {@link bindErrorMessage}, after
 * `cleanup` (at most 3 s) released what had started. Other failures are rethrown unchanged.
 */
export async function startListening(start: () => Promise<void>, ports: readonly PortSpec[], cleanup?: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (e) {
    const msg = bindErrorMessage(e, ports);
    if (msg === undefined) throw e;
    if (cleanup) await Promise.race([cleanup().catch(() => {}), new Promise((r) => setTimeout(r, 3000).unref())]);
    throw new CliExit(2, msg);
  }
}

/**
 * On SIGINT / SIGTERM runs `stop` once, then exits with the code it returns (default 0; 1 when it throws).
 * A second signal exits at once with 1.
 */
export function onSignals(stop: () => Promise<number | void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    void stop().then(
      (code) => process.exit(code ?? 0),
      (e) => {
        console.error(`tributary: error while stopping after ${sig}: ${errorMessage(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

/** Resolves once `cond()` holds (checked every `everyMs`), or after `timeoutMs` regardless; returns whether it held. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}
