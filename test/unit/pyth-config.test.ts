/** Pyth configuration: defaults, `--pyth-sse-url` / `--pyth-feeds` / `--no-pyth` and their env variables, validation. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { hermesBaseOf, streamUrl } from '../../src/oracles/pyth/wire.ts';

describe('pyth config', () => {
  it('defaults to the public Hermes stream and BTC/USD, ETH/USD, SOL/USD by id; enabled left to the command', () => {
    const c = loadConfig({}, {});
    expect(c.pyth.sse_url).toBe('https://hermes.pyth.network/v2/updates/price/stream');
    expect(c.pyth.feeds).toEqual([
      '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
      '0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace',
      '0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d',
    ]);
    expect(c.pyth.enabled).toBeUndefined();
    expect(c.pyth.rollover_ms).toBe(23 * 3600 * 1000);
    expect(Object.isFrozen(c.pyth.feeds)).toBe(true);
  });

  it('CLI flags win over env, env over the file', () => {
    const env = { TRIBUTARY_PYTH_SSE_URL: 'http://env.example/v2/updates/price/stream', TRIBUTARY_PYTH_FEEDS: 'Crypto.BTC/USD', TRIBUTARY_PYTH_ENABLED: 'true' };
    const fromEnv = loadConfig({}, env);
    expect(fromEnv.pyth).toMatchObject({ sse_url: env.TRIBUTARY_PYTH_SSE_URL, feeds: ['Crypto.BTC/USD'], enabled: true });
    const fromCli = loadConfig({ pythSseUrl: 'http://127.0.0.1:9/v2/updates/price/stream', pythFeeds: ['a', 'b'], pythEnabled: false }, env);
    expect(fromCli.pyth).toMatchObject({ sse_url: 'http://127.0.0.1:9/v2/updates/price/stream', feeds: ['a', 'b'], enabled: false });
  });

  it('rejects a bad URL or a bad boolean with CONFIG_INVALID', () => {
    expect(() => loadConfig({ pythSseUrl: 'not a url' }, {})).toThrow(/pyth\.sse_url/);
    expect(() => loadConfig({}, { TRIBUTARY_PYTH_ENABLED: 'maybe' })).toThrow(/TRIBUTARY_PYTH_ENABLED/);
  });

  it('derives the REST base and builds the stream URL (keeping a query such as a key)', () => {
    expect(hermesBaseOf('https://hermes.pyth.network/v2/updates/price/stream')).toBe('https://hermes.pyth.network');
    expect(hermesBaseOf('http://127.0.0.1:5/pyth/v2/updates/price/stream?x=1')).toBe('http://127.0.0.1:5/pyth');
    const u = new URL(streamUrl('https://h.example/v2/updates/price/stream?api-key=k', ['0xabc', 'def']));
    expect(u.searchParams.get('api-key')).toBe('k');
    expect(u.searchParams.getAll('ids[]')).toEqual(['abc', 'def']);
    expect(u.searchParams.get('parsed')).toBe('true');
  });
});
