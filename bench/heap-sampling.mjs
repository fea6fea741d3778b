/**
 * Preloaded into a gateway under load, it samples what the gateway's main thread allocates, objects
 * that garbage collection has already freed included (which is where the GC cost comes from), and
 * writes a .heapprofile for bench/heapprofile-top.ts:
 *
 *   AB_VARIANTS='[{"label":"heap","nodeArgs":["--import","<abs path>/bench/heap-sampling.mjs"]}]' \
 *   AB_STEPS=closed:256 AB_SECONDS=15 npx tsx bench/ab.ts
 *
 * HEAP_SAMPLING_DELAY_MS (default 8000: after the warm-up), HEAP_SAMPLING_MS (default 5000),
 * HEAP_SAMPLING_FILE (default /tmp/gateway-<pid>.heapprofile). HEAP_SAMPLING_SURVIVORS=1 leaves out what
 * scavenges freed, so the profile shows what survived the young generation (what gets copied and
 * promoted, then left to major GCs) instead of everything allocated. Worker threads inherit --import;
 * only the main thread samples.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { isMainThread } from 'node:worker_threads';

const delayMs = Number(process.env.HEAP_SAMPLING_DELAY_MS ?? 8_000);
const durationMs = Number(process.env.HEAP_SAMPLING_MS ?? 5_000);
const file = process.env.HEAP_SAMPLING_FILE ?? `/tmp/gateway-${process.pid}.heapprofile`;

if (isMainThread) {
  setTimeout(() => {
    const session = new Session();
    session.connect();
    const sampling = { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.HEAP_SAMPLING_SURVIVORS !== '1' };
    session.post('HeapProfiler.startSampling', sampling, (startError) => {
      if (startError) return console.error(`heap-sampling: could not start: ${startError.message}`);
      setTimeout(() => {
        session.post('HeapProfiler.stopSampling', (stopError, result) => {
          if (stopError) return console.error(`heap-sampling: could not stop: ${stopError.message}`);
          writeFileSync(file, JSON.stringify(result.profile));
          console.error(`heap-sampling: wrote ${file}`);
          session.disconnect();
        });
      }, durationMs).unref();
    });
  }, delayMs).unref();
}
