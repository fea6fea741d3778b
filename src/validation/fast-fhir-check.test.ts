/**
 * fast-fhir-check.ts must give the verdicts of the zod schemas in schemas/fhir.ts: on every resource the
 * adapters' fixtures pin (all valid, so the fast path is the one taken in production), and on random
 * mutations of them (deleted, undefined, blank, wrong-typed, transplanted or extra members), where the two
 * must agree both ways. validate-resource.ts falls back to zod when the fast check says no, so a
 * disagreement that way would only cost time; the other way would publish an invalid resource.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { device, observation, systems, unmappedCodeTag } from '../../schemas/fhir.ts';
import { isValidDevice, isValidObservation } from './fast-fhir-check.ts';
import { validateResource } from './validate-resource.ts';

const adaptersDir = join(import.meta.dirname, '../../adapters');

/** Every resource in every adapter's fixtures/<case>/expected.json. */
function fixtureResources(): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (const adapter of readdirSync(adaptersDir)) {
    const fixtures = join(adaptersDir, adapter, 'fixtures');
    if (!existsSync(fixtures)) continue;
    for (const fixture of readdirSync(fixtures)) {
      const file = join(fixtures, fixture, 'expected.json');
      if (!existsSync(file)) continue;
      const expected = JSON.parse(readFileSync(file, 'utf8')) as { resources?: { resource: Record<string, unknown> }[] };
      for (const { resource } of expected.resources ?? []) found.push(resource);
    }
  }
  return found;
}

const corpus = fixtureResources();
const observations = corpus.filter((r) => r.resourceType === 'Observation');
const devices = corpus.filter((r) => r.resourceType === 'Device');

type Path = readonly (string | number)[];

/** Every path to a member or array element of a resource. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => [[...prefix, i], ...pathsOf(item, [...prefix, i])]);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [[...prefix, key], ...pathsOf(item, [...prefix, key])]);
  }
  return [];
}

/** Every subtree of the corpus, to transplant (a component into a single Observation, a Reference into a Coding...). */
const subtrees: unknown[] = corpus.flatMap((resource) =>
  pathsOf(resource).map((path) => path.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], resource)),
);

const oddValues: unknown[] = [
  undefined, null, '', ' ', '\t', 'a b', 'a  b', ' a', 'a ', 'x', 'Device/abc', 'Patient/', 'Device/a b', 'urn:x',
  '2024-05-01T00:00:00Z', '2024-05-01T00:00:00', '2024-13-01T00:00:00Z', '2024-05-01T24:00:00+01:00', '2024-05-01T00:00:60.5-14:00',
  0, -1.5, 1e308, Number.NaN, Number.POSITIVE_INFINITY, true, [], [{}], {}, systems.ucum, systems.mdc, 'final', 'bogus', 'active',
  { system: systems.mdc, code: '150456' }, { ...unmappedCodeTag }, [{ ...unmappedCodeTag }], { coding: [{ system: systems.loinc, code: '1-8' }] },
  { reference: 'Device/x' }, {}, { display: 'x' }, { value: 1, unit: 'x', system: systems.ucum, code: '%' },
];

type Mutation =
  | { kind: 'delete' | 'set'; path: number; value: number }
  | { kind: 'extra'; path: number; value: number }
  | { kind: 'transplant'; path: number; value: number };

function mutate(resource: Record<string, unknown>, mutation: Mutation): unknown {
  const copy = structuredClone(resource);
  const paths = [[], ...pathsOf(copy)] as Path[];
  const path = paths[mutation.path % paths.length]!;
  const value = mutation.kind === 'transplant' ? structuredClone(subtrees[mutation.value % subtrees.length]) : oddValues[mutation.value % oddValues.length];
  if (mutation.kind === 'extra') {
    const target = path.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], copy);
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) (target as Record<string, unknown>).extra = value;
    return copy;
  }
  if (path.length === 0) return mutation.kind === 'delete' ? undefined : value;
  const parent = path.slice(0, -1).reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], copy) as Record<
    string | number,
    unknown
  >;
  const last = path.at(-1)!;
  if (mutation.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'set', 'extra', 'transplant'),
  path: fc.nat(),
  value: fc.nat(),
});

