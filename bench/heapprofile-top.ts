/**
 * Where a sampled heap profile (bench/heap-sampling.mjs, or DevTools' "allocation sampling") says the
 * bytes were allocated: by function, and by the last four frames of the allocating stack.
 *   npx tsx bench/heapprofile-top.ts <file.heapprofile> [count]
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}
const nodeSchema: z.ZodType<ProfileNode> = z.lazy(() =>
  z.object({
    callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    selfSize: z.number(),
    children: z.array(nodeSchema),
  }),
);
const profileSchema = z.object({ head: nodeSchema });

const [file, countArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: heapprofile-top.ts <file.heapprofile> [count]');
const count = Number(countArg ?? 25);
const profile = profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
const byFunction = new Map<string, number>();
const byStack = new Map<string, number>();
let total = 0;
function walk(node: ProfileNode, stack: readonly string[]): void {
  const frame = node.callFrame;
  const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
  const here = [...stack, name];
  if (node.selfSize > 0) {
    total += node.selfSize;
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
    const key = here.slice(-4).join(' > ');
    byStack.set(key, (byStack.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, here);
}
walk(profile.head, []);
const print = (rows: Map<string, number>) => {
  for (const [name, bytes] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${name}`);
};
console.log(`${(total / 2 ** 20).toFixed(1)} MB sampled`);
print(byFunction);
console.log('\nby allocating stack (last four frames):');
print(byStack);
