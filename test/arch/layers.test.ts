/**
 * Architecture rules, checked on every source file under `src/` (see `layers.ts` for the rules and
 * `docs/ARCHITECTURE.md` for the layers). Each failing rule lists `file:line → import or name  [rule: why]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  LAYERS,
  checkArchitecture,
  checkHttpClients,
  checkImports,
  checkSourceNames,
  formatViolations,
  importsOf,
  isSharedCode,
  sourceNamesIn,
  type Rule,
  type SourceText,
  type Violation,
} from './layers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): SourceText[] {
  const out: SourceText[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(rel));
    else if (/\.[cm]?[jt]s$/.test(e.name)) out.push({ path: rel, text: readFileSync(path.join(ROOT, rel), 'utf8') });
  }
  return out;
}

/** Fails with the whole list, one violation per line, when there is any. */
function expectNone(vs: readonly Violation[], heading: string): void {
  if (vs.length > 0) throw new Error(formatViolations(heading, vs));
}

const ORDER = LAYERS.map((l, i) => `${i}: ${l.join(', ')}`).join(' < ');

describe('architecture of src/', () => {
  const files = sources('src');
  const all = checkArchitecture(files);
  const of = (...rules: Rule[]) => all.filter((v) => rules.includes(v.rule));

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.some((f) => f.path === 'src/transport/ws.ts')).toBe(true);
  });

  it('every module belongs to a layer', () => {
    expectNone(of('layer-unassigned'), 'modules or imports outside every layer');
  });

  it(`no import goes up the layer order (${ORDER})`, () => {
    expectNone(of('layer-order'), 'upward imports');
  });

  it('obs/ imports only core/, protocol/ only zod', () => {
    expectNone(of('obs-imports', 'protocol-imports'), 'imports obs/ or protocol/ may not make');
  });

  it('venues, oracles and quotes meet only through their registries; plug-in folders never import each other', () => {
    expectNone(of('plugin-isolation'), 'imports across plug-ins');
  });

  it('shared code names no exchange or data source (comments excepted)', () => {
    expectNone(of('source-name'), 'exchange or source names in shared code');
  });

  it('transport/ holds the only HTTP client', () => {
    expectNone(of('http-client'), 'HTTP requests made outside transport/');
  });
});

