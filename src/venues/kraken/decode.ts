/**
 * Kraken spot WebSocket decoder (v1 and v2): one frame text in, normalized events plus a signal out.
 *
 * The two protocols have disjoint shapes (v1 data frames are JSON arrays and v1 control frames carry `event`; v2
 * frames are objects with `channel` or `method`), so the decoder recognises each frame by its shape. The session
 * still knows the protocol its connection was planned for, but a session planned for one protocol decodes frames of
 * the other: direct replay of the v1 recording runs with sessions of the default (v2) plan.
 *
 * Pure and synchronous apart from the per-connection {@link KrakenSession} (key and precision lookup); never throws
 * on venue input. Hot path: one `JSON.parse` per frame; v1 level arrays (`[price, volume, timestamp(, "r")]`,
 * strings) are handed through untouched; v2 levels (`{price, qty}` JSON numbers) become `[price, qty]` strings
 * formatted at the instrument's precision, which is the exact text Kraken's checksum is computed over.
 *
 * Docs: https://docs.kraken.com/exchange/api-reference/spot-websocket (v1 and v2),
 * https://docs.kraken.com/exchange/guides/websockets/book-checksum-v1, …/book-checksum-v2.
 */
import type { Decoded, InboundFrame } from '../connector.ts';
import type { KrakenBareError, KrakenV1Event, KrakenV2Message, KrakenV2Response } from './wire.ts';
import { isArray, isWireObject, malformedFrame, unknownFrame } from '../decode-util.ts';
import { KRAKEN, venueError, type KrakenSession } from './decode-common.ts';
import { decodeV1Data, decodeV1Event } from './decode-v1.ts';
import { decodeV2Channel, decodeV2Method } from './decode-v2.ts';

/** The venue id, symbol names and the per-connection session (see `./decode-common.ts`), re-exported for the connector. */
export {
  KRAKEN,
  decimalsOf,
  krakenCommonAsset,
  krakenErrorCode,
  krakenV2Symbol,
  krakenWsName,
  newKrakenSession,
  type KrakenSession,
  type KrakenSessionInstrument,
  type KrakenSymbolInfo,
} from './decode-common.ts';

/**
 * Decodes one Kraken spot WebSocket frame, v1 or v2 (recognised by shape). Prices are in quote currency and sizes in
 * base units (decimal strings); `ts` is venue time and `recvTs` local receive time, both ms since the epoch.
 * Never throws on venue input: bad JSON or missing fields → `PROTOCOL_MALFORMED`; unknown frames →
 * `PROTOCOL_UNKNOWN`; venue errors → `VENUE_REJECTED` / `VENUE_RATE_LIMITED` / `VENUE_AUTH`; `spread`, `ohlc`,
 * `instrument`, `level3` → `ignored`.
 */
export function decodeKraken(frame: InboundFrame, session: KrakenSession): Decoded {
  let msg: unknown;
  try {
    msg = JSON.parse(frame.data);
  } catch {
    return malformedFrame(KRAKEN, 'invalid JSON', frame.data);
  }
  if (isArray(msg)) return decodeV1Data(msg, frame, session);
  if (!isWireObject<KrakenV1Event | KrakenV2Message<unknown> | KrakenV2Response | KrakenBareError>(msg)) return malformedFrame(KRAKEN, 'frame is neither a JSON array nor an object', frame.data);
  if (typeof msg.event === 'string') return decodeV1Event(msg, frame);
  if (typeof msg.channel === 'string') return decodeV2Channel(msg, frame, session);
  if (typeof msg.method === 'string') return decodeV2Method(msg, frame);
  const text = typeof msg.error === 'string' ? msg.error : typeof msg.Error === 'string' ? msg.Error : undefined;
  if (text !== undefined) return venueError(text, {}, frame.data);
  return unknownFrame(KRAKEN, 'no event, channel or method', frame.data);
}
