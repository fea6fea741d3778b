/**
 * The pure pipeline (parse + normalize + validate + JSON records) in a loop, for `node --cpu-prof`:
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/perf bench/profile-pipeline.ts [seconds]
 * then `npx tsx bench/cpuprofile-top.ts /tmp/perf/<file>.cpuprofile`.
 * Prints messages/s and the process CPU seconds per 1,000 Observations.
 */
import { pipelineOf } from './lib/pipeline-of.ts';

const seconds = Number(process.argv[2] ?? 10);
const one = await pipelineOf(process.cwd());
// A fixed warm-up (JIT) outside the measurement, then a fixed number of messages for `seconds` at
// least: CPU seconds per 1,000 Observations stay comparable when the shared machine is busy.
for (let n = 0; n < 2_000; n += 1) one(n);
let observations = 0;
let messages = 0;
const cpuStart = process.cpuUsage();
const start = performance.now();
while (messages < 3_000 || performance.now() - start < seconds * 1000) observations += one(messages++);
const wall = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ messagesPerSecond: Math.round(messages / wall), observations, cpuSecondsPer1000Obs: +(cpuSeconds / (observations / 1000)).toFixed(4) }));
