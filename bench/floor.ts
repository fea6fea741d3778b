/**
 * The gateway against the floor under it, one after the other on one broker, with the hospital load
 * (connections × msg/s each): bench/floor-server.mjs with fixed ACKs only, then fixed ACKs + the
 * gateway's records with the gateway's Kafka client, then the gateway. CPU of each server process.
 *
 *   FLOOR_STEPS='1000@1' FLOOR_SECONDS=15 FLOOR_REPEATS=2 npx tsx bench/floor.ts
 *   FLOOR_SERVERS='Kafka,gateway'          picks servers by part of their label
 *   FLOOR_COMPRESSIONS='gzip,lz4,snappy'   adds the Kafka floor with producer compression
 *   FLOOR_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/floor-prof'   profiles the floor servers
 *
 * Prints one JSON line per measurement. `npm run bench` runs the default servers too.
 */
import { startLocalKafka, type LocalKafka } from '../src/kafka-local/local-kafka.ts';
import { hospitalLoadOn, startFloorServer, type FloorServer } from './lib/floor-servers.ts';
import { ensureCompiledGateway, startGatewayProcess } from './lib/gateway-process.ts';

const steps = (process.env.FLOOR_STEPS ?? '1000@1').split(',');
const seconds = Number(process.env.FLOOR_SECONDS ?? 15);
const repeats = Number(process.env.FLOOR_REPEATS ?? 1);
const nodeArgs = process.env.FLOOR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const only = process.env.FLOOR_SERVERS?.split(',');
const OBSERVATIONS_PER_MESSAGE = 7;

process.stderr.write(`gateway: runs ${ensureCompiledGateway()}\n`);
let localKafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (localKafka = await startLocalKafka({})).brokers;

const servers: Record<string, () => Promise<FloorServer>> = {
  'floor: ACK only': () => startFloorServer({ mode: 'ack', brokers, nodeArgs }),
  'floor: ACK + Kafka records': () => startFloorServer({ mode: 'kafka', brokers, nodeArgs }),
  ...Object.fromEntries(
    (process.env.FLOOR_COMPRESSIONS?.split(',') ?? []).map((compression) => [
      `floor: ACK + Kafka records, ${compression}`,
      () => startFloorServer({ mode: 'kafka', brokers, compression, nodeArgs }),
    ]),
  ),
  gateway: async () => {
    const gw = await startGatewayProcess({ brokers, name: 'floor-gateway', maxConnections: 5000 });
    return { pid: gw.pid, port: gw.mllpPort, stop: () => gw.stop() };
  },
};

for (let repeat = 0; repeat < repeats; repeat += 1) {
  for (const step of steps) {
    const [connections, rate] = step.split('@').map(Number) as [number, number];
    for (const [label, start] of Object.entries(servers)) {
      if (only !== undefined && !only.some((part) => label.includes(part))) continue;
      const server = await start();
      const row = await hospitalLoadOn(server, connections, rate, { warmupMs: 3_000, measureMs: seconds * 1000 });
      await server.stop();
      const cpuSecondsPer1000Obs = Number(((row.cores / Math.max(1, row.messagesPerSecond * OBSERVATIONS_PER_MESSAGE)) * 1000).toFixed(4));
      console.log(JSON.stringify({ repeat, step, server: label, ...row, cpuSecondsPer1000Obs }));
    }
  }
}
await localKafka?.stop();
process.exit(0);
