import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineFixtureTests, fixtureReceivedAt } from '../../src/adapter-kit/fixture-runner.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import type { Device, Observation } from '../../schemas/fhir.ts';
import { assertValidFhirR4 } from '../../test/support/fhir-validator.ts';
import adapter from './index.ts';
import { hl7v2PcdConfigSchema } from './config.ts';
import { decodeEscapeSequence } from './escapes.ts';
import type { Pcd01Normalized } from './normalize.ts';
import { observationStatusByResultStatus } from './result-status.ts';

defineFixtureTests({
  adapter,
  fixturesDir: new URL('./fixtures/', import.meta.url).pathname,
  checkResource: assertValidFhirR4,
});

// ---------------------------------------------------------------------------------------------
// Helpers: a small PCD-01 message whose parts each test changes
// ---------------------------------------------------------------------------------------------

interface MessageParts {
  readonly msh?: string;
  readonly pid?: string | undefined;
  readonly obr7?: string;
  readonly rows?: readonly string[];
}

const defaultRows = [
  'OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||0012340000ABCDEF^^0012340000ABCDEF^EUI-64',
  'OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||F',
];

function message(parts: MessageParts = {}, eol = '\r'): string {
  const segments = [
    parts.msh ??
      'MSH|^~\\&|MONITOR_GW^0012340000ABCDEF^EUI-64|ICU_WEST|||20240501123000+0200||ORU^R01^ORU_R01|TEST-1|P|2.6|||AL|NE||UNICODE UTF-8',
    ...('pid' in parts ? (parts.pid === undefined ? [] : [parts.pid]) : ['PID|||MRN12345^^^HOSP^MR']),
    `OBR|1|||182777000^monitoring of patient^SCT|||${parts.obr7 ?? '20240501123000+0200'}`,
    ...(parts.rows ?? defaultRows),
  ];
  return segments.join(eol) + eol;
}

function normalize(text: string | Buffer, config: unknown = {}): Pcd01Normalized {
  const frame = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const result = adapter.normalize(adapter.parse(frame), { config: adapter.config.parse(config), receivedAt: fixtureReceivedAt });
  for (const { resource } of result.resources) validateResource(resource);
  return result as Pcd01Normalized;
}

