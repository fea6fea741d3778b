/**
 * A parsed Medibus message to FHIR, through src/fhir only. Pure: no clock, no I/O.
 *
 * - Time: Medibus measured data carry no time stamp, so every reading takes `context.receivedAt`.
 * - Identity: the configured `binding.deviceId`. The 0x52 "device id" is a 4-character product code
 *   (mdpnp's own host identifies itself as `0161'ICE'04.03`), the same for two ventilators of one
 *   model, so it is published as the Device's type, never used as the key.
 * - Patient and location: from the binding.
 * - Values: the 4 characters as sent, trimmed, published as decimals (never computed with). Units
 *   come from codes.ts; mbar is published as kPa and s as ms by moving the decimal point (exact),
 *   because the terminology table has no mbar or s row yet (README, "Units").
 * - A code without an MDC row is published with its Medibus code (system `medibus-cp1`), tagged
 *   unmapped. When no unit is known for it (an unknown code, or a unit the table lacks), the value
 *   cannot be a UCUM quantity: the Observation says dataAbsentReason `unsupported` and the value is
 *   listed in `withheld`.
 */
import type { NormalizeContext, Normalized, NormalizedResource } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import {
  buildDevice,
  buildObservations,
  defaultTerminology,
  deviceKey,
  deviceResourceId,
  instantFromDate,
  parseDecimal,
  type Reading,
  type ReadingSubject,
  type ReadingValue,
  type UnitRef,
} from '../../src/fhir/index.ts';
import type { DeviceBinding } from '../../src/adapter-kit/define-adapter.ts';
import { codeHex, codePage1, type MedibusUnit } from './codes.ts';
import type { MedibusConfig } from './config.ts';
import type { MeasuredValue, MedibusMessage } from './parse.ts';

/** The local code systems (made FHIR URIs by src/fhir: urn:vitalbridge:local-code:<name>). */
export const cp1CodeSystem = 'medibus-cp1';
export const deviceIdCodeSystem = 'medibus-device-id';

/** A value read but not published as a quantity, and why. */
export interface WithheldValue {
  /** The code as sent, two hex digits. */
  readonly code: string;
  readonly text: string;
  readonly reason: 'unknown-code' | 'unit-not-in-terminology';
}

export interface MedibusNormalized extends Normalized {
  readonly withheld: readonly WithheldValue[];
}

/** A Medibus unit as the UCUM unit we publish, and how far to move the decimal point (value / 10^shift). */
const unitMap: Readonly<Partial<Record<MedibusUnit, { readonly ucum: string; readonly shift: number }>>> = {
  mbar: { ucum: 'kPa', shift: 1 },
  mL: { ucum: 'mL', shift: 0 },
  L: { ucum: 'L', shift: 0 },
  'L/min': { ucum: 'L/min', shift: 0 },
  '/min': { ucum: '/min', shift: 0 },
  '%': { ucum: '%', shift: 0 },
  mmHg: { ucum: 'mm[Hg]', shift: 0 },
  kPa: { ucum: 'kPa', shift: 0 },
  s: { ucum: 'ms', shift: -3 },
  Cel: { ucum: 'Cel', shift: 0 },
  '1': { ucum: '1', shift: 0 },
};

/**
 * Moves the decimal point of a plain decimal text: shift 1 divides by 10, -3 multiplies by 1000.
 * Exact (text in, text out); leading and trailing zeros are tidied.
 */
export function shiftDecimal(text: string, shift: number): string {
  if (shift === 0) return text;
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (match === null) throw new Error(`not a decimal: ${text}`);
  const sign = match[1] === '-' ? '-' : '';
  let digits = `${match[2]}${match[3] ?? ''}`;
  let point = match[2]!.length - shift;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const integer = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const fraction = digits.slice(point).replace(/0+$/, '');
  const result = fraction === '' ? integer : `${integer}.${fraction}`;
  return sign !== '' && /[1-9]/.test(result) ? `-${result}` : result;
}

