// Starts pipeline-worker.ts from the TypeScript sources (tests, tsx): a worker thread does not inherit
// the main thread's TypeScript loader, and `execArgv: ['--import', 'tsx']` fails with
// ERR_UNKNOWN_FILE_EXTENSION, so the thread registers tsx itself before importing the module.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./pipeline-worker.ts', import.meta.url).href);
