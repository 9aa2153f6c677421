import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { ManagedSocket, type ManagedSocketEvents, type ManagedSocketOptions } from '../../src/transport/ws.ts';
import type { ConnectionPlan } from '../../src/core/transport-types.ts';
import { waitFor } from '../helpers/wait.ts';

// ---- helpers ---------------------------------------------------------------------------------------

interface TestServer {
  readonly wss: WebSocketServer;
  readonly url: string;
  /** Every connection accepted, in order. */
  readonly conns: ServerSocket[];
  /** Text received from clients, in order, with the connection index and receive time. */
  readonly received: { conn: number; data: string; at: number }[];
  /** Protocol pings received, with the connection index and receive time. */
  readonly pings: { conn: number; at: number }[];
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startServer(opts: { autoPong?: boolean; onConnection?: (ws: ServerSocket, index: number) => void } = {}): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: opts.autoPong ?? true });
  await once(wss, 'listening');
  const port = (wss.address() as net.AddressInfo).port;
  const server: TestServer = { wss, url: `ws://127.0.0.1:${port}/stream`, conns: [], received: [], pings: [] };
  wss.on('connection', (ws) => {
    const index = server.conns.push(ws) - 1;
    ws.on('message', (data) => server.received.push({ conn: index, data: data.toString(), at: Date.now() }));
    ws.on('ping', () => server.pings.push({ conn: index, at: Date.now() }));
    ws.on('error', () => {});
    opts.onConnection?.(ws, index);
  });
  cleanups.push(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  return server;
}

/** A port on 127.0.0.1 that refuses connections (bound once, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function plan(url: string, over: Partial<ConnectionPlan> = {}): ConnectionPlan {
  return {
    id: 'test-0',
    url,
    subscriptions: [],
    subscribeFrames: [],
    heartbeat: { kind: 'none' },
    staleAfterMs: 60_000,
    ...over,
  };
}

type Recorded = { [K in keyof ManagedSocketEvents]: ManagedSocketEvents[K][] };

function managed(opts: ManagedSocketOptions): { sock: ManagedSocket; ev: Recorded; frames: { data: string; recvTs: number }[] } {
  const frames: { data: string; recvTs: number }[] = [];
  const userOnFrame = opts.onFrame;
  const sock = new ManagedSocket({
    backoff: { baseMs: 20, capMs: 100 },
    ...opts,
    onFrame: (data, recvTs) => {
      frames.push({ data, recvTs });
      userOnFrame(data, recvTs);
    },
  });
  const ev: Recorded = { connecting: [], open: [], closed: [], reconnecting: [], error: [], sent: [] };
  for (const k of Object.keys(ev) as (keyof Recorded)[]) {
    sock.on(k, (e) => (ev[k] as unknown[]).push(e));
  }
  cleanups.push(() => sock.stop());
  return { sock, ev, frames };
}

const WS_MODULE = fileURLToPath(new URL('../../src/transport/ws.ts', import.meta.url));

/**
 * Runs `body` (ESM, with `ManagedSocket` and `plan(url, over)` in scope) in a fresh Node process and
 * resolves with its exit code and stdout. The process has nothing else keeping it alive, so it exits by
 * itself only if the socket left no timer or handle behind; a leak shows up as a kill after `limitMs`.
 */
function runIsolated(body: string, limitMs = 5000): Promise<{ code: number | null; killed: boolean; out: string; err: string }> {
  const script = `
const { ManagedSocket } = await import(${JSON.stringify(WS_MODULE)});
const plan = (url, over = {}) => ({ id: 't', url, subscriptions: [], subscribeFrames: [], heartbeat: { kind: 'none' }, staleAfterMs: 60000, ...over });
${body}
`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, limitMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, killed, out, err }); });
  });
}

// ---- tests -----------------------------------------------------------------------------------------

