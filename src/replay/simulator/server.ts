/**
 * The simulator's server: one HTTP server on a local port answering recorded HTTP, streaming SSE and accepting
 * WebSocket upgrades, with the clients it serves, its counters and the `ended` signal; {@link startSimulator}.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { TributaryError, errorMessage } from '../../core/errors.ts';
import type { Simulator, SimulatorLogger, SimulatorOptions, SimulatorStats } from './types.ts';
import { loadVenues, type Frame, type SseFrame, type Venue } from './recordings.ts';
import { noopLog, validateOptions, type ClientHost } from './pacing.ts';
import { SimClient, closeSocket } from './ws-client.ts';
import { SseSimClient } from './sse.ts';
import { route, synthesize } from './http.ts';

/** The running simulator: one HTTP server, WebSocket upgrades on the same port, and its clients. */
class SimulatorImpl implements Simulator, ClientHost {
  readonly venues: readonly string[];
  readonly ended: Promise<void>;
  port = 0;
  counters = { framesSent: 0, bytesSent: 0, repliesSent: 0, ignoredClientFrames: 0 };
  private httpServed = 0;
  private httpRejected = 0;
  private readonly clients = new Set<SimClient>();
  private readonly sseClients = new Set<SseSimClient>();
  private anyStreamed = false;
  private endedFired = false;
  private resolveEnded!: () => void;
  private readonly emitter = new EventEmitter();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly venueMap: Map<string, Venue>,
    readonly host: string,
    readonly factor: number | null,
    readonly loops: number,
    readonly settleMs: number,
    readonly hwm: number,
    private readonly log: SimulatorLogger,
    private readonly sseKeepAliveMs = 15_000,
  ) {
    this.venues = [...venueMap.keys()].sort();
    this.ended = new Promise<void>((r) => (this.resolveEnded = r));
    this.server = createServer((req, res) => this.onHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    this.server.on('error', (e) => this.log.warn({ err: errorMessage(e) }, 'simulator: server error'));
    this.log.info({ host: this.host, port: this.port, venues: this.venues }, 'simulator listening');
  }

  private base(scheme: string, venue: string): string {
    if (!this.venueMap.has(venue)) throw new TributaryError('CONFIG_INVALID', `simulator: unknown venue ${venue}`, { venue });
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${scheme}://${h}:${this.port}/${venue}`;
  }
  wsBase(venue: string): string {
    return this.base('ws', venue);
  }
  restBase(venue: string): string {
    return this.base('http', venue);
  }

  stats(): SimulatorStats {
    let blocked = 0;
    for (const c of this.clients) if (c.blocked) blocked++;
    return {
      clients: this.clients.size,
      framesSent: this.counters.framesSent,
      bytesSent: this.counters.bytesSent,
      repliesSent: this.counters.repliesSent,
      httpServed: this.httpServed,
      httpRejected: this.httpRejected,
      ignoredClientFrames: this.counters.ignoredClientFrames,
      blockedClients: blocked,
      sseClients: this.sseClients.size,
    };
  }

  activeTopics(venue: string): { readonly path: string; readonly topics: readonly string[] }[] {
    if (!this.venueMap.has(venue)) throw new TributaryError('CONFIG_INVALID', `simulator: unknown venue ${venue}`, { venue });
    const out: { path: string; topics: string[] }[] = [];
    for (const c of this.clients) if (c.venue === venue && c.state !== 'closed') out.push({ path: c.path, topics: c.topicsNow() });
    return out;
  }

  on(event: 'end', listener: () => void): this {
    this.emitter.on(event, listener);
    return this;
  }
  off(event: 'end', listener: () => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  onStreaming(): void {
    this.anyStreamed = true;
  }
  onDone(): void {
    this.checkEnded();
  }

  private checkEnded(): void {
    if (this.endedFired || !this.anyStreamed || this.closing) return;
    for (const c of this.clients) if (c.active) return;
    for (const c of this.sseClients) if (c.active) return;
    this.endedFired = true;
    this.log.info({ framesSent: this.counters.framesSent }, 'simulator: all clients served');
    this.resolveEnded();
    this.emitter.emit('end');
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    try {
      const synthetic = synthesize(this.venueMap, req, (venue) => this.wsBase(venue));
      if (synthetic !== undefined) {
        req.resume();
        this.httpServed++;
        reply(200, synthetic);
        return;
      }
      if (req.method === 'GET') {
        const u = new URL(req.url ?? '/', 'http://simulator.invalid');
        const sse = route(this.venueMap, u.pathname, (v, p) => v.sse.get(p));
        if (sse) {
          this.onSseClient(req, res, sse.venue, sse.value, u);
          return;
        }
      }
      if (req.method !== 'GET') {
        this.httpRejected++;
        reply(405, JSON.stringify({ error: 'method not allowed', method: req.method }), { allow: 'GET' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://simulator.invalid');
      const hit = route(this.venueMap, url.pathname, (v, p) => (v.http.has(p) ? v.http : undefined));
      const found = hit ? hit.value.match(hit.path, url.searchParams) : undefined;
      if (!found) {
        this.httpRejected++;
        reply(404, JSON.stringify({ error: 'no recorded response', path: req.url ?? '/' }));
        return;
      }
      this.httpServed++;
      reply(200, found.data);
    } catch (e) {
      this.log.warn({ err: errorMessage(e), url: req.url }, 'simulator: http handler failed');
      if (!res.headersSent) reply(500, JSON.stringify({ error: 'simulator error' }));
      else res.destroy();
    }
  }

  private onSseClient(req: IncomingMessage, res: ServerResponse, venue: Venue, frames: SseFrame[], url: URL): void {
    req.resume();
    if (this.closing) {
      res.writeHead(503).end();
      return;
    }
    let filter: ((data: string) => string | undefined) | undefined;
    try {
      filter = venue.sseHooks?.filterFor(url);
    } catch {
      this.counters.ignoredClientFrames++;
    }
    const client = new SseSimClient(res, frames, this, filter, this.sseKeepAliveMs);
    const lastId = req.headers['last-event-id'];
    if (!client.start(typeof lastId === 'string' ? lastId : undefined)) {
      this.httpServed++;
      res.writeHead(204).end();
      return;
    }
    this.httpServed++;
    this.sseClients.add(client);
    const done = (): void => {
      client.stop();
      if (this.sseClients.delete(client)) this.checkEnded();
    };
    res.on('close', done);
    res.on('error', done);
    this.log.debug({ venue: venue.id, path: url.pathname }, 'simulator: sse client connected');
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const reject = (status: number, text: string): void => {
      this.httpRejected++;
      const body = JSON.stringify({ error: text, path: req.url ?? '/' });
      socket.once('finish', () => socket.destroy());
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (this.closing) return reject(503, 'Service Unavailable');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator.invalid');
    } catch {
      return reject(400, 'Bad Request');
    }
    const hit = route(this.venueMap, url.pathname, (v, p) => (v.hooks ? v.ws.get(p) : undefined));
    if (!hit) return reject(404, 'Not Found');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onClient(ws, hit.venue, hit.path, hit.value, url));
  }

  private onClient(ws: WebSocket, venue: Venue, path: string, frames: Frame[], reqUrl: URL): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    const hooks = venue.hooks!;
    const client = new SimClient(ws, hooks, frames, this, venue.id, path);
    this.clients.add(client);
    ws.on('error', () => this.counters.ignoredClientFrames++);
    ws.on('message', (data, isBinary) => client.onMessage(data, isBinary));
    ws.on('close', () => {
      client.stop();
      this.clients.delete(client);
      this.log.debug({ venue: venue.id, path }, 'simulator: client closed');
      this.checkEnded();
    });
    this.log.debug({ venue: venue.id, path }, 'simulator: client connected');
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    let urlTopics: string[] = [];
    try {
      urlTopics = hooks.topicsFromUrl(new URL(path + reqUrl.search, `ws://${h}:${this.port}`));
    } catch {
      this.counters.ignoredClientFrames++;
    }
    client.start(urlTopics);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const c of [...this.sseClients]) {
      c.stop();
      c.res.end();
    }
    this.sseClients.clear();
    const all = [...this.clients];
    for (const c of all) c.stop();
    await Promise.all(all.map((c) => closeSocket(c.ws)));
    this.clients.clear();
    await new Promise<void>((resolve) => {
      this.wss.close(() => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    });
    this.log.info({ port: this.port }, 'simulator closed');
  }
}

/**
 * Starts a simulator serving `opts.recordings` (see the module doc and {@link SimulatorOptions}).
 * @throws TributaryError `CONFIG_INVALID` on bad options; the listen error when the port is taken.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const { factor, loops, settleMs, hwm } = validateOptions(opts);
  const log = opts.log ?? noopLog;
  const venues = loadVenues(opts, log);
  const sim = new SimulatorImpl(venues, opts.host ?? '127.0.0.1', factor, loops, settleMs, hwm, log, opts.sseKeepAliveMs);
  await sim.listen(opts.port ?? 0);
  return sim;
}