interface DeviceContext {
  readonly key: string;
  readonly deviceId: string;
  readonly subject: ReadingSubject;
  readonly binding: DeviceBinding;
}

function deviceContext(binding: DeviceBinding | undefined): DeviceContext {
  if (binding === undefined || binding.deviceId.trim() === '') {
    throw new GatewayError('no_device_identity', 'A Medibus line needs a configured device (binding.deviceId).');
  }
  const key = deviceKey({ kind: 'name', name: binding.deviceId });
  const deviceId = deviceResourceId(key, undefined);
  const subject: ReadingSubject =
    binding.patient === undefined
      ? { kind: 'device', deviceId }
      : {
          kind: 'patient',
          identifier: { ...(binding.patient.system !== undefined ? { system: binding.patient.system } : {}), value: binding.patient.identifier },
        };
  return { key, deviceId, subject, binding };
}

function readingOf(value: MeasuredValue, device: DeviceContext, time: string, withheld: WithheldValue[]): Reading {
  const code = codeHex(value.code);
  const row = codePage1.get(value.code);
  const localCode = { system: cp1CodeSystem, code, ...(row !== undefined ? { display: row.display } : {}) };
  const unit = row?.unit === undefined ? undefined : unitMap[row.unit];
  const text = value.text.trim();
  let readingValue: ReadingValue;
  let unitRef: UnitRef | undefined;
  if (unit === undefined) {
    withheld.push({ code, text: value.text, reason: row === undefined ? 'unknown-code' : 'unit-not-in-terminology' });
    readingValue = { absent: 'unsupported' };
  } else if (text === '') {
    readingValue = { absent: 'unknown' };
  } else if (parseDecimal(text) === undefined) {
    readingValue = { absent: 'error' };
  } else {
    readingValue = { decimal: shiftDecimal(text, unit.shift) };
  }
  if (unit !== undefined) {
    // The metric's own MDC unit where it is this UCUM unit (breaths vs beats per minute), else UCUM alone.
    const term = row?.mdcCode === undefined ? undefined : defaultTerminology.findMetric({ mdcCode: row.mdcCode });
    unitRef = term !== undefined && term.ucum === unit.ucum ? { mdcCode: term.mdcUnitCode } : { ucum: unit.ucum };
  }
  return {
    source: { key: device.key, deviceId: device.deviceId },
    subject: device.subject,
    metric: row?.mdcCode === undefined ? { localCode } : { mdcCode: row.mdcCode, localCode },
    value: readingValue,
    unit: unitRef,
    time,
    status: 'final',
  };
}

export function normalizeMedibus(message: MedibusMessage, context: NormalizeContext<MedibusConfig>): MedibusNormalized {
  switch (message.kind) {
    case 'measured-data': {
      const device = deviceContext(context.binding);
      const time = instantFromDate(context.receivedAt);
      const withheld: WithheldValue[] = [];
      const readings = message.values.map((value) => readingOf(value, device, time, withheld));
      const built = buildObservations(readings, { bloodPressure: 'panel' });
      return { sourceMessageId: undefined, resources: built.resources, unmappedCodes: built.unmappedCodes, withheld };
    }
    case 'device-identification': {
      const device = deviceContext(context.binding);
      const display = [message.name, message.revision].filter((part) => part !== undefined).join(' ');
      const resource: NormalizedResource = buildDevice({
        key: device.key,
        id: device.deviceId,
        identity: { kind: 'name', name: device.binding.deviceId },
        type: { localCode: { system: deviceIdCodeSystem, code: message.deviceId, ...(display !== '' ? { display } : {}) } },
        ...(device.binding.location !== undefined ? { location: device.binding.location } : {}),
      });
      return { sourceMessageId: undefined, resources: [resource], unmappedCodes: [], withheld: [] };
    }
    default:
      // Commands from the device, acknowledgements, NAKs and the time carry no data to publish.
      return { sourceMessageId: undefined, resources: [], unmappedCodes: [], withheld: [] };
  }
}
