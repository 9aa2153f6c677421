import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { FetchHttp, createHttp } from '../../src/transport/http.ts';
import { TributaryError } from '../../src/core/errors.ts';

let server: http.Server;
let base = '';
const hung: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"symbols":["BTCUSDT"]}');
    } else if (path === '/limited') {
      res.writeHead(429, { 'retry-after': '7' });
      res.end('slow down');
    } else if (path === '/banned') {
      res.writeHead(418);
      res.end('banned');
    } else if (path === '/boom') {
      res.writeHead(500);
      res.end('internal error');
    } else if (path === '/slow') {
      hung.push(res); // never answers
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const r of hung) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function failure(p: Promise<unknown>): Promise<TributaryError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TributaryError);
    return e as TributaryError;
  }
  throw new Error('expected the request to fail');
}

describe('FetchHttp', () => {
  it('returns the body of a 200 and reports it to onResponse', async () => {
    const seen: { url: string; body: string; ts: number }[] = [];
    const h = createHttp({ onResponse: (url, body, ts) => seen.push({ url, body, ts }) });
    const before = Date.now();
    const body = await h.get(`${base}/ok`);
    expect(JSON.parse(body)).toEqual({ symbols: ['BTCUSDT'] });
    expect(seen).toHaveLength(1);
    expect(seen[0].url).toBe(`${base}/ok`);
    expect(seen[0].body).toBe(body);
    expect(seen[0].ts).toBeGreaterThanOrEqual(before);
  });

  it('maps 429 with Retry-After to VENUE_RATE_LIMITED', async () => {
    const e = await failure(new FetchHttp().get(`${base}/limited`));
    expect(e.code).toBe('VENUE_RATE_LIMITED');
    expect(e.retryable).toBe(true);
    expect(e.context).toEqual({ url: `${base}/limited`, status: 429, retryAfterSec: 7 });
  });

  it('maps 418 to VENUE_RATE_LIMITED', async () => {
    const e = await failure(new FetchHttp().get(`${base}/banned`));
    expect(e.code).toBe('VENUE_RATE_LIMITED');
    expect(e.context).toEqual({ url: `${base}/banned`, status: 418 });
  });

  it('maps 500 to HTTP_ERROR with url, status and body, and does not call onResponse', async () => {
    let calls = 0;
    const e = await failure(new FetchHttp({ onResponse: () => calls++ }).get(`${base}/boom`));
    expect(e.code).toBe('HTTP_ERROR');
    expect(e.context).toMatchObject({ url: `${base}/boom`, status: 500, body: 'internal error' });
    expect(calls).toBe(0);
  });

  it('maps a timeout to HTTP_ERROR', async () => {
    const t0 = Date.now();
    const e = await failure(new FetchHttp({ timeoutMs: 150 }).get(`${base}/slow`));
    expect(e.code).toBe('HTTP_ERROR');
    expect(e.context).toEqual({ url: `${base}/slow`, timeoutMs: 150 });
    expect(e.message).toMatch(/timed out/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('maps a refused connection to HTTP_ERROR', async () => {
    const tmp = net.createServer().listen(0, '127.0.0.1');
    await once(tmp, 'listening');
    const port = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const e = await failure(new FetchHttp().get(`http://127.0.0.1:${port}/x`));
    expect(e.code).toBe('HTTP_ERROR');
    expect(e.context).toEqual({ url: `http://127.0.0.1:${port}/x` });
    expect(e.message).toMatch(/ECONNREFUSED/);
  });
});