describe('ManagedSocket', () => {
  it('delivers frames (text and binary) as strings with recvTs and sends subscribe frames in order', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send('{"hello":1}');
        ws.send(Buffer.from('{"bin":"é"}'), { binary: true });
      },
    });
    const { sock, ev, frames } = managed({
      plan: () => plan(server.url, { subscribeFrames: ['sub-a', 'sub-b', 'sub-c'] }),
      onFrame: () => {},
    });
    expect(sock.state).toBe('idle');
    expect(sock.send('x')).toBe(false);
    const before = Date.now();
    sock.start();
    await waitFor(() => frames.length >= 2, 3000, 'two frames');
    expect(frames.map((f) => f.data)).toEqual(['{"hello":1}', '{"bin":"é"}']);
    expect(frames[0].recvTs).toBeGreaterThanOrEqual(before);
    expect(frames[0].recvTs).toBeLessThanOrEqual(Date.now());
    expect(sock.lastFrameAt).toBe(frames[1].recvTs);
    await waitFor(() => server.received.length >= 3, 3000, 'subscribe frames');
    expect(server.received.map((r) => r.data)).toEqual(['sub-a', 'sub-b', 'sub-c']);
    expect(sock.state).toBe('open');
    expect(sock.url).toBe(server.url);
    expect(ev.open).toHaveLength(1);
    expect(ev.open[0].plan.id).toBe('test-0');
    expect(ev.sent.map((s) => s.data)).toEqual(['sub-a', 'sub-b', 'sub-c']);
    expect(sock.send('manual')).toBe(true);
    await waitFor(() => server.received.some((r) => r.data === 'manual'), 3000, 'manual frame');
  });

  it('keeps the connection when onFrame throws and counts the error', async () => {
    const server = await startServer({ onConnection: (ws) => { ws.send('a'); ws.send('b'); } });
    let n = 0;
    const { sock } = managed({
      plan: () => plan(server.url),
      onFrame: () => { n++; throw new Error('consumer bug'); },
    });
    sock.start();
    await waitFor(() => n >= 2, 3000, 'two frames');
    expect(sock.frameErrors).toBe(2);
    expect(sock.state).toBe('open');
    expect(sock.reconnects).toBe(0);
  });

  it('reconnects after the server drops the connection and resubscribes from a fresh plan', async () => {
    const server = await startServer({ onConnection: (ws, i) => ws.send(`welcome-${i}`) });
    let planCalls = 0;
    const { sock, ev } = managed({
      plan: () => {
        planCalls++;
        return plan(server.url, { subscribeFrames: [`sub-${planCalls}`] });
      },
      onFrame: () => {},
    });
    sock.start();
    await waitFor(() => server.received.some((r) => r.data === 'sub-1'), 3000, 'first subscribe');
    await waitFor(() => sock.lastFrameAt > 0, 3000, 'first frame');

    server.conns[0].terminate();

    await waitFor(() => server.received.some((r) => r.data === 'sub-2' && r.conn === 1), 3000, 'resubscribe');
    expect(planCalls).toBe(2);
    expect(ev.closed.length).toBeGreaterThanOrEqual(1);
    expect(ev.closed[0].code).toBe(1006);
    expect(ev.error[0].error.code).toBe('TRANSPORT_CLOSED');
    expect(ev.reconnecting).toHaveLength(1);
    expect(ev.reconnecting[0].attempt).toBe(1);
    expect(ev.reconnecting[0].delayMs).toBeGreaterThanOrEqual(0);
    expect(ev.reconnecting[0].delayMs).toBeLessThanOrEqual(20);
    expect(ev.open).toHaveLength(2);
    expect(sock.reconnects).toBe(1);
    await waitFor(() => sock.state === 'open', 3000, 'open again');
  });

  it('backs off exponentially with full jitter and a cap while the port refuses connections', async () => {
    const port = await closedPort();
    const { sock, ev } = managed({
      plan: () => plan(`ws://127.0.0.1:${port}/`),
      onFrame: () => {},
      backoff: { baseMs: 20, capMs: 80 },
      random: () => 0.5,
    });
    sock.start();
    await waitFor(() => ev.reconnecting.length >= 5, 5000, 'five reconnects');
    await sock.stop();
    // ceilings 20, 40, 80, 80(cap), 80 -> half with random = 0.5
    expect(ev.reconnecting.slice(0, 5)).toEqual([
      { attempt: 1, delayMs: 10 },
      { attempt: 2, delayMs: 20 },
      { attempt: 3, delayMs: 40 },
      { attempt: 4, delayMs: 40 },
      { attempt: 5, delayMs: 40 },
    ]);
    expect(ev.connecting.slice(0, 3).map((c) => c.attempt)).toEqual([0, 1, 2]);
    expect(ev.error.every((e) => e.error.code === 'TRANSPORT_CLOSED')).toBe(true);
    expect(ev.closed[0].reason).toMatch(/ECONNREFUSED/);
  });

  it('full jitter spans [0, ceiling]: random=0 reconnects immediately, random=1 waits the ceiling', async () => {
    const port = await closedPort();
    const values = [0, 1, 0.25];
    let i = 0;
    const { sock, ev } = managed({
      plan: () => plan(`ws://127.0.0.1:${port}/`),
      onFrame: () => {},
      backoff: { baseMs: 40, capMs: 1000 },
      random: () => values[i++ % values.length],
    });
    sock.start();
    await waitFor(() => ev.reconnecting.length >= 3, 5000, 'three reconnects');
    await sock.stop();
    expect(ev.reconnecting.slice(0, 3).map((r) => r.delayMs)).toEqual([0, 80, 40]);
  });

  it('resets the attempt counter once a connection has delivered a frame', async () => {
    // every connection gets one frame and is then closed by the server
    const server = await startServer({ onConnection: (ws) => ws.send('hi', () => ws.close(4000, 'bye')) });
    const { sock, ev } = managed({
      plan: () => plan(server.url),
      onFrame: () => {},
      backoff: { baseMs: 20, capMs: 1000 },
      random: () => 0.5,
    });
    sock.start();
    await waitFor(() => ev.reconnecting.length >= 3, 5000, 'three reconnects');
    expect(ev.reconnecting.slice(0, 3)).toEqual([
      { attempt: 1, delayMs: 10 },
      { attempt: 1, delayMs: 10 },
      { attempt: 1, delayMs: 10 },
    ]);
    expect(ev.closed[0]).toEqual({ reason: 'closed by peer (4000 bye)', code: 4000 });
  });

  it('sends app heartbeat frames at about the interval', async () => {
    const server = await startServer();
    let k = 0;
    const { sock } = managed({
      plan: () => plan(server.url, { heartbeat: { kind: 'app', intervalMs: 50, frame: () => `{"op":"ping","n":${++k}}` } }),
      onFrame: () => {},
    });
    sock.start();
    await waitFor(() => server.received.length >= 5, 3000, 'five app pings');
    const pings = server.received.slice(0, 5);
    expect(pings.map((p) => JSON.parse(p.data))).toEqual([1, 2, 3, 4, 5].map((n) => ({ op: 'ping', n })));
    const gaps = pings.slice(1).map((p, j) => p.at - pings[j].at);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(35);
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeLessThan(200);
    expect(sock.reconnects).toBe(0);
  });

  it('sends protocol pings and treats pongs as activity (no stale reconnect)', async () => {
    const server = await startServer(); // answers pings
    const { sock, ev } = managed({
      plan: () => plan(server.url, { heartbeat: { kind: 'ws-ping', intervalMs: 40 }, staleAfterMs: 150 }),
      onFrame: () => {},
    });
    sock.start();
    // 8 pings = ~320 ms with no data frame at all, well past staleAfterMs
    await waitFor(() => server.pings.length >= 8, 3000, 'eight pings');
    expect(server.pings.every((p) => p.conn === 0)).toBe(true);
    expect(ev.closed).toHaveLength(0);
    expect(sock.reconnects).toBe(0);
    expect(sock.state).toBe('open');
  });

  it('answers server pings', async () => {
    const server = await startServer();
    const { sock } = managed({ plan: () => plan(server.url), onFrame: () => {} });
    sock.start();
    await waitFor(() => server.conns.length === 1 && sock.state === 'open', 3000, 'open');
    let pongs = 0;
    server.conns[0].on('pong', () => pongs++);
    server.conns[0].ping();
    await waitFor(() => pongs === 1, 3000, 'pong');
  });

  it('reconnects with reason stale when the server stays silent and does not answer pings', async () => {
    const server = await startServer({ autoPong: false });
    const { sock, ev } = managed({
      plan: () => plan(server.url, { heartbeat: { kind: 'ws-ping', intervalMs: 40 }, staleAfterMs: 200 }),
      onFrame: () => {},
    });
    const t0 = Date.now();
    sock.start();
    await waitFor(() => ev.closed.length >= 1, 3000, 'stale close');
    const elapsed = Date.now() - t0;
    expect(ev.closed[0].reason).toBe('stale');
    expect(ev.error[0].error.code).toBe('TRANSPORT_STALE');
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(server.pings.length).toBeGreaterThanOrEqual(3);
    await waitFor(() => server.conns.length >= 2, 3000, 'reconnect');
    expect(ev.reconnecting.length).toBeGreaterThanOrEqual(1);
  });

  it('detects a stale connection with no heartbeat at all', async () => {
    const server = await startServer();
    const { sock, ev } = managed({
      plan: () => plan(server.url, { heartbeat: { kind: 'none' }, staleAfterMs: 120 }),
      onFrame: () => {},
    });
    sock.start();
    await waitFor(() => ev.closed.some((c) => c.reason === 'stale'), 3000, 'stale close');
    await waitFor(() => server.conns.length >= 2, 3000, 'reconnect');
  });

  it('times out a handshake that never completes and retries', async () => {
    const sockets: net.Socket[] = [];
    const tcp = net.createServer((s) => { sockets.push(s); s.on('error', () => {}); }); // accepts, never answers
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    });
    const port = (tcp.address() as net.AddressInfo).port;
    const { sock, ev } = managed({
      plan: () => plan(`ws://127.0.0.1:${port}/`),
      onFrame: () => {},
      connectTimeoutMs: 100,
    });
    sock.start();
    await waitFor(() => ev.error.length >= 1, 3000, 'timeout error');
    expect(ev.error[0].error.code).toBe('TRANSPORT_CONNECT_TIMEOUT');
    expect(ev.closed[0].reason).toBe('connect-timeout');
    expect(ev.reconnecting[0].attempt).toBe(1);
    await waitFor(() => sockets.length >= 2, 3000, 'second attempt');
    expect(ev.connecting.length).toBeGreaterThanOrEqual(2);
  });

  it('forceReconnect closes now and reconnects with the given reason', async () => {
    const server = await startServer({ onConnection: (ws) => ws.send('x') });
    const { sock, ev } = managed({ plan: () => plan(server.url), onFrame: () => {} });
    sock.start();
    await waitFor(() => sock.lastFrameAt > 0, 3000, 'frame');
    sock.forceReconnect('venue maintenance');
    expect(sock.state).toBe('reconnecting');
    expect(ev.closed).toEqual([{ reason: 'venue maintenance' }]);
    expect(ev.error).toHaveLength(0);
    await waitFor(() => server.conns.length === 2 && sock.state === 'open', 3000, 'reconnected');
  });

  it('keeps retrying on a DNS failure or a bad URL without throwing', async () => {
    const dns = managed({ plan: () => plan('ws://nonexistent.invalid/'), onFrame: () => {}, connectTimeoutMs: 1000 });
    const bad = managed({ plan: () => plan('not a url'), onFrame: () => {} });
    dns.sock.start();
    bad.sock.start();
    await waitFor(() => dns.ev.reconnecting.length >= 2 && bad.ev.reconnecting.length >= 2, 5000, 'retries');
    expect(bad.ev.error[0].error.code).toBe('TRANSPORT_CLOSED');
    expect(['TRANSPORT_CLOSED', 'TRANSPORT_CONNECT_TIMEOUT']).toContain(dns.ev.error[0].error.code);
  });

  it('stop() closes gracefully (code 1000) and sends nothing more', async () => {
    let closeCode = 0;
    const server = await startServer({ onConnection: (ws) => ws.on('close', (code) => (closeCode = code)) });
    const { sock, ev } = managed({
      plan: () => plan(server.url, { heartbeat: { kind: 'ws-ping', intervalMs: 50 }, staleAfterMs: 1000 }),
      onFrame: () => {},
    });
    sock.start();
    await waitFor(() => sock.state === 'open', 3000, 'open');
    await sock.stop();
    expect(sock.state).toBe('stopped');
    expect(ev.closed.at(-1)).toEqual({ reason: 'stopped', code: 1000 });
    expect(sock.send('x')).toBe(false);
    await waitFor(() => closeCode === 1000, 3000, 'server sees 1000');
    expect(ev.reconnecting).toHaveLength(0);
  });

  it('stop() ends reconnecting', async () => {
    const port = await closedPort();
    const { sock, ev } = managed({
      plan: () => plan(`ws://127.0.0.1:${port}/`),
      onFrame: () => {},
      backoff: { baseMs: 50, capMs: 10_000 },
      random: () => 1,
    });
    sock.start();
    // second retry waits 100 ms: stop while that backoff timer is pending
    await waitFor(() => ev.reconnecting.length >= 2 && sock.state === 'reconnecting', 3000, 'waiting to retry');
    const connects = ev.connecting.length;
    await sock.stop();
    expect(sock.state).toBe('stopped');
    expect(ev.closed.filter((c) => c.reason === 'stopped')).toHaveLength(0); // nothing was open
    await sock.stop(); // idempotent
    expect(ev.connecting.length).toBe(connects);
    // that the pending retry timer is really gone is checked in the next test (the process must exit)
  });

  it('stop() leaves no timers or handles: a process using it exits by itself', async () => {
    const server = await startServer({ onConnection: (ws) => ws.send('x') });
    const port = await closedPort();
    const r = await runIsolated(`
const open = new ManagedSocket({
  plan: () => plan(${JSON.stringify(server.url)}, { heartbeat: { kind: 'ws-ping', intervalMs: 20 }, staleAfterMs: 500 }),
  onFrame() {},
});
open.start();
await new Promise((r) => open.on('open', r));
// a 10 s backoff: if stop() leaked the pending retry timer, the process would outlive the limit
const retrying = new ManagedSocket({ plan: () => plan('ws://127.0.0.1:${port}/'), onFrame() {}, backoff: { baseMs: 10000, capMs: 10000 }, random: () => 1 });
retrying.start();
await new Promise((r) => retrying.on('reconnecting', r));
await Promise.all([open.stop(), retrying.stop()]);
console.log(open.state, retrying.state);
`);
    expect(r.killed, r.err).toBe(false);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe('stopped stopped');
  });
});
