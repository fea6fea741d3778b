/**
 * Finds an adapter by name for the CLI: in the registry, or in a module given with
 * `--adapter-module <file>` (an adapter being written that is not registered yet, or a test adapter).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { adapters, findAdapter } from '../../adapters/index.ts';
import type { AnyAdapter } from './define-adapter.ts';

export async function loadAdapter(name: string, modulePath?: string): Promise<AnyAdapter> {
  if (modulePath !== undefined) {
    const module = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
    const found = Object.values(module).find(
      (value): value is AnyAdapter => typeof value === 'object' && value !== null && (value as { name?: unknown }).name === name && 'parse' in value,
    );
    if (found === undefined) throw new Error(`${modulePath} exports no adapter named "${name}"`);
    return found;
  }
  const adapter = findAdapter(name);
  if (adapter === undefined) {
    const names = adapters.filter((a) => a.transport === 'byte-stream').map((a) => a.name);
    throw new Error(`unknown adapter "${name}"; byte-stream adapters: ${names.join(', ') || '(none registered)'}`);
  }
  return adapter;
}

export function byteStreamAdapterNames(): string[] {
  return adapters.filter((a) => a.transport === 'byte-stream').map((a) => a.name);
}
