import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_VARS, configFromObject, envOverrides, loadConfig, redact, renderEnvHelp, renderEnvMarkdown, venueSymbols } from '../../src/config/index.ts';
import { TributaryError } from '../../src/core/errors.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'trib-cfg-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('config', () => {
  it('has embedded defaults that need no file or service', () => {
    const c = loadConfig({}, {});
    expect(c.server.port).toBe(8765);
    expect(c.api.port).toBe(8080);
    expect(venueSymbols(c, 'bybit')).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(Object.keys(c.venues).sort()).toEqual(['binance', 'bybit']);
    expect(Object.isFrozen(c.server)).toBe(true);
  });

  it('layers file < env < CLI', () => {
    const p = file('a.json', JSON.stringify({ server: { port: 1000 }, api: { port: 1001 }, log: { level: 'warn' } }));
    const c = loadConfig({ config: p, port: 3000 }, { TRIBUTARY_PORT: '2000', TRIBUTARY_API_PORT: '2001' });
    expect(c.server.port).toBe(3000);
    expect(c.api.port).toBe(2001);
    expect(c.log.level).toBe('warn');
  });

  it('reads the file named by TRIBUTARY_CONFIG and venue selection from env', () => {
    const p = file('b.json', JSON.stringify({ venues: { bybit: { symbols: ['BTC/USDT:USDT'] } } }));
    const c = loadConfig({}, { TRIBUTARY_CONFIG: p, TRIBUTARY_VENUES: 'bybit' });
    expect(c.venues.bybit.enabled).toBe(true);
    expect(venueSymbols(c, 'bybit')).toEqual(['BTC/USDT:USDT']);
  });

  it.each([
    ['unknown key', { serverr: {} }, /serverr/],
    ['bad port', { server: { port: 99999 } }, /server\.port/],
    ['bad channel', { venues: { bybit: { channels: ['candles'] } } }, /venues\.bybit\.channels/],
  ])('rejects %s with a clear CONFIG_INVALID error', (_n, body, re) => {
    const p = file(`bad-${_n}.json`, JSON.stringify(body));
    try {
      loadConfig({ config: p }, {});
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TributaryError);
      expect((e as TributaryError).code).toBe('CONFIG_INVALID');
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).toContain(p);
    }
  });

  it('rejects invalid JSON, a missing file and a non-integer env port', () => {
    expect(() => loadConfig({ config: file('x.json', '{nope') }, {})).toThrow(/not valid JSON/);
    expect(() => loadConfig({ config: join(dir, 'missing.json') }, {})).toThrow(/cannot read config file/);
    expect(() => loadConfig({}, { TRIBUTARY_PORT: 'abc' })).toThrow(/TRIBUTARY_PORT must be an integer/);
  });
});

describe('config: the documented exchanges / aggregation / monitoring shape', () => {
  it('maps exchanges onto venues, disables unlisted venues and keeps aggregation settings', () => {
    const p = file(
      'exchanges.json',
      JSON.stringify({
        exchanges: { binance: { enabled: true, trading_pairs: ['BTCUSDT'], rate_limit: { requests_per_second: 10, burst_size: 20 } } },
        aggregation: { summary_interval_ms: 250, max_price_levels: 5 },
        monitoring: { health_check_interval_ms: 1000, metrics: { enabled: true, prometheus: { enabled: true, port: 9090 } } },
      }),
    );
    const c = loadConfig({ config: p }, { TRIBUTARY_MAX_PRICE_LEVELS: '7' });
    expect(c.venues.binance).toEqual(expect.objectContaining({ enabled: true, symbols: ['BTCUSDT'], rate_limit: { requests_per_second: 10, burst_size: 20 } }));
    expect(c.venues.bybit.enabled).toBe(false);
    expect(c.aggregation.summary_interval_ms).toBe(250);
    expect(c.aggregation.max_price_levels).toBe(7); // env overrides the file
    expect(c.aggregation.quote_groups).toEqual([]); // equivalence groups are off by default
    expect(c.monitoring.metrics.prometheus.port).toBe(9090);
    // Loading twice in one process must not trip over frozen defaults.
    expect(loadConfig({}, {}).venues.bybit.enabled).toBe(true);
  });

  it('parses quote groups from the environment', () => {
    const c = loadConfig({}, { TRIBUTARY_QUOTE_GROUPS: 'usdt=usd=usdc;eur=eurc' });
    expect(c.aggregation.quote_groups).toEqual([['USDT', 'USD', 'USDC'], ['EUR', 'EURC']]);
  });
});