describe('fast FHIR check (src/validation/fast-fhir-check.ts)', () => {
  it('the fixtures hold Observations and Devices to check against', () => {
    expect(observations.length).toBeGreaterThan(50);
    expect(devices.length).toBeGreaterThan(20);
  });

  it('accepts every resource the fixtures pin, as zod does', () => {
    for (const resource of observations) {
      expect(observation.safeParse(resource).success).toBe(true);
      expect(isValidObservation(resource)).toBe(true);
    }
    for (const resource of devices) {
      expect(device.safeParse(resource).success).toBe(true);
      expect(isValidDevice(resource)).toBe(true);
    }
  });

  it('agrees with the zod Observation schema on random mutations of the fixtures (1-3 mutations each)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (pick, mutations) => {
        let resource: unknown = observations[pick % observations.length];
        for (const mutation of mutations) {
          if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) break;
          resource = mutate(resource as Record<string, unknown>, mutation);
        }
        expect(isValidObservation(resource)).toBe(observation.safeParse(resource).success);
      }),
      { numRuns: 10_000, seed: 6 },
    );
  });

  it('agrees with zod on frozen resources too, asked twice (frozen concepts found valid are remembered)', () => {
    const deepFreeze = (value: unknown): unknown => {
      if (typeof value === 'object' && value !== null) {
        for (const member of Object.values(value)) deepFreeze(member);
        Object.freeze(value);
      }
      return value;
    };
    fc.assert(
      fc.property(fc.nat(), fc.array(mutationArb, { minLength: 0, maxLength: 3 }), (pick, mutations) => {
        let resource: unknown = observations[pick % observations.length];
        for (const mutation of mutations) {
          if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) break;
          resource = mutate(resource as Record<string, unknown>, mutation);
        }
        const frozen = deepFreeze(structuredClone(resource));
        const expected = observation.safeParse(frozen).success;
        expect(isValidObservation(frozen)).toBe(expected);
        expect(isValidObservation(frozen)).toBe(expected);
      }),
      { numRuns: 3_000, seed: 7 },
    );
  });

  it('does not remember a frozen concept whose members are getters (they may answer differently next time)', () => {
    const base = structuredClone(observations.find((o) => o.valueQuantity !== undefined)!) as Record<string, unknown>;
    const validCoding = Object.freeze([Object.freeze({ system: systems.mdc, code: '150456' })]);
    const invalidCoding = Object.freeze([Object.freeze({ system: systems.mdc, code: ' bad' })]);
    let valid = true;
    const changing = Object.freeze({
      get coding() {
        return valid ? validCoding : invalidCoding;
      },
    });
    const resource = { ...base, code: changing };
    expect(isValidObservation(resource)).toBe(true);
    valid = false;
    expect(isValidObservation(resource)).toBe(false);
    expect(observation.safeParse(resource).success).toBe(false);
  });

  it('agrees with the zod Device schema on random mutations of the fixtures (1-3 mutations each)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (pick, mutations) => {
        let resource: unknown = devices[pick % devices.length];
        for (const mutation of mutations) {
          if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) break;
          resource = mutate(resource as Record<string, unknown>, mutation);
        }
        expect(isValidDevice(resource)).toBe(device.safeParse(resource).success);
      }),
      { numRuns: 10_000, seed: 6 },
    );
  });

  it('still names the problem (zod decides) when the fast check says no', () => {
    const blankUnit = structuredClone(observations.find((o) => o.valueQuantity !== undefined)!) as { valueQuantity: { unit: string } };
    blankUnit.valueQuantity.unit = ' ';
    expect(() => validateResource(blankUnit as never)).toThrow(/valueQuantity\.unit: blank string/);
  });
});

describe('fast-fhir-check memo of the last matching time and reference', () => {
  // Observations of one message share a time and a device reference, tested once; the memo must
  // never let a different, invalid string through after a valid one.
  const valid = structuredClone(observations[0]!) as Record<string, unknown> & { device: { reference: string } };

  it('still refuses an invalid effectiveDateTime or reference right after a valid one', () => {
    expect(isValidObservation(valid)).toBe(true);
    expect(isValidObservation(valid)).toBe(true);
    for (const effectiveDateTime of [`${valid.effectiveDateTime as string} `, '2024-05-01T12:30:00', '2024-13-01T12:30:00Z', 20240501, undefined]) {
      expect(isValidObservation({ ...valid, effectiveDateTime })).toBe(false);
      expect(isValidObservation(valid)).toBe(true);
    }
    for (const reference of [`${valid.device.reference}/x`, 'Device/', 'Patient/a b', 42]) {
      expect(isValidObservation({ ...valid, device: { reference } })).toBe(false);
      expect(isValidObservation(valid)).toBe(true);
    }
    expect(isValidObservation({ ...valid, effectiveDateTime: new String(valid.effectiveDateTime) })).toBe(false);
    // Patient references are checked each time (not remembered), and still pass.
    expect(isValidObservation({ ...valid, subject: { reference: 'Patient/abc' } })).toBe(true);
    expect(isValidObservation({ ...valid, subject: { reference: 'Patient/abc' } })).toBe(true);
    expect(isValidObservation({ ...valid, subject: { reference: 'Patient/a bc' } })).toBe(false);
  });
});