describe('the checker', () => {
  const rules = (vs: readonly Violation[]) => vs.map((v) => `${v.rule} ${v.file}:${v.line} ${v.subject}`);

  it('sees every import form, type-only ones included, and not imports in comments or strings', () => {
    const text = [
      "import type { A } from './a.ts';",
      "import { type B, c } from './b.ts';",
      "export { d } from './d.ts';",
      "export type * from './e.ts';",
      "export * as f from './f.ts';",
      "import g = require('./g.ts');",
      "const h = await import('./h.ts');",
      "let i: import('./i.ts').I;",
      "// import { x } from './comment.ts';",
      "/* export * from './block.ts'; */",
      "const s = \"import { y } from './string.ts'\";",
    ].join('\n');
    const got = importsOf({ path: 'src/core/x.ts', text });
    expect(got.map((r) => [r.specifier, r.line, r.typeOnly])).toEqual([
      ['./a.ts', 1, true],
      ['./b.ts', 2, false],
      ['./d.ts', 3, false],
      ['./e.ts', 4, true],
      ['./f.ts', 5, false],
      ['./g.ts', 6, false],
      ['./h.ts', 7, false],
      ['./i.ts', 8, true],
    ]);
  });

  it('reports an upward import, type-only or not, and accepts same-layer and downward ones', () => {
    const file: SourceText = {
      path: 'src/transport/ws.ts',
      text: [
        "import type { ConnectionPlan } from '../venues/connector.ts';",
        "import { TributaryError } from '../core/errors.ts';",
        "import { TokenBucket } from './rate-limit.ts';",
        "export { Bus } from '../bus/bus.ts';",
      ].join('\n'),
    };
    const vs = checkImports(file);
    expect(rules(vs)).toEqual([
      'layer-order src/transport/ws.ts:1 ../venues/connector.ts',
      'layer-order src/transport/ws.ts:4 ../bus/bus.ts',
    ]);
    expect(vs[0]!.detail).toContain('transport [layer 1');
    expect(vs[0]!.detail).toContain('imports venues [layer 2');
    expect(vs[0]!.detail).toContain('type-only');
    const msg = formatViolations('upward imports', vs);
    expect(msg).toContain("src/transport/ws.ts:1 → ../venues/connector.ts  [layer-order: transport [layer 1 (transport)] imports venues");
  });

  it('reports a module outside every layer and an import of one', () => {
    expect(rules(checkImports({ path: 'src/widgets/a.ts', text: "import '../core/errors.ts';" }))).toEqual([
      'layer-unassigned src/widgets/a.ts:1 widgets',
    ]);
    expect(rules(checkImports({ path: 'src/core/a.ts', text: "import '../widgets/a.ts';" }))).toEqual([
      'layer-unassigned src/core/a.ts:1 ../widgets/a.ts',
    ]);
  });

  it('root files are placed by name: main.ts may import anything, a core module not main.ts', () => {
    expect(checkImports({ path: 'src/main.ts', text: "import './server/rest.ts'; import './cli/index.ts';" })).toEqual([]);
    expect(rules(checkImports({ path: 'src/core/a.ts', text: "import type { Gateway } from '../main.ts';" }))).toEqual([
      'layer-order src/core/a.ts:1 ../main.ts',
    ]);
  });

  it('keeps obs/ on core/ and protocol/ on zod', () => {
    const obs = { path: 'src/obs/metrics.ts', text: "import 'prom-client'; import '../core/events.ts'; import '../transport/ws.ts'; import '../protocol/messages.ts';" };
    expect(rules(checkImports(obs))).toEqual([
      'layer-order src/obs/metrics.ts:1 ../transport/ws.ts',
      'obs-imports src/obs/metrics.ts:1 ../transport/ws.ts',
      'obs-imports src/obs/metrics.ts:1 ../protocol/messages.ts',
    ]);
    const protocol = { path: 'src/protocol/messages.ts', text: "import { z } from 'zod';\nimport type { Level } from '../core/events.ts';\nimport pino from 'pino';" };
    expect(rules(checkImports(protocol))).toEqual([
      'protocol-imports src/protocol/messages.ts:2 ../core/events.ts',
      'protocol-imports src/protocol/messages.ts:3 pino',
    ]);
  });

  it('keeps venues, oracles and quotes apart except through registries, and venue folders apart', () => {
    const oracle = {
      path: 'src/oracles/pyth/source.ts',
      text: "import type { Http } from '../../venues/connector.ts';\nimport { getConnector } from '../../venues/index.ts';",
    };
    expect(rules(checkImports(oracle))).toEqual(['plugin-isolation src/oracles/pyth/source.ts:1 ../../venues/connector.ts']);
    const venue = {
      path: 'src/venues/okx/decode.ts',
      text: "import { crc } from '../kraken/checksum.ts';\nimport { parseJsonObject } from '../decode-util.ts';\nimport { x } from './wire.ts';",
    };
    expect(rules(checkImports(venue))).toEqual(['plugin-isolation src/venues/okx/decode.ts:1 ../kraken/checksum.ts']);
    expect(rules(checkImports({ path: 'src/oracles/pyth/decode.ts', text: "import '../../quotes/chain.ts';" }))).toEqual([
      'plugin-isolation src/oracles/pyth/decode.ts:1 ../../quotes/chain.ts',
    ]);
  });

  it('finds names as words or identifier parts, in any case and spelling', () => {
    expect(sourceNamesIn('binanceDepth')).toEqual(['binance']);
    expect(sourceNamesIn('OKXTicker')).toEqual(['okx']);
    expect(sourceNamesIn('PYTH_SOURCE')).toEqual(['pyth']);
    expect(sourceNamesIn('wss://stream.bybit.com/v5')).toEqual(['bybit']);
    expect(sourceNamesIn('crypto-com')).toEqual(['crypto.com']);
    expect(sourceNamesIn('cryptoCom')).toEqual(['crypto.com']);
    expect(sourceNamesIn('https://api.crypto.com/exchange')).toEqual(['crypto.com']);
    expect(sourceNamesIn('CRYPTOCOM')).toEqual(['crypto.com']);
    expect(sourceNamesIn('kucoin2')).toEqual(['kucoin']);
    expect(sourceNamesIn('/v2/hermes/stream')).toEqual(['hermes']);
    // Not a name: longer words that merely contain one.
    expect(sourceNamesIn('python cryptography tokxyz')).toEqual([]);
  });

  it('reports a venue name in a shared string or identifier, not in comments, plug-in folders or registries', () => {
    const shared: SourceText = {
      path: 'src/pipeline/sync.ts',
      text: [
        '/** Binance aligns snapshots like this (see the Kraken docs). */',
        "// if (venue === 'bybit') ...",
        "if (venue === 'bybit') skip();",
        'const krakenDepths = [10, 25];',
        'const url = `wss://${host}.okx.com/ws`;',
        'const fine = venue.toUpperCase();',
      ].join('\n'),
    };
    const vs = checkSourceNames(shared);
    expect(rules(vs)).toEqual([
      "source-name src/pipeline/sync.ts:3 'bybit'",
      'source-name src/pipeline/sync.ts:4 krakenDepths',
      'source-name src/pipeline/sync.ts:5 }.okx.com/ws`',
    ]);
    expect(vs[0]!.detail).toBe('string names bybit');
    for (const p of ['src/venues/bybit/decode.ts', 'src/venues/index.ts', 'src/oracles/pyth/wire.ts', 'src/oracles/index.ts', 'src/quotes/index.ts']) {
      expect(isSharedCode(p), p).toBe(false);
      expect(checkSourceNames({ path: p, text: "export const x = 'bybit';" })).toEqual([]);
    }
    for (const p of ['src/venues/connector.ts', 'src/venues/decode-util.ts', 'src/server/rest.ts', 'src/main.ts']) {
      expect(isSharedCode(p), p).toBe(true);
    }
  });

  it('reports a name inside a multi-line string on its own line, with the text around it', () => {
    const text = 'const help = `usage:\n  --symbols LIST\n  --python-path P\n  (e.g. bybit:BTC/USDT:book)\n`;';
    expect(checkSourceNames({ path: 'src/cli/index.ts', text })).toEqual([
      { rule: 'source-name', file: 'src/cli/index.ts', line: 4, subject: '…--python-path P (e.g. bybit:BTC/USDT:book) `', detail: 'string names bybit' },
    ]);
  });

  it('a shared file importing a plug-in by path names it', () => {
    expect(rules(checkSourceNames({ path: 'src/main.ts', text: "import { PythSource } from './oracles/pyth/source.ts';" }))).toEqual([
      'source-name src/main.ts:1 PythSource',
      "source-name src/main.ts:1 './oracles/pyth/source.ts'",
    ]);
  });

  it('reports HTTP requests made outside transport/, not servers, types or transport itself', () => {
    const text = [
      "import { createServer, type IncomingMessage } from 'node:http';",
      "import { request } from 'node:https';",
      "import { fetch as f2 } from 'undici';",
      'export interface O { readonly fetch?: typeof fetch }',
      "const r = await fetch('https://example.org');",
      'const f = globalThis.fetch;',
      'const g = opts.fetch ?? f;',
    ].join('\n');
    expect(rules(checkHttpClients({ path: 'src/oracles/x/source.ts', text }))).toEqual([
      "http-client src/oracles/x/source.ts:2 request from 'node:https'",
      'http-client src/oracles/x/source.ts:3 undici',
      'http-client src/oracles/x/source.ts:5 fetch()',
      'http-client src/oracles/x/source.ts:6 globalThis.fetch',
    ]);
    expect(checkHttpClients({ path: 'src/transport/http.ts', text })).toEqual([]);
  });

  it('checkArchitecture collects every rule, sorted by file and line', () => {
    const vs = checkArchitecture([
      { path: 'src/transport/ws.ts', text: "\nimport '../pipeline/sync.ts';" },
      { path: 'src/core/a.ts', text: "export const VENUE = 'coinbase';" },
    ]);
    expect(rules(vs)).toEqual(["source-name src/core/a.ts:1 'coinbase'", 'layer-order src/transport/ws.ts:2 ../pipeline/sync.ts']);
  });
});