describe('config: one casing, defaults defined once', () => {
  it('loads snake_case everywhere and prints no other casing', () => {
    const c = loadConfig({}, {});
    expect(c.server).toEqual({ host: '0.0.0.0', port: 8765, max_client_frame_bytes: 4096, max_buffered_bytes: 4 * 1024 * 1024, release_grace_ms: 60000 });
    expect(c.transport).toEqual({ connect_timeout_ms: 10000, backoff_base_ms: 500, backoff_cap_ms: 30000, http_timeout_ms: 10000 });
    expect(c.venues.bybit).toEqual({ enabled: true, channels: ['book', 'trades', 'ticker'] });
    const keys: string[] = [];
    const walk = (o: unknown) => {
      if (!o || typeof o !== 'object' || Array.isArray(o)) return;
      for (const [k, v] of Object.entries(o)) {
        keys.push(k);
        walk(v);
      }
    };
    walk(JSON.parse(JSON.stringify(c)));
    expect(keys.filter((k) => /[A-Z]/.test(k))).toEqual([]);
  });

  it('fills nested defaults from the fields (a partial section keeps the other defaults)', () => {
    const c = configFromObject({ server: { port: 1 }, monitoring: { metrics: { prometheus: { port: 9 } } }, aggregation: { arbitrage: { min_net_edge_bps: 5 } } });
    expect(c.server.host).toBe('0.0.0.0');
    expect(c.server.max_client_frame_bytes).toBe(4096);
    expect(c.monitoring.metrics).toEqual({ enabled: true, prometheus: { enabled: true, port: 9 } });
    expect(c.aggregation.arbitrage).toEqual({ min_net_edge_bps: 5, default_taker_fee_bps: 10 });
    expect(c.monitoring.health_check_interval_ms).toBe(5000);
  });

  it('reads the old camelCase keys as their snake_case key and rejects both spellings at once', () => {
    const c = configFromObject({
      server: { maxClientFrameBytes: 100 },
      transport: { backoffBaseMs: 50, backoffCapMs: 200 },
      venues: { bybit: { wsBase: 'ws://127.0.0.1:1', restBase: 'http://127.0.0.1:1', rateLimit: { requestsPerSecond: 2, burstSize: 3 }, takerFeeBps: 7 } },
    });
    expect(c.server.max_client_frame_bytes).toBe(100);
    expect(c.transport.backoff_base_ms).toBe(50);
    expect(c.venues.bybit).toEqual({ enabled: true, channels: ['book', 'trades', 'ticker'], ws_base: 'ws://127.0.0.1:1', rest_base: 'http://127.0.0.1:1', rate_limit: { requests_per_second: 2, burst_size: 3 }, taker_fee_bps: 7 });
    expect(() => configFromObject({ venues: { bybit: { wsBase: 'ws://a.example', ws_base: 'ws://b.example' } } })).toThrow(/venues\.bybit: give ws_base or wsBase/);
  });

  it('hands out one casing only: the loaded config has no camelCase keys', () => {
    const c = configFromObject({ venues: { bybit: { ws_base: 'ws://127.0.0.1:1', rate_limit: { requests_per_second: 2, burst_size: 3 } } } });
    const keys = (o: unknown): string[] =>
      o && typeof o === 'object' ? Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => [k, ...keys(v)]) : [];
    const camel = keys(c).filter((k) => /[a-z][A-Z]/.test(k) && !k.includes('/'));
    expect(camel).toEqual([]);
    expect((c.venues.bybit as Record<string, unknown>).wsBase).toBeUndefined();
    expect(c.venues.bybit.rate_limit).toEqual({ requests_per_second: 2, burst_size: 3 });
  });

  it('accepts the log level in any case, from the file, env and CLI', () => {
    expect(loadConfig({ logLevel: 'INFO' }, {}).log.level).toBe('info');
    expect(loadConfig({}, { TRIBUTARY_LOG_LEVEL: 'Debug' }).log.level).toBe('debug');
    expect(configFromObject({ log: { level: 'WARN' } }).log.level).toBe('warn');
    expect(() => loadConfig({ logLevel: 'loud' }, {})).toThrow(/log\.level/);
  });
});