function failure(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

const observations = (result: Pcd01Normalized) =>
  result.resources.map(({ resource }) => resource).filter((r): r is Observation => r.resourceType === 'Observation');
const devices = (result: Pcd01Normalized) =>
  result.resources.map(({ resource }) => resource).filter((r): r is Device => r.resourceType === 'Device');
const byCode = (result: Pcd01Normalized, code: string) =>
  observations(result).find((o) => o.code.coding.some((c) => c.system === 'urn:iso:std:iso:11073:10101' && c.code === code));

const metricRow = (set: number, code: string, value: string, unit: string, extra: { status?: string; obx14?: string; flags?: string; subId?: string } = {}) =>
  `OBX|${set}|NM|${code}|${extra.subId ?? `1.1.1.${set}`}|${value}|${unit}||${extra.flags ?? ''}|||${extra.status ?? 'F'}|||${extra.obx14 ?? ''}`;

const mdsRow = defaultRows[0]!;
const spo2 = (value: string, extra: Parameters<typeof metricRow>[4] = {}) =>
  metricRow(2, '150456^MDC_PULS_OXIM_SAT_O2^MDC', value, '262688^MDC_DIM_PERCENT^MDC', extra);

// ---------------------------------------------------------------------------------------------

describe('deterministic identity', () => {
  it('gives a resent message identical resources and ids', () => {
    const first = normalize(message());
    const second = normalize(message());
    expect(second).toEqual(first);
    expect(new Set(first.resources.map(({ resource }) => resource.id)).size).toBe(first.resources.length);
  });

  it('does not depend on segment ends or the message control id', () => {
    const cr = normalize(message({}, '\r'));
    const lf = normalize(message({ msh: message().split('\r')[0]!.replace('TEST-1', 'TEST-2') }, '\n'));
    expect(lf.resources).toEqual(cr.resources);
    expect(lf.sourceMessageId).toBe('TEST-2');
  });

  it('keys every resource of a device system by its EUI-64', () => {
    const result = normalize(message());
    expect(new Set(result.resources.map(({ key }) => key))).toEqual(new Set(['0012340000ABCDEF']));
  });
});

describe('observation time', () => {
  it('takes OBX-14 over OBR-7', () => {
    const result = normalize(message({ rows: [mdsRow, spo2('97', { obx14: '20240501122930+0200' })] }));
    expect(byCode(result, '150456')?.effectiveDateTime).toBe('2024-05-01T12:29:30+02:00');
  });

  it('falls back to OBR-7 without OBX-14', () => {
    const result = normalize(message({ rows: [mdsRow, spo2('97')] }));
    expect(byCode(result, '150456')?.effectiveDateTime).toBe('2024-05-01T12:30:00+02:00');
  });

  it("inherits the nearest device row's OBX-14 before OBR-7 (TF-2 B.8 OBX-14)", () => {
    const rows = [mdsRow, 'OBX|2||70686^MDC_DEV_PRESS_BLD_NONINV_VMD^MDC|1.1.0.0|||||||X', 'OBX|3||70687^MDC_DEV_PRESS_BLD_NONINV_CHAN^MDC|1.1.1.0|||||||X|||20240501121500+0200', spo2('97', { subId: '1.1.1.4' })];
    expect(byCode(normalize(message({ rows })), '150456')?.effectiveDateTime).toBe('2024-05-01T12:15:00+02:00');
  });

  it("keeps the sender's offset, including -00:00 (offset unknown, TF-2 C.4)", () => {
    for (const [sent, published] of [
      ['20240501123000+0200', '2024-05-01T12:30:00+02:00'],
      ['20240501123000-0530', '2024-05-01T12:30:00-05:30'],
      ['20240501123000-0000', '2024-05-01T12:30:00-00:00'],
      ['20240501123000.25+0000', '2024-05-01T12:30:00.25+00:00'],
      ['202405011230+0100', '2024-05-01T12:30:00+01:00'],
      ['20240501000000-0500', '2024-05-01T00:00:00-05:00'],
    ] as const) {
      expect(byCode(normalize(message({ obr7: sent })), '150456')?.effectiveDateTime, sent).toBe(published);
    }
  });

  it('uses the configured time zone for a time without offset, and UTC by default', () => {
    expect(byCode(normalize(message({ obr7: '20240701123000' })), '150456')?.effectiveDateTime).toBe('2024-07-01T12:30:00+00:00');
    const berlin = { defaultTimeZone: 'Europe/Berlin' };
    expect(byCode(normalize(message({ obr7: '20240701123000' }), berlin), '150456')?.effectiveDateTime).toBe('2024-07-01T12:30:00+02:00');
    expect(byCode(normalize(message({ obr7: '20240115123000' }), berlin), '150456')?.effectiveDateTime).toBe('2024-01-15T12:30:00+01:00');
  });

  it('reads each time afresh after the last one parsed (remembered), and still refuses a bad one right after a good one', () => {
    const good = '20240501123000+0200';
    expect(byCode(normalize(message({ obr7: good, rows: [mdsRow, spo2('97', { obx14: good })] })), '150456')?.effectiveDateTime).toBe('2024-05-01T12:30:00+02:00');
    expect(failure(() => normalize(message({ obr7: good, rows: [mdsRow, spo2('97', { obx14: `${good}0` })] })))).toMatchObject({
      code: 'hl7_invalid_field',
      location: { segment: 'OBX', sequence: 2, field: 14 },
    });
    expect(byCode(normalize(message({ obr7: good, rows: [mdsRow, spo2('97', { obx14: '20240501123001+0200' })] })), '150456')?.effectiveDateTime).toBe(
      '2024-05-01T12:30:01+02:00',
    );
  });

  it('refuses a time that is not a date/time, or has no time of day', () => {
    for (const bad of ['2024050112', '20240230123000', '20240501123000+1500', '2024-05-01T12:30:00Z']) {
      expect(failure(() => normalize(message({ obr7: bad }))), bad).toMatchObject({
        code: 'hl7_invalid_field',
        location: { segment: 'OBR', sequence: 1, field: 7 },
      });
    }
  });
});

describe('values', () => {
  it('publishes the sender\'s decimal exactly: 37.10 -> 37.1, never 37.099999', () => {
    const rows = [mdsRow, metricRow(2, '150364^MDC_TEMP_BODY^MDC', '37.10', '268192^MDC_DIM_DEGC^MDC')];
    const temperature = byCode(normalize(message({ rows })), '150364');
    expect(temperature?.valueQuantity).toEqual({ value: 37.1, unit: '°C', system: 'http://unitsofmeasure.org', code: 'Cel' });
    expect(JSON.stringify(temperature?.valueQuantity?.value)).toBe('37.1');
  });

  it('gives an empty OBX-5 a data-absent reason from OBX-8 (TF-2 Table B.8.5-7)', () => {
    for (const [flags, reason] of [
      ['NAV', 'temp-unknown'],
      ['OFF', 'not-performed'],
      ['MSK', 'masked'],
      ['NAN', 'not-a-number'],
      ['', 'unknown'],
    ] as const) {
      const o = byCode(normalize(message({ rows: [mdsRow, spo2('', { flags })] })), '150456');
      expect(o?.valueQuantity, flags).toBeUndefined();
      expect(o?.dataAbsentReason?.coding[0]?.code, flags).toBe(reason);
    }
  });

  it('maps OBX-8 abnormality flags to interpretation and ignores alarm priority/source flags', () => {
    const o = byCode(normalize(message({ rows: [mdsRow, spo2('85', { flags: 'L~PM~SP' })] })), '150456');
    expect(o?.interpretation?.map((i) => i.coding[0]?.code)).toEqual(['L']);
  });

  it("skips value types other than NM, and says so", () => {
    const rows = [mdsRow, 'OBX|2|ST|184327^MDC_ECG_STAT_RHY^MDC|1.2.1.21|MDC_ECG_SINUS_RHY||||||F', spo2('97', { subId: '1.1.1.1' })];
    const result = normalize(message({ rows }));
    expect(observations(result)).toHaveLength(1);
    expect(result.skipped).toEqual([
      { location: { segment: 'OBX', sequence: 2, field: 2 }, valueType: 'ST', code: '184327^MDC_ECG_STAT_RHY^MDC', reason: 'value-type-not-normalized' },
    ]);
  });
});

describe('blood pressure', () => {
  const rows = [
    mdsRow,
    metricRow(2, '150021^MDC_PRESS_BLD_NONINV_SYS^MDC', '120', '266016^MDC_DIM_MMHG^MDC', { subId: '1.2.1.1' }),
    metricRow(3, '150022^MDC_PRESS_BLD_NONINV_DIA^MDC', '80', '266016^MDC_DIM_MMHG^MDC', { subId: '1.2.1.2' }),
    metricRow(4, '150023^MDC_PRESS_BLD_NONINV_MEAN^MDC', '93', '266016^MDC_DIM_MMHG^MDC', { subId: '1.2.1.3' }),
  ];

  it('is one panel Observation by default: 85354-9 + MDC 150020, components sys/dia/mean', () => {
    const result = normalize(message({ rows }));
    const panel = byCode(result, '150020');
    expect(observations(result)).toHaveLength(1);
    expect(panel?.code.coding.map((c) => c.code)).toEqual(['150020', '85354-9']);
    expect(panel?.component?.map((c) => c.code.coding.map((coding) => coding.code))).toEqual([
      ['150021', '8480-6'],
      ['150022', '8462-4'],
      ['150023', '8478-0'],
    ]);
    expect(panel?.component?.map((c) => c.valueQuantity?.value)).toEqual([120, 80, 93]);
  });

  it("is three Observations with bloodPressure: 'separate'", () => {
    const result = normalize(message({ rows }), { bloodPressure: 'separate' });
    expect(observations(result).map((o) => o.code.coding[0]?.code)).toEqual(['150021', '150022', '150023']);
  });
});

describe('OBX-11 result status (HL7 table 0085) to Observation.status', () => {
  const expected = {
    A: 'amended',
    B: 'amended',
    C: 'corrected',
    D: 'entered-in-error',
    F: 'final',
    I: 'registered',
    N: 'cancelled',
    O: 'registered',
    P: 'preliminary',
    R: 'preliminary',
    S: 'preliminary',
    U: 'final',
    V: 'final',
    W: 'entered-in-error',
    X: 'cancelled',
    '': 'unknown',
  } as const;

  it('follows the documented table, code by code', () => {
    expect(observationStatusByResultStatus).toEqual(expected);
    for (const [code, status] of Object.entries(expected)) {
      expect(byCode(normalize(message({ rows: [mdsRow, spo2('97', { status: code })] })), '150456')?.status, code).toBe(status);
    }
  });

  it('refuses a code outside table 0085', () => {
    expect(failure(() => normalize(message({ rows: [mdsRow, spo2('97', { status: 'Z' })] })))).toMatchObject({
      code: 'hl7_invalid_field',
      location: { segment: 'OBX', sequence: 2, field: 11 },
    });
  });
});

describe('character sets and escapes', () => {
  const withCharset = (charset: string) =>
    message({ msh: `MSH|^~\\&|MONITOR_GW^0012340000ABCDEF^EUI-64|ICU_WEST|||20240501123000+0200||ORU^R01^ORU_R01|TEST-1|P|2.6|||AL|NE||${charset}` })
      .replace('PID|||MRN12345^^^HOSP^MR', 'PID|||MRN12345^^^HOSP^MR\rPV1||I|Intensivstation Süd');
  const location = (result: Pcd01Normalized) => devices(result)[0]?.location?.display;

  it('decodes 8859/1 as ISO 8859-1 and UNICODE UTF-8 as UTF-8', () => {
    expect(location(normalize(Buffer.from(withCharset('8859/1'), 'latin1')))).toBe('Intensivstation Süd');
    expect(location(normalize(Buffer.from(withCharset('UNICODE UTF-8'), 'utf8')))).toBe('Intensivstation Süd');
  });

  it('takes an empty MSH-18 as ASCII (HL7 v2.5.1 2.15.9.18): non-ASCII bytes are undecodable_bytes, never guessed', () => {
    for (const charset of ['', 'ASCII']) {
      for (const encoding of ['utf8', 'latin1'] as const) {
        expect(failure(() => normalize(Buffer.from(withCharset(charset), encoding))), `${charset} ${encoding}`).toMatchObject({
          code: 'undecodable_bytes',
          location: { segment: 'MSH', sequence: 1, field: 18 },
        });
      }
    }
  });

  it('refuses C1 control bytes (0x80-0x9F) in an 8859/1 message: Windows-1252 or UTF-8 sent as 8859/1', () => {
    const windows1252 = Buffer.from(withCharset('8859/1').replace('Süd', 'S\u0080d'), 'latin1');
    expect(failure(() => normalize(windows1252))).toMatchObject({ code: 'undecodable_bytes', location: { segment: 'MSH', sequence: 1, field: 18 } });
  });

  it('refuses bytes that are not valid UTF-8 when the message is (or defaults to) UTF-8', () => {
    for (const charset of ['', 'ASCII', 'UNICODE UTF-8']) {
      expect(failure(() => normalize(Buffer.from(withCharset(charset), 'latin1'))), charset).toMatchObject({
        code: 'undecodable_bytes',
        location: { segment: 'MSH', sequence: 1, field: 18 },
      });
    }
  });

  it('refuses a character set it does not decode', () => {
    expect(failure(() => normalize(withCharset('ISO IR87')))).toMatchObject({ code: 'undecodable_bytes' });
  });

  it('decodes escape sequences with the escape character MSH-2 declares', () => {
    const text = message({
      msh: 'MSH|^~#&|MONITOR_GW^0012340000ABCDEF^EUI-64|ICU_WEST|||20240501123000+0200||ORU^R01^ORU_R01|TEST-1|P|2.6|||AL|NE||UNICODE UTF-8',
      pid: 'PID|||MRN#T#1\\x^^^HOSP^MR',
    });
    const subject = byCode(normalize(text), '150456')?.subject;
    expect(subject?.identifier?.value).toBe('MRN&1\\x');
  });

  it('decodes each kind of escape sequence', () => {
    const delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subComponent: '&' };
    const decode = (body: string) => decodeEscapeSequence(body, delimiters, 'utf8');
    expect(['F', 'S', 'T', 'R', 'E'].map(decode)).toEqual(['|', '^', '&', '~', '\\']);
    expect([decode('H'), decode('N'), decode('.br'), decode('.sp2'), decode('.in+4')]).toEqual(['', '', '\n', '\n\n', '']);
    expect([decode('X41'), decode('XC3BC'), decode('Z99'), decode('C2842')]).toEqual(['A', 'ü', '\\Z99\\', '\\C2842\\']);
    expect(decodeEscapeSequence('XFC', delimiters, 'latin1')).toBe('ü');
    expect(() => decode('XFC')).toThrow(GatewayError);
  });
});

