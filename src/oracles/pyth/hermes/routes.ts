/**
 * The Hermes-compatible API: Tributary answers the Pyth Hermes paths and WebSocket messages that Pyth's own clients
 * use (e.g. `@pythnetwork/hermes-client`), so such a client can point at the gateway unchanged.
 *
 * REST (on the API server; shapes and status codes as Hermes, https://hermes.pyth.network/docs):
 * - `GET /v2/price_feeds?query=&asset_type=` → `[{id, attributes}]` from the cached catalog; `query` is a
 *   case-insensitive substring of `attributes.symbol`, `asset_type` a case-insensitive match (400 on an unknown type).
 * - `GET /v2/updates/price/latest?ids[]=…&encoding=hex|base64&parsed=true|false&binary=true|false&ignore_invalid_price_ids=`
 *   → `{binary:{encoding,data:[…]}, parsed?:[{id, price, ema_price, metadata}]}`. Unknown ids → 404
 *   `Price ids not found: …` (text) unless `ignore_invalid_price_ids=true`; no price yet → 404 `Update data not found`.
 *   A known feed not streamed yet starts streaming (the next call has it).
 * - `GET /v2/updates/price/stream?ids[]=…` (same options plus `benchmarks_only`) → Server-Sent Events, one
 *   `data:{binary, parsed?}` event per upstream event that carried one of the ids, keep-alive comments in between.
 *
 * `binary` (our option, default true): the upstream binary payload is passed through (re-encoded when `encoding`
 * differs). It is the update blob Hermes sent for the gateway's whole upstream subscription, so it can cover more
 * feeds than asked (on-chain verification accepts that); `binary=false` (or `pyth.keep_binary=false`) sends
 * `"data":[]`.
 *
 * WebSocket (on the client WS server): see `ws.ts`. Both are registered by the Pyth plug-in (`../plugin.ts`) through
 * the server plug-in interface of `core/plugin.ts`.
 *
 * Ids are 64 hex digits with or without `0x` in requests and without `0x` in responses, as Hermes.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../../../obs/metrics.ts';
import type { EventSubscriber } from '../../../core/plugin.ts';
import type { OraclePriceMsg as OracleBatch, OracleBinary, OraclePrice } from '../../../core/events.ts';
import { PYTH_SOURCE, parsePythFeedId } from '../ids.ts';
import { HERMES_ASSET_TYPES } from '../wire.ts';
import { bare, encodeBinary, toHermesParsed, type HermesApi } from './api.ts';

// ───────── REST + SSE ─────────

/** Options of {@link registerHermesRoutes}. */
export interface HermesRoutesOptions {
  readonly hermes: HermesApi;
  readonly bus: EventSubscriber;
  readonly metrics: Metrics;
  readonly log?: Logger;
  /** Keep-alive comment interval on SSE streams (ms). Default 15000. */
  readonly keepAliveMs?: number;
  /** A stream whose unsent output exceeds this (bytes) is a slow consumer and is closed (as Hermes does). Default 4 MiB. */
  readonly maxBufferedBytes?: number;
}

interface UpdateQuery {
  ids: string[];
  invalid: string[];
  encoding: 'hex' | 'base64';
  parsed: boolean;
  binary: boolean;
  ignoreInvalid: boolean;
  benchmarksOnly: boolean;
}

function strings(v: unknown): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map(String);
  return [String(v)];
}

function boolParam(v: unknown, dflt: boolean): boolean | null {
  if (v === undefined) return dflt;
  const s = Array.isArray(v) ? String(v[v.length - 1]) : String(v);
  if (s === 'true') return true;
  if (s === 'false') return false;
  return null;
}

function parseUpdateQuery(q: Record<string, unknown>): UpdateQuery | string {
  const ids: string[] = [];
  const invalid: string[] = [];
  for (const raw of [...strings(q['ids[]']), ...strings(q.ids)]) {
    const id = parsePythFeedId(raw);
    if (id) {
      if (!ids.includes(id)) ids.push(id);
    } else {
      invalid.push(raw);
    }
  }
  if (invalid.length > 0) return `Failed to deserialize query string: invalid price feed id(s): ${invalid.slice(0, 5).map((s) => s.slice(0, 80)).join(', ')}`;
  if (ids.length === 0) return 'Failed to deserialize query string: missing field `ids[]`';
  const enc = q.encoding === undefined ? 'hex' : String(q.encoding);
  if (enc !== 'hex' && enc !== 'base64') return 'Failed to deserialize query string: encoding must be hex or base64';
  const parsed = boolParam(q.parsed, true);
  const binary = boolParam(q.binary, true);
  const ignoreInvalid = boolParam(q.ignore_invalid_price_ids, false);
  const benchmarksOnly = boolParam(q.benchmarks_only, false);
  const allowUnordered = boolParam(q.allow_unordered, false);
  if (parsed === null || binary === null || ignoreInvalid === null || benchmarksOnly === null || allowUnordered === null) {
    return 'Failed to deserialize query string: boolean options must be true or false';
  }
  return { ids, invalid, encoding: enc, parsed, binary, ignoreInvalid, benchmarksOnly };
}

function text(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(body);
}

