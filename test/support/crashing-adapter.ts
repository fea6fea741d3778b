/**
 * A test adapter for pipeline worker failures: hl7v2-pcd, except that a message whose MSH-10 is
 * CRASH-THE-WORKER ends the thread running it (on a worker thread, `process.exit` ends that thread
 * only, the way a fatal error would), one whose MSH-10 is HANG-THE-WORKER never returns (an
 * adapter defect such as an endless loop), and one whose MSH-10 is SLOW-THE-WORKER keeps the thread
 * busy for slowMarkerMs before it is read as usual. Loaded by module path, as `--adapter-module` loads one.
 */
import hl7v2Pcd from '../../adapters/hl7v2-pcd/index.ts';
import type { AnyAdapter } from '../../src/adapter-kit/define-adapter.ts';

export const crashMarker = 'CRASH-THE-WORKER';
export const hangMarker = 'HANG-THE-WORKER';
export const slowMarker = 'SLOW-THE-WORKER';
export const slowMarkerMs = 300;
export const crashingAdapterModule = new URL(import.meta.url).pathname;

export const crashingAdapter: AnyAdapter = {
  ...hl7v2Pcd,
  name: 'crash-on-marker',
  parse(raw: Buffer) {
    if (raw.includes(`|${crashMarker}|`)) process.exit(7);
    if (raw.includes(`|${hangMarker}|`)) for (;;);
    if (raw.includes(`|${slowMarker}|`)) for (const until = Date.now() + slowMarkerMs; Date.now() < until; );
    return hl7v2Pcd.parse(raw);
  },
};
