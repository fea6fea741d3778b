/**
 * A Masimo record to FHIR: one Device (the oximeter) and one Observation per numeric field with a
 * value, built by src/fhir. Pure: the time comes from the record and the configured zone.
 */
import type { DeviceBinding, NormalizeContext, Normalized } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import {
  buildDevice,
  buildObservations,
  deviceKey,
  deviceResourceId,
  formatInstant,
  isCalendarValid,
  offsetInTimeZone,
  parseDecimal,
  type CodeRef,
  type DeviceIdentity,
  type InterpretationCode,
  type Reading,
  type ReadingSubject,
  type UnitRef,
} from '../../src/fhir/index.ts';
import { alarmLimitBits, sensorFaultMask } from './bits.ts';
import type { MasimoAsciiConfig } from './config.ts';
import type { MasimoRecord, NumericField } from './parse.ts';

/** The coding system name for Masimo fields that have no MDC code in the terminology table. */
export const masimoLocalSystem = 'masimo-ascii';

interface FieldSpec {
  readonly metric: CodeRef;
  readonly unit: UnitRef;
  /** Sanity bounds of the printed value; outside them the record is rejected (device_value_out_of_range). */
  readonly min: number;
  readonly max: number;
  /** Published as dataAbsentReason "error" when EXC reports a sensor or cable fault. */
  readonly primary: boolean;
}

const percent: UnitRef = { mdcCode: 262688 };
const dimensionless: UnitRef = { mdcCode: 262656 };
const local = (code: string, display: string): CodeRef => ({ localCode: { code, system: masimoLocalSystem, display } });

/** Field -> metric. Order is the order on the line, and so of the Observations. */
export const fieldSpecs: Readonly<Record<NumericField, FieldSpec>> = {
  SPO2: { metric: { mdcCode: 150456 }, unit: percent, min: 0, max: 100, primary: true },
  BPM: { metric: { mdcCode: 149530 }, unit: { mdcCode: 264864 }, min: 0, max: 300, primary: true },
  // Masimo prints PI in percent (PI=20.00%); the table's canonical unit is dimensionless, so the unit is sent as it is.
  PI: { metric: { mdcCode: 150448 }, unit: percent, min: 0, max: 100, primary: true },
  SPCO: { metric: local('SPCO', 'SpCO (carboxyhemoglobin saturation)'), unit: percent, min: 0, max: 100, primary: false },
  SPMET: { metric: local('SPMET', 'SpMet (methemoglobin saturation)'), unit: percent, min: 0, max: 100, primary: false },
  DESAT: { metric: local('DESAT', 'Desaturation index'), unit: dimensionless, min: 0, max: 99, primary: false },
  PIDELTA: { metric: local('PIDELTA', 'PI delta'), unit: dimensionless, min: -99, max: 99, primary: false },
  PVI: { metric: local('PVI', 'Pleth variability index'), unit: percent, min: 0, max: 100, primary: false },
};

function subjectOf(binding: DeviceBinding | undefined, deviceId: string): ReadingSubject {
  const patient = binding?.patient;
  if (patient === undefined) return { kind: 'device', deviceId };
  return { kind: 'patient', identifier: { ...(patient.system !== undefined ? { system: patient.system } : {}), value: patient.identifier } };
}

function identityOf(record: MasimoRecord, binding: DeviceBinding | undefined): DeviceIdentity {
  if (record.serialNumber !== undefined) return { kind: 'serial', serialNumber: record.serialNumber, manufacturer: 'Masimo' };
  if (binding !== undefined) return { kind: 'name', name: binding.deviceId };
  throw new GatewayError('no_device_identity', 'The record has no SN= and no device is configured for this connection.');
}

function interpretationOf(field: NumericField, alarm: number | undefined): InterpretationCode[] | undefined {
  if (alarm === undefined || !(field in alarmLimitBits)) return undefined;
  const bits = alarmLimitBits[field as keyof typeof alarmLimitBits];
  const codes: InterpretationCode[] = [];
  if ((alarm & bits.high) !== 0) codes.push('H');
  if ((alarm & bits.low) !== 0) codes.push('L');
  return codes.length > 0 ? codes : undefined;
}

export function normalizeMasimoRecord(record: MasimoRecord, context: NormalizeContext<MasimoAsciiConfig>): Normalized {
  if (!isCalendarValid(record.local)) {
    throw new GatewayError('device_value_out_of_range', 'The record date or time is not a calendar date and time.');
  }
  const time = formatInstant(record.local, offsetInTimeZone(record.local, context.config.timeZone));
  const identity = identityOf(record, context.binding);
  const key = deviceKey(identity);
  const deviceId = deviceResourceId(key, undefined);
  const subject = subjectOf(context.binding, deviceId);
  const sensorFault = record.exceptions !== undefined && (record.exceptions & sensorFaultMask) !== 0;

  const readings: Reading[] = [];
  for (const [field, spec] of Object.entries(fieldSpecs) as [NumericField, FieldSpec][]) {
    const value = record.values[field];
    if (value === undefined) continue;
    const base = { source: { key, deviceId }, subject, metric: spec.metric, unit: spec.unit, time, status: 'final' as const };
    if (sensorFault) {
      // No sensor (or one off the patient, defective, ...): whatever is printed is not a measurement.
      if (spec.primary) readings.push({ ...base, value: { absent: 'error' } });
      continue;
    }
    if ('absent' in value) continue;
    const number = parseDecimal(value.decimal);
    if (number === undefined || number < spec.min || number > spec.max) {
      throw new GatewayError('device_value_out_of_range', `${field} is outside ${spec.min}..${spec.max}.`);
    }
    const interpretation = interpretationOf(field, record.alarm);
    readings.push({ ...base, value: { decimal: value.decimal }, ...(interpretation !== undefined ? { interpretation } : {}) });
  }

  const built = buildObservations(readings, { bloodPressure: 'separate' });
  const device = buildDevice({ key, id: deviceId, identity, ...(context.binding?.location !== undefined ? { location: context.binding.location } : {}) });
  return { sourceMessageId: undefined, resources: [device, ...built.resources], unmappedCodes: built.unmappedCodes };
}
