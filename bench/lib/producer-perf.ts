/** Kafka's own producer benchmark (org.apache.kafka.tools.ProducerPerformance) against the same broker: the ceiling. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaJars } from '../../src/kafka-local/local-kafka.ts';
import { cpuWindow } from './proc-stats.ts';

export interface ProducerPerfResult {
  records: number;
  recordBytes: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  summaryLine: string;
  command: string;
  /** The producer process's CPU (its threads, the JVM's included) in `cpuWindow`, in cores. */
  cores?: number;
}

/**
 * throughput: records/s to pace at (default -1: as fast as it goes, the ceiling); paced, its latencies
 * are the broker's own produce latency at that load. cpuWindow: seconds after the start between which
 * to measure the process's CPU (after the JVM's start-up and JIT; the run must last past `to`).
 */
export async function runProducerPerformance(options: {
  brokers: readonly string[];
  records: number;
  recordBytes: number;
  throughput?: number;
  cpuWindow?: { from: number; to: number };
}): Promise<ProducerPerfResult> {
  const libs = await ensureKafkaJars();
  const topic = `bench.producer-perf.${Date.now()}`;
  // Same shape as the gateway's topics: one partition, created up front.
  const admin = new Kafka({ clientId: 'vitalbridge-bench-perf', brokers: [...options.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const args = [
    '-Xmx512m',
    '-cp',
    join(libs, '*'),
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    topic,
    '--num-records',
    String(options.records),
    '--record-size',
    String(options.recordBytes),
    '--throughput',
    String(options.throughput ?? -1),
    '--producer-props',
    'acks=all',
    `bootstrap.servers=${options.brokers.join(',')}`,
  ];
  let cores: number | undefined;
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const window = options.cpuWindow;
    if (window !== undefined && child.pid !== undefined) {
      const cpu = cpuWindow(child.pid);
      const startTimer = setTimeout(cpu.start, window.from * 1000);
      const endTimer = setTimeout(() => {
        cpu.end();
        const m = cpu.result();
        cores = Number((m.cpuSeconds / m.wallSeconds).toFixed(3));
      }, window.to * 1000);
      child.once('exit', () => (clearTimeout(startTimer), clearTimeout(endTimer)));
    }
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`ProducerPerformance exited ${code}:\n${text.slice(-2000)}`))));
  });
  // e.g. "500000 records sent, 123456.8 records/sec (120.56 MB/sec), 150.20 ms avg latency, 400.00 ms max latency, 140 ms 50th, 300 ms 95th, 350 ms 99th, 390 ms 99.9th."
  const line = output.split('\n').filter((l) => /records sent,.*50th/.test(l)).at(-1);
  if (line === undefined) throw new Error(`no ProducerPerformance summary line in:\n${output.slice(-2000)}`);
  const num = (re: RegExp) => Number(re.exec(line)?.[1] ?? NaN);
  return {
    records: num(/^(\d+) records sent/),
    recordBytes: options.recordBytes,
    recordsPerSecond: num(/([\d.]+) records\/sec/),
    mbPerSecond: num(/\(([\d.]+) MB\/sec\)/),
    avgLatencyMs: num(/([\d.]+) ms avg latency/),
    maxLatencyMs: num(/([\d.]+) ms max latency/),
    p50Ms: num(/(\d+) ms 50th/),
    p95Ms: num(/(\d+) ms 95th/),
    p99Ms: num(/(\d+) ms 99th/),
    summaryLine: line.trim(),
    ...(cores !== undefined ? { cores } : {}),
    command: `java -cp '${join(libs, '*')}' ${args.slice(3).join(' ')}`,
  };
}
