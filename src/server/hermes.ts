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
 * WebSocket (on the client WS server; a message is Hermes' when it has an `ids` field):
 * `{"type":"subscribe","ids":[…],"verbose"?,"binary"?,"ignore_invalid_price_ids"?}` and
 * `{"type":"unsubscribe","ids":[…]}` → `{"type":"response","status":"success"}` (or `"status":"error","error":…`);
 * then `{"type":"price_update","price_feed":{id, price, ema_price, metadata? (verbose)}}` per new price.
 * `binary` is accepted but `vaa` is never sent: the gateway has the accumulator update, not per-feed VAAs.
 *
 * Ids are 64 hex digits with or without `0x` in requests and without `0x` in responses, as Hermes.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../obs/metrics.ts';
import type { EventSubscriber, PluginServerContext, PluginWsHandler, PluginWsSession } from '../core/plugin.ts';
import type { OraclePriceMsg as OracleBatch, OracleBinary, OraclePrice } from '../core/events.ts';
import { parsePythFeedId } from '../oracle/pyth/ids.ts';
import { HERMES_ASSET_TYPES, PYTHNET_CHAIN_ID, type HermesParsedPriceUpdate, type HermesPriceFeedMetadata, type HermesRpcPrice } from '../oracle/pyth/wire.ts';

/** What the Hermes-compatible API needs from the gateway. */
export interface HermesApi {
  /** Catalog entries in Hermes' shape, filtered as Hermes does. */
  priceFeeds(query?: string, assetType?: string): HermesPriceFeedMetadata[];
  /** True when a canonical feed id (`0x…`) is streamed or listed in the catalog. */
  known(id: string): boolean;
  /** Latest price of a streamed feed and the binary payload of the event that carried it. */
  latest(id: string): { price: OraclePrice; binary: OracleBinary | null } | undefined;
  /** First / last interest in a feed (streams it upstream when needed). May throw. */
  acquire(id: string): void;
  release(id: string): void;
}

// ───────── shapes ─────────

const bare = (id: string): string => (id.startsWith('0x') ? id.slice(2) : id);

function rpcPrice(price: string, conf: string, expo: number, publishTime: number): HermesRpcPrice {
  return { price, conf, expo, publish_time: publishTime };
}

/** One price as a Hermes v2 `parsed[]` entry. */
export function toHermesParsed(p: OraclePrice): HermesParsedPriceUpdate {
  return {
    id: bare(p.id),
    price: rpcPrice(p.price, p.conf, p.expo, p.publishTime),
    ema_price: rpcPrice(p.emaPrice, p.emaConf, p.emaExpo, p.emaPublishTime),
    metadata: { slot: p.slot, proof_available_time: p.proofAvailableTime, prev_publish_time: p.prevPublishTime },
  };
}

/** One price as a Hermes WS `price_update` (serialized). `verbose` adds `metadata`. */
export function hermesWsPriceUpdate(p: OraclePrice, verbose: boolean): string {
  const feed: Record<string, unknown> = {
    id: bare(p.id),
    price: rpcPrice(p.price, p.conf, p.expo, p.publishTime),
    ema_price: rpcPrice(p.emaPrice, p.emaConf, p.emaExpo, p.emaPublishTime),
  };
  if (verbose) {
    feed.metadata = { slot: p.slot, emitter_chain: PYTHNET_CHAIN_ID, price_service_receive_time: p.proofAvailableTime, prev_publish_time: p.prevPublishTime };
  }
  return JSON.stringify({ type: 'price_update', price_feed: feed });
}

/** A Hermes WS response (serialized). */
export function hermesWsResponse(error?: string): string {
  return JSON.stringify(error === undefined ? { type: 'response', status: 'success' } : { type: 'response', status: 'error', error });
}

const reencoded = new WeakMap<OracleBinary, string[]>();

/** The blobs of `b` in `encoding` (converted once and cached when it differs). */
export function encodeBinary(b: OracleBinary, encoding: 'hex' | 'base64'): readonly string[] {
  if (b.encoding === encoding) return b.data;
  let out = reencoded.get(b);
  if (!out) {
    out = b.data.map((d) => Buffer.from(d, b.encoding).toString(encoding));
    reencoded.set(b, out);
  }
  return out;
}

// ───────── WebSocket messages ─────────

/** A parsed Hermes WS client message (ids canonical; unreadable ids in `invalid`). */
export interface HermesWsRequest {
  readonly type: 'subscribe' | 'unsubscribe';
  readonly ids: readonly string[];
  readonly invalid: readonly string[];
  readonly verbose: boolean;
  readonly binary: boolean;
  readonly ignoreInvalid: boolean;
}

/**
 * Recognizes a Hermes WS message: a JSON object with an own `ids` field. Returns undefined for anything else (the
 * client protocol handles it), `{ok:false}` for a Hermes message it cannot accept. Never throws.
 */
export function parseHermesWsMessage(text: string): { ok: true; message: HermesWsRequest } | { ok: false; error: string } | undefined {
  if (!text.includes('"ids"')) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o) || !Object.hasOwn(o, 'ids')) return undefined;
  const m = o as Record<string, unknown>;
  if (m.type !== 'subscribe' && m.type !== 'unsubscribe') return { ok: false, error: `unknown variant ${JSON.stringify(m.type)}, expected "subscribe" or "unsubscribe"` };
  if (!Array.isArray(m.ids) || m.ids.length > 1000) return { ok: false, error: '"ids" must be an array of price feed ids' };
  const ids: string[] = [];
  const invalid: string[] = [];
  for (const raw of m.ids) {
    const id = typeof raw === 'string' ? parsePythFeedId(raw) : null;
    if (id) {
      if (!ids.includes(id)) ids.push(id);
    } else {
      invalid.push(typeof raw === 'string' ? raw.slice(0, 80) : JSON.stringify(raw)?.slice(0, 80) ?? String(raw));
    }
  }
  for (const k of ['verbose', 'binary', 'allow_out_of_order', 'ignore_invalid_price_ids']) {
    if (m[k] !== undefined && typeof m[k] !== 'boolean') return { ok: false, error: `"${k}" must be a boolean` };
  }
  return {
    ok: true,
    message: { type: m.type, ids, invalid, verbose: m.verbose === true, binary: m.binary === true, ignoreInvalid: m.ignore_invalid_price_ids === true },
  };
}

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
  const sseGauge = metrics.hermesClients.labels({ kind: 'sse' });

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

