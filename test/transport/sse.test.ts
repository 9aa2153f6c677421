/**
 * Server-Sent Events: the parser on hand-written streams and on Hermes-format text (the documented example and the
 * project's fixture), and the managed stream against local HTTP servers: reconnect with Last-Event-ID, keep-alives,
 * idle detection, HTTP 429 + Retry-After, errors, rollover; and the simulator's SSE replay (ids, resume, filter).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TributaryError } from '../../src/core/errors.ts';
import { pythSseReplayHooks } from '../../src/oracles/pyth/decode.ts';
import { loadRecording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator } from '../../src/replay/simulator.ts';
import { SseParser, SseStream, parseRetryAfter, type SseEvent } from '../../src/transport/sse.ts';
import { waitFor } from '../helpers/wait.ts';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/pyth/', import.meta.url));
const DOC_SSE = fileURLToPath(new URL('../../../shared/fixtures/pyth/doc_v2_updates_price_stream_sse.txt', import.meta.url));

function parseAll(chunks: string[]): { events: SseEvent[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  return { events, parser };
}

/** Splits text into chunks of pseudo-random sizes (1..n), deterministic. */
function chunked(text: string, n: number, seed = 7): string[] {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < text.length; ) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const k = 1 + (s % n);
    out.push(text.slice(i, i + k));
    i += k;
  }
  return out;
}

describe('SseParser', () => {
  it('joins multi-line data with \\n and dispatches on a blank line', () => {
    const { events } = parseAll(['data: first\ndata: second\ndata:third\n\n']);
    expect(events).toEqual([{ type: 'message', data: 'first\nsecond\nthird', lastEventId: '' }]);
  });

  it('handles LF, CRLF and CR line ends, also split across chunks', () => {
    const text = 'data: a\r\n\r\ndata: b\r\rdata: c\n\n';
    const whole = parseAll([text]).events.map((e) => e.data);
    expect(whole).toEqual(['a', 'b', 'c']);
    for (let n = 1; n <= 4; n++) expect(parseAll(chunked(text, n)).events.map((e) => e.data)).toEqual(['a', 'b', 'c']);
    // A CR at the end of one chunk and the LF at the start of the next are one line end, not two.
    expect(parseAll(['data: x\r', '\ndata: y\r\n', '\r\n']).events.map((e) => e.data)).toEqual(['x\ny']);
  });

  it('counts comments (keep-alives) and never dispatches them; drops a leading BOM', () => {
    const comments: string[] = [];
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e), { onComment: (t) => comments.push(t) });
    p.push('\uFEFF:\n\n: keep-alive\n\ndata: x\n\n:\n\n');
    expect(events.map((e) => e.data)).toEqual(['x']);
    expect(p.comments).toBe(3);
    expect(comments).toEqual(['', ' keep-alive', '']);
  });

  it('reads event types (event: error), ids, retry; strips one space only; ignores unknown fields', () => {
    const retries: number[] = [];
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e), { onRetry: (ms) => retries.push(ms) });
    p.push('event: error\ndata: Connection timeout reached (24h)\n\n');
    p.push('id: 7\nretry: 1500\nfoo: bar\ndata:  two spaces\n\n');
    p.push('id: bad\u0000id\ndata: nul id ignored\n\n');
    p.push('retry: 1.5\ndata\n\n');
    expect(events).toEqual([
      { type: 'error', data: 'Connection timeout reached (24h)', lastEventId: '' },
      { type: 'message', data: ' two spaces', lastEventId: '7' },
      { type: 'message', data: 'nul id ignored', lastEventId: '7' },
      { type: 'message', data: '', lastEventId: '7' },
    ]);
    expect(retries).toEqual([1500]);
    expect(p.lastEventId).toBe('7');
  });

  it('does not dispatch an event without data; discards an unterminated event at end of stream', () => {
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e));
    p.push('event: ping\n\nid: 3\n\ndata: partial');
    p.end();
    p.push('data: next\n\n');
    expect(events).toEqual([{ type: 'message', data: 'next', lastEventId: '3' }]);
  });

  it('drops an oversized line or event, counts it, and keeps parsing', () => {
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e), { maxLineLength: 16, maxEventLength: 16 });
    p.push('data: ' + 'x'.repeat(10));
    p.push('y'.repeat(20) + '\n\n');
    p.push('data: 0123456789\ndata: 0123456789\n\ndata: ok\n\n');
    expect(events.map((e) => e.data)).toEqual(['ok']);
    expect(p.oversized).toBe(2);
  });

  it.skipIf(!existsSync(DOC_SSE))('parses the documented Hermes stream example in any chunking', () => {
    const text = readFileSync(DOC_SSE, 'utf8');
    // The doc block ends right after the second event's data line: that event is complete only once the stream
    // goes on (its blank line); per spec an unterminated event is not dispatched.
    expect(parseAll([text]).events).toHaveLength(1);
    for (const n of [1, 7, 100, 4096]) {
      const { events } = parseAll(chunked(text + '\n', n));
      expect(events).toHaveLength(2);
      const first = JSON.parse(events[0].data) as { parsed: { id: string; price: { price: string } }[] };
      expect(first.parsed[0].id).toBe('e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43');
      expect(first.parsed[0].price.price).toBe('6163260000000');
    }
  });

  it('parses the project fixture (45 events with keep-alive comments between them)', () => {
    const text = readFileSync(`${FIXTURE_DIR}hermes-stream.sse`, 'utf8');
    const { events, parser } = parseAll(chunked(text, 300));
    expect(events).toHaveLength(45);
    expect(parser.comments).toBe(2);
    for (const e of events) expect(() => JSON.parse(e.data)).not.toThrow();
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2);
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 5_000)).toBe(5);
  });
});

