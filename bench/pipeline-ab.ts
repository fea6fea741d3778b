/**
 * The pure pipeline of two source trees in ONE process, alternated in short slices, as CPU seconds per
 * 1,000 Observations: an A/B comparison that holds on a shared, busy machine, where two separate
 * runs of profile-pipeline.ts differ by up to 30% between themselves (an A/A run of this differs by ~1%).
 *   git archive <base> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   npx tsx bench/pipeline-ab.ts /tmp/base . [rounds]
 * Each round runs 500 messages of each tree, the order swapped every round, after a warm-up.
 */
import { pipelineOf } from './lib/pipeline-of.ts';

const [rootA, rootB, roundsArg] = process.argv.slice(2);
if (rootA === undefined || rootB === undefined) throw new Error('usage: pipeline-ab.ts <tree A> <tree B> [rounds]');
const trees = [
  { name: 'A', run: await pipelineOf(rootA), cpuSeconds: 0, observations: 0 },
  { name: 'B', run: await pipelineOf(rootB), cpuSeconds: 0, observations: 0 },
];
for (let n = 0; n < 3_000; n += 1) for (const tree of trees) tree.run(n);
const rounds = Number(roundsArg ?? 40);
for (let round = 0; round < rounds; round += 1) {
  for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
    const start = process.cpuUsage();
    for (let n = 0; n < 500; n += 1) tree.observations += tree.run(n);
    const used = process.cpuUsage(start);
    tree.cpuSeconds += (used.user + used.system) / 1e6;
  }
}
const perThousand = trees.map((tree) => tree.cpuSeconds / (tree.observations / 1000));
console.log(JSON.stringify({ cpuSecondsPer1000Obs: { A: +perThousand[0]!.toFixed(4), B: +perThousand[1]!.toFixed(4) }, ratioBtoA: +(perThousand[1]! / perThousand[0]!).toFixed(3) }));
