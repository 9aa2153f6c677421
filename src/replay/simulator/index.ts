/**
 * The venue simulator: one local HTTP server (with a WebSocket endpoint on the same port) that plays
 * venues from recordings, so the gateway and tests run on real recorded traffic over real sockets.
 *
 * - Venue id = the recording header's `exchange`, lowercased (`BYBIT` → `bybit`); recordings of the same
 *   venue are merged.
 * - WebSocket: `/{venue}{recordedPath}` (or the bare recorded path when only one venue has it) streams the
 *   `recv` frames of every recorded connection whose `connect.addr` has that pathname, merged in recorded
 *   time order, filtered to the topics the client is subscribed to (see {@link ReplayHooks}).
 * - Subscriptions change at any time on an open socket (the venue hooks turn client frames into topics and acks):
 *   an unsubscribed topic stops at once; a topic subscribed after streaming started (or after the client's last loop
 *   ended) is first caught up, in one burst, with its recorded frames the client's walk already passed in this pass
 *   (for a book: its recorded snapshot and every update since, i.e. the state a venue sends on a subscribe), then
 *   streams with the rest. {@link Simulator.activeTopics} tells which topics each client holds now.
 * - HTTP: `GET /{venue}{path}?{query}` (or the bare path when unambiguous) answers from `http` records.
 * - Server-Sent Events: `GET /{venue}{path}` (or the bare path) on a path recorded in `sse` records streams those
 *   events (`text/event-stream`, merged in recorded time order, paced and looped like WebSocket frames), each with
 *   `id: <n>` (its position in the played sequence); a reconnecting client sending `Last-Event-ID: n` resumes after
 *   it (204 when nothing is left). A venue's {@link SseReplayHooks} may filter events per request (e.g. to the
 *   feeds in its query); keep-alive comments are sent while idle.
 *
 * Timing, looping and backpressure are described on {@link SimulatorOptions}.
 *
 * Layout: `types.ts` (public types), `recordings.ts` (per-venue tables), `pacing.ts` (options, batch limits),
 * `ws-client.ts` / `sse.ts` (per-protocol clients), `http.ts` (routing), `server.ts` (the server, {@link startSimulator}).
 */
export type { Simulator, SimulatorLogger, SimulatorOptions, SimulatorSpeed, SimulatorStats, SseReplayHooks } from './types.ts';
export { venueIdOf } from './recordings.ts';
export { startSimulator } from './server.ts';