describe('device identity', () => {
  it('falls back to the sender (MSH-3 EUI-64) when no OBX-18 is sent', () => {
    const result = normalize(message({ rows: [spo2('97', { subId: '1.1.1.1' })] }));
    expect(result.resources.every(({ key }) => key === '0012340000ABCDEF')).toBe(true);
  });

  it('names the device after MSH-3^MSH-4 when the sender has no EUI-64, unless configured', () => {
    const msh = 'MSH|^~\\&|BEDSIDE_7|ICU_WEST|||20240501123000+0200||ORU^R01^ORU_R01|TEST-1|P|2.6';
    const rows = [spo2('97', { subId: '1.1.1.1' })];
    expect(normalize(message({ msh, rows })).resources[0]?.key).toBe('name:BEDSIDE_7^ICU_WEST');
    const configured = normalize(message({ msh, rows }), { deviceBySender: { 'BEDSIDE_7^ICU_WEST': { eui64: '00a0c90000000007' } } });
    expect(configured.resources[0]?.key).toBe('00A0C90000000007');
    expect(devices(configured)[0]?.identifier).toEqual([{ system: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680', value: '00A0C90000000007' }]);
  });

  it('fails with no_device_identity when nothing identifies the device', () => {
    const msh = 'MSH|^~\\&|||||||ORU^R01^ORU_R01|TEST-1|P|2.6';
    expect(failure(() => normalize(message({ msh, rows: [spo2('97')] })))).toMatchObject({
      code: 'no_device_identity',
      location: { segment: 'MSH', sequence: 1, field: 3 },
    });
  });

  it('refuses an OBX-18 that says EUI-64 but is not one', () => {
    const rows = ['OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||ABC^^ABC^EUI-64', spo2('97')];
    expect(failure(() => normalize(message({ rows })))).toMatchObject({ code: 'hl7_invalid_field', location: { segment: 'OBX', sequence: 1, field: 18 } });
  });

  it('publishes a device appearing in two OBR groups once', () => {
    const text = message().replace(/\r$/, '') + `\rOBR|2|||182777000^monitoring of patient^SCT|||20240501123100+0200\r${mdsRow}\r${spo2('96')}\r`;
    const result = normalize(text);
    expect(devices(result)).toHaveLength(1);
    expect(observations(result).map((o) => o.effectiveDateTime)).toEqual(['2024-05-01T12:30:00+02:00', '2024-05-01T12:31:00+02:00']);
  });

  it('makes the MDS Device the subject when there is no PID, with no vital-signs category', () => {
    const result = normalize(message({ pid: undefined }));
    const mds = devices(result)[0]!;
    expect(byCode(result, '150456')?.subject).toEqual({ reference: `Device/${mds.id}` });
    expect(byCode(result, '150456')?.category).toBeUndefined();
  });
});

describe('patient identifier (PID-3)', () => {
  const subjectOf = (pid: string, config: unknown = {}) => byCode(normalize(message({ pid }), config), '150456')?.subject;

  it('takes the first repetition, and an ISO OID assigning authority as urn:oid system', () => {
    expect(subjectOf('PID|||MRN1^^^HOSP&1.2.3.4.5&ISO^MR~OTHER^^^X^PI')).toEqual({
      type: 'Patient',
      identifier: {
        system: 'urn:oid:1.2.3.4.5',
        value: 'MRN1',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      },
    });
  });

  it('uses the configured system for an authority without OID, and none otherwise', () => {
    expect(subjectOf('PID|||MRN1^^^HOSP^MR', { patientIdentifierSystems: { HOSP: 'urn:oid:9.8.7' } })?.identifier?.system).toBe('urn:oid:9.8.7');
    expect(subjectOf('PID|||MRN1^^^HOSP^MR')?.identifier?.system).toBeUndefined();
  });

  it('never puts the patient identifier into an error message', () => {
    const secret = 'PATIENT-SECRET-4711';
    const pid = `PID|||${secret}^^^HOSP^MR||${secret}^${secret}`;
    const broken: string[] = [
      message({ pid, rows: [mdsRow, spo2('9x7')] }),
      message({ pid, rows: [mdsRow, metricRow(2, '150456^MDC_PULS_OXIM_SAT_O2^MDC', '97', `${secret}^x^99X`)] }),
      message({ pid, obr7: '' }),
      message({ pid, obr7: secret }),
      message({ pid, rows: [mdsRow, spo2('97', { status: 'Z' })] }),
      message({ pid, msh: 'MSH|^~\\&|A|B|||20240501123000+0200||ADT^A01|TEST-1|P|2.6' }),
      message({ pid, msh: `MSH|^~\\&|A|B|||20240501123000+0200||${secret}^A01|TEST-1|P|2.6` }),
      message({ pid, msh: `MSH|^~\\&|A|B|||20240501123000+0200||ORU^R01|TEST-1|${secret}|2.6` }),
      message({ pid, msh: `MSH|^~\\&|A|B|||20240501123000+0200||ORU^R01|TEST-1|P|${secret}` }),
      message({ pid, msh: `MSH|^~\\&|A|B|||20240501123000+0200||ORU^R01|TEST-1|P|2.6||||||${secret}` }),
      message({ pid, rows: [mdsRow, spo2('97', { status: secret })] }),
      `${message({ pid })}${secret}|||\r`,
    ];
    for (const text of broken) {
      const error = failure(() => normalize(text));
      expect(error.message).not.toContain(secret);
      expect(String((error.cause as Error | undefined)?.message ?? '')).not.toContain(secret);
    }
  });
});

describe('message checks', () => {
  it('refuses what is not ORU^R01, naming MSH-9', () => {
    expect(failure(() => normalize(message({ msh: 'MSH|^~\\&|A|B|||20240501123000+0200||ORU^R40^ORU_R40|TEST-1|P|2.6' })))).toMatchObject({
      code: 'hl7_unsupported_message_type',
      location: { segment: 'MSH', sequence: 1, field: 9 },
    });
  });

  it('accepts versions 2.3 to 2.6 and processing ids P, D and T', () => {
    for (const version of ['2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6']) {
      for (const processing of ['P', 'D', 'T']) {
        const msh = `MSH|^~\\&|MONITOR_GW^0012340000ABCDEF^EUI-64|ICU_WEST|||20240501123000+0200||ORU^R01|TEST-1|${processing}|${version}`;
        expect(observations(normalize(message({ msh }))), `${version} ${processing}`).toHaveLength(1);
      }
    }
    expect(failure(() => normalize(message({ msh: 'MSH|^~\\&|A|B|||20240501123000+0200||ORU^R01|TEST-1|X|2.6' })))).toMatchObject({
      code: 'hl7_unsupported_processing_id',
      location: { segment: 'MSH', sequence: 1, field: 11 },
    });
  });

  it('requires MSH-10, the source message id', () => {
    expect(failure(() => normalize(message({ msh: 'MSH|^~\\&|A|B|||20240501123000+0200||ORU^R01||P|2.6' })))).toMatchObject({
      code: 'hl7_missing_field',
      location: { segment: 'MSH', sequence: 1, field: 10 },
    });
  });

  it('refuses a segment without a segment ID, and broken encoding characters', () => {
    expect(failure(() => normalize(`${message()}ob|1\r`))).toMatchObject({ code: 'hl7_unparseable' });
    expect(failure(() => normalize('MSH|^~|A\r'))).toMatchObject({ code: 'hl7_invalid_field', location: { field: 2 } });
  });

  it('reads each message with its own MSH-1/MSH-2 right after another (the last header start is remembered)', () => {
    expect(observations(normalize(message()))).toHaveLength(1);
    // Same start, but MSH-2 has five characters: still refused.
    expect(failure(() => normalize(message({ msh: 'MSH|^~\\&#|A|B|||20240501123000+0200||ORU^R01|TEST-1|P|2.6' })))).toMatchObject({
      code: 'hl7_invalid_field',
      location: { field: 2 },
    });
    const hashes = message().replaceAll('|', '#');
    expect(observations(normalize(hashes))).toHaveLength(1);
    expect(failure(() => normalize('MSH#^~\r'))).toMatchObject({ code: 'hl7_invalid_field', location: { field: 2 } });
    expect(observations(normalize(message()))).toHaveLength(1);
    for (const bad of ['MS', 'MSX|^~\\&|A\r', '']) expect(failure(() => normalize(bad))).toMatchObject({ code: 'hl7_missing_msh' });
  });

  it('refuses a segment ID that is not three capitals or digits, wherever the field separator is', () => {
    for (const line of ['OBx|1', '1BX|1', 'OB|1', 'OBXX|1', 'OB-|1', 'O']) {
      expect(failure(() => normalize(`${message()}${line}\r`)), line).toMatchObject({ code: 'hl7_unparseable' });
    }
    expect(observations(normalize(`${message()}ZX9|1\rNTE\r`))).toHaveLength(1);
  });

  it('accepts a UTF-8 byte order mark before MSH', () => {
    expect(observations(normalize(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(message())])))).toHaveLength(1);
  });
});

describe('config', () => {
  it('has defaults for everything', () => {
    expect(hl7v2PcdConfigSchema.parse({})).toEqual({
      defaultTimeZone: 'UTC',
      bloodPressure: 'panel',
      deviceBySender: {},
      patientIdentifierSystems: {},
    });
  });

  it('refuses unknown settings and unknown time zones', () => {
    expect(hl7v2PcdConfigSchema.safeParse({ surelyNotAnOption: 1 }).success).toBe(false);
    expect(hl7v2PcdConfigSchema.safeParse({ defaultTimeZone: 'Mars/Olympus_Mons' }).success).toBe(false);
    expect(hl7v2PcdConfigSchema.safeParse({ deviceBySender: { X: { eui64: '123' } } }).success).toBe(false);
  });

  it('describes every setting, here and in the README config table with its default', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const defaults = hl7v2PcdConfigSchema.parse({}) as Record<string, unknown>;
    for (const [name, field] of Object.entries(hl7v2PcdConfigSchema.shape)) {
      expect(field.description, name).toBeTruthy();
      const shown = typeof defaults[name] === 'string' ? String(defaults[name]) : JSON.stringify(defaults[name]);
      expect(readme, name).toContain(`| \`${name}\` | \`${shown}\` |`);
    }
  });
});

