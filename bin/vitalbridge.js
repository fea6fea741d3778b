#!/usr/bin/env node
// Runs the compiled gateway from dist/ when `npm run build` made it after the last source change,
// otherwise the TypeScript sources through tsx (bin/launcher.js decides).
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compiledEntry } from './launcher.js';

const compiled = compiledEntry(fileURLToPath(new URL('..', import.meta.url)));
if (compiled === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import(pathToFileURL(compiled).href);
}
