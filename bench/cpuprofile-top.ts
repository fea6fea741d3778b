/**
 * Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`):
 *   npx tsx bench/cpuprofile-top.ts <file.cpuprofile> [count]
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const node = z.object({
  id: z.number(),
  callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
  children: z.array(z.number()).optional(),
});
const profile = z.object({ nodes: z.array(node), samples: z.array(z.number()), timeDeltas: z.array(z.number()) });

const [file, countArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: cpuprofile-top.ts <file.cpuprofile> [count]');
const parsed = profile.parse(JSON.parse(readFileSync(file, 'utf8')));
const byId = new Map(parsed.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
parsed.samples.forEach((id, i) => {
  const n = byId.get(id);
  const dt = parsed.timeDeltas[i] ?? 0;
  if (n === undefined) return;
  const frame = n.callFrame;
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/(node_modules|wt-[^/]+)\//, '$1/')}:${frame.lineNumber + 1}`;
  const name = `${frame.functionName || '(anonymous)'}${where}`;
  self.set(name, (self.get(name) ?? 0) + dt);
  total += dt;
});
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 30));
console.log(`total ${(total / 1000).toFixed(0)} ms sampled`);
for (const [name, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);

// With a third argument (a function name): who calls it, by self time spent in it below them.
const callee = process.argv[4];
if (callee !== undefined) {
  const parentOf = new Map<number, number>();
  for (const n of parsed.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const label = (id: number | undefined) => {
    const n = id === undefined ? undefined : byId.get(id);
    return n === undefined ? '(root)' : `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|wt-[^/]+)\//, '$1/')}`;
  };
  const callers = new Map<string, number>();
  parsed.samples.forEach((id, i) => {
    if (byId.get(id)?.callFrame.functionName !== callee) return;
    const chain = [parentOf.get(id), parentOf.get(parentOf.get(id) ?? -1)].map(label).join(' <- ');
    callers.set(chain, (callers.get(chain) ?? 0) + (parsed.timeDeltas[i] ?? 0));
  });
  console.log(`\ncallers of ${callee}:`);
  for (const [chain, us] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${(us / 1000).toFixed(0).padStart(6)} ms  ${chain}`);
}
