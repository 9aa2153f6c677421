/**
 * The architecture checker behind `layers.test.ts`: pure functions over `{ path, text }` pairs, so the test can
 * run it both on `src/` and on small in-memory fixtures (to prove it can fail).
 *
 * Sources are parsed with the TypeScript parser, so comments never count and every import form is seen:
 * `import` / `import type`, `export … from`, `import x = require()`, dynamic `import()` and `import('…')` types.
 *
 * Rules (issue P5 point 9; layers as in `../shared/docs/ARCHITECTURE.md`, "Layers, lowest first"):
 * - `layer-unassigned`: every file under `src/` belongs to a layer (a new top-level folder must be placed).
 * - `layer-order`: a module imports its own layer or lower, never higher.
 * - `obs-imports`: `obs/` imports only `core/` (and itself).
 * - `protocol-imports`: `protocol/` imports only `zod` (and itself): it is what a client SDK imports.
 * - `plugin-isolation`: `venues/`, `oracles/` and `quotes/` reach each other only through their registries
 *   (`src/<family>/index.ts`), and a plug-in folder (`src/venues/<venue>/` …) never imports another one's folder.
 * - `source-name`: shared code (everything but plug-in folders and the registries that list them) never names an
 *   exchange or a data source, in identifiers or string literals (comments are ignored).
 * - `http-client`: outside `transport/` nothing makes HTTP requests itself (no `fetch()` / `globalThis.fetch`, no
 *   `undici`, no `request` / `get` / `Agent` from `node:http(s)`); servers (`createServer`) are fine.
 */
import path from 'node:path';
import ts from 'typescript';

/** One source file, `path` relative to the project root with `/` separators (e.g. `src/transport/ws.ts`). */
export interface SourceText {
  readonly path: string;
  readonly text: string;
}

export type Rule =
  | 'layer-unassigned'
  | 'layer-order'
  | 'obs-imports'
  | 'protocol-imports'
  | 'plugin-isolation'
  | 'source-name'
  | 'http-client';

export interface Violation {
  readonly rule: Rule;
  readonly file: string;
  readonly line: number;
  /** The import specifier, or the offending identifier / literal. */
  readonly subject: string;
  /** Why it breaks the rule. */
  readonly detail: string;
}

// ───────────────────────────── layers ─────────────────────────────

/** Lowest first; a module may import its own layer or a lower one. */
export const LAYERS: readonly (readonly string[])[] = [
  ['core', 'protocol', 'obs'],
  ['transport'],
  ['venues', 'oracles', 'quotes'],
  ['pipeline', 'bus'],
  ['sinks', 'store', 'server', 'replay'],
  ['roles', 'main.ts', 'cli', 'cli.ts', 'config', 'lib', 'aggregator.ts'],
];

/** Plug-in families of layer 2: their plug-in folders and registry. */
const FAMILIES: Readonly<Record<string, string>> = { venues: 'venues', oracles: 'oracles', quotes: 'quotes' };

/** The area of a path under `src/`: its top-level folder, or the file name for files directly in `src/`. */
export function areaOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  return parts[1];
}

/** Layer index of a path under `src/`, or undefined when its area is not placed in {@link LAYERS}. */
export function layerOf(file: string): number | undefined {
  const area = areaOf(file);
  if (area === undefined) return undefined;
  const i = LAYERS.findIndex((l) => l.includes(area));
  return i < 0 ? undefined : i;
}

/** Plug-in family (`venues` / `oracles` / `quotes`) of a path, if any. */
function familyOf(file: string): string | undefined {
  const area = areaOf(file);
  return area === undefined ? undefined : FAMILIES[area];
}

/** `src/venues/<venue>/…` → `venues/<venue>` (the plug-in folder), else undefined. */
export function pluginFolderOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 4) return undefined;
  const fam = FAMILIES[parts[1]!];
  return fam === undefined ? undefined : `${fam}/${parts[2]}`;
}

