/**
 * The real gateway against the real broker, like gateway-harness.ts, but with the `http` section
 * (tokens, protectHealthAndMetrics) and devices taken from the test's config, and small fetch helpers.
 */
import { randomUUID } from 'node:crypto';
import { adapters as registeredAdapters, findAdapter } from '../../adapters/index.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { startGateway, type GatewayHandle } from '../../src/gateway.ts';
import { createLogger } from '../../src/observability/log.ts';
import { createKafkaPublisher } from '../../src/publishing/kafka-publisher.ts';

export interface HttpTestGateway {
  readonly gateway: GatewayHandle;
  readonly logLines: string[];
  readonly baseUrl: string;
  get(path: string, token?: string): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }>;
  stop(): Promise<void>;
}

export async function startHttpTestGateway(options: { brokers: readonly string[]; http?: Record<string, unknown>; devices?: unknown[] }): Promise<HttpTestGateway> {
  const suffix = randomUUID().slice(0, 8);
  const raw = {
    mllp: { host: '127.0.0.1', port: 0 },
    http: { ...options.http, host: '127.0.0.1', port: 0 },
    devices: options.devices ?? [],
    kafka: {
      brokers: [...options.brokers],
      topicPartitions: 1,
      topics: {
        observation: `test.${suffix}.fhir.observation`,
        device: `test.${suffix}.fhir.device`,
        deadLetter: `test.${suffix}.gateway.deadletter`,
        events: `test.${suffix}.gateway.events`,
      },
    },
  };
  const resolved = resolveConfig(raw, {}, { adapters: registeredAdapters });
  if (!resolved.ok) throw new Error(`test config invalid: ${JSON.stringify(resolved.problems)}`);
  const { config } = resolved;
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  const adapter = findAdapter(config.mllp.adapter);
  if (adapter === undefined) throw new Error(`no adapter ${config.mllp.adapter}`);
  const publisher = createKafkaPublisher({
    brokers: config.kafka.brokers ?? [],
    clientId: `vitalbridge-http-test-${suffix}`,
    createTopics: true,
    topicPartitions: config.kafka.topicPartitions,
    replicationFactor: config.kafka.replicationFactor,
    connectTimeoutMs: config.kafka.connectTimeoutMs,
    log,
  });
  const gateway = await startGateway({ config, adapter, adapterConfig: resolved.adapterConfig, publisher, log, devices: resolved.devices });
  const baseUrl = `http://127.0.0.1:${gateway.http.port}`;
  return {
    gateway,
    logLines,
    baseUrl,
    async get(path, token) {
      const response = await fetch(`${baseUrl}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
    },
    stop: () => gateway.stop({ graceMs: 2_000 }),
  };
}