// ───────────────────────────── managed stream ─────────────────────────────

interface Req {
  readonly n: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  closed: boolean;
}

/** A local HTTP server whose handler the test sets; records every request. */
async function server(handler: (r: Req) => void): Promise<{ url: string; reqs: Req[]; close: () => Promise<void> }> {
  const reqs: Req[] = [];
  const srv: Server = createServer((req, res) => {
    const r: Req = { n: reqs.length, req, res, closed: false };
    reqs.push(r);
    res.on('close', () => (r.closed = true));
    handler(r);
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v2/updates/price/stream?ids[]=x`;
  return {
    url,
    reqs,
    close: () =>
      new Promise<void>((ok) => {
        srv.closeAllConnections();
        srv.close(() => ok());
      }),
  };
}

const sseHead = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function stream(url: string | (() => string), opts: Partial<ConstructorParameters<typeof SseStream>[0]> = {}) {
  const events: SseEvent[] = [];
  const errors: TributaryError[] = [];
  const delays: number[] = [];
  const s = new SseStream({ url: typeof url === 'string' ? () => url : url, onEvent: (e) => events.push(e), backoff: { baseMs: 10, capMs: 50 }, ...opts });
  s.on('error', (e) => errors.push(e.error));
  s.on('reconnecting', (e) => delays.push(e.delayMs));
  cleanups.push(() => s.stop());
  return { s, events, errors, delays };
}

describe('SseStream', () => {
  it('streams events, reconnects after the server closes, and resumes with Last-Event-ID', async () => {
    const srv = await server((r) => {
      sseHead(r.res);
      if (r.n === 0) {
        r.res.write('id: 41\ndata: one\n\n: keep-alive\n\nid: 42\ndata: two\n\n');
        r.res.end();
      } else {
        r.res.write(`data: resumed after ${r.req.headers['last-event-id']}\n\n`);
      }
    });
    cleanups.push(srv.close);
    const { s, events, errors } = stream(srv.url);
    s.start();
    await waitFor(() => events.length === 3, 5000, 'three events');
    expect(events.map((e) => e.data)).toEqual(['one', 'two', 'resumed after 42']);
    expect(srv.reqs[0].req.headers['last-event-id']).toBeUndefined();
    expect(srv.reqs[0].req.headers.accept).toBe('text/event-stream');
    expect(srv.reqs[1].req.headers['last-event-id']).toBe('42');
    expect(errors.map((e) => e.code)).toEqual(['TRANSPORT_CLOSED']);
    expect(s.reconnects).toBe(1);
    expect(s.lastEventId).toBe('42');
    expect(s.state).toBe('open');
  });

  it('delivers `event: error` to the consumer and keeps the stream', async () => {
    const srv = await server((r) => {
      sseHead(r.res);
      r.res.write('event: error\ndata: Connection timeout reached (24h)\n\ndata: after\n\n');
    });
    cleanups.push(srv.close);
    const { s, events, errors } = stream(srv.url);
    s.start();
    await waitFor(() => events.length === 2);
    expect(events[0]).toMatchObject({ type: 'error', data: 'Connection timeout reached (24h)' });
    expect(errors).toEqual([]);
  });

  it('keep-alive comments keep an idle stream open; silence past staleAfterMs reopens it (TRANSPORT_STALE)', async () => {
    let keepAlives = 0;
    const srv = await server((r) => {
      sseHead(r.res);
      r.res.write('data: hello\n\n');
      if (r.n === 0) {
        const t = setInterval(() => {
          if (keepAlives++ >= 12) {
            clearInterval(t); // then silence
            return;
          }
          r.res.write(':\n\n');
        }, 20);
        r.res.on('close', () => clearInterval(t));
      }
    });
    cleanups.push(srv.close);
    const { s, events, errors } = stream(srv.url, { staleAfterMs: 120 });
    s.start();
    await waitFor(() => keepAlives >= 12, 5000, 'keep-alives');
    expect(errors).toEqual([]); // 12 × 20 ms > 120 ms, yet no stale: comments count as traffic
    await waitFor(() => errors.length > 0, 5000, 'stale');
    expect(errors[0].code).toBe('TRANSPORT_STALE');
    await waitFor(() => srv.reqs.length === 2 && events.length === 2, 5000, 'reopened');
    expect(srv.reqs[0].closed).toBe(true);
  });

  it('honours HTTP 429 Retry-After before the next attempt', async () => {
    const srv = await server((r) => {
      if (r.n === 0) {
        r.res.writeHead(429, { 'retry-after': '1' }).end('Too Many Requests');
        return;
      }
      sseHead(r.res);
      r.res.write('data: ok\n\n');
    });
    cleanups.push(srv.close);
    const { s, events, errors, delays } = stream(srv.url);
    const t0 = Date.now();
    s.start();
    await waitFor(() => events.length === 1, 5000, 'event after the 429');
    expect(errors[0].code).toBe('VENUE_RATE_LIMITED');
    expect(errors[0].context).toMatchObject({ status: 429, retryAfterSec: 1 });
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
  });

  it('a 429 without Retry-After waits rateLimitDelayMs', async () => {
    const srv = await server((r) => r.res.writeHead(429).end());
    cleanups.push(srv.close);
    const { s, delays } = stream(srv.url, { rateLimitDelayMs: 5000 });
    s.start();
    await waitFor(() => delays.length === 1);
    expect(delays[0]).toBe(5000);
  });

  it('maps HTTP errors, non-event-stream bodies and refused connections to typed errors, and keeps retrying', async () => {
    const srv = await server((r) => {
      if (r.n === 0) r.res.writeHead(500).end('boom');
      else if (r.n === 1) r.res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else if (r.n === 2) r.res.writeHead(204).end();
      else r.req.socket.destroy();
    });
    cleanups.push(srv.close);
    const { s, errors, delays } = stream(srv.url, { random: () => 1 });
    s.start();
    await waitFor(() => errors.length >= 5, 5000, 'errors');
    expect(errors.slice(0, 4).map((e) => e.code)).toEqual(['HTTP_ERROR', 'PROTOCOL_MALFORMED', 'TRANSPORT_CLOSED', 'TRANSPORT_CLOSED']);
    expect(errors[0].context).toMatchObject({ status: 500, body: 'boom' });
    // random() = 1: delay = min(cap, base × 2^(n−1)); after a 204 the cap.
    expect(delays.slice(0, 4)).toEqual([10, 20, 50, 50]);
    expect(s.state === 'reconnecting' || s.state === 'connecting').toBe(true);

    const dead = stream('http://127.0.0.1:1/v2/updates/price/stream', { random: () => 0 });
    dead.s.start();
    await waitFor(() => dead.errors.length >= 3, 5000, 'refused');
    expect(dead.errors[0].code).toBe('TRANSPORT_CLOSED');
    expect(dead.delays.slice(0, 3)).toEqual([0, 0, 0]);
  });

  it('a connect timeout is TRANSPORT_CONNECT_TIMEOUT', async () => {
    const srv = await server(() => {
      /* never answers */
    });
    cleanups.push(srv.close);
    const { s, errors } = stream(srv.url, { connectTimeoutMs: 50 });
    s.start();
    await waitFor(() => errors.length > 0);
    expect(errors[0].code).toBe('TRANSPORT_CONNECT_TIMEOUT');
  });

  it('rolls over: opens the replacement before closing the old stream, with no gap', async () => {
    let seq = 0;
    const timers: NodeJS.Timeout[] = [];
    const srv = await server((r) => {
      sseHead(r.res);
      const t = setInterval(() => r.res.write(`id: ${++seq}\ndata: ${r.n}:${seq}\n\n`), 10);
      timers.push(t);
      r.res.on('close', () => clearInterval(t));
    });
    cleanups.push(srv.close, () => timers.forEach(clearInterval));
    const rolled: string[] = [];
    const { s, events, errors } = stream(srv.url, { rolloverMs: 150 });
    s.on('rollover', (e) => rolled.push(e.url));
    s.start();
    await waitFor(() => s.rollovers >= 2, 5000, 'two rollovers');
    await waitFor(() => srv.reqs[0].closed && srv.reqs[1].closed, 5000, 'old streams closed');
    expect(errors).toEqual([]);
    expect(s.reconnects).toBe(0);
    // Each replacement was requested while its predecessor was still delivering, with the last event id.
    expect(srv.reqs[1].req.headers['last-event-id']).toMatch(/^[0-9]+$/);
    const fromFirst = events.filter((e) => e.data.startsWith('0:')).length;
    const fromSecond = events.filter((e) => e.data.startsWith('1:')).length;
    expect(fromFirst).toBeGreaterThan(3);
    expect(fromSecond).toBeGreaterThan(3);
    expect(s.openStreams).toBeGreaterThanOrEqual(1);
  });

  it('rolloverNow re-evaluates the URL (a changed feed set) without dropping the stream', async () => {
    let url = '';
    const srv = await server((r) => {
      sseHead(r.res);
      r.res.write(`data: ${r.req.url}\n\n`);
    });
    cleanups.push(srv.close);
    url = srv.url;
    const { s, events, errors } = stream(() => url, { rolloverMs: 0 });
    s.start();
    await waitFor(() => events.length === 1);
    url = srv.url.replace('ids[]=x', 'ids[]=x&ids[]=y');
    s.rolloverNow();
    await waitFor(() => events.length === 2 && srv.reqs[0].closed);
    expect(events[1].data).toContain('ids[]=y');
    expect(errors).toEqual([]);
  });
});

// ───────────────────────────── simulator ─────────────────────────────

describe('simulator: SSE replay', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const BTC = 'e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43';
  const SOL = 'ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d';

  async function read(url: string, headers: Record<string, string> = {}): Promise<{ status: number; events: SseEvent[] }> {
    const res = await fetch(url, { headers });
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e));
    if (res.status === 200) p.push(await res.text());
    return { status: res.status, events };
  }

  it('serves recorded events as SSE with ids, resumes after Last-Event-ID, filters by ids[], answers the catalog', async () => {
    sim = await startSimulator({ recordings: [loadRecording(`${FIXTURE_DIR}hermes.jsonl`)], hooks: () => undefined, sseHooks: () => pythSseReplayHooks, speed: 'max', settleMs: 0 });
    expect(sim.venues).toEqual(['pyth']);
    const base = `${sim.restBase('pyth')}/v2/updates/price/stream`;
    const all = await read(`${base}?ids[]=${BTC}`);
    expect(all.status).toBe(200);
    expect(all.events).toHaveLength(45);
    expect(all.events.map((e) => e.lastEventId)).toEqual(Array.from({ length: 45 }, (_, i) => String(i)));
    expect(all.events.every((e) => (JSON.parse(e.data) as { parsed: { id: string }[] }).parsed.every((p) => p.id === BTC))).toBe(true);

    const resumed = await read(`${base}?ids[]=${BTC}`, { 'last-event-id': '39' });
    expect(resumed.events.map((e) => e.lastEventId)).toEqual(['40', '41', '42', '43', '44']);
    expect((await read(`${base}?ids[]=${BTC}`, { 'last-event-id': '44' })).status).toBe(204);

    const sol = await read(`${base}?ids[]=0x${SOL}`);
    expect(sol.events.length).toBe(39); // SOL is absent from every 7th event of the fixture
    const catalog = (await (await fetch(`${sim.restBase('pyth')}/v2/price_feeds`)).json()) as { id: string }[];
    expect(catalog.map((c) => c.id)).toContain(SOL);
    expect(sim.stats().sseClients).toBe(0);
  });

  it('paces events at the recorded rate', async () => {
    sim = await startSimulator({ recordings: [loadRecording(`${FIXTURE_DIR}hermes.jsonl`)], hooks: () => undefined, speed: 40, settleMs: 0 });
    const t0 = Date.now();
    const { events } = await read(`${sim.restBase('pyth')}/v2/updates/price/stream`);
    const elapsed = Date.now() - t0;
    expect(events).toHaveLength(45);
    // 44 recorded seconds at 40× ≈ 1.1 s.
    expect(elapsed).toBeGreaterThan(900);
  });
});