/** `src/venues/index.ts`, `src/oracles/index.ts`, `src/quotes/index.ts`. */
export function isRegistry(file: string): boolean {
  const parts = file.split('/');
  return parts.length === 3 && parts[0] === 'src' && FAMILIES[parts[1]!] !== undefined && /^index\.[cm]?[jt]s$/.test(parts[2]!);
}

/** Shared code: every file under `src/` except plug-in folders and the registries that list them. */
export function isSharedCode(file: string): boolean {
  return file.startsWith('src/') && pluginFolderOf(file) === undefined && !isRegistry(file);
}

function describeLayer(i: number): string {
  return `${i} (${LAYERS[i]!.join(', ')})`;
}

// ───────────────────────────── parsing ─────────────────────────────

export interface ImportRef {
  readonly specifier: string;
  readonly line: number;
  readonly typeOnly: boolean;
}

function parse(file: SourceText): ts.SourceFile {
  const ext = path.extname(file.path);
  const kind = ext === '.js' || ext === '.mjs' || ext === '.cjs' ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, kind);
}

function lineOf(sf: ts.SourceFile, node: ts.Node): number {
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
}

/** Every module reference of a file: static and type-only imports, re-exports, `import x = require()`, `import()`. */
export function importsOf(file: SourceText): ImportRef[] {
  const sf = parse(file);
  const out: ImportRef[] = [];
  const add = (spec: ts.Node | undefined, typeOnly: boolean, at: ts.Node) => {
    if (spec && ts.isStringLiteralLike(spec)) out.push({ specifier: spec.text, line: lineOf(sf, at), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false, node);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly, node);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly, node);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false, node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** `src/x/y.ts` + `../z/w.ts` → `src/z/w.ts`; undefined for bare specifiers (packages, `node:`). */
export function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
}

// ───────────────────────────── names ─────────────────────────────

/** Exchange and data-source names shared code must not contain; each as one or more word sequences. */
export const SOURCE_NAMES: readonly { readonly name: string; readonly forms: readonly (readonly string[])[] }[] = [
  { name: 'binance', forms: [['binance']] },
  { name: 'bybit', forms: [['bybit']] },
  { name: 'coinbase', forms: [['coinbase']] },
  { name: 'kraken', forms: [['kraken']] },
  { name: 'okx', forms: [['okx']] },
  { name: 'kucoin', forms: [['kucoin']] },
  { name: 'crypto.com', forms: [['crypto', 'com'], ['cryptocom']] },
  { name: 'bitstamp', forms: [['bitstamp']] },
  { name: 'pyth', forms: [['pyth']] },
  { name: 'hermes', forms: [['hermes']] },
];

/**
 * Lower-case words of an identifier or text: split at non-alphanumerics, camelCase humps, acronym ends and
 * letter/digit changes (`fetchOKXBook2` → fetch okx book 2, `crypto-com` → crypto com).
 */
