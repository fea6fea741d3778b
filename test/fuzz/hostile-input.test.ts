/**
 * Fuzzing, the bounded CI run: every target of test/fuzz/targets.ts (the MLLP framer, the HL7 path
 * through the adapter interface and through the message processor, and every byte-stream adapter's
 * framer, session, parse and normalize) with a fixed seed, so a failure reproduces exactly:
 * `npm run fuzz -- --seed <seed> --target <name>` (the seed is printed), or with many more cases
 * and other seeds (scripts/fuzz.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzTargets, slowestCaseMs } from './targets.ts';

/** FUZZ_SEED reruns CI's cases under another seed; the default keeps CI deterministic. */
const seed = Number(process.env.FUZZ_SEED ?? 20261121);

describe(`fuzz targets (seed ${seed})`, () => {
  it('covers the MLLP framer, the HL7 path and every byte-stream adapter (including the template)', () => {
    const names = fuzzTargets.map((target) => target.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'mllp-framer',
        'hl7-adapter',
        'hl7-message-processor',
        ...['masimo-ascii', 'nonin-oem3', 'draeger-medibus', 'philips-intellivue', '_template'].flatMap((name) => [`${name}-stream`, `${name}-endless-frame`]),
      ]),
    );
  });

  for (const target of fuzzTargets) {
    it(`${target.name}: ${target.summary}`, async () => {
      const started = performance.now();
      await fc.assert(target.property(), { seed, numRuns: target.ciCases, timeout: target.caseTimeoutMs });
      const seconds = (performance.now() - started) / 1000;
      const slowest = slowestCaseMs.get(target.name);
      expect(slowest, 'the target records how long its cases take').toBeDefined();
      console.log(`fuzz ${target.name}: ${target.ciCases} cases, seed ${seed}, ${seconds.toFixed(2)} s, slowest case ${slowest?.toFixed(1)} ms`);
    }, 60_000);
  }
});
