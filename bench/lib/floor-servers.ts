/**
 * The floor under the hospital case: bench/floor-server.mjs as a child process, in one of two modes
 * (fixed ACKs only; fixed ACKs + the gateway's own records with the gateway's Kafka client and
 * settings), and the hospital load on it. What the floor costs, the gateway cannot go below on this
 * machine with Node; what is left between the floor and the gateway is the gateway's own work.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../src/transports/free-port.ts';
import { openConnections, openLoop, percentiles } from './mllp-load.ts';
import { pipelineRecordsOf } from './pipeline-of.ts';
import { cpuWindow, rssSampler } from './proc-stats.ts';
import { kafkaSchema } from '../../schemas/config.ts';

export type FloorMode = 'ack' | 'kafka';

export interface FloorServer {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

const RECORDS_FILE = 'reports/bench-work/floor-records.json';

/** The record values the gateway's pipeline makes of the bench messages (per message: 1 Device + 7 Observations). */
async function writeBenchRecords(): Promise<string> {
  const recordsOf = await pipelineRecordsOf(process.cwd());
  const messages = Array.from({ length: 256 }, (_, n) => recordsOf(n).map((record) => record.value));
  await mkdir(dirname(RECORDS_FILE), { recursive: true });
  await writeFile(RECORDS_FILE, JSON.stringify(messages));
  return RECORDS_FILE;
}

export async function startFloorServer(options: {
  mode: FloorMode;
  brokers: readonly string[];
  /** Kafka producer compression (none, gzip, snappy, lz4); default none, as the gateway. */
  compression?: string;
  nodeArgs?: readonly string[];
}): Promise<FloorServer> {
  const port = await freePort();
  const topic = `bench.floor.${randomUUID().slice(0, 8)}`;
  const args = [String(port), options.mode];
  if (options.mode === 'kafka') {
    const admin = new Kafka({ clientId: 'vitalbridge-bench-floor', brokers: [...options.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    // The gateway's default lingers (kafka.lingerMs, kafka.lingerAfterSendMs), from the config schema.
    const { lingerMs, lingerAfterSendMs } = kafkaSchema.parse({});
    args.push(options.brokers.join(','), topic, await writeBenchRecords(), options.compression ?? 'none', String(lingerMs), String(lingerAfterSendMs));
  }
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'bench/floor-server.mjs', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the floor server was not ready within 30 s')), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('ready')) return;
      clearTimeout(timer);
      resolve();
    });
    void exited.then((code) => reject(new Error(`the floor server exited (${code}) before it was ready`)));
  });
  if (child.pid === undefined) throw new Error('could not start the floor server');
  const pid = child.pid;
  return {
    pid,
    port,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface HospitalLoadRow {
  messagesPerSecond: number;
  cores: number;
  peakRssMb: number;
  ackMs: ReturnType<typeof percentiles>;
  failures: number;
}

/** connections × ratePerConnection msg/s (open loop) on an MLLP server process; its CPU in the measuring window. */
export async function hospitalLoadOn(server: { pid: number; port: number }, connections: number, ratePerConnection: number, timing: { warmupMs: number; measureMs: number }): Promise<HospitalLoadRow> {
  const conns = await openConnections(server.port, connections);
  const sampler = rssSampler(server.pid);
  const cpu = cpuWindow(server.pid);
  const result = await openLoop(conns, ratePerConnection, timing, { onWindowStart: cpu.start, onWindowEnd: cpu.end });
  const peakRssMb = Math.round(sampler.stop());
  for (const c of conns) c.close();
  const m = cpu.result();
  return {
    messagesPerSecond: Number((result.accepted / m.wallSeconds).toFixed(1)),
    cores: Number((m.cpuSeconds / m.wallSeconds).toFixed(3)),
    peakRssMb,
    ackMs: percentiles(result.latenciesMs),
    failures: result.failures,
  };
}
