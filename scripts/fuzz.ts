/**
 * `npm run fuzz -- --seed <n> --count <n> [--target <name>]`: the long fuzz run. The same targets
 * as the CI test (test/fuzz/targets.ts), with as many cases as asked. Prints the seed, the cases
 * and time per target, the process's peak RSS, and each counterexample with the command that
 * replays it; exit 1 when any target failed.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { fuzzTargets, findFuzzTarget, slowestCaseMs } from '../test/fuzz/targets.ts';

const usage = `Usage: npm run fuzz -- [--seed <n>] [--count <n>] [--target <name>]

Runs every fuzz target (or one) with <count> cases each (default 10000) under <seed> (default: random,
printed). A failure prints the counterexample, shrunk, and the command that replays it.

  --seed <n>      fast-check seed (an integer); the same seed and count replay the same cases
  --count <n>     cases per target
  --target <name> only this target; one of:
${fuzzTargets.map((target) => `                    ${target.name}`).join('\n')}
  --help          this text
`;

function main(): number | Promise<number> {
  let values: { seed?: string; count?: string; target?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { seed: { type: 'string' }, count: { type: 'string' }, target: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const integer = (text: string | undefined, name: string, fallback: number): number => {
    if (text === undefined) return fallback;
    if (!/^-?\d+$/.test(text)) throw new Error(`--${name} expects an integer, got "${text}"`);
    return Number(text);
  };
  let seed: number;
  let count: number;
  try {
    seed = integer(values.seed, 'seed', (Math.random() * 2 ** 31) | 0);
    count = integer(values.count, 'count', 10_000);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const targets = values.target === undefined ? fuzzTargets : [findFuzzTarget(values.target)];
  if (targets.some((target) => target === undefined)) {
    process.stderr.write(`unknown target "${values.target}"\n\n${usage}`);
    return 2;
  }
  return run(targets as typeof fuzzTargets, seed, count);
}

async function run(targets: typeof fuzzTargets, seed: number, count: number): Promise<number> {
  // An unhandled rejection anywhere during a target is a failure of that target, not a crash of the run.
  const unhandled: unknown[] = [];
  process.on('unhandledRejection', (reason) => unhandled.push(reason));
  process.stdout.write(`fuzz: seed ${seed}, ${count} cases per target, ${targets.length} targets\n`);
  let failed = 0;
  const started = performance.now();
  for (const target of targets) {
    const targetStarted = performance.now();
    const details = await fc.check(target.property(), { seed, numRuns: count, timeout: target.caseTimeoutMs });
    const seconds = (performance.now() - targetStarted) / 1000;
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const slowest = (slowestCaseMs.get(target.name) ?? 0).toFixed(1);
    const line = `${target.name.padEnd(32)} ${String(details.numRuns).padStart(7)} cases  ${seconds.toFixed(1).padStart(6)} s  slowest case ${slowest.padStart(6)} ms  rss ${rssMiB.toFixed(0)} MiB`;
    if (details.failed) {
      failed += 1;
      process.stdout.write(`${line}  FAILED after ${details.numRuns} cases (${details.numShrinks} shrinks)\n`);
      process.stdout.write(`  counterexample: ${fc.stringify(details.counterexample)}\n`);
      process.stdout.write(`  error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\n`);
      process.stdout.write(`  replay: npm run fuzz -- --seed ${seed} --count ${count} --target ${target.name}   (fast-check path ${details.counterexamplePath})\n`);
    } else {
      process.stdout.write(`${line}  ok\n`);
    }
    if (unhandled.length > 0) {
      failed += 1;
      process.stdout.write(`  ${unhandled.length} unhandled rejection(s) during ${target.name}: ${String(unhandled[0])}\n`);
      unhandled.length = 0;
    }
  }
  const total = (performance.now() - started) / 1000;
  process.stdout.write(`fuzz: ${failed === 0 ? 'all targets passed' : `${failed} target(s) failed`} in ${total.toFixed(1)} s; peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; seed ${seed}\n`);
  return failed === 0 ? 0 : 1;
}

const code = await main();
process.exitCode = code;
