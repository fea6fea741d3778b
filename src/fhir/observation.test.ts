import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import { device as deviceSchema, observation as observationSchema, type Observation } from '../../schemas/fhir.ts';
import { buildDevice } from './device.ts';
import { buildObservations, type ObservationOptions } from './observation.ts';
import type { Reading } from './reading.ts';
import { testTerminology } from './test-terminology.ts';

const options: ObservationOptions = { bloodPressure: 'panel', terminology: testTerminology };

const patient = { kind: 'patient', identifier: { system: 'urn:oid:1.2.3.4', value: 'MRN1' } } as const;

function reading(overrides: Partial<Reading> = {}): Reading {
  return {
    source: { key: '0123456789ABCDEF', deviceId: 'chan-1' },
    subject: patient,
    metric: { mdcCode: 150456, refId: 'MDC_PULS_OXIM_SAT_O2' },
    value: { decimal: '97' },
    unit: { mdcCode: 262688 },
    time: '2024-05-01T12:30:00+02:00',
    status: 'final',
    containment: '1.1.1.1',
    ...overrides,
  };
}

function build(readings: Reading[], opts: ObservationOptions = options): Observation[] {
  const built = buildObservations(readings, opts);
  const observations = built.resources.map(({ resource }) => resource as Observation);
  for (const o of observations) expect(observationSchema.safeParse(o).error).toBeUndefined();
  return observations;
}

const bp = (code: number, value: string, containment: string, extra: Partial<Reading> = {}) =>
  reading({ metric: { mdcCode: code }, value: { decimal: value }, unit: { mdcCode: 266016 }, containment, ...extra });

