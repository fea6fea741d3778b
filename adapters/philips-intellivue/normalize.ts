/**
 * Parsed IntelliVue messages to FHIR, pure. Only two messages carry data:
 * - the MDS Create Event Report: the monitor's Device (serial number, model and manufacturer when the
 *   monitor sends NOM_ATTR_ID_PROD_SPECN / NOM_ATTR_ID_MODEL; otherwise the configured device id);
 * - a poll result: one Reading per NuObsValue (compound values such as NIBP sys/dia/mean become one
 *   blood-pressure panel through src/fhir). Physio ids are MDC terms of partition SCADA (code10 =
 *   2 x 65536 + id), unit codes MDC terms of partition DIM (4 x 65536 + code).
 *
 * The record key is always the configured device (binding): poll results do not repeat the serial
 * number, and a stateless normalize cannot remember it, so the key stays the same for every frame of
 * one serial line. The Device resource carries the monitor's own identity.
 */
import type { Normalized, NormalizeContext } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import {
  buildDevice,
  buildObservations,
  deviceKey,
  deviceResourceId,
  formatInstant,
  offsetInTimeZone,
  utc,
  type DeviceIdentity,
  type LocalDateTime,
  type ObservationStatus,
  type Reading,
  type ReadingSubject,
  type ReadingValue,
} from '../../src/fhir/index.ts';
import type { IntellivueConfig } from './config.ts';
import { decodeFloatType } from './float-type.ts';
import type { IntellivueMessage, MdsCreate, NuObservation, PollResult } from './parse.ts';
import { code10, measurementState, NOM_PART_DIM, NOM_PART_OBJ, NOM_PART_SCADA } from './protocol.ts';

/** NOM_DEV_MON_PHYSIO_MULTI_PARAM_MDS (partition OBJ, term 4429) = MDC 69965. */
const physioMonitorMds = { mdcCode: code10(NOM_PART_OBJ, 4429), refId: 'MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS' };

interface DeviceRefs {
  readonly key: string;
  readonly mdsId: string;
  readonly subject: ReadingSubject;
}

function deviceRefs(context: NormalizeContext<IntellivueConfig>): DeviceRefs {
  const binding = context.binding;
  if (binding === undefined) {
    throw new GatewayError('no_device_identity', 'An IntelliVue serial connection needs a configured device (binding) to name its records.');
  }
  const key = deviceKey({ kind: 'name', name: binding.deviceId });
  const mdsId = deviceResourceId(key, undefined);
  const patient = binding.patient;
  const subject: ReadingSubject =
    patient === undefined
      ? { kind: 'device', deviceId: mdsId }
      : { kind: 'patient', identifier: patient.system === undefined ? { value: patient.identifier } : { system: patient.system, value: patient.identifier } };
  return { key, mdsId, subject };
}

function utcLocal(date: Date): LocalDateTime {
  const ms = date.getUTCMilliseconds();
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    ...(ms !== 0 ? { fraction: String(ms).padStart(3, '0') } : {}),
  };
}

/** The monitor's wall-clock time in the configured zone, else when the frame arrived (UTC). */
function instant(local: LocalDateTime | undefined, context: NormalizeContext<IntellivueConfig>): string {
  if (local !== undefined) return formatInstant(local, offsetInTimeZone(local, context.config.timeZone));
  return formatInstant(utcLocal(context.receivedAt), utc);
}

/** MeasurementState to the value published and the Observation status. */
function valueAndStatus(observation: NuObservation): { value: ReadingValue; status: ObservationStatus } {
  const state = observation.state;
  if (state & (measurementState.INVALID | measurementState.TEST_DATA | measurementState.DEMO_DATA)) {
    return { value: { absent: 'error' }, status: 'final' };
  }
  if (state & (measurementState.UNAVAILABLE | measurementState.CALIBRATION_ONGOING)) {
    return { value: { absent: 'temp-unknown' }, status: 'final' };
  }
  const value = decodeFloatType(observation.value);
  return { value, status: state & measurementState.QUESTIONABLE ? 'preliminary' : 'final' };
}

function pollReadings(message: PollResult, refs: DeviceRefs, context: NormalizeContext<IntellivueConfig>): Reading[] {
  const readings: Reading[] = [];
  for (const poll of message.observations) {
    const time = instant(poll.absoluteTime ?? message.absoluteTime, context);
    const reading = (observation: NuObservation, containment: string): Reading => {
      const { value, status } = valueAndStatus(observation);
      return {
        source: { key: refs.key, deviceId: refs.mdsId },
        subject: refs.subject,
        metric: { mdcCode: code10(NOM_PART_SCADA, observation.physioId) },
        value,
        unit: { mdcCode: code10(NOM_PART_DIM, observation.unitCode) },
        time,
        status,
        category: 'AMEAS',
        containment,
      };
    };
    // Containment: context and object handle, plus the position inside a compound value, so that the
    // parts of one compound share a parent (the blood-pressure panel rule groups by it).
    if (poll.numeric !== undefined) readings.push(reading(poll.numeric, `${poll.contextId}.${poll.handle}`));
    (poll.compound ?? []).forEach((part, index) => readings.push(reading(part, `${poll.contextId}.${poll.handle}.${index + 1}`)));
  }
  return readings;
}

function mdsDevice(message: MdsCreate, refs: DeviceRefs, context: NormalizeContext<IntellivueConfig>) {
  const identity: DeviceIdentity =
    message.serialNumber !== undefined
      ? {
          kind: 'serial',
          serialNumber: message.serialNumber,
          ...(message.model !== undefined ? { modelNumber: message.model } : {}),
          ...(message.manufacturer !== undefined ? { manufacturer: message.manufacturer } : {}),
        }
      : { kind: 'name', name: context.binding!.deviceId };
  return buildDevice({
    key: refs.key,
    id: refs.mdsId,
    identity,
    type: physioMonitorMds,
    ...(context.binding?.location !== undefined ? { location: context.binding.location } : {}),
  });
}

export function normalizeIntellivue(message: IntellivueMessage, context: NormalizeContext<IntellivueConfig>): Normalized {
  if (message.kind === 'mds-create') {
    const refs = deviceRefs(context);
    return { sourceMessageId: undefined, resources: [mdsDevice(message, refs, context)], unmappedCodes: [] };
  }
  if (message.kind !== 'poll-result') return { sourceMessageId: undefined, resources: [], unmappedCodes: [] };
  const refs = deviceRefs(context);
  const built = buildObservations(pollReadings(message, refs, context), { bloodPressure: context.config.bloodPressure });
  return { sourceMessageId: undefined, resources: built.resources, unmappedCodes: built.unmappedCodes };
}
