/**
 * Proves the independent FHIR R4 validator (fhir-validator.ts) accepts what the gateway should
 * publish and catches what it must not. Each broken variant states which checks catch it, and the
 * test asserts exactly that set, so this table is measured, and an upgrade of either library that
 * changes what it catches shows up here:
 *
 * | broken variant                              | json-schema (ajv) | medplum     | vital-signs | fhir-json |
 * |---------------------------------------------|-------------------|-------------|-------------|-----------|
 * | missing status                              | -                 | yes         | -           | -         |
 * | bad dateTime `2024-13-01`                   | yes               | yes         | -           | -         |
 * | two value[x] (valueQuantity + valueString)  | -                 | warning     | -           | -         |
 * | unknown property                            | yes               | yes         | -           | -         |
 * | wrong type (valueQuantity.value "97")       | yes               | yes         | -           | -         |
 * | invalid status code `finished`              | yes               | -           | -           | -         |
 * | vital sign: Quantity with non-UCUM system   | -                 | -           | yes         | -         |
 * | missing code                                | yes               | yes         | yes (LOINC) | -         |
 * | vital sign: no LOINC coding (MDC only)      | -                 | -           | yes         | -         |
 * | vital sign: no subject                      | -                 | yes (prof.) | -           | -         |
 * | vital sign: no effective[x]                 | -                 | yes (prof.) | -           | -         |
 * | vital sign: no value, DAR or component      | -                 | yes (vs-2)  | -           | -         |
 * | vital sign: component without value (vs-3)  | -                 | yes (vs-3)  | -           | -         |
 * | vital sign: bp component non-UCUM           | -                 | -           | yes         | -         |
 * | vital sign: category code with wrong system | -                 | yes (VSCat) | -           | -         |
 * | Device: invalid status `on`                 | yes               | -           | -           | -         |
 * | Device: id with a space                     | yes               | -           | -           | -         |
 * | Device: blank string                        | -                 | yes         | -           | yes       |
 * | Device: empty array                         | -                 | -           | -           | yes       |
 * | meta.project (Medplum-only element)         | yes               | -           | -           | -         |
 *
 * Throughput, single thread on the shared 2-core machine, after the 3-5 s warm-up: ~140-170 vital-sign
 * Observations/s (Medplum re-parses the vitalsigns profile on every call, ~3/4 of the ~7 ms), ~4,500
 * Devices/s; the ajv part alone does ~350k Observations/s.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertValidFhirR4, validateFhirR4, type FhirValidationIssue } from './fhir-validator.ts';

type Json = Record<string, unknown>;
type Check = 'json-schema' | 'medplum' | 'vital-signs' | 'fhir-json';

const MDC = 'urn:iso:std:iso:11073:10101';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const EUI64 = 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680';

const vitalSignsCategory = [
  {
    coding: [
      { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' },
    ],
  },
];
const patient = { identifier: { system: 'urn:oid:2.16.840.1.113883.3.72.5.9.1', value: 'MRN-0042' } };

// Factories, not constants: every variant edits its own copy.
function spo2(): Json {
  return {
    resourceType: 'Observation',
    id: 'obs-spo2-1',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:6f1d2c1e-8a7b-4c55-9c1e-2b8d6a0f4e11' }],
    status: 'final',
    category: vitalSignsCategory,
    code: {
      coding: [
        { system: MDC, code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' },
        { system: LOINC, code: '2708-6', display: 'Oxygen saturation in Arterial blood' },
      ],
    },
    subject: patient,
    effectiveDateTime: '2024-05-14T10:21:07.250+02:00',
    valueQuantity: { value: 97, unit: '%', system: UCUM, code: '%' },
    device: { reference: 'Device/dev-0001' },
  };
}

function device(): Json {
  return {
    resourceType: 'Device',
    id: 'dev-0001',
    identifier: [{ system: EUI64, value: '0012A3FFFE4B5C6D' }],
    status: 'active',
    manufacturer: 'Acme Medical',
    modelNumber: 'PX-300',
    serialNumber: 'SN123456',
    type: { coding: [{ system: MDC, code: '69642', display: 'MDC_DEV_ANALY_SAT_O2_MDS' }] },
    parent: { reference: 'Device/gw-01' },
  };
}

function bpComponent(loinc: string, mdc: string, display: string, value: number): Json {
  return {
    code: { coding: [{ system: LOINC, code: loinc }, { system: MDC, code: mdc, display }] },
    valueQuantity: { value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
  };
}

function bloodPressurePanel(): Json {
  return {
    resourceType: 'Observation',
    id: 'obs-bp-1',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0b9a7f3c-1d2e-4f5a-8b6c-7d8e9f0a1b2c' }],
    status: 'final',
    category: vitalSignsCategory,
    code: {
      coding: [
        { system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' },
        { system: MDC, code: '150020', display: 'MDC_PRESS_BLD_NONINV' },
      ],
    },
    subject: patient,
    effectiveDateTime: '2024-05-14T10:21:07+02:00',
    device: { reference: 'Device/dev-0002' },
    component: [
      bpComponent('8480-6', '150021', 'MDC_PRESS_BLD_NONINV_SYS', 120),
      bpComponent('8462-4', '150022', 'MDC_PRESS_BLD_NONINV_DIA', 80),
      bpComponent('8478-0', '150023', 'MDC_PRESS_BLD_NONINV_MEAN', 93),
    ],
  };
}

/** Not a vital sign: the profile rules must not apply (MDC only, no subject, non-UCUM unit). */
function deviceObservation(): Json {
  return {
    resourceType: 'Observation',
    id: 'obs-dev-1',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'procedure' }] }],
    code: { coding: [{ system: MDC, code: '68220', display: 'MDC_TIME_PD_MSMT' }] },
    effectiveDateTime: '2024-05-14T10:21:07Z',
    valueQuantity: { value: 30, unit: 'second', system: 'urn:example:units', code: 's' },
    device: { reference: 'Device/dev-0001' },
  };
}

