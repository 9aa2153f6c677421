/**
 * A configuration with secrets (the seed shape's `api_key` / `api_secret`, header values) never prints them:
 * not with `--print-config`, not in a `CONFIG_INVALID` message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'trib-secrets-'));
const SECRETS = ['AKIA-SEED-KEY-123', 'SEED-SECRET-456', 'HDR-SECRET-789'];

function capture(): { text: () => string } {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return { text: () => lines.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('cli: secrets in the configuration', () => {
  it('--print-config shows the configuration with secrets redacted', async () => {
    const cfg = join(dir, 'seed.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        exchanges: { binance: { trading_pairs: ['BTCUSDT'], api_key: SECRETS[0], api_secret: SECRETS[1] } },
        pyth: { headers: { 'x-api-key': SECRETS[2] } },
        log: { level: 'INFO' },
      }),
    );
    const out = capture();
    expect(await run(['start', '--config', cfg, '--print-config'])).toBe(0);
    const printed = JSON.parse(out.text()) as { venues: Record<string, { api_key?: string; symbols?: string[] }>; log: { level: string } };
    expect(printed.venues.binance).toMatchObject({ api_key: '[redacted]', symbols: ['BTCUSDT'] });
    expect(printed.log.level).toBe('info');
    for (const s of SECRETS) expect(out.text()).not.toContain(s);
  });

  it('an invalid configuration with secrets exits 2 without echoing them', async () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ exchanges: { binance: { api_key: SECRETS[0], api_secret: SECRETS[1], trading_pairs: 'BTCUSDT' } } }));
    const out = capture();
    expect(await run(['start', '--config', cfg, '--print-config'])).toBe(2);
    expect(out.text()).toMatch(/CONFIG_INVALID.*exchanges\.binance\.trading_pairs/);
    for (const s of SECRETS) expect(out.text()).not.toContain(s);
  });
});
