/**
 * The command line's pure parts: flag parsing, bind-error messages (busy port → the flag to change it), the
 * `--symbols` check of `replay`, and `--help` (venues from the configuration and the registry, env from the table).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { csv, intFlag, overrides, parse, parseSpeed } from '../../src/cli/args.ts';
import { helpText, run } from '../../src/cli/index.ts';
import { bindErrorMessage, gatewayPorts, type PortSpec } from '../../src/cli/lifecycle.ts';
import { unmatchedSymbolsMessage, type RunnerView } from '../../src/cli/replay.ts';
import { ENV_VARS, configFromObject, loadConfig } from '../../src/config/index.ts';
import { VENUES } from '../../src/venues/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));

afterEach(() => vi.restoreAllMocks());

describe('cli flags', () => {
  it('parses flags and maps them onto config overrides', () => {
    const { values, positionals } = parse(['replay', 'a.jsonl.gz', '--port', '0', '--symbols', 'BTC/USDT, ETH/USDT', '--no-pyth', '--log-level', 'INFO']);
    expect(positionals).toEqual(['replay', 'a.jsonl.gz']);
    const o = overrides(values);
    expect(o).toMatchObject({ port: 0, symbols: ['BTC/USDT', 'ETH/USDT'], pythEnabled: false, logLevel: 'INFO' });
    expect(loadConfig(o, {}).log.level).toBe('info');
    expect(() => parse(['start', '--nope'])).toThrow();
  });

  it('reads integers, speeds and lists strictly', () => {
    expect(intFlag('port', '8765')).toBe(8765);
    expect(() => intFlag('port', '-1')).toThrow(/--port must be a non-negative integer/);
    expect(() => intFlag('loop', '')).toThrow(/--loop/);
    expect(parseSpeed(undefined)).toBe('recorded');
    expect(parseSpeed('max')).toBe('max');
    expect(parseSpeed('2.5')).toBe(2.5);
    expect(() => parseSpeed('fast')).toThrow(/--speed/);
    expect(csv(' a, ,b ')).toEqual(['a', 'b']);
  });
});

describe('bind errors', () => {
  const config = configFromObject({ server: { port: 8765, host: '127.0.0.1' }, api: { port: 8080 } });
  const busy = (port: number, address = '127.0.0.1') =>
    Object.assign(new Error(`listen EADDRINUSE: address already in use ${address}:${port}`), { code: 'EADDRINUSE', port, address, syscall: 'listen' });

  it('name the port and the flag to change it, on one line', () => {
    const ports = gatewayPorts(config);
    expect(bindErrorMessage(busy(8765), ports)).toBe('port 8765 is already in use (WebSocket server on 127.0.0.1); choose another with --port N');
    expect(bindErrorMessage(busy(8080, '0.0.0.0'), ports)).toBe('port 8080 is already in use (REST API on 0.0.0.0); choose another with --api-port N');
    const prom = gatewayPorts(configFromObject({ monitoring: { metrics: { prometheus: { port: 9090 } } } }));
    expect(bindErrorMessage(busy(9090), prom)).toContain('monitoring.metrics.prometheus.port');
    for (const m of [bindErrorMessage(busy(8765), ports), bindErrorMessage(busy(8080), ports)]) expect(m).not.toContain('\n');
  });

  it('are recognised inside another error (the simulator process reports them as text)', () => {
    const sim: PortSpec[] = [{ port: 9999, host: '127.0.0.1', what: 'venue simulator', flag: '--sim-port N' }];
    const e = new Error('listen EADDRINUSE: address already in use 127.0.0.1:9999');
    expect(bindErrorMessage(e, sim)).toBe('port 9999 is already in use (venue simulator on 127.0.0.1); choose another with --sim-port N');
    expect(bindErrorMessage(Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES', port: 80 }), [{ port: 80, what: 'WebSocket server', flag: '--port N' }])).toMatch(/port 80 .*--port N/);
  });

  it('leave other errors alone', () => {
    expect(bindErrorMessage(new Error('boom'), gatewayPorts(config))).toBeUndefined();
    expect(bindErrorMessage(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), gatewayPorts(config))).toBeUndefined();
  });
});

describe('replay --symbols', () => {
  const runner = (keys: string[], symbols: Record<string, string>): RunnerView => ({
    subscriptions: keys.map((key) => ({ instrument: { key } })),
    instruments: { get: (k) => (symbols[k] ? { symbol: symbols[k] } : undefined) },
  });
  const names = { 'linear:BTCUSDT': 'BTC/USDT:USDT', 'spot:ETHUSDT': 'ETH/USDT', 'spot:DOGEUSDT': 'DOGE/USDT' };
  const recorded = new Map([['bybit', new Set(['linear:BTCUSDT', 'spot:ETHUSDT'])]]);

  it('is quiet when a requested symbol was recorded', () => {
    expect(unmatchedSymbolsMessage(['ETH/USDT'], new Map([['bybit', runner(['spot:ETHUSDT'], names)]]), recorded)).toBeUndefined();
  });

  it('says what was recorded when nothing matched', () => {
    const m = unmatchedSymbolsMessage(['DOGE/USDT'], new Map([['bybit', runner(['spot:DOGEUSDT'], names)]]), recorded);
    expect(m).toBe('--symbols DOGE/USDT matched no recorded subscription (recorded: bybit BTC/USDT:USDT, ETH/USDT)');
    expect(unmatchedSymbolsMessage(['NOPE/USDT'], new Map([['bybit', runner([], names)]]), recorded)).toMatch(/matched no recorded subscription/);
  });
});

describe('--help', () => {
  it('lists the venues start runs, from the configuration, and every registered venue', () => {
    const defaults = helpText();
    const enabled = Object.entries(configFromObject({}).venues).filter(([, v]) => v.enabled).map(([id]) => id);
    expect(defaults).toContain(`runs: ${enabled.join(', ')}`);
    expect(defaults).toContain(`known venues: ${Object.keys(VENUES).sort().join(', ')}`);
    const cfg = join(dir, 'two.json');
    writeFileSync(cfg, JSON.stringify({ exchanges: { okx: {}, kraken: {} } }));
    expect(helpText(parse(['start', '--config', cfg]).values)).toContain('runs: okx, kraken');
    expect(helpText(parse(['start', '--venues', 'coinbase']).values)).toContain('runs: coinbase');
  });

  it('prints the defaults of the configuration and every environment variable', () => {
    const d = configFromObject({});
    const h = helpText();
    expect(h).toContain(`(default ${d.server.port};`);
    expect(h).toContain(`(default ${d.api.port};`);
    for (const e of ENV_VARS) expect(h).toContain(e.name);
  });

  it('is what `tributary --help` prints (exit 0)', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    expect(await run(['--help'])).toBe(0);
    expect(out.join('\n')).toContain('known venues:');
  });

  it('an unknown command or flag exits 2 with the help', async () => {
    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
    expect(await run(['frobnicate'])).toBe(2);
    expect(await run(['start', '--prot', '1'])).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command "frobnicate"/);
  });
});
