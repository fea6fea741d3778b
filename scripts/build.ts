/**
 * `npm run build`: compiles the gateway (src/, adapters/, schemas/) to plain JavaScript in dist/, with the
 * runtime files the code reads beside it (terminology tables, the dashboard page, the local broker's pom).
 *
 * Why a build when tsx runs the sources: tsx's loader keeps a second V8 isolate (a module-hooks thread)
 * and the transform cache alive for the process's life. The compiled gateway starts faster and runs in
 * about 35 MB less memory (issue 6 note; `bench/ab.ts` with a tsx and a dist variant). bin/vitalbridge.js
 * runs dist/ only while it is newer than every source file (see launcher.ts), so a stale build never runs.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildInfoFile, sourceRoots } from '../bin/launcher.js';

const usage = `Usage: npm run build [-- --out-dir <dir>]

Compiles src/, adapters/ and schemas/ to JavaScript (tsconfig.build.json) and copies the runtime data
files beside them. bin/vitalbridge.js then runs the compiled code while it is newer than the sources.

Options:
  --out-dir <dir>  Where to write the build (default: dist). Anything already there is replaced.
  -h, --help       This text.
`;

// Data files the code reads at run time through import.meta.url.
const runtimeAssetExtensions = ['.json', '.html', '.xml'];

function copyRuntimeAssets(root: string, outDir: string): number {
  let copied = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        // Fixtures and the adapter template are read from the source tree by tests and new:adapter only.
        if (entry.name !== 'fixtures' && entry.name !== '_template') walk(path);
      } else if (runtimeAssetExtensions.some((extension) => entry.name.endsWith(extension))) {
        const target = join(outDir, relative(root, path));
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(path, target);
        copied += 1;
      }
    }
  };
  for (const sourceRoot of sourceRoots) walk(join(root, sourceRoot));
  return copied;
}

export function build(root: string, outDir: string): { assets: number } {
  rmSync(outDir, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = Date.now();
  process.stderr.write(`build: compiling ${sourceRoots.join(', ')} to ${relative(root, outDir) || outDir} ...\n`);
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`tsc failed (exit ${result.status ?? result.signal}); nothing usable in ${outDir}`);
  const assets = copyRuntimeAssets(root, outDir);
  // Written last: its time is the build's, which the launcher compares with the sources'.
  writeFileSync(join(outDir, buildInfoFile), `${JSON.stringify({ builtAt: new Date().toISOString(), node: process.version }, null, 2)}\n`);
  process.stderr.write(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s (${assets} data files copied)\n`);
  return { assets };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const args = parseArgs({ options: { 'out-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (args.values.help === true) {
    process.stdout.write(usage);
  } else {
    const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
    try {
      build(root, resolve(args.values['out-dir'] ?? join(root, 'dist')));
    } catch (error) {
      process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