describe('config: the seed aggregator shape with secrets', () => {
  const seed = {
    exchanges: {
      binance: { enabled: true, trading_pairs: ['BTCUSDT'], api_key: 'AKIA-SEED-KEY-123', api_secret: 'SEED-SECRET-456' },
      coinbase: { enabled: false, trading_pairs: ['BTC/USD'], api_key: 'CB-KEY-789', api_secret: 'CB-SECRET-000' },
    },
    venues: { bybit: { symbols: ['BTC/USDT'], api_key: 'BY-KEY-111', api_secret: 'BY-SECRET-222' } },
  };

  it('accepts api_key / api_secret in exchanges and venues entries', () => {
    const c = configFromObject(seed);
    expect(c.venues.binance).toEqual(expect.objectContaining({ enabled: true, symbols: ['BTCUSDT'], api_key: 'AKIA-SEED-KEY-123', api_secret: 'SEED-SECRET-456' }));
    expect(c.venues.coinbase.enabled).toBe(false);
    expect(c.venues.bybit).toEqual(expect.objectContaining({ enabled: true, api_key: 'BY-KEY-111' }));
  });

  it('redacts them (and header values, URL keys) wherever config is printed', () => {
    const c = configFromObject({ ...seed, pyth: { headers: { 'x-api-key': 'HDR-SECRET' }, sse_url: 'https://u:PW-SECRET@h.example/v2/updates/price/stream?api-key=Q-SECRET&x=1' } });
    const text = JSON.stringify(redact(c));
    for (const secret of ['AKIA-SEED-KEY-123', 'SEED-SECRET-456', 'CB-KEY-789', 'CB-SECRET-000', 'BY-KEY-111', 'BY-SECRET-222', 'HDR-SECRET', 'PW-SECRET', 'Q-SECRET']) {
      expect(text).not.toContain(secret);
    }
    const r = redact(c);
    expect(r.venues.binance.api_key).toBe('[redacted]');
    expect(r.pyth.headers).toEqual({ 'x-api-key': '[redacted]' });
    expect(r.pyth.sse_url).toContain('x=1');
    expect(r.venues.binance.symbols).toEqual(['BTCUSDT']);
    expect(c.venues.binance.api_key).toBe('AKIA-SEED-KEY-123'); // the config itself is untouched
  });

  it('never echoes a secret in a validation error', () => {
    try {
      configFromObject({ exchanges: { binance: { api_key: 'AKIA-SEED-KEY-123', api_secret: 12345678, trading_pairs: 'BTCUSDT' } } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/exchanges\.binance\.api_secret/);
      expect((e as Error).message).not.toContain('AKIA-SEED-KEY-123');
      expect((e as Error).message).not.toContain('12345678');
    }
  });

  it('still rejects other unknown keys in an entry', () => {
    expect(() => configFromObject({ exchanges: { binance: { api_passphrase: 'x' } } })).toThrow(/exchanges\.binance: Unrecognized key: "api_passphrase"/);
  });
});

describe('config: the environment table', () => {
  it('is the only list of variables: the loader reads each, and each sets its path', () => {
    expect(new Set(ENV_VARS.map((e) => e.name)).size).toBe(ENV_VARS.length);
    const samples: Record<string, string> = {
      file: join(root, 'config/demo.json'), string: 'x', integer: '7', boolean: 'false', list: 'A,B', 'venue-list': 'okx', 'quote-groups': 'usdt=usd',
    };
    for (const e of ENV_VARS) {
      const o = envOverrides({ [e.name]: samples[e.type] });
      expect(Object.keys(o), e.name).toEqual([e.key]);
    }
    const c = loadConfig({}, { TRIBUTARY_HOST: '127.0.0.2', TRIBUTARY_PYTH_ENABLED: 'no', TRIBUTARY_SUMMARY_INTERVAL_MS: '250', TRIBUTARY_VENUES: 'okx' });
    expect([c.server.host, c.pyth.enabled, c.aggregation.summary_interval_ms]).toEqual(['127.0.0.2', false, 250]);
    expect(Object.entries(c.venues).filter(([, v]) => v.enabled).map(([id]) => id)).toEqual(['okx']);
  });

  it('README lists exactly the variables the table renders', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const m = /<!-- env-table:begin -->\n([\s\S]*?)\n<!-- env-table:end -->/.exec(readme);
    expect(m, 'README has the env-table markers').not.toBeNull();
    expect(m![1]).toBe(renderEnvMarkdown());
  });

  it('--help prints every variable', () => {
    const help = renderEnvHelp();
    for (const e of ENV_VARS) expect(help).toContain(e.name);
  });

  it('nothing outside src/config reads process.env', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.[cm]?[jt]s$/.test(e.name) && /process\.env\b/.test(readFileSync(p, 'utf8'))) offenders.push(relative(root, p));
      }
    };
    walk(join(root, 'src'));
    walk(join(root, 'bin'));
    expect(offenders.filter((p) => !p.startsWith('src/config/'))).toEqual([]);
  });
});