describe('IHE PCD TF-2 E.1.1 (fixtures/philips-tf2-e1-1), mapping by mapping', () => {
  // The fixture checks the whole output; this names what each part of it means. The QT rows send
  // 264338 MDC_DIM_MILLI_SEC, which the terminology table maps to UCUM "ms".
  const input = readFileSync(new URL('./fixtures/philips-tf2-e1-1/input.hl7', import.meta.url));
  const result = normalize(input);
  const all = devices(result);
  const deviceByType = (code: string) => all.find((d) => d.type?.coding[0]?.code === code)!;
  const ref = (device: Device) => ({ reference: `Device/${device.id}` });

  it('builds the MDS -> VMD -> channel tree from the device rows, identified by the MDS row\'s OBX-18', () => {
    expect(all.map((d) => d.type?.coding[0]?.code)).toEqual(['69965', '70686', '70675', '4262', '4263', '69642', '70771']);
    const mds = deviceByType('69965');
    expect(mds.identifier).toEqual([{ system: 'urn:vitalbridge:device-serial', value: 'e86c094f-f751-4acf-92b2-38f11c1f6f57-Device' }]);
    expect(mds.location).toEqual({ display: 'HO Surgery, room OR, bed 1' });
    for (const [vmd, channel] of [['70686', '70675'], ['4262', '4263'], ['69642', '70771']] as const) {
      expect(deviceByType(vmd).parent).toEqual(ref(mds));
      expect(deviceByType(vmd).identifier).toEqual([{ system: 'urn:vitalbridge:device-serial', value: '0600dc750001' }]);
      expect(deviceByType(channel).parent).toEqual(ref(deviceByType(vmd)));
    }
    expect(new Set(result.resources.map(({ key }) => key))).toEqual(new Set(['serial:e86c094f-f751-4acf-92b2-38f11c1f6f57-Device']));
  });

  it('maps every metric row: NIBP panel at its OBX-14, the others at OBR-7, all status X -> cancelled', () => {
    const rows = observations(result).map((o) => ({
      code: o.code.coding[0]?.code,
      loinc: o.code.coding.find((c) => c.system === 'http://loinc.org')?.code,
      time: o.effectiveDateTime,
      status: o.status,
      value: o.valueQuantity === undefined ? o.component?.map((c) => c.valueQuantity?.value) : [o.valueQuantity.value, o.valueQuantity.code],
      range: o.referenceRange?.[0] ?? o.component?.[0]?.referenceRange?.[0],
      device: o.device.reference,
      tagged: o.meta?.tag !== undefined,
    }));
    const q = (v: number, unit: string, code: string) => ({ value: v, unit, system: 'http://unitsofmeasure.org', code });
    const nibpChannel = `Device/${deviceByType('70675').id}`;
    const ecgChannel = `Device/${deviceByType('4263').id}`;
    const spo2Channel = `Device/${deviceByType('70771').id}`;
    const obr7 = '2015-01-22T18:26:56+00:00';
    expect(rows).toEqual([
      { code: '150020', loinc: '85354-9', time: '2015-01-22T11:50:00+00:00', status: 'cancelled', value: [117, 82, 90], range: { low: q(90, 'mmHg', 'mm[Hg]'), high: q(160, 'mmHg', 'mm[Hg]') }, device: nibpChannel, tagged: false },
      { code: '147842', loinc: '8867-4', time: obr7, status: 'cancelled', value: [80, '/min'], range: { low: q(50, 'bpm', '/min'), high: q(120, 'bpm', '/min') }, device: ecgChannel, tagged: false },
      { code: '147232', loinc: undefined, time: obr7, status: 'cancelled', value: [360, 'ms'], range: undefined, device: ecgChannel, tagged: true },
      { code: '147236', loinc: undefined, time: obr7, status: 'cancelled', value: [416, 'ms'], range: { text: '<500' }, device: ecgChannel, tagged: true },
      { code: '151562', loinc: '9279-1', time: obr7, status: 'cancelled', value: [30, '/min'], range: { low: q(8, 'breaths/min', '/min'), high: q(45, 'breaths/min', '/min') }, device: ecgChannel, tagged: false },
      { code: '150456', loinc: '2708-6', time: obr7, status: 'cancelled', value: [99, '%'], range: { low: q(90, '%', '%'), high: q(100, '%', '%') }, device: spo2Channel, tagged: false },
      { code: '150448', loinc: undefined, time: obr7, status: 'cancelled', value: [3.9, '1'], range: undefined, device: spo2Channel, tagged: false },
    ]);
    expect(result.unmappedCodes).toEqual(['urn:iso:std:iso:11073:10101|147232', 'urn:iso:std:iso:11073:10101|147236']);
    expect(result.skipped.map((s) => [s.location.sequence, s.valueType])).toEqual([[13, 'ST']]);
  });

  it('has the patient as subject (PID-3 HO2009001, MR, no assigning authority OID) and valid FHIR throughout', async () => {
    expect(byCode(result, '150456')?.subject).toEqual({
      type: 'Patient',
      identifier: { value: 'HO2009001', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] } },
    });
    for (const { resource } of result.resources) {
      validateResource(resource);
      await assertValidFhirR4(resource);
    }
  });
});
