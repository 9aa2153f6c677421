/**
 * The dedicated Prometheus listener (`monitoring.metrics.prometheus.port`): `GET /metrics` only, text exposition of
 * the metrics registry. The REST API's `/metrics` stays available too.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../obs/metrics.ts';

/** A running listener: its port and its close function. */
export interface PrometheusListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (0 = any free port). Rejects when the port cannot be bound (e.g. `EADDRINUSE`). */
export async function startPrometheusListener(metrics: Metrics, host: string, port: number): Promise<PrometheusListener> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
