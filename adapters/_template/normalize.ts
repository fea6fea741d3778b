/**
 * A __name__ record to FHIR: one Device and one Observation per numeric field with a value, built by
 * src/fhir (terminology table, UCUM units, deterministic ids). Pure: the time is passed in.
 *
 * TODO(normalize), in order:
 * 1. `fieldSpecs`: each field's metric (MDC code10 from src/terminology/metrics.json, or a device-local
 *    code), unit (MDC unit code10 or UCUM) and sanity bounds. A metric the table does not know is
 *    published with its local code and counted in unmappedCodes, never dropped.
 * 2. Time: this template's lines carry no time, so `receivedAt` (UTC) is used. If your records carry a
 *    wall-clock time, read it in parse.ts and use `formatInstant` + `offsetInTimeZone` with a
 *    configured `timeZone` (see adapters/masimo-ascii/normalize.ts).
 * 3. Identity: the record's serial number, else the configured device (binding.deviceId). Set the
 *    `manufacturer` on the serial identity.
 * 4. Device status bits (sensor off, artefact...): publish `{ absent: 'error' }` instead of a number
 *    the device itself says is not a measurement.
 */
import type { DeviceBinding, NormalizeContext, Normalized } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import {
  buildDevice,
  buildObservations,
  deviceKey,
  deviceResourceId,
  instantFromDate,
  parseDecimal,
  type CodeRef,
  type DeviceIdentity,
  type Reading,
  type ReadingSubject,
  type UnitRef,
} from '../../src/fhir/index.ts';
import type { __Name__Config } from './config.ts';
import type { __Name__Record, NumericField } from './parse.ts';

interface FieldSpec {
  readonly metric: CodeRef;
  readonly unit: UnitRef;
  /** Sanity bounds of the value as sent; outside them the record is rejected (device_value_out_of_range). */
  readonly min: number;
  readonly max: number;
}

/** Field -> metric; the order here is the order of the Observations. TODO(normalize): your fields. */
export const fieldSpecs: Readonly<Record<NumericField, FieldSpec>> = {
  // MDC_PULS_OXIM_SAT_O2, unit MDC_DIM_PERCENT.
  SPO2: { metric: { mdcCode: 150456 }, unit: { mdcCode: 262688 }, min: 0, max: 100 },
  // MDC_PULS_OXIM_PULS_RATE, unit MDC_DIM_BEAT_PER_MIN.
  PR: { metric: { mdcCode: 149530 }, unit: { mdcCode: 264864 }, min: 0, max: 300 },
};

function subjectOf(binding: DeviceBinding | undefined, deviceId: string): ReadingSubject {
  const patient = binding?.patient;
  if (patient === undefined) return { kind: 'device', deviceId };
  return { kind: 'patient', identifier: { ...(patient.system !== undefined ? { system: patient.system } : {}), value: patient.identifier } };
}

function identityOf(record: __Name__Record, binding: DeviceBinding | undefined): DeviceIdentity {
  // TODO(normalize): add `manufacturer: '<Vendor>'` (and modelNumber if the device sends it).
  if (record.serialNumber !== undefined) return { kind: 'serial', serialNumber: record.serialNumber };
  if (binding !== undefined) return { kind: 'name', name: binding.deviceId };
  throw new GatewayError('no_device_identity', 'The record has no SN= and no device is configured for this connection.');
}

export function normalize__Name__Record(record: __Name__Record, context: NormalizeContext<__Name__Config>): Normalized {
  const identity = identityOf(record, context.binding);
  const key = deviceKey(identity);
  const deviceId = deviceResourceId(key, undefined);
  const subject = subjectOf(context.binding, deviceId);
  const time = instantFromDate(context.receivedAt);

  const readings: Reading[] = [];
  for (const [field, spec] of Object.entries(fieldSpecs) as [NumericField, FieldSpec][]) {
    const value = record.values[field];
    // Not sent, or sent as "no value": no Observation (never publish a missing value as zero).
    if (value === undefined || 'absent' in value) continue;
    const number = parseDecimal(value.decimal);
    if (number === undefined || number < spec.min || number > spec.max) {
      throw new GatewayError('device_value_out_of_range', `${field} is outside ${spec.min}..${spec.max}.`);
    }
    readings.push({ source: { key, deviceId }, subject, metric: spec.metric, unit: spec.unit, value: { decimal: value.decimal }, time, status: 'final' });
  }

  const built = buildObservations(readings, { bloodPressure: 'separate' });
  const device = buildDevice({ key, id: deviceId, identity, ...(context.binding?.location !== undefined ? { location: context.binding.location } : {}) });
  return { sourceMessageId: undefined, resources: [device, ...built.resources], unmappedCodes: built.unmappedCodes };
}
