/**
 * The gateway under test as a CHILD PROCESS (`node bin/vitalbridge.js start --config <file>`), so its
 * CPU and memory are measured apart from the load generator. Topics are fresh per run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { compiledEntry, gatewayEnvironment, gatewayNodeFlags } from '../../bin/launcher.js';
import { build } from '../../scripts/build.ts';
import { freePort } from '../../src/transports/free-port.ts';

/**
 * The gateway is measured as it runs in production: compiled (`npm run build`), not through tsx.
 * Builds this checkout's dist/ when it is missing or older than the sources; says how `root` will run.
 */
export function ensureCompiledGateway(root = process.cwd()): 'compiled dist/' | 'sources through tsx' {
  if (resolve(root) === resolve(process.cwd()) && compiledEntry(root) === undefined) build(root, join(root, 'dist'));
  return compiledEntry(root) === undefined ? 'sources through tsx' : 'compiled dist/';
}

export interface GatewayProcess {
  readonly pid: number;
  readonly mllpPort: number;
  readonly httpPort: number;
  readonly topics: { observation: string; device: string; deadLetter: string; events: string };
  readonly logFile: string;
  /** Sum of the high watermarks of a topic's partitions (records ever written; no transactions here). */
  offsets(topic: string): Promise<number>;
  stop(): Promise<void>;
}


export async function startGatewayProcess(options: {
  brokers: readonly string[];
  name: string;
  /** Merged into the config file (e.g. devices). */
  extraConfig?: Record<string, unknown>;
  /** Merged into the config's kafka section (e.g. lingerMs). */
  kafkaConfig?: Record<string, unknown>;
  /** Merged into the config's mllp section (e.g. workerThreads). */
  mllpConfig?: Record<string, unknown>;
  /** Extra environment variables for the gateway process. */
  env?: Record<string, string>;
  maxConnections?: number;
  /** Another checkout to run the gateway from (an A/B against a baseline); default: this one. */
  root?: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: readonly string[];
}): Promise<GatewayProcess> {
  const suffix = `${options.name}.${randomUUID().slice(0, 8)}`;
  const topics = {
    observation: `bench.${suffix}.fhir.observation`,
    device: `bench.${suffix}.fhir.device`,
    deadLetter: `bench.${suffix}.gateway.deadletter`,
    events: `bench.${suffix}.gateway.events`,
  };
  const config = {
    mllp: { host: '127.0.0.1', maxConnections: options.maxConnections ?? 1000, idleTimeoutSeconds: 3600, ...options.mllpConfig },
    http: { host: '127.0.0.1' },
    kafka: { topicPartitions: 1, topics, ...options.kafkaConfig },
    log: { level: 'warn' },
    ...options.extraConfig,
  };
  await mkdir('reports/bench-work', { recursive: true });
  const configFile = join('reports/bench-work', `gateway-${options.name}.json`);
  const logFile = join('reports/bench-work', `gateway-${options.name}.log`);
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const mllpPort = await freePort();
  const httpPort = await freePort();
  const logFd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    // Started as the image starts it (its node flags), plus any the caller adds.
    child = spawn(process.execPath, [...gatewayNodeFlags, ...(options.nodeArgs ?? []), 'bin/vitalbridge.js', 'start', '--config', resolve(configFile)], {
      cwd: options.root ?? process.cwd(),
      env: {
        ...process.env,
        ...gatewayEnvironment,
        KAFKA_BROKERS: options.brokers.join(','),
        MLLP_PORT: String(mllpPort),
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the gateway process');

  const deadline = Date.now() + 90_000;
  let ready = false;
  let gone = false;
  void exited.then(() => (gone = true));
  while (!ready) {
    if (gone) throw new Error(`the gateway exited during start; see ${logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the gateway was not ready within 90 s; see ${logFile}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      ready = response.ok;
    } catch {
      /* not listening yet */
    }
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }

  const kafka = new Kafka({ clientId: `vitalbridge-bench-${suffix}`, brokers: [...options.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  return {
    pid,
    mllpPort,
    httpPort,
    topics,
    logFile,
    async offsets(topic) {
      try {
        const parts = await admin.fetchTopicOffsets(topic);
        return parts.reduce((sum, p) => sum + Number(p.high), 0);
      } catch {
        return 0; // not created yet
      }
    },
    async stop() {
      await admin.disconnect().catch(() => undefined);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