/**
 * Hermes' WebSocket protocol on the gateway's WS server (a message is Hermes' when it is a JSON object with an `ids`
 * field): `subscribe` / `unsubscribe` answered with `response`, then `price_update` per new price of a subscribed
 * feed (`verbose` adds `metadata`), conflated per client like other data. Clients of `/ws` get Hermes messages only.
 */
export function hermesWsHandler(hermes: HermesApi, ctx: PluginServerContext, metrics: Metrics): PluginWsHandler {
  /** Hermes subscribers per canonical feed id → whether they want `metadata` (verbose). */
  const subs = new Map<string, Map<PluginWsSession, boolean>>();
  const perClient = new Map<PluginWsSession, Set<string>>();
  const gauge = metrics.hermesClients.labels({ kind: 'ws' });

  const leave = (c: PluginWsSession, id: string): void => {
    const mine = perClient.get(c);
    if (mine === undefined || !mine.delete(id)) return;
    if (mine.size === 0) {
      perClient.delete(c);
      gauge.set(perClient.size);
    }
    const set = subs.get(id);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) {
      subs.delete(id);
      try {
        hermes.release(id);
      } catch (e) {
        ctx.log.warn({ feed: id, err: String(e) }, 'release failed');
      }
    }
  };

  const off = ctx.bus.on('oracle_price', (b) => {
    if (subs.size === 0) return;
    for (const u of b.updates) {
      if (u.status === 'stale') continue;
      const set = subs.get(u.id);
      if (set === undefined) continue;
      let plain: string | undefined;
      let verbose: string | undefined;
      for (const [c, v] of set) c.sendData(v ? (verbose ??= hermesWsPriceUpdate(u, true)) : (plain ??= hermesWsPriceUpdate(u, false)));
    }
  });

  return {
    path: '/ws',
    onMessage(c, text) {
      const parsed = parseHermesWsMessage(text);
      if (parsed === undefined) return false;
      if (!parsed.ok) {
        ctx.badRequest();
        c.sendControl(hermesWsResponse(parsed.error));
        return true;
      }
      const m = parsed.message;
      if (m.type === 'unsubscribe') {
        for (const id of m.ids) leave(c, id);
        c.sendControl(hermesWsResponse());
        return true;
      }
      const unknown = [...m.invalid, ...m.ids.filter((id) => !hermes.known(id)).map((id) => id.slice(2))];
      if (unknown.length > 0 && !m.ignoreInvalid) {
        ctx.badRequest();
        c.sendControl(hermesWsResponse(`Price feed(s) with id(s) [${unknown.join(', ')}] not found`));
        return true;
      }
      for (const id of m.ids) {
        if (!hermes.known(id)) continue;
        let set = subs.get(id);
        if (set === undefined) {
          try {
            hermes.acquire(id);
          } catch (e) {
            c.sendControl(hermesWsResponse(`cannot subscribe to ${id.slice(2)}: ${e instanceof Error ? e.message : String(e)}`));
            return true;
          }
          set = new Map();
          subs.set(id, set);
        }
        set.set(c, m.verbose);
        let mine = perClient.get(c);
        if (mine === undefined) {
          mine = new Set();
          perClient.set(c, mine);
          gauge.set(perClient.size);
        }
        mine.add(id);
      }
      c.sendControl(hermesWsResponse());
      return true;
    },
    onClose(c) {
      for (const id of [...(perClient.get(c) ?? [])]) leave(c, id);
    },
    close() {
      off();
    },
  };
}