export function wordsOf(s: string): string[] {
  return s
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-zA-Z])([0-9])/g, '$1 $2')
    .replace(/([0-9])([a-zA-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/** The source names a piece of text contains as words (see {@link wordsOf}). */
export function sourceNamesIn(s: string): string[] {
  const words = wordsOf(s);
  const found: string[] = [];
  for (const { name, forms } of SOURCE_NAMES) {
    const hit = forms.some((f) => words.some((_, i) => f.every((w, j) => words[i + j] === w)));
    if (hit) found.push(name);
  }
  return found;
}

/** Code tokens that can carry a name: identifiers and string / template / regex literals. Comments are not nodes. */
function kindOfNameCarrier(node: ts.Node): string | undefined {
  switch (node.kind) {
    case ts.SyntaxKind.Identifier:
    case ts.SyntaxKind.PrivateIdentifier:
      return 'identifier';
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.TemplateHead:
    case ts.SyntaxKind.TemplateMiddle:
    case ts.SyntaxKind.TemplateTail:
      return 'string';
    case ts.SyntaxKind.RegularExpressionLiteral:
      return 'regex';
    case ts.SyntaxKind.JsxText:
      return 'text';
    default:
      return undefined;
  }
}

/** Where each name may start in raw source text (confirmed afterwards with {@link sourceNamesIn} on the whole token). */
const NAME_PATTERNS = SOURCE_NAMES.map(({ name, forms }) => ({
  name,
  re: new RegExp(forms.map((f) => f.join('[^a-z0-9]?')).join('|'), 'gi'),
}));

/** The run of identifier / host-name characters around `[i, j)`. */
function tokenAround(s: string, i: number, j: number): string {
  let a = i;
  let b = j;
  while (a > 0 && /[\w$.-]/.test(s[a - 1]!)) a--;
  while (b < s.length && /[\w$.-]/.test(s[b]!)) b++;
  return s.slice(a, b);
}

/** `…text around [i, j)…` on one line, for reports. */
function snippet(s: string, i: number, j: number, pad = 24): string {
  const a = Math.max(0, i - pad);
  const b = Math.min(s.length, j + pad);
  return `${a > 0 ? '…' : ''}${s.slice(a, b)}${b < s.length ? '…' : ''}`.replace(/\s+/g, ' ');
}

/** `source-name` violations of one file (empty for plug-in folders and registries); the line is the name's own line. */
export function checkSourceNames(file: SourceText): Violation[] {
  if (!isSharedCode(file.path)) return [];
  const sf = parse(file);
  const out: Violation[] = [];
  const seen = new Set<string>();
  const visit = (node: ts.Node): void => {
    const kind = kindOfNameCarrier(node);
    if (kind !== undefined) {
      const raw = node.getText(sf);
      const start = node.getStart(sf);
      for (const { name, re } of NAME_PATTERNS) {
        re.lastIndex = 0;
        for (let m = re.exec(raw); m !== null; m = re.exec(raw)) {
          const i = m.index;
          const j = i + m[0].length;
          if (!sourceNamesIn(tokenAround(raw, i, j)).includes(name)) continue; // e.g. `python`
          const line = sf.getLineAndCharacterOfPosition(start + i).line + 1;
          const subject = kind === 'identifier' ? raw : snippet(raw, i, j);
          const key = `${line}\0${name}\0${subject}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ rule: 'source-name', file: file.path, line, subject, detail: `${kind} names ${name}` });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

// ───────────────────────────── imports ─────────────────────────────

/** Import-rule violations of one file (`layer-*`, `obs-imports`, `protocol-imports`, `plugin-isolation`). */
export function checkImports(file: SourceText): Violation[] {
  if (!file.path.startsWith('src/')) return [];
  const out: Violation[] = [];
  const from = file.path;
  const fromLayer = layerOf(from);
  const fromArea = areaOf(from)!;
  if (fromLayer === undefined) {
    out.push({ rule: 'layer-unassigned', file: from, line: 1, subject: fromArea, detail: `src/${fromArea} is in no layer (add it to LAYERS in test/arch/layers.ts and docs/ARCHITECTURE.md)` });
  }
  for (const imp of importsOf(file)) {
    const v = (rule: Rule, detail: string) =>
      out.push({ rule, file: from, line: imp.line, subject: imp.specifier, detail: imp.typeOnly ? `${detail} (type-only import)` : detail });
    const target = resolveRelative(from, imp.specifier);
    if (target === undefined) {
      // A package. Only protocol/ is restricted: a client SDK imports it, so it may depend on zod and nothing else.
      if (fromArea === 'protocol' && imp.specifier !== 'zod' && !imp.specifier.startsWith('zod/')) {
        v('protocol-imports', 'protocol/ may import only zod');
      }
      continue;
    }
    if (!target.startsWith('src/')) continue; // outside the layered tree (e.g. package.json)
    const toArea = areaOf(target)!;
    const toLayer = layerOf(target);
    if (toLayer === undefined) {
      v('layer-unassigned', `imports src/${toArea}, which is in no layer`);
      continue;
    }
    if (fromLayer === undefined) continue;
    if (toLayer > fromLayer) {
      v('layer-order', `${fromArea} [layer ${describeLayer(fromLayer)}] imports ${toArea} [layer ${describeLayer(toLayer)}]`);
    }
    if (fromArea === 'obs' && toArea !== 'obs' && toArea !== 'core') v('obs-imports', `obs/ may import only core/, not ${toArea}/`);
    if (fromArea === 'protocol' && toArea !== 'protocol') v('protocol-imports', `protocol/ may import only zod, not ${toArea}/`);

    const fromFam = familyOf(from);
    const toFam = familyOf(target);
    if (fromFam !== undefined && toFam !== undefined) {
      if (fromFam !== toFam && !isRegistry(target)) {
        v('plugin-isolation', `${fromFam}/ reaches into ${toFam}/ (only its registry src/${toArea}/index.ts may be imported)`);
      }
      const fromFolder = pluginFolderOf(from);
      const toFolder = pluginFolderOf(target);
      if (fromFolder !== undefined && toFolder !== undefined && fromFolder !== toFolder && fromFam === toFam) {
        v('plugin-isolation', `plug-in folder ${fromFolder}/ imports another plug-in's folder ${toFolder}/`);
      }
    }
  }
  return out;
}

// ───────────────────────────── one HTTP client ─────────────────────────────

const HTTP_MODULES = new Set(['node:http', 'node:https', 'http', 'https']);
const HTTP_CLIENT_EXPORTS = new Set(['request', 'get', 'Agent', 'ClientRequest']);
const GLOBALS = new Set(['globalThis', 'global', 'self', 'window']);

/** `http-client` violations of one file: HTTP requests made outside `src/transport/`. */
export function checkHttpClients(file: SourceText): Violation[] {
  if (!file.path.startsWith('src/') || file.path.startsWith('src/transport/')) return [];
  const sf = parse(file);
  const out: Violation[] = [];
  const v = (node: ts.Node, subject: string, detail: string) =>
    out.push({ rule: 'http-client', file: file.path, line: lineOf(sf, node), subject, detail: `${detail}; use transport/http.ts (or transport/sse.ts)` });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text;
      if (spec === 'undici' || spec.startsWith('undici/')) v(node, spec, 'imports an HTTP client library');
      const bindings = node.importClause?.namedBindings;
      if (HTTP_MODULES.has(spec) && bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) {
          const name = (el.propertyName ?? el.name).text;
          if (HTTP_CLIENT_EXPORTS.has(name) && !el.isTypeOnly && !node.importClause!.isTypeOnly) v(el, `${name} from '${spec}'`, 'imports an HTTP client API');
        }
      }
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'fetch') {
      v(node, 'fetch()', 'calls fetch');
    } else if (ts.isPropertyAccessExpression(node) && node.name.text === 'fetch' && ts.isIdentifier(node.expression) && GLOBALS.has(node.expression.text)) {
      v(node, `${node.expression.text}.fetch`, 'uses the global fetch');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** All violations of a set of files, sorted by file and line. */
export function checkArchitecture(files: readonly SourceText[]): Violation[] {
  const out = files.flatMap((f) => [...checkImports(f), ...checkSourceNames(f), ...checkHttpClients(f)]);
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}

/** `file:line → subject  [rule: detail]`, one violation per line, under a heading; long lists start with a count per file. */
export function formatViolations(heading: string, vs: readonly Violation[]): string {
  const lines = vs.map((x) => `  ${x.file}:${x.line} → ${x.subject}  [${x.rule}: ${x.detail}]`);
  let summary = '';
  if (vs.length > 20) {
    const perFile = new Map<string, number>();
    for (const x of vs) perFile.set(x.file, (perFile.get(x.file) ?? 0) + 1);
    summary = `per file: ${[...perFile].map(([f, n]) => `${f} ${n}`).join(', ')}\n`;
  }
  return `${vs.length} ${heading}:\n${summary}${lines.join('\n')}`;
}
