/**
 * `replay --sink jsonl:DIR`: the CLI feeds the JSON-lines sink from the bus; the books rebuilt from the sink's files
 * alone (snapshot replaces, delta sets levels, size 0 deletes, reset drops, a new epoch restarts) equal the books the
 * gateway dumped at the end (`--dump-books`). A bad spec exits 2 with a clear message.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DomainEvent, Level } from '../../src/core/events.ts';
import { listJsonlFiles, readJsonlFile } from '../../src/sinks/index.ts';
import { recordingPath } from '../helpers/recordings.ts';
import { runCli as run } from '../helpers/cli.ts';

const kraken = recordingPath('kraken.jsonl.gz');


const ARGS = ['--speed', 'max', '--exit-on-end', '--port', '0', '--api-port', '0', '--host', '127.0.0.1', '--api-host', '127.0.0.1'];

interface Rebuilt {
  epoch: number;
  bids: Map<string, string>;
  asks: Map<string, string>;
}

function setLevels(m: Map<string, string>, levels: readonly Level[]): void {
  for (const [p, s] of levels) {
    if (Number(s) === 0) m.delete(p);
    else m.set(p, s);
  }
}

const sorted = (m: Map<string, string>, desc: boolean): [string, string][] =>
  [...m.entries()].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));

describe.skipIf(!kraken)('e2e: replay --sink jsonl:DIR', () => {
  it('writes every book event; the books rebuilt from the files equal the dumped final books', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-sink-'));
    const dump = join(dir, 'books.json');
    const r = await run(['replay', kraken!, ...ARGS, '--sink', `jsonl:${join(dir, 'events')}`, '--dump-books', dump]);
    expect(r.code, r.out + r.err).toBe(0);
    const files = await listJsonlFiles(join(dir, 'events'));
    expect(files.length).toBeGreaterThan(0);
    const events: DomainEvent[] = [];
    for (const f of files) for (const rec of await readJsonlFile(f)) events.push(rec.event as DomainEvent);
    const books = new Map<string, Rebuilt>();
    let deltas = 0;
    const resetsAtEnd = new Set<string>();
    for (const ev of events) {
      if (ev.kind !== 'book_snapshot' && ev.kind !== 'book_delta' && ev.kind !== 'book_reset') continue;
      const key = `${ev.instrument.venue}|${ev.instrument.symbol}`;
      if (ev.kind === 'book_reset') {
        // Shutdown closes the connections after the dump: those resets end the stream. Any other reset drops the book.
        if (ev.reason !== 'disconnected') books.delete(key);
        else resetsAtEnd.add(key);
      } else if (ev.kind === 'book_snapshot') {
        const b: Rebuilt = { epoch: ev.epoch, bids: new Map(), asks: new Map() };
        setLevels(b.bids, ev.bids);
        setLevels(b.asks, ev.asks);
        books.set(key, b);
        resetsAtEnd.delete(key);
      } else {
        const b = books.get(key);
        expect(b, `delta of ${key} before its snapshot`).toBeDefined();
        expect(resetsAtEnd.has(key), `delta of ${key} after its final reset`).toBe(false);
        expect(ev.epoch).toBe(b!.epoch);
        setLevels(b!.bids, ev.bids);
        setLevels(b!.asks, ev.asks);
        deltas++;
      }
    }
    expect(deltas).toBeGreaterThan(1000);
    const dumped = JSON.parse(readFileSync(dump, 'utf8')) as { books: { venue: string; symbol: string; valid: boolean; bids: [string, string][]; asks: [string, string][] }[] };
    const valid = dumped.books.filter((b) => b.valid);
    expect(valid.length).toBe(10);
    for (const b of valid) {
      const rebuilt = books.get(`${b.venue}|${b.symbol}`);
      expect(rebuilt, b.symbol).toBeDefined();
      expect(sorted(rebuilt!.bids, true)).toEqual(b.bids);
      expect(sorted(rebuilt!.asks, false)).toEqual(b.asks);
    }
  }, 90_000);

  it('a bad sink spec exits 2 naming the problem', async () => {
    const r = await run(['replay', kraken!, ...ARGS, '--sink', 'nope:/tmp/x']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown sink kind "nope"/);
  }, 30_000);
});
