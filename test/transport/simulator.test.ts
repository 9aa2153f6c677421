import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { loadRecording, RecordingWriter, type Recording } from '../../src/replay/recording.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/replay/simulator.ts';
import type { ReplayHooks } from '../../src/venues/connector.ts';
import { waitFor } from '../helpers/wait.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tributary-sim-'));
const sims: Simulator[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Test venue protocol: frames `{"topic":..}`, client `{"op":"sub"|"unsub"|"ping","args":[..]}`, URL `?topics=a,b`. */
const hooks: ReplayHooks = {
  topicsFromUrl: (url) => (url.searchParams.get('topics') ?? '').split(',').filter(Boolean),
  onClientFrame: (text) => {
    const m = JSON.parse(text) as { op?: string; args?: string[] }; // throws on bad JSON: the simulator must cope
    if (m.op === 'sub') return { subscribe: m.args, replies: [JSON.stringify({ ack: 'sub', args: m.args })] };
    if (m.op === 'unsub') return { unsubscribe: m.args, replies: [JSON.stringify({ ack: 'unsub', args: m.args })] };
    if (m.op === 'ping') return { replies: ['{"op":"pong"}'] };
    return {};
  },
  topicOfFrame: (data) => {
    const m = JSON.parse(data) as { topic?: unknown };
    return typeof m.topic === 'string' ? m.topic : null;
  },
  recordedSubscriptions: () => [],
};

let fileNo = 0;
/** Writes a small recording with RecordingWriter and loads it back. */
async function recording(exchange: string, build: (w: RecordingWriter) => void): Promise<Recording> {
  const path = join(tmp, `rec-${fileNo++}.jsonl.gz`);
  const w = new RecordingWriter(path, exchange);
  build(w);
  await w.close();
  return loadRecording(path);
}

async function sim(opts: Partial<SimulatorOptions> & { recordings: Recording[] }): Promise<Simulator> {
  const s = await startSimulator({ hooks: () => hooks, settleMs: 50, ...opts });
  sims.push(s);
  return s;
}

interface Client {
  readonly ws: WebSocket;
  /** Every text message received, in order. */
  readonly msgs: string[];
  /** performance.now() at each message. */
  readonly times: number[];
  /** Parsed messages that carry a `topic` (recorded data frames). */
  data(): { topic: string; n: number }[];
  send(o: unknown): void;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const msgs: string[] = [];
  const times: number[] = [];
  ws.on('message', (d) => {
    msgs.push(String(d));
    times.push(performance.now());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    msgs,
    times,
    data: () => msgs.map((m) => JSON.parse(m) as { topic?: string; n: number }).filter((m): m is { topic: string; n: number } => typeof m.topic === 'string'),
    send: (o) => ws.send(typeof o === 'string' ? o : JSON.stringify(o)),
  };
}

/** Resolves with the HTTP status of a rejected WebSocket upgrade. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    ws.once('open', () => reject(new Error(`upgrade to ${url} unexpectedly succeeded`)));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

const T0 = 1_700_000_000_000; // ms

describe('venue simulator: WebSocket streaming', () => {
  it('streams only subscribed topics in recorded order, merges recordings of a venue, replies to client frames', async () => {
    const r1 = await recording('TEST', (w) => {
      w.connect('c1', T0, 'wss://venue.test/ws');
      w.recv('c1', T0 + 1, '{"ack":"recorded"}'); // connection-level: never replayed
      for (let i = 0; i < 5; i++) w.recv('c1', T0 + 10 + i * 10, JSON.stringify({ topic: 'a', n: i }));
    });
    const r2 = await recording('test', (w) => {
      w.connect('c2', T0, 'wss://venue.test/ws/');
      for (let i = 0; i < 5; i++) {
        w.recv('c2', T0 + 15 + i * 10, JSON.stringify({ topic: 'b', n: i }));
        w.recv('c2', T0 + 16 + i * 10, JSON.stringify({ topic: 'c', n: i }));
      }
    });
    const s = await sim({ recordings: [r1, r2], speed: 'max', log: pino({ level: 'silent' }) });
    expect(s.venues).toEqual(['test']);
    expect(s.wsBase('test')).toBe(`ws://127.0.0.1:${s.port}/test`);
    expect(s.restBase('test')).toBe(`http://127.0.0.1:${s.port}/test`);

    const c = await connect(`${s.wsBase('test')}/ws`);
    c.send({ op: 'sub', args: ['a'] });
    c.send({ op: 'sub', args: ['c'] }); // separate frame within settleMs: still streamed from the start
    await waitFor(() => c.data().length === 10, 3000, '10 data frames');
    await s.ended;

    expect(c.msgs.slice(0, 2).map((m) => JSON.parse(m))).toEqual([
      { ack: 'sub', args: ['a'] },
      { ack: 'sub', args: ['c'] },
    ]);
    const expected: { topic: string; n: number }[] = [];
    for (let i = 0; i < 5; i++) expected.push({ topic: 'a', n: i }, { topic: 'c', n: i });
    expect(c.data()).toEqual(expected);
    expect(c.msgs.some((m) => m.includes('recorded'))).toBe(false);
    expect(s.stats().framesSent).toBe(10);

    // Bad input is ignored and counted; the connection keeps working.
    c.send('not json');
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.send({ op: 'ping' });
    await waitFor(() => c.msgs.includes('{"op":"pong"}'), 3000, 'pong');
    expect(s.stats().ignoredClientFrames).toBe(2);
    expect(s.stats().clients).toBe(1);
  });

  it('takes topics from the URL, accepts the unambiguous bare path and rejects unknown or ambiguous paths with 404', async () => {
    const rt = await recording('TEST', (w) => {
      w.connect('c1', T0, 'wss://venue.test/stream?x=1');
      w.connect('c2', T0, 'wss://venue.test/shared');
      for (let i = 0; i < 4; i++) {
        w.recv('c1', T0 + i, JSON.stringify({ topic: 'a', n: i }));
        w.recv('c1', T0 + i, JSON.stringify({ topic: 'b', n: i }));
      }
    });
    const ro = await recording('OTHER', (w) => {
      w.connect('c1', T0, 'wss://other.test/shared');
      w.recv('c1', T0, JSON.stringify({ topic: 'a', n: 0 }));
    });
    const s = await sim({ recordings: [rt, ro], speed: 'max' });
    expect(s.venues).toEqual(['other', 'test']);

    const c1 = await connect(`${s.wsBase('test')}/stream?topics=b`);
    const c2 = await connect(`ws://127.0.0.1:${s.port}/stream?topics=a`);
    await waitFor(() => c1.data().length === 4 && c2.data().length === 4, 3000, 'URL-topic frames');
    expect(c1.data()).toEqual([0, 1, 2, 3].map((n) => ({ topic: 'b', n })));
    expect(c2.data()).toEqual([0, 1, 2, 3].map((n) => ({ topic: 'a', n })));

    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/test/nope`)).toBe(404);
    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/shared`)).toBe(404); // two venues have it
    const c3 = await connect(`${s.wsBase('other')}/shared?topics=a`);
    await waitFor(() => c3.data().length === 1, 3000, 'prefixed shared path');
  });

  it('unsubscribe stops a topic', async () => {
    const r = await recording('TEST', (w) => {
      w.connect('c1', T0, 'wss://venue.test/ws');
      for (let i = 0; i < 20; i++) w.recv('c1', T0 + i * 40, JSON.stringify({ topic: 'a', n: i }));
      w.recv('c1', T0 + 20 * 40, JSON.stringify({ topic: 'end', n: 0 }));
    });
    const s = await sim({ recordings: [r], speed: 'recorded' });
    const c = await connect(`${s.wsBase('test')}/ws?topics=end`);
    c.send({ op: 'sub', args: ['a'] });
    await waitFor(() => c.data().some((m) => m.topic === 'a'), 3000, 'first a frame');
    c.send({ op: 'unsub', args: ['a'] });
    await waitFor(() => c.data().some((m) => m.topic === 'end'), 3000, 'end frame');
    await s.ended;

    const ackAt = c.msgs.findIndex((m) => m.includes('"unsub"'));
    expect(ackAt).toBeGreaterThan(0);
    const after = c.msgs.slice(ackAt + 1).map((m) => JSON.parse(m) as { topic: string });
    expect(after.filter((m) => m.topic === 'a')).toEqual([]);
    expect(c.data().filter((m) => m.topic === 'a').length).toBeLessThan(20);
  });

  it('respects the recorded pace, a speed multiplier, and max speed', async () => {
    const r = await recording('TEST', (w) => {
      w.connect('p1', T0, 'wss://venue.test/p1');
      for (let i = 0; i < 4; i++) w.recv('p1', T0 + i * 200, JSON.stringify({ topic: 'a', n: i }));
      w.connect('p4', T0, 'wss://venue.test/p4');
      for (let i = 0; i < 4; i++) w.recv('p4', T0 + i * 400, JSON.stringify({ topic: 'a', n: i }));
      w.connect('px', T0, 'wss://venue.test/px');
      for (let i = 0; i < 4; i++) w.recv('px', T0 + i * 10_000, JSON.stringify({ topic: 'a', n: i }));
    });
    const gaps = (c: Client): number[] => c.times.slice(1).map((t, i) => t - c.times[i]);

    const s1 = await sim({ recordings: [r], speed: 'recorded' });
    const c1 = await connect(`${s1.wsBase('test')}/p1?topics=a`);
    await waitFor(() => c1.data().length === 4, 5000, 'recorded-pace frames');
    for (const g of gaps(c1)) expect(g).toBeGreaterThanOrEqual(150);

    const s4 = await sim({ recordings: [r], speed: 4 });
    const c4 = await connect(`${s4.wsBase('test')}/p4?topics=a`);
    await waitFor(() => c4.data().length === 4, 5000, 'speed-4 frames');
    for (const g of gaps(c4)) {
      expect(g).toBeGreaterThanOrEqual(75); // 400 ms recorded / 4 = 100 ms
      expect(g).toBeLessThan(300);
    }

    const sx = await sim({ recordings: [r], speed: 'max' });
    const cx = await connect(`${sx.wsBase('test')}/px?topics=a`);
    await waitFor(() => cx.data().length === 4, 2000, 'max-speed frames (recorded 30 s apart)');
    expect(cx.data().map((m) => m.n)).toEqual([0, 1, 2, 3]);
  });

  it('loop 2 streams everything twice, then ended resolves and end fires', async () => {
    const r = await recording('TEST', (w) => {
      w.connect('c1', T0, 'wss://venue.test/ws');
      for (let i = 0; i < 3; i++) w.recv('c1', T0 + i * 20, JSON.stringify({ topic: 'a', n: i }));
    });
    const s = await sim({ recordings: [r], speed: 'recorded', loop: 2 });
    let endEvents = 0;
    s.on('end', () => endEvents++);
    const c = await connect(`${s.wsBase('test')}/ws?topics=a`);
    await s.ended;
    await waitFor(() => c.data().length === 6, 3000, 'both loops received');
    expect(c.data().map((m) => m.n)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(endEvents).toBe(1);
    expect(s.stats().framesSent).toBe(6);
  });

  it('rejects invalid options', async () => {
    await expect(startSimulator({ recordings: [], hooks: () => hooks, speed: -1 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(startSimulator({ recordings: [], hooks: () => hooks, loop: 1.5 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('venue simulator: HTTP', () => {
  it('answers exact, best-match, sequenced and unknown requests', async () => {
    const r = await recording('TEST', (w) => {
      w.http('h', T0, 'https://api.venue.test/api/depth?symbol=AAA&limit=1000', '{"book":"AAA"}');
      w.http('h', T0 + 1, 'https://api.venue.test/api/depth?symbol=BBB&limit=1000', '{"book":"BBB"}');
      w.http('h', T0 + 2, 'https://api.venue.test/api/info', '{"seq":1}');
      w.http('h', T0 + 3, 'https://api.venue.test/api/info', '{"seq":2}');
      w.http('h', T0 + 4, 'https://api.venue.test/v5/instruments?&category=linear&limit=1000', '{"cat":"linear"}');
      w.http('h', T0 + 5, 'https://api.venue.test/v5/instruments?&category=spot&limit=1000', '{"cat":"spot"}');
    });
    const s = await sim({ recordings: [r] });
    const base = s.restBase('test');
    const get = async (url: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: unknown }> => {
      const res = await fetch(url, init);
      return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
    };

    expect(await get(`${base}/api/depth?symbol=AAA&limit=1000`)).toEqual({ status: 200, type: 'application/json', body: { book: 'AAA' } });
    expect((await get(`${base}/api/depth?limit=1000&symbol=BBB`)).body).toEqual({ book: 'BBB' }); // param order irrelevant
    expect((await get(`${base}/api/depth?symbol=BBB&limit=100`)).body).toEqual({ book: 'BBB' }); // best match: limit differs
    expect((await get(`${base}/v5/instruments?category=spot&limit=1000`)).body).toEqual({ cat: 'spot' }); // empty key ignored
    expect((await get(`http://127.0.0.1:${s.port}/api/depth?symbol=AAA&limit=5`)).body).toEqual({ book: 'AAA' }); // bare path

    expect((await get(`${base}/api/info`)).body).toEqual({ seq: 1 });
    expect((await get(`${base}/api/info`)).body).toEqual({ seq: 2 });
    expect((await get(`${base}/api/info`)).body).toEqual({ seq: 2 }); // repeats the last

    expect(await get(`${base}/api/nothing?x=1`)).toEqual({
      status: 404,
      type: 'application/json',
      body: { error: 'no recorded response', path: '/test/api/nothing?x=1' },
    });
    expect((await get(`${base}/api/depth?symbol=CCC&limit=100`)).status).toBe(404); // AAA and BBB tie: ambiguous
    expect((await get(`${base}/api/info`, { method: 'POST', body: '{}' })).status).toBe(405);
    expect(s.stats().httpServed).toBe(8);
  });
});

describe('venue simulator: backpressure', () => {
  it('stops sending to a client that does not read, near highWaterMark, and resumes when it reads again', async () => {
    const FRAMES = 200;
    const LOOPS = 100;
    const pad = 'x'.repeat(4000);
    const r = await recording('TEST', (w) => {
      w.connect('c1', T0, 'wss://venue.test/ws');
      for (let i = 0; i < FRAMES; i++) w.recv('c1', T0 + i, JSON.stringify({ topic: 'a', n: i, pad }));
    });
    const total = FRAMES * LOOPS; // ≈ 80 MB
    const s = await sim({ recordings: [r], speed: 'max', loop: LOOPS, highWaterMark: 64 * 1024 });
    const c = await connect(`${s.wsBase('test')}/ws?topics=a`);
    const sock = (c.ws as unknown as { _socket: Socket })._socket;
    sock.pause(); // before the settle delay ends: the server fills kernel buffers, then its own, then waits

    await waitFor(() => s.stats().blockedClients === 1, 5000, 'server blocked by backpressure');
    const stuck = s.stats().framesSent;
    let same = 0;
    await waitFor(() => (s.stats().framesSent === stuck ? ++same >= 10 : ((same = 0), false)), 3000, 'framesSent to stay put');
    // Kernel socket buffers (a few MB on loopback) + 64 KiB: far below the 80 MB the client is owed.
    expect(stuck).toBeLessThan(total / 4);

    sock.resume();
    await waitFor(() => c.msgs.length === total, 15_000, 'all frames after resume');
    await s.ended;
    expect(s.stats().framesSent).toBe(total);
    expect(s.stats().blockedClients).toBe(0);
    const ns = c.msgs.slice(-FRAMES).map((m) => (JSON.parse(m) as { n: number }).n);
    expect(ns).toEqual([...Array(FRAMES).keys()]);
  });
});

describe('venue simulator: real recording', () => {
  const file = fileURLToPath(new URL('../../../shared/recordings/binance.jsonl.gz', import.meta.url));

  it('serves exactly the recorded nknusdt@depth@100ms frames of binance.jsonl.gz at max speed', async (ctx) => {
    if (!existsSync(file)) {
      if (process.env.CI === 'true') throw new Error(`recording ${file} is missing (required when CI=true)`);
      ctx.skip(`recording ${file} not present; set it up or run with CI=true to make this a failure`);
    }
    const rec = loadRecording(file);
    const binanceHooks: ReplayHooks = {
      topicsFromUrl: (url) => (url.searchParams.get('streams') ?? '').split('/').filter(Boolean),
      onClientFrame: () => ({}),
      topicOfFrame: (data) => {
        const s = (JSON.parse(data) as { stream?: unknown }).stream;
        return typeof s === 'string' ? s : null;
      },
      recordedSubscriptions: () => [],
    };
    const topic = 'nknusdt@depth@100ms';
    const expected = rec.records.filter((r) => r.t === 'recv' && (JSON.parse(r.data) as { stream?: string }).stream === topic).map((r) => (r as { data: string }).data);
    expect(expected.length).toBeGreaterThan(0);

    const s = await sim({ recordings: [rec], hooks: (v) => (v === 'binance' ? binanceHooks : undefined), speed: 'max' });
    expect(s.venues).toEqual(['binance']);
    const c = await connect(`${s.wsBase('binance')}/stream?streams=${topic}`);
    await s.ended;
    await waitFor(() => c.msgs.length >= expected.length, 5000, `${expected.length} frames`);
    expect(c.msgs).toEqual(expected);
    expect(s.stats().framesSent).toBe(expected.length);
  });
});
