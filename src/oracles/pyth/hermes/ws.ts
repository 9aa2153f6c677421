/**
 * Hermes' WebSocket protocol on the gateway's WS server (a message is Hermes' when it is a JSON object with an `ids`
 * field):
 * `{"type":"subscribe","ids":[…],"verbose"?,"binary"?,"ignore_invalid_price_ids"?}` and
 * `{"type":"unsubscribe","ids":[…]}` → `{"type":"response","status":"success"}` (or `"status":"error","error":…`);
 * then `{"type":"price_update","price_feed":{id, price, ema_price, metadata? (verbose)}}` per new price.
 * `binary` is accepted but `vaa` is never sent: the gateway has the accumulator update, not per-feed VAAs.
 *
 * Ids are 64 hex digits with or without `0x` in requests and without `0x` in responses, as Hermes.
 */
import type { Metrics } from '../../../obs/metrics.ts';
import type { PluginServerContext, PluginWsHandler, PluginWsSession } from '../../../core/plugin.ts';
import { PYTH_SOURCE, parsePythFeedId } from '../ids.ts';
import { hermesWsPriceUpdate, hermesWsResponse, type HermesApi } from './api.ts';

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

/**
 * Hermes' WebSocket protocol on the gateway's WS server (a message is Hermes' when it is a JSON object with an `ids`
 * field): `subscribe` / `unsubscribe` answered with `response`, then `price_update` per new price of a subscribed
 * feed (`verbose` adds `metadata`), conflated per client like other data. Clients of `/ws` get Hermes messages only.
 */
export function hermesWsHandler(hermes: HermesApi, ctx: PluginServerContext, metrics: Metrics): PluginWsHandler {
  /** Hermes subscribers per canonical feed id → whether they want `metadata` (verbose). */
  const subs = new Map<string, Map<PluginWsSession, boolean>>();
  const perClient = new Map<PluginWsSession, Set<string>>();
  const gauge = metrics.sourceApiClients.labels({ source: PYTH_SOURCE, kind: 'ws' });

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
