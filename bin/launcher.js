/**
 * What bin/vitalbridge.js runs: the compiled gateway in dist/ (`npm run build`) while that build is newer
 * than every source file, else the TypeScript sources through tsx. So a build is an optimisation that can
 * never run stale code: edit a source file and the next start runs the sources until the next build.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders compiled into dist/ (tsconfig.build.json includes the same). */
export const sourceRoots = ['src', 'adapters', 'schemas'];
/**
 * Node flags the gateway runs with in production (the image's ENTRYPOINT and `npm start`; the bench starts
 * it the same way). They must be given to node itself: V8 sizes the heap before any script runs, and
 * NODE_OPTIONS does not take the second. The gateway's live heap is small (~37 MB at 1,000 connections)
 * and what it allocates dies young, so (README "Performance"):
 * - semi-spaces of 8 MB instead of V8's 16: the larger ones only held garbage; the peak RSS at
 *   1,000 connections × 1 msg/s fell from 272-336 MB to 248-252 MB for the same CPU;
 * - the old generation may grow to twice what was live after a full GC instead of V8's up to four times:
 *   the heap at that load held ~115 MB for ~37 MB of live objects; the peak RSS fell from 275-283 MB to
 *   200-203 MB for the same CPU at that load (within 0-20% at saturation).
 */
export const gatewayNodeFlags = ['--max-semi-space-size=8', '--heap-growing-percent=100'];
/**
 * Environment the gateway runs with in production (the image's ENV; the bench starts it the same way).
 * glibc gives each thread that allocates a malloc arena of its own; with the pipeline worker thread
 * that meant 20-40 MB more peak RSS at 1,000 connections × 1 msg/s (289-314 MB against 255-274 MB
 * with two arenas) for the same CPU, and still 3-13 MB with --heap-growing-percent=100 (README
 * "Performance"). Read by glibc at process start.
 */
export const gatewayEnvironment = { MALLOC_ARENA_MAX: '2' };

/** Written last by the build; its modification time is the build's. */
export const buildInfoFile = 'build-info.json';

function newestModificationMs(dir) {
  let newest = 0;
  // An image may ship dist/ alone.
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestModificationMs(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The compiled CLI entry when dist/ is present and up to date, else undefined. */
export function compiledEntry(root) {
  const entry = join(root, 'dist', 'src', 'cli', 'main.js');
  const info = join(root, 'dist', buildInfoFile);
  if (!existsSync(entry) || !existsSync(info)) return undefined;
  const builtMs = statSync(info).mtimeMs;
  const sourcesMs = Math.max(...sourceRoots.map((name) => newestModificationMs(join(root, name))));
  return builtMs >= sourcesMs ? entry : undefined;
}
