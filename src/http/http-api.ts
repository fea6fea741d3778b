/**
 * The HTTP API: liveness, readiness and Prometheus metrics. /readyz is 200 only while the MLLP
 * listener is up and the Kafka producer is connected, so an orchestrator routes no devices to a
 * gateway that could not acknowledge them.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../observability/metrics.ts';

export interface ReadinessProbe {
  readonly mllpListening: () => boolean;
  readonly kafkaConnected: () => boolean;
}

export function createHttpApi(options: { readiness: ReadinessProbe; metrics: Metrics }) {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });

  app.get('/readyz', (_req, res) => {
    const checks = {
      mllp: options.readiness.mllpListening() ? 'up' : 'down',
      kafka: options.readiness.kafkaConnected() ? 'connected' : 'disconnected',
    };
    const ready = checks.mllp === 'up' && checks.kafka === 'connected';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  return app;
}

export async function listenHttp(app: express.Express, host: string, port: number): Promise<{ server: Server; address: AddressInfo }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve({ server, address: server.address() as AddressInfo });
    });
  });
}