describe('a single reading', () => {
  it('is coded in MDC (display = reference id) and LOINC, is a vital sign, and carries the exact value in UCUM', () => {
    const [o] = build([reading({ value: { decimal: '37.10' } })]);
    expect(o).toMatchObject({
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: {
        coding: [
          { system: 'urn:iso:std:iso:11073:10101', code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' },
          { system: 'http://loinc.org', code: '2708-6' },
          { system: 'http://loinc.org', code: '59408-5' },
        ],
      },
      subject: { type: 'Patient', identifier: { system: 'urn:oid:1.2.3.4', value: 'MRN1' } },
      effectiveDateTime: '2024-05-01T12:30:00+02:00',
      valueQuantity: { value: 37.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      device: { reference: 'Device/chan-1' },
    });
    expect(JSON.stringify(o?.valueQuantity?.value)).toBe('37.1');
    expect(o?.identifier).toEqual([{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${o?.id}` }]);
    expect(o?.meta).toBeUndefined();
  });

  it('has no vital-signs category when the subject is a device (the profile requires a Patient subject)', () => {
    const [o] = build([reading({ subject: { kind: 'device', deviceId: 'mds-1' } })]);
    expect(o?.category).toBeUndefined();
    expect(o?.subject).toEqual({ reference: 'Device/mds-1' });
  });

  it('carries a data-absent reason instead of a value, and needs no unit then', () => {
    const [o] = build([reading({ value: { absent: 'temp-unknown' }, unit: undefined })]);
    expect(o?.valueQuantity).toBeUndefined();
    expect(o?.dataAbsentReason).toEqual({
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'temp-unknown', display: 'Temporarily Unknown' }],
    });
  });

  it('maps a low-high range to quantities in the value unit, and keeps any other range as text', () => {
    const [ranged, texted] = build([
      reading({ referenceRange: { low: '90', high: '100.0' } }),
      reading({ metric: { mdcCode: 147842 }, unit: { mdcCode: 264864 }, referenceRange: { text: '<120' } }),
    ]);
    expect(ranged?.referenceRange).toEqual([
      {
        low: { value: 90, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
        high: { value: 100, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      },
    ]);
    expect(texted?.referenceRange).toEqual([{ text: '<120' }]);
  });

  it('codes interpretation flags in v3 ObservationInterpretation', () => {
    const [o] = build([reading({ interpretation: ['L', 'LL'] })]);
    expect(o?.interpretation).toEqual([
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'L', display: 'Low' }] },
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'LL', display: 'Critical low' }] },
    ]);
  });

  it('accepts a UCUM unit the table knows, also with curly-brace annotations', () => {
    const [plain, annotated] = build([
      reading({ metric: { mdcCode: 147842 }, unit: { ucum: '/min' } }),
      reading({ metric: { mdcCode: 147842 }, unit: { ucum: '{beat}/min' }, containment: '1.1.1.2' }),
    ]);
    expect(plain?.valueQuantity).toEqual({ value: 97, unit: 'bpm', system: 'http://unitsofmeasure.org', code: '/min' });
    expect(annotated?.valueQuantity).toEqual(plain?.valueQuantity);
  });

  it('prefers the MDC unit over the UCUM one sent beside it', () => {
    const [o] = build([reading({ unit: { mdcCode: 262688, ucum: 'mm[Hg]' } })]);
    expect(o?.valueQuantity?.code).toBe('%');
  });

  it('throws unknown_unit, at the place the unit was read, for a unit the table does not know', () => {
    const location = { segment: 'OBX', sequence: 3, field: 6 };
    const attempt = () => build([reading({ unit: { mdcCode: 999999, ucum: 'furlong', location } })]);
    expect(attempt).toThrow(GatewayError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'unknown_unit', location });
    }
    expect(() => build([reading({ unit: undefined })])).toThrow(/No MDC or UCUM unit was sent/);
  });
});

describe('codes the table does not know', () => {
  it('publishes an unknown MDC code as sent, tagged and reported', () => {
    const built = buildObservations([reading({ metric: { mdcCode: 147232, refId: 'MDC_ECG_TIME_PD_QT_GL' } })], options);
    const o = built.resources[0]?.resource as Observation;
    expect(o.code.coding).toEqual([{ system: 'urn:iso:std:iso:11073:10101', code: '147232', display: 'MDC_ECG_TIME_PD_QT_GL' }]);
    expect(o.meta?.tag).toEqual([{ system: 'urn:vitalbridge:tag', code: 'unmapped-code', display: 'Code not in the Vitalbridge terminology table' }]);
    expect(built.unmappedCodes).toEqual(['urn:iso:std:iso:11073:10101|147232']);
  });

  it('keeps a local code beside the MDC one, its system made a URI', () => {
    const [o] = build([reading({ metric: { mdcCode: 150456, localCode: { system: '99ACME', code: 'SPO2', display: 'Sat' } } })]);
    expect(o?.code.coding.at(-1)).toEqual({ system: 'urn:vitalbridge:local-code:99ACME', code: 'SPO2', display: 'Sat' });
    expect(o?.meta).toBeUndefined();
  });

  it('publishes a local code alone as it came: no MDC coding, tagged unmapped-code, no vital-signs category, reported', () => {
    const local = reading({ metric: { localCode: { system: '99ACME', code: 'PVI', display: 'Pleth variability index' } } });
    const built = buildObservations([local], options);
    const [o] = build([local]);
    expect(built.resources).toHaveLength(1);
    expect(o?.code).toEqual({ coding: [{ system: 'urn:vitalbridge:local-code:99ACME', code: 'PVI', display: 'Pleth variability index' }] });
    expect(o?.meta?.tag).toEqual([{ system: 'urn:vitalbridge:tag', code: 'unmapped-code', display: 'Code not in the Vitalbridge terminology table' }]);
    expect(o?.category).toBeUndefined();
    expect(o?.valueQuantity).toEqual({ value: 97, unit: '%', system: 'http://unitsofmeasure.org', code: '%' });
    expect(built.withoutMdcCode).toEqual([]);
    expect(built.unmappedCodes).toEqual(['urn:vitalbridge:local-code:99ACME|PVI']);
  });

  it('is refused by the schema without the unmapped-code tag', () => {
    const [o] = build([reading({ metric: { localCode: { system: '99ACME', code: 'PVI' } } })]);
    const { meta: _meta, ...untagged } = o!;
    expect(observationSchema.safeParse(untagged).success).toBe(false);
  });

  it("names the local code's system: an OID as urn:oid, a URI as it is, any other name under urn:vitalbridge:local-code", () => {
    const systemOf = (system: string | undefined) =>
      build([reading({ metric: { localCode: { ...(system !== undefined ? { system } : {}), code: 'X1' } } })])[0]?.code.coding[0]?.system;
    expect(systemOf('1.2.840.10004.1.1.1.0.0.1')).toBe('urn:oid:1.2.840.10004.1.1.1.0.0.1');
    expect(systemOf('urn:oid:1.2.3.4')).toBe('urn:oid:1.2.3.4');
    expect(systemOf('http://acme.example/codes')).toBe('http://acme.example/codes');
    expect(systemOf('99ACME')).toBe('urn:vitalbridge:local-code:99ACME');
    expect(systemOf('ACME CODES')).toBe('urn:vitalbridge:local-code:ACME%20CODES');
    expect(systemOf(undefined)).toBe('urn:vitalbridge:local-code');
  });

  it('gives a local code its own stable id, apart from an MDC code at the same place', () => {
    const local = reading({ metric: { localCode: { system: '99ACME', code: '150456' } } });
    const [first] = build([local]);
    const [again] = build([{ ...local, metric: { localCode: { system: '99ACME', code: '150456', display: 'other text' } } }]);
    const [mdc] = build([reading()]);
    expect(again?.id).toBe(first?.id);
    expect(mdc?.id).not.toBe(first?.id);
  });

  it('still refuses a local code whose unit does not map to UCUM (unknown_unit)', () => {
    const location = { segment: 'OBX', sequence: 2, field: 6 };
    const attempt = () => build([reading({ metric: { localCode: { system: '99ACME', code: 'PVI' } }, unit: { ucum: 'furlong', location } })]);
    expect(attempt).toThrow(GatewayError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'unknown_unit', location });
    }
  });

  it('cannot publish a reading with no code at all (an MDC reference id alone the table does not know)', () => {
    const refIdOnly = reading({ metric: { refId: 'MDC_NOT_IN_THE_TABLE' } });
    const built = buildObservations([refIdOnly], options);
    expect(built.resources).toEqual([]);
    expect(built.withoutMdcCode).toEqual([refIdOnly]);
  });

  it('reports each unmapped code once', () => {
    const qt = reading({ metric: { mdcCode: 147232 } });
    expect(buildObservations([qt, { ...qt, containment: '1.1.1.9' }], options).unmappedCodes).toHaveLength(1);
  });
});

describe('blood pressure', () => {
  const parts = [bp(150022, '80', '1.1.1.2'), bp(150021, '120', '1.1.1.1', { referenceRange: { low: '90', high: '160' } }), bp(150023, '93', '1.1.1.3')];

  it('becomes one panel Observation (85354-9 + MDC 150020) with MDC+LOINC coded components in sys/dia/mean order', () => {
    const observations = build(parts);
    expect(observations).toHaveLength(1);
    const [panel] = observations;
    expect(panel?.code.coding).toEqual([
      { system: 'urn:iso:std:iso:11073:10101', code: '150020', display: 'MDC_PRESS_BLD_NONINV' },
      { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel with all children optional' },
    ]);
    expect(panel?.valueQuantity).toBeUndefined();
    expect(panel?.category?.[0]?.coding[0]?.code).toBe('vital-signs');
    expect(panel?.component?.map((c) => c.code.coding.map((coding) => coding.code))).toEqual([
      ['150021', '8480-6'],
      ['150022', '8462-4'],
      ['150023', '8478-0'],
    ]);
    expect(panel?.component?.map((c) => c.valueQuantity?.value)).toEqual([120, 80, 93]);
    expect(panel?.component?.[0]?.referenceRange?.[0]?.low?.value).toBe(90);
  });

  it("is one Observation per part when configured 'separate'", () => {
    const observations = build(parts, { ...options, bloodPressure: 'separate' });
    expect(observations.map((o) => o.code.coding[0]?.code)).toEqual(['150022', '150021', '150023']);
  });

  it('stays separate when the parts disagree on status, time or channel', () => {
    expect(build([bp(150021, '120', '1.1.1.1'), bp(150022, '80', '1.1.1.2', { status: 'preliminary' })])).toHaveLength(2);
    expect(build([bp(150021, '120', '1.1.1.1'), bp(150022, '80', '1.1.1.2', { time: '2024-05-01T12:31:00+02:00' })])).toHaveLength(2);
    expect(build([bp(150021, '120', '1.1.1.1'), bp(150022, '80', '1.1.2.2')])).toHaveLength(2);
  });

  it('keeps a lone part as its own Observation', () => {
    const [o] = build([bp(150023, '93', '1.1.1.3')]);
    expect(o?.code.coding[0]?.code).toBe('150023');
    expect(o?.component).toBeUndefined();
  });
});

describe('ids', () => {
  it('are identical for identical readings, and the panel id does not depend on part order', () => {
    const a = build([bp(150021, '120', '1.1.1.1'), bp(150022, '80', '1.1.1.2')]);
    const b = build([bp(150022, '80', '1.1.1.2'), bp(150021, '120', '1.1.1.1')]);
    expect(a[0]?.id).toBe(b[0]?.id);
    expect(build([reading()])[0]?.id).toBe(build([reading()])[0]?.id);
  });
});

describe('buildDevice', () => {
  it('builds a PoCD MDS Device with its EUI-64, type and location', () => {
    const { key, resource } = buildDevice({
      key: '0123456789ABCDEF',
      id: 'mds-1',
      identity: { kind: 'eui64', eui64: '0123456789ABCDEF' },
      type: { mdcCode: 69965, refId: 'MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS' },
      location: 'ICU, room 7, bed 1',
    });
    expect(key).toBe('0123456789ABCDEF');
    expect(deviceSchema.safeParse(resource).error).toBeUndefined();
    expect(resource).toEqual({
      resourceType: 'Device',
      id: 'mds-1',
      identifier: [{ system: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680', value: '0123456789ABCDEF' }],
      status: 'active',
      type: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '69965', display: 'MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS' }] },
      location: { display: 'ICU, room 7, bed 1' },
    });
  });

  it('builds a channel with a parent, identified by its id when it has no identity of its own', () => {
    const { resource } = buildDevice({ key: 'k', id: 'chan-1', identity: undefined, parentId: 'vmd-1' });
    expect(resource).toEqual({
      resourceType: 'Device',
      id: 'chan-1',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:chan-1' }],
      status: 'active',
      parent: { reference: 'Device/vmd-1' },
    });
  });

  it('carries serial, model and manufacturer of a legacy identity', () => {
    const { resource } = buildDevice({
      key: 'k',
      id: 'mds-2',
      identity: { kind: 'serial', serialNumber: '123456', modelNumber: 'ICU_MONITOR', manufacturer: 'megacorp.com' },
    });
    expect(resource).toMatchObject({
      identifier: [{ system: 'urn:vitalbridge:device-serial', value: '123456' }],
      serialNumber: '123456',
      modelNumber: 'ICU_MONITOR',
      manufacturer: 'megacorp.com',
    });
  });
});
