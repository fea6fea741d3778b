/**
 * The adapter registry: one import line per adapter. A conventions test fails when a folder under
 * adapters/ is not listed here.
 */
import type { AnyAdapter } from '../src/adapter-kit/define-adapter.ts';
import draegerMedibus from './draeger-medibus/index.ts';
import hl7v2Pcd from './hl7v2-pcd/index.ts';
import masimoAscii from './masimo-ascii/index.ts';
import noninOem3 from './nonin-oem3/index.ts';
import philipsIntellivue from './philips-intellivue/index.ts';

export const adapters: readonly AnyAdapter[] = [draegerMedibus, hl7v2Pcd, masimoAscii, noninOem3, philipsIntellivue];

export function findAdapter(name: string): AnyAdapter | undefined {
  return adapters.find((adapter) => adapter.name === name);
}

export function adapterNames(): string[] {
  return adapters.map((adapter) => adapter.name);
}