function deviceMetric(): Json {
  return {
    resourceType: 'DeviceMetric',
    id: 'metric-spo2',
    type: { coding: [{ system: MDC, code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' }] },
    unit: { coding: [{ system: UCUM, code: '%' }] },
    source: { reference: 'Device/dev-0001' },
    operationalStatus: 'on',
    category: 'measurement',
  };
}

function without(resource: Json, key: string): Json {
  const copy = { ...resource };
  delete copy[key];
  return copy;
}

function withComponent(index: number, edit: (component: Json) => Json): Json {
  const panel = bloodPressurePanel();
  const components = panel.component as Json[];
  components[index] = edit(components[index] as Json);
  return panel;
}

type Variant = { name: string; resource: unknown; caughtBy: Check[]; path: RegExp };

const broken: Variant[] = [
  { name: 'missing status', resource: without(spo2(), 'status'), caughtBy: ['medplum'], path: /^Observation\.status$/ },
  {
    name: 'bad dateTime 2024-13-01',
    resource: { ...spo2(), effectiveDateTime: '2024-13-01' },
    caughtBy: ['json-schema', 'medplum'],
    path: /^Observation\.effective(DateTime|\[x\])$/,
  },
  {
    name: 'two value[x] (valueQuantity and valueString)',
    resource: { ...spo2(), valueString: '97 %' },
    caughtBy: ['medplum'],
    path: /^Observation\.valueString$/,
  },
  {
    name: 'unknown property',
    resource: { ...spo2(), colour: 'blue' },
    caughtBy: ['json-schema', 'medplum'],
    path: /^Observation\.colour$/,
  },
  {
    name: 'wrong type (value as string)',
    resource: { ...spo2(), valueQuantity: { value: '97', unit: '%', system: UCUM, code: '%' } },
    caughtBy: ['json-schema', 'medplum'],
    path: /^Observation\.value(Quantity|\[x\])\.value$/,
  },
  {
    name: 'invalid status code finished',
    resource: { ...spo2(), status: 'finished' },
    caughtBy: ['json-schema'],
    path: /^Observation\.status$/,
  },
  {
    name: 'vital sign: Quantity with a non-UCUM system',
    resource: { ...spo2(), valueQuantity: { value: 97, unit: '%', system: 'urn:example:units', code: '%' } },
    caughtBy: ['vital-signs'],
    path: /^Observation\.valueQuantity\.system$/,
  },
  {
    name: 'missing code',
    resource: without(spo2(), 'code'),
    caughtBy: ['json-schema', 'medplum', 'vital-signs'],
    path: /^Observation\.code(\.coding)?$/,
  },
  {
    name: 'vital sign: no LOINC coding',
    resource: { ...spo2(), code: { coding: [{ system: MDC, code: '150456' }] } },
    caughtBy: ['vital-signs'],
    path: /^Observation\.code\.coding$/,
  },
  { name: 'vital sign: no subject', resource: without(spo2(), 'subject'), caughtBy: ['medplum'], path: /^Observation\.subject$/ },
  {
    name: 'vital sign: no effective[x]',
    resource: without(spo2(), 'effectiveDateTime'),
    caughtBy: ['medplum'],
    path: /^Observation\.effective\[x\]$/,
  },
  {
    name: 'vital sign: no value, dataAbsentReason or component',
    resource: without(spo2(), 'valueQuantity'),
    caughtBy: ['medplum'],
    path: /^Observation$/,
  },
  {
    name: 'vital sign: component without value or dataAbsentReason',
    resource: withComponent(1, (c) => without(c, 'valueQuantity')),
    caughtBy: ['medplum'],
    path: /^Observation\.component\[1\]$/,
  },
  {
    name: 'vital sign: panel component with a non-UCUM system',
    resource: withComponent(0, (c) => ({ ...c, valueQuantity: { value: 120, unit: 'mmHg', system: 'urn:example:units', code: 'mm[Hg]' } })),
    caughtBy: ['vital-signs'],
    path: /^Observation\.component\[0\]\.valueQuantity\.system$/,
  },
  {
    name: 'vital sign: category code with the wrong system',
    resource: { ...spo2(), category: [{ coding: [{ system: 'http://hl7.org/fhir/observation-category', code: 'vital-signs' }] }] },
    caughtBy: ['medplum'],
    path: /^Observation\.category$/,
  },
  { name: 'Device: invalid status on', resource: { ...device(), status: 'on' }, caughtBy: ['json-schema'], path: /^Device\.status$/ },
  { name: 'Device: id with a space', resource: { ...device(), id: 'dev 1' }, caughtBy: ['json-schema'], path: /^Device\.id$/ },
  {
    name: 'Device: blank string',
    resource: { ...device(), manufacturer: '  ' },
    caughtBy: ['fhir-json', 'medplum'],
    path: /^Device\.manufacturer$/,
  },
  { name: 'Device: empty array', resource: { ...device(), identifier: [] }, caughtBy: ['fhir-json'], path: /^Device\.identifier$/ },
  {
    name: 'meta.project (exists only in Medplum’s extended definitions)',
    resource: { ...spo2(), meta: { project: 'p1' } },
    caughtBy: ['json-schema'],
    path: /^Observation\.meta\.project$/,
  },
  {
    name: 'DeviceMetric: invalid category',
    resource: { ...deviceMetric(), category: 'measured' },
    caughtBy: ['json-schema'],
    path: /^DeviceMetric\.category$/,
  },
];

function checksOf(issues: FhirValidationIssue[]): Check[] {
  return [...new Set(issues.map((i) => i.message.slice(0, i.message.indexOf(':')) as Check))].sort();
}

describe('validateFhirR4', () => {
  beforeAll(async () => {
    // Loads the definitions and compiles the schema once, outside any single test's time limit.
    await validateFhirR4(device());
  }, 120_000);

  it.each([
    ['SpO2 Observation (MDC + LOINC, UCUM %, vital-signs)', spo2()],
    ['Device (EUI-64, MDC type, parent)', device()],
    ['blood-pressure panel (LOINC 85354-9 + MDC 150020, mm[Hg] components)', bloodPressurePanel()],
    ['Observation outside vital-signs (profile rules do not apply)', deviceObservation()],
    ['DeviceMetric', deviceMetric()],
  ])('accepts a valid %s', async (_name, resource) => {
    expect(await validateFhirR4(resource)).toEqual([]);
    await expect(assertValidFhirR4(resource)).resolves.toBeUndefined();
  });

  it.each(broken)('rejects $name (caught by $caughtBy)', async ({ resource, caughtBy, path }) => {
    const issues = await validateFhirR4(resource);
    expect(checksOf(issues)).toEqual([...caughtBy].sort());
    // Every issue points at the broken element: nothing else in the resource was flagged.
    for (const issue of issues) expect(issue.path).toMatch(path);
    await expect(assertValidFhirR4(resource)).rejects.toThrow(/is not valid FHIR R4/);
  });

  it('applies the vital-signs checks to an Observation that declares the profile without the category', async () => {
    const resource = {
      ...without(without(spo2(), 'subject'), 'category'),
      meta: { profile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'] },
    };
    const issues = await validateFhirR4(resource);
    expect(issues.map((i) => i.path).sort()).toEqual(['Observation.category', 'Observation.subject']);
  });

  it('reports a two value[x] as a warning, which still makes the resource invalid', async () => {
    const issues = await validateFhirR4({ ...spo2(), valueString: '97 %' });
    expect(issues.map((i) => i.severity)).toEqual(['warning']);
  });

  it('checks contained resources against their own type, with readable paths', async () => {
    const issues = await validateFhirR4({ ...spo2(), contained: [{ resourceType: 'Patient', id: 'p1', foo: 1 }] });
    expect(issues.map((i) => [i.path, checksOf([i])[0]])).toEqual([
      ['Observation.contained[0].foo', 'json-schema'],
      ['Observation.contained[0].foo', 'medplum'],
    ]);
  });

  it('rejects what is not a resource at all', async () => {
    for (const value of ['hello', null, [], { id: 'x' }]) {
      expect(checksOf(await validateFhirR4(value))).toEqual(['fhir-json']);
    }
    expect(checksOf(await validateFhirR4({ resourceType: 'Foo', id: 'x' }))).toEqual(['json-schema', 'medplum']);
  });

  it('assertValidFhirR4 lists every issue in its error', async () => {
    const resource = { ...without(spo2(), 'subject'), status: 'finished', colour: 'blue' };
    const error = await assertValidFhirR4(resource).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('Observation/obs-spo2-1 is not valid FHIR R4');
    for (const fragment of ['Observation.status', 'Observation.subject', 'Observation.colour']) {
      expect(message).toContain(fragment);
    }
  });
});