/** Splits requested ids into known and unknown; the 404 body Hermes sends when unknown ones are not ignored. */
function checkKnown(hermes: HermesApi, q: UpdateQuery): { ids: string[]; notFound?: string } {
  const known = q.ids.filter((id) => hermes.known(id));
  const unknown = q.ids.filter((id) => !hermes.known(id));
  if (unknown.length > 0 && !q.ignoreInvalid) return { ids: known, notFound: `Price ids not found: ${unknown.map(bare).join(', ')}` };
  return { ids: known };
}

/** Registers the Hermes REST and SSE routes (see the module doc) on a fastify app. */
export function registerHermesRoutes(app: FastifyInstance, opts: HermesRoutesOptions): void {
  const { hermes, bus, metrics } = opts;
  const keepAliveMs = opts.keepAliveMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  const streams = new Set<ServerResponse>();
  const sseGauge = metrics.sourceApiClients.labels({ source: PYTH_SOURCE, kind: 'sse' });

  app.addHook('preClose', (done) => {
    for (const res of [...streams]) res.end();
    done();
  });

  app.get<{ Querystring: { query?: unknown; asset_type?: unknown } }>('/v2/price_feeds', async (req, reply) => {
    const query = req.query.query === undefined ? undefined : String(req.query.query);
    const at = req.query.asset_type === undefined ? undefined : String(req.query.asset_type).toLowerCase();
    if (at !== undefined && !(HERMES_ASSET_TYPES as readonly string[]).includes(at)) {
      return text(reply, 400, `Failed to deserialize query string: asset_type: unknown variant \`${at.slice(0, 40)}\`, expected one of ${HERMES_ASSET_TYPES.map((t) => `\`${t}\``).join(', ')}`);
    }
    return hermes.priceFeeds(query, at);
  });

  app.get('/v2/updates/price/latest', async (req, reply) => {
    const q = parseUpdateQuery(req.query as Record<string, unknown>);
    if (typeof q === 'string') return text(reply, 400, q);
    const { ids, notFound } = checkKnown(hermes, q);
    if (notFound) return text(reply, 404, notFound);
    const prices: OraclePrice[] = [];
    const blobs: OracleBinary[] = [];
    for (const id of ids) {
      const l = hermes.latest(id);
      if (!l) {
        // Known but not streamed (yet): stream it from now on.
        try {
          hermes.acquire(id);
          hermes.release(id);
        } catch {
          // at the feed limit: stays unavailable
        }
        continue;
      }
      prices.push(l.price);
      if (l.binary && !blobs.includes(l.binary)) blobs.push(l.binary);
    }
    if (prices.length === 0) return text(reply, 404, 'Update data not found');
    const data = q.binary ? blobs.flatMap((b) => encodeBinary(b, q.encoding)) : [];
    return { binary: { encoding: q.encoding, data }, ...(q.parsed ? { parsed: prices.map(toHermesParsed) } : {}) };
  });

  app.get('/v2/updates/price/stream', async (req, reply) => {
    const q = parseUpdateQuery(req.query as Record<string, unknown>);
    if (typeof q === 'string') return text(reply, 400, q);
    const { ids, notFound } = checkKnown(hermes, q);
    if (notFound) return text(reply, 404, notFound);
    const acquired: string[] = [];
    for (const id of ids) {
      try {
        hermes.acquire(id);
        acquired.push(id);
      } catch (e) {
        opts.log?.warn({ feed: id, err: String(e) }, 'hermes stream: acquire failed');
      }
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    streams.add(res);
    sseGauge.inc();
    const wanted = new Set(ids);
    let closed = false;
    const write = (s: string): void => {
      if (closed || res.writableEnded) return;
      if (res.writableLength > maxBuffered) {
        // Not reading: cut it (Hermes cuts slow consumers too); a client reconnects.
        opts.log?.debug({ buffered: res.writableLength }, 'hermes stream: slow consumer closed');
        metrics.dropped('slow_consumer').inc();
        res.destroy();
        return;
      }
      res.write(s);
    };
    const off = bus.on('oracle_price', (b: OracleBatch) => {
      let kept: OraclePrice[] | undefined;
      for (const u of b.updates) {
        if (!wanted.has(u.id) || u.status === 'stale') continue;
        if (q.benchmarksOnly && (u.prevPublishTime === null || u.prevPublishTime === u.publishTime)) continue;
        (kept ??= []).push(u);
      }
      if (kept === undefined) return;
      const body = {
        binary: { encoding: q.encoding, data: q.binary && b.binary ? encodeBinary(b.binary, q.encoding) : [] },
        ...(q.parsed ? { parsed: kept.map(toHermesParsed) } : {}),
      };
      write(`data:${JSON.stringify(body)}\n\n`);
    });
    const keepAlive = setInterval(() => write(':\n\n'), keepAliveMs);
    keepAlive.unref();
    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      off();
      clearInterval(keepAlive);
      streams.delete(res);
      sseGauge.dec();
      for (const id of acquired) {
        try {
          hermes.release(id);
        } catch {
          // nothing to undo
        }
      }
    };
    res.on('close', cleanup);
    res.on('error', cleanup);
    return reply;
  });
}
