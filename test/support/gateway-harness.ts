/**
 * Starts the real gateway (real MLLP listener, real HTTP API, real Kafka producer) against a
 * real broker, on free ports and topics of its own so test files never see each other's records.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { adapters as registeredAdapters, findAdapter } from '../../adapters/index.ts';
import type { AnyAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { startGateway, type GatewayHandle } from '../../src/gateway.ts';
import { createLogger, type LogLevel } from '../../src/observability/log.ts';
import { createConfiguredPublisher } from '../../src/publishing/create-publisher.ts';
import type { GatewayConfig } from '../../schemas/config.ts';
import { gatewayTopicNames } from './topics.ts';

export interface TestGateway {
  readonly gateway: GatewayHandle;
  readonly config: GatewayConfig;
  readonly topics: GatewayConfig['kafka']['topics'];
  readonly brokers: readonly string[];
  /** Everything the gateway logged, one JSON line each. */
  readonly logLines: string[];
  stop(): Promise<void>;
}

export async function startTestGateway(options: {
  brokers: readonly string[];
  config?: Record<string, unknown>;
  logLevel?: LogLevel;
  /** Test-only adapters that `devices[].adapter` may name besides the registered ones. */
  extraAdapters?: readonly AnyAdapter[];
  /** Collects the log here too, so a test can read what a gateway that failed to start logged. */
  logLines?: string[];
}): Promise<TestGateway> {
  const suffix = randomUUID().slice(0, 8);
  const raw = {
    ...options.config,
    mllp: { host: '127.0.0.1', port: 0, ...(options.config?.mllp as object | undefined) },
    http: { ...(options.config?.http as object | undefined), host: '127.0.0.1', port: 0 },
    kafka: {
      brokers: [...options.brokers],
      topicPartitions: 1,
      topics: gatewayTopicNames(`test.${suffix}`),
      ...(options.config?.kafka as object | undefined),
    },
  };
  const resolved = resolveConfig(raw, {}, { adapters: [...registeredAdapters, ...(options.extraAdapters ?? [])] });
  if (!resolved.ok) throw new Error(`test config invalid: ${JSON.stringify(resolved.problems)}`);
  const { config } = resolved;
  const logLines: string[] = options.logLines ?? [];
  const log = createLogger({ level: options.logLevel ?? 'debug', write: (line) => logLines.push(line) });
  const adapter = findAdapter(config.mllp.adapter);
  if (adapter === undefined) throw new Error(`no adapter ${config.mllp.adapter}`);
  // The client the config names (kafka.client, @platformatic/kafka by default), as `vitalbridge start` builds it.
  const publisher = createConfiguredPublisher(config.kafka, { brokers: config.kafka.brokers ?? [], clientId: `vitalbridge-test-${suffix}`, createTopics: true, log });
  const gateway = await startGateway({ config, adapter, adapterConfig: resolved.adapterConfig, publisher, log, devices: resolved.devices });
  return {
    gateway,
    config,
    topics: config.kafka.topics,
    brokers: options.brokers,
    logLines,
    stop: () => gateway.stop({ graceMs: 2_000 }),
  };
}

/**
 * Starts a gateway that must refuse to start. Returns what start-up threw (undefined if it started after
 * all: that gateway is stopped again, and the caller's expectations fail), everything it logged, and its
 * `kafka_start_failed` log entry.
 */
export async function startTestGatewayExpectingFailure(
  options: Omit<Parameters<typeof startTestGateway>[0], 'logLines'>,
): Promise<{ failure: unknown; logLines: string[]; kafkaStartFailed: Record<string, unknown> | undefined }> {
  const logLines: string[] = [];
  let failure: unknown;
  try {
    await (await startTestGateway({ ...options, logLines })).stop();
  } catch (error) {
    failure = error;
  }
  const kafkaStartFailed = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.event === 'kafka_start_failed');
  return { failure, logLines, kafkaStartFailed };
}

/** A raw TCP connection that collects MLLP reply frames, for tests that control every byte sent. */
export async function rawMllpConnection(port: number): Promise<{
  socket: Socket;
  write(bytes: Buffer | string): Promise<void>;
  nextReply(timeoutMs?: number): Promise<string>;
  repliesSoFar(): string[];
  close(): void;
}> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  const replies: string[] = [];
  const waiters: ((reply: string) => void)[] = [];
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const start = buffer.indexOf(0x0b);
      const end = buffer.indexOf(Buffer.from([0x1c, 0x0d]), start + 1);
      if (start < 0 || end < 0) break;
      const reply = buffer.subarray(start + 1, end).toString('utf8');
      buffer = buffer.subarray(end + 2);
      const waiter = waiters.shift();
      if (waiter) waiter(reply);
      else replies.push(reply);
    }
  });
  socket.on('error', () => undefined);
  return {
    socket,
    write: (bytes) => new Promise((resolve, reject) => socket.write(bytes, (error) => (error ? reject(error) : resolve()))),
    nextReply(timeoutMs = 15_000) {
      const queued = replies.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no MLLP reply within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
      });
    },
    repliesSoFar: () => [...replies],
    close: () => socket.destroy(),
  };
}
