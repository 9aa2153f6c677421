/**
 * The metrics bridge: copies the pipeline's counters (kept as plain numbers on the hot path) into the Prometheus
 * metrics at scrape time and once a second, and turns derived events (summaries, health, arbitrage) into gauges.
 * Nothing here runs per frame.
 */
import type { Metrics } from '../obs/metrics.ts';
import type { Pipeline } from './pipeline.ts';

/** Wires `pipeline` into `metrics`; returns the detach function. */
export function bridgeMetrics(pipeline: Pipeline, metrics: Metrics): { sync: () => void; close: () => void } {
  const last = new Map<string, number>();
  const inc = (key: string, value: number, bump: (d: number) => void): void => {
    const prev = last.get(key) ?? 0;
    if (value > prev) bump(value - prev);
    last.set(key, value);
  };

  const sync = (): void => {
    for (const [venue, r] of pipeline.runners) {
      const m = metrics.forVenue(venue);
      const c = r.counters;
      inc(`${venue}|frames`, c.frames, (d) => m.framesReceived.inc(d));
      for (const [t, n] of Object.entries(c.events)) inc(`${venue}|ev|${t}`, n, (d) => m.events(t).inc(d));
      for (const [code, n] of Object.entries(c.errors)) inc(`${venue}|err|${code}`, n ?? 0, (d) => m.decodeErrors(code).inc(d));
      for (const [reason, n] of Object.entries(c.ignored)) inc(`${venue}|ign|${reason}`, n, (d) => m.framesIgnored(reason).inc(d));
      inc(`${venue}|reconnects`, c.reconnects, (d) => m.reconnects.inc(d));
      let gaps = 0;
      let resyncs = 0;
      let ck = 0;
      for (const b of r.sync.books()) {
        gaps += b.stats.gaps;
        resyncs += b.stats.resyncs;
        ck += b.stats.checksumFailures;
      }
      inc(`${venue}|gaps`, gaps, (d) => m.bookGaps.inc(d));
      inc(`${venue}|resyncs`, resyncs, (d) => m.bookResyncs.inc(d));
      inc(`${venue}|ck`, ck, (d) => m.checksumFailures.inc(d));
      inc(`${venue}|snap_ok`, c.snapshotRequests - c.snapshotFailures, (d) => m.httpRequests('ok').inc(d));
      inc(`${venue}|snap_err`, c.snapshotFailures, (d) => m.httpRequests('error').inc(d));
      m.connected.set(r.connections().some((x) => x.state === 'open') ? 1 : 0);
      const stage = metrics.stage('ingest');
      for (const s of c.stageSamples.splice(0)) stage.observe(s);
    }
    for (const s of pipeline.sources) s.syncMetrics?.();
  };

  const offs = [
    pipeline.bus.on('summary', (s) => {
      metrics.summariesEmitted.inc();
      if (s.spread) metrics.consolidatedSpreadBps.labels({ symbol: s.symbol }).set(s.spread.bps);
      if (s.oracle && s.oracle.deviationBps !== null && !s.oracle.stale) metrics.oracleDeviationBps.labels({ symbol: s.symbol }).set(s.oracle.deviationBps);
      metrics.consolidatedVenues.labels({ symbol: s.symbol }).set(s.venues.length);
    }),
    pipeline.bus.on('arbitrage', () => metrics.arbitrageOpportunities.inc()),
    pipeline.bus.on('health', (h) => {
      for (const r of h.venues) {
        const v = metrics.forVenue(r.venue);
        v.healthy.set(r.healthy ? 1 : 0);
        if (r.latencyMs !== null) v.latencyMs.set(r.latencyMs);
        v.updatesPerSecond.set(r.updatesPerSecond);
      }
    }),
  ];
  const timer = setInterval(sync, 1000);
  timer.unref();
  return {
    sync,
    close: () => {
      clearInterval(timer);
      for (const off of offs) off();
    },
  };
}
