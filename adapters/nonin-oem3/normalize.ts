/**
 * A Nonin reading to FHIR: the configured Device and the pulse rate and SpO2 Observations. The OEM III
 * has no clock and no serial number on these formats: time is when the gateway received the frame,
 * identity is the configured device.
 */
import type { DeviceBinding, NormalizeContext, Normalized } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import {
  buildDevice,
  buildObservations,
  deviceKey,
  deviceResourceId,
  instantFromDate,
  type DeviceIdentity,
  type Reading,
  type ReadingSubject,
} from '../../src/fhir/index.ts';
import type { NoninOem3Config } from './config.ts';
import { missingHeartRate, missingSpO2, type NoninReading } from './parse.ts';

function subjectOf(binding: DeviceBinding, deviceId: string): ReadingSubject {
  const patient = binding.patient;
  if (patient === undefined) return { kind: 'device', deviceId };
  return { kind: 'patient', identifier: { ...(patient.system !== undefined ? { system: patient.system } : {}), value: patient.identifier } };
}

export function normalizeNoninReading(reading: NoninReading, context: NormalizeContext<NoninOem3Config>): Normalized {
  const binding = context.binding;
  if (binding === undefined) {
    throw new GatewayError('no_device_identity', 'Nonin OEM III frames carry no device identity and no device is configured for this connection.');
  }
  if (reading.spo2 > 100 && reading.spo2 !== missingSpO2) {
    throw new GatewayError('device_value_out_of_range', `SpO2 ${reading.spo2} is above 100 and not the missing-value marker 127.`);
  }
  const identity: DeviceIdentity = { kind: 'name', name: binding.deviceId };
  const key = deviceKey(identity);
  const deviceId = deviceResourceId(key, undefined);
  const base = { source: { key, deviceId }, subject: subjectOf(binding, deviceId), time: instantFromDate(context.receivedAt), status: 'final' as const };
  const pulse = { ...base, metric: { mdcCode: 149530 }, unit: { mdcCode: 264864 } };
  const spo2 = { ...base, metric: { mdcCode: 150456 }, unit: { mdcCode: 262688 } };
  const { sensorDisconnected, sensorAlarm, outOfTrack } = reading.status;

  const readings: Reading[] = [];
  if (sensorDisconnected || sensorAlarm || outOfTrack) {
    // The module says it has no usable signal: publish that, not a number.
    readings.push({ ...pulse, value: { absent: 'error' } }, { ...spo2, value: { absent: 'error' } });
  } else {
    if (reading.heartRate !== missingHeartRate) readings.push({ ...pulse, value: { decimal: String(reading.heartRate) } });
    if (reading.spo2 !== missingSpO2) readings.push({ ...spo2, value: { decimal: String(reading.spo2) } });
  }
  const built = buildObservations(readings, { bloodPressure: 'separate' });
  const device = buildDevice({ key, id: deviceId, identity, ...(binding.location !== undefined ? { location: binding.location } : {}) });
  return { sourceMessageId: undefined, resources: [device, ...built.resources], unmappedCodes: built.unmappedCodes };
}
