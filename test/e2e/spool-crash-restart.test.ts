/**
 * Restart safety of delivery.ack: spool with the real CLI (`node bin/vitalbridge.js start`) as a
 * child process: SIGKILLed while several MLLP senders stream, then started again on the same spool
 * dir; every message that got a positive ACK is on Kafka afterwards, in each sender's order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { observationTime, readDelivered } from '../support/delivery-check.ts';
import { waitFor } from '../support/wait-for.ts';
import { kafkaBrokers, uniqueTopicPrefix } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { freePort } from '../../src/transports/free-port.ts';

const bin = new URL('../../bin/vitalbridge.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'vitalbridge-spool-crash-'));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});


interface GatewayProcess {
  readonly child: ChildProcess;
  readonly log: () => string;
  readonly exited: Promise<void>;
}

async function startCli(config: object, name: string): Promise<GatewayProcess> {
  const file = join(workDir, `${name}.json`);
  await writeFile(file, JSON.stringify(config));
  const child = spawn(process.execPath, [bin, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, log: () => output, exited };
}

async function readyz(httpPort: number): Promise<{ status: number; pendingRecords: number | undefined }> {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    const body = (await response.json()) as { spool?: { pendingRecords: number } };
    return { status: response.status, pendingRecords: body.spool?.pendingRecords };
  } catch {
    return { status: 0, pendingRecords: undefined };
  }
}

async function waitReady(gateway: GatewayProcess, httpPort: number): Promise<void> {
  try {
    await waitFor('the gateway to be ready', async () => gateway.child.exitCode === null && (await readyz(httpPort)).status === 200, 60_000, 250);
  } catch (error) {
    throw new Error(`gateway did not become ready (exit ${gateway.child.exitCode}):\n${gateway.log().slice(-3000)}`, { cause: error });
  }
}

/** `connections` senders, each sending its own numbered messages one after another until stopped. */
function startSenders(options: { port: number; connections: number; prefix: string; acked: string[]; timeCounter: { next: number } }) {
  let stopped = false;
  const done = Array.from({ length: options.connections }, async (_, connection) => {
    const client = new MllpClient();
    try {
      await client.connect('127.0.0.1', options.port, { timeoutMs: 5_000 });
      for (let index = 0; !stopped; index += 1) {
        const controlId = `${options.prefix}-C${connection}-${String(index).padStart(4, '0')}`;
        const reply = await client.send(pcd01Message({ controlId, time: observationTime(options.timeCounter.next++) }), { timeoutMs: 15_000 });
        const code = readAcknowledgement(reply)?.code;
        if (code === 'CA' || code === 'AA') options.acked.push(controlId);
      }
    } catch {
      // The gateway was killed under this sender: the message in flight got no ACK.
    } finally {
      await client.close().catch(() => undefined);
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(done);
    },
    finished: Promise.all(done),
  };
}

/** The message ids of `acked` that one connection sent, in its order. */
function perConnection(ids: readonly string[], connection: number): string[] {
  return ids.filter((id) => id.includes(`-C${connection}-`));
}

async function gatewayConfig(options: { brokers: readonly string[]; spoolDir: string; topicPrefix: string }) {
  const [mllpPort, httpPort] = [await freePort(), await freePort()];
  return {
    mllpPort,
    httpPort,
    config: {
      mllp: { host: '127.0.0.1', port: mllpPort },
      http: { host: '127.0.0.1', port: httpPort },
      kafka: {
        brokers: options.brokers,
        connectTimeoutMs: 2_000,
        publishTimeoutMs: 5_000,
        topics: {
          observation: `${options.topicPrefix}.fhir.observation`,
          device: `${options.topicPrefix}.fhir.device`,
          deadLetter: `${options.topicPrefix}.gateway.deadletter`,
          events: `${options.topicPrefix}.gateway.events`,
        },
      },
      delivery: { ack: 'spool', spool: { dir: options.spoolDir, retryMaxDelayMs: 1_000 }, shutdownGraceMs: 3_000 },
      log: { level: 'info' },
    },
  };
}

async function expectAllDelivered(options: { topic: string; acked: readonly string[]; connections: number; label: string }) {
  const { records, report } = await readDelivered(kafkaBrokers(), options.topic, { acknowledged: options.acked, recordsPerMessage: 3, timeoutMs: 30_000 });
  const delivered = new Set(report.messageOrder);
  const missing = options.acked.filter((id) => !delivered.has(id));
  expect(missing, 'positively acknowledged messages missing from Kafka').toEqual([]);
  for (let connection = 0; connection < options.connections; connection += 1) {
    // Each sender's acknowledged messages arrive in the order it sent them.
    const order = perConnection(report.messageOrder, connection).filter((id) => options.acked.includes(id));
    expect(order, `order of connection ${connection}`).toEqual(perConnection(options.acked, connection));
  }
  expect(report.conflictingDuplicates).toBe(0);
  process.stderr.write(
    `[${options.label}] ${options.acked.length} messages acknowledged, ${records.length} observation records on Kafka, ` +
      `${report.messageOrder.length - options.acked.length} unacknowledged messages delivered too, ${report.duplicates.length} duplicate records (identical ids and keys)\n`,
  );
}

describe('delivery.ack: spool across SIGKILL of the real CLI', () => {
  it('SIGKILL mid-stream with Kafka up, restart on the same spool dir: every positively acknowledged message is on Kafka', async () => {
    const connections = 4;
    const topicPrefix = uniqueTopicPrefix('spool-crash');
    const spoolDir = join(workDir, 'spool-a');
    const { mllpPort, httpPort, config } = await gatewayConfig({ brokers: kafkaBrokers(), spoolDir, topicPrefix });
    const acked: string[] = [];
    const timeCounter = { next: 0 };

    const first = await startCli(config, 'first');
    await waitReady(first, httpPort);
    const senders = startSenders({ port: mllpPort, connections, prefix: 'KILL', acked, timeCounter });
    await waitFor('40 messages acknowledged', () => acked.length >= 40, 60_000, 20);
    first.child.kill('SIGKILL');
    await first.exited;
    await senders.finished;

    const second = await startCli(config, 'second');
    await waitReady(second, httpPort);
    const after = startSenders({ port: mllpPort, connections, prefix: 'AFTER', acked, timeCounter });
    await waitFor('8 messages acknowledged after the restart', () => acked.filter((id) => id.startsWith('AFTER')).length >= 8, 60_000, 20);
    await after.stop();
    await waitFor('the spool drained to Kafka', async () => (await readyz(httpPort)).pendingRecords === 0, 30_000);
    await expectAllDelivered({ topic: `${topicPrefix}.fhir.observation`, acked, connections, label: 'spool-crash-restart' });

    second.child.kill('SIGTERM');
    await second.exited;
    expect(second.child.exitCode).toBe(0);
    expect(second.log()).toContain('"event":"spool_drained"');
  }, 180_000);

  it('records still in the spool at SIGKILL (Kafka unreachable) are delivered by the next start', async () => {
    const connections = 2;
    const topicPrefix = uniqueTopicPrefix('spool-resume');
    const spoolDir = join(workDir, 'spool-b');
    const unreachable = [`127.0.0.1:${await freePort()}`];
    const offline = await gatewayConfig({ brokers: unreachable, spoolDir, topicPrefix });
    const acked: string[] = [];
    const timeCounter = { next: 0 };

    const first = await startCli(offline.config, 'offline');
    // Ready although Kafka is unreachable: acknowledgements come from the spool.
    await waitReady(first, offline.httpPort);
    const senders = startSenders({ port: offline.mllpPort, connections, prefix: 'HELD', acked, timeCounter });
    await waitFor('30 messages acknowledged', () => acked.length >= 30, 60_000, 20);
    const held = (await readyz(offline.httpPort)).pendingRecords ?? 0;
    expect(held).toBeGreaterThanOrEqual(30 * 3);
    first.child.kill('SIGKILL');
    await first.exited;
    await senders.finished;

    const online = { ...offline.config, kafka: { ...offline.config.kafka, brokers: kafkaBrokers() } };
    const second = await startCli(online, 'online');
    await waitReady(second, offline.httpPort);
    await waitFor('the spool drained to Kafka', async () => (await readyz(offline.httpPort)).pendingRecords === 0, 30_000);
    expect(second.log()).toMatch(/"event":"spool_opened"[^\n]*"pendingRecords":[1-9]/);
    await expectAllDelivered({ topic: `${topicPrefix}.fhir.observation`, acked, connections, label: 'spool-resume-after-kill' });
    second.child.kill('SIGTERM');
    await second.exited;
    expect(second.child.exitCode).toBe(0);
  }, 180_000);

  it('SIGTERM with Kafka unreachable: the gateway stops within its grace period, logs what is left in the spool, and the next start delivers it', async () => {
    const topicPrefix = uniqueTopicPrefix('spool-term');
    const spoolDir = join(workDir, 'spool-c');
    const offline = await gatewayConfig({ brokers: [`127.0.0.1:${await freePort()}`], spoolDir, topicPrefix });
    const acked: string[] = [];
    const timeCounter = { next: 0 };

    const first = await startCli(offline.config, 'term-offline');
    await waitReady(first, offline.httpPort);
    const senders = startSenders({ port: offline.mllpPort, connections: 2, prefix: 'TERM', acked, timeCounter });
    await waitFor('10 messages acknowledged', () => acked.length >= 10, 60_000, 20);
    await senders.stop();
    first.child.kill('SIGTERM');
    // shutdownGraceMs is 3 s (plus the 5 s watchdog): the process ends on its own, well within this.
    const stopped = await Promise.race([first.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000))]);
    expect(stopped, `gateway still running 20 s after SIGTERM:\n${first.log().slice(-2000)}`).toBe(true);
    expect(first.child.exitCode).toBe(0);
    const left = /"event":"spool_left_on_disk"[^\n]*"pendingRecords":(\d+)/.exec(first.log());
    expect(Number(left?.[1])).toBeGreaterThanOrEqual(acked.length * 3);

    const online = { ...offline.config, kafka: { ...offline.config.kafka, brokers: kafkaBrokers() } };
    const second = await startCli(online, 'term-online');
    await waitReady(second, offline.httpPort);
    await waitFor('the spool drained to Kafka', async () => (await readyz(offline.httpPort)).pendingRecords === 0, 30_000);
    await expectAllDelivered({ topic: `${topicPrefix}.fhir.observation`, acked, connections: 2, label: 'spool-sigterm-offline' });
    second.child.kill('SIGTERM');
    await second.exited;
    expect(second.child.exitCode).toBe(0);
  }, 180_000);
});
