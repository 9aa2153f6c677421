import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, venueSymbols } from '../../src/config/index.ts';
import { TributaryError } from '../../src/core/errors.ts';

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
    expect(c.venues.binance).toEqual(expect.objectContaining({ enabled: true, symbols: ['BTCUSDT'], rateLimit: { requestsPerSecond: 10, burstSize: 20 } }));
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
