/**
 * First throughput figure: PCD-01 messages sent one after another on ONE MLLP connection, each
 * waiting for its CA, through the real gateway into a real Kafka broker (acks=all, idempotent).
 * Prints messages/s, observations/s and ACK latency percentiles, and writes reports/bench-mllp-one-connection.{json,md}.
 *
 *   npm run bench                      # local broker started from Maven Central jars
 *   KAFKA_BROKERS=host:9092 npm run bench
 *   BENCH_MESSAGES=5000 npm run bench
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { formatHl7Timestamp } from '../src/hl7/ack.ts';
import { readAcknowledgement } from '../src/hl7/read-ack.ts';
import { startLocalKafka, type LocalKafka } from '../src/kafka-local/local-kafka.ts';
import { MllpClient } from '../src/transports/mllp/client.ts';
import { startTestGateway } from '../test/support/gateway-harness.ts';
import { pcd01Message } from '../test/support/messages.ts';

const messages = Number(process.env.BENCH_MESSAGES ?? 2000);
const warmup = Math.min(200, Math.floor(messages / 10));
const firstObservationTime = Date.UTC(2024, 4, 1, 10, 0, 0);

let localKafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (localKafka = await startLocalKafka({ onProgress: (l) => process.stderr.write(`${l}\n`) })).brokers;
const gw = await startTestGateway({ brokers, logLevel: 'warn' });
const client = new MllpClient();
await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });

const latenciesMs: number[] = [];
let observations = 0;
const cpuBefore = process.cpuUsage();
let started = 0;
for (let n = -warmup; n < messages; n += 1) {
  if (n === 0) started = performance.now();
  // Distinct times per message so every message yields new resource ids, as a live monitor does.
  const time = formatHl7Timestamp(new Date(firstObservationTime + (n + warmup) * 1000), 120);
  const message = pcd01Message({ controlId: `BENCH-${n}`, time });
  const sentAt = performance.now();
  const ack = readAcknowledgement(await client.send(message, { timeoutMs: 30_000 }));
  if (ack?.code !== 'CA') throw new Error(`message ${n} got ${ack?.code ?? 'no ACK'}`);
  if (n >= 0) {
    latenciesMs.push(performance.now() - sentAt);
    observations += 3;
  }
}
const elapsedS = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await client.close();
await gw.stop();
await localKafka?.stop();

latenciesMs.sort((a, b) => a - b);
const pct = (p: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor((p / 100) * latenciesMs.length))] ?? NaN;
const report = {
  scenario: 'one MLLP connection, sequential request/ACK, PCD-01 with 5 NM OBX (3 Observations: SpO2, PR, NIBP panel) + 1 Device',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  broker: localKafka ? 'local single-node Kafka 3.9.1 (same machine)' : brokers.join(','),
  messages,
  seconds: Number(elapsedS.toFixed(2)),
  messagesPerSecond: Number((messages / elapsedS).toFixed(0)),
  observationsPerSecond: Number((observations / elapsedS).toFixed(0)),
  ackLatencyMs: { p50: Number(pct(50).toFixed(2)), p95: Number(pct(95).toFixed(2)), p99: Number(pct(99).toFixed(2)), max: Number((latenciesMs.at(-1) ?? NaN).toFixed(2)) },
  gatewayProcessCpuSecondsPer1000Observations: Number((((cpu.user + cpu.system) / 1e6 / observations) * 1000).toFixed(3)),
  peakRssMb: Number((process.resourceUsage().maxRSS / 1024).toFixed(0)),
};
const markdown = `# Benchmark: one MLLP connection

${report.scenario}. ${report.date}, ${report.machine.cpus} cores, Node ${report.machine.node}, broker: ${report.broker}.
Sender, gateway and broker share this machine.

| messages | messages/s | observations/s | ACK p50 ms | ACK p95 ms | ACK p99 ms | CPU s / 1000 obs (sender+gateway) | peak RSS MB |
|---|---|---|---|---|---|---|---|
| ${report.messages} | ${report.messagesPerSecond} | ${report.observationsPerSecond} | ${report.ackLatencyMs.p50} | ${report.ackLatencyMs.p95} | ${report.ackLatencyMs.p99} | ${report.gatewayProcessCpuSecondsPer1000Observations} | ${report.peakRssMb} |
`;
await mkdir('reports', { recursive: true });
await writeFile('reports/bench-mllp-one-connection.json', `${JSON.stringify(report, null, 2)}\n`);
await writeFile('reports/bench-mllp-one-connection.md', markdown);
process.stdout.write(`${markdown}\nwrote reports/bench-mllp-one-connection.{json,md}\n`);
process.exit(0);
