/**
 * A parsed PCD-01 message to FHIR resources: the device tree (device-tree.ts) becomes Devices, every
 * numeric (NM) metric row a Reading, and src/fhir turns those into FHIR. Pure: no clock, no I/O.
 */
import type { NormalizeContext, Normalized, NormalizedResource } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError, type Hl7ErrorLocation } from '../../src/errors/catalogue.ts';
import {
  buildDevice,
  buildObservations,
  formatInstant,
  metricCategories,
  normalizeEui64,
  offsetInTimeZone,
  parseDecimal,
  type DeviceIdentity,
  type MetricCategory,
  type Reading,
  type ReadingSubject,
  type ReferenceRange,
  type TerminologyLookups,
  type UnitRef,
} from '../../src/fhir/index.ts';
import type { Identifier } from '../../schemas/fhir.ts';
import { absentReasonOf, interpretationOf } from './abnormal-flags.ts';
import type { ConfiguredIdentity, Hl7v2PcdConfig } from './config.ts';
import { buildDeviceTree, codeRefOf, isMdc, mdcPart, type MetricPlacement } from './device-tree.ts';
import { hl7Code, quotedCode } from './error-detail.ts';
import type { CodedElement, Hl7DateTime, ObservationOrder, ObservationRow, Pcd01Message, PatientIdentifier, PersonLocation } from './parse.ts';
import { observationStatusOf } from './result-status.ts';

/** An OBX the adapter read but did not publish, and why. */
export interface SkippedObservation {
  readonly location: Hl7ErrorLocation;
  /** OBX-2 as sent. */
  readonly valueType: string;
  /** OBX-3 code as sent. */
  readonly code: string;
  /**
   * value-type-not-normalized: only NM is normalized so far (README, "Not yet supported");
   * no-mdc-code: only an MDC reference id the table does not know, with no code10 and no local
   *   code, so there is nothing a consumer could match the result on.
   */
  readonly reason: 'value-type-not-normalized' | 'no-mdc-code';
}

export interface Pcd01Normalized extends Normalized {
  readonly skipped: readonly SkippedObservation[];
}

const obx = (row: ObservationRow, field: number): Hl7ErrorLocation => ({ segment: 'OBX', sequence: row.sequence, field });

// ---------------------------------------------------------------------------------------------
// Who and where
// ---------------------------------------------------------------------------------------------

const oidPattern = /^[0-2](\.(0|[1-9]\d*))+$/;

/**
 * PID-3 (first repetition) as a FHIR Identifier. The system comes from the assigning authority
 * (CX.4): an ISO OID becomes urn:oid:<oid>, a URI stays as it is, otherwise the adapter's
 * patientIdentifierSystems setting may name one. CX.5 becomes the v2-0203 identifier type.
 */
function patientIdentifierOf(patient: PatientIdentifier, config: Hl7v2PcdConfig): Identifier {
  const authority = patient.assigningAuthority;
  const type = authority.universalIdType.toUpperCase();
  const system =
    type === 'ISO' && oidPattern.test(authority.universalId)
      ? `urn:oid:${authority.universalId}`
      : type === 'URI' && /^\S+$/.test(authority.universalId)
        ? authority.universalId
        : config.patientIdentifierSystems[authority.namespaceId];
  return {
    ...(system !== undefined ? { system } : {}),
    value: patient.value,
    ...(patient.identifierTypeCode !== ''
      ? { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: patient.identifierTypeCode }] } }
      : {}),
  };
}

/** PV1-3 as a person would say it, from the widest place to the bed: "ICU, room 7, bed 1". */
function locationDisplay(location: PersonLocation | undefined): string | undefined {
  if (location === undefined) return undefined;
  const labelled = (label: string, value: string) => (value === '' ? '' : `${label} ${value}`);
  const parts = [
    labelled('facility', location.facility),
    labelled('building', location.building),
    labelled('floor', location.floor),
    location.pointOfCare,
    labelled('room', location.room),
    labelled('bed', location.bed),
    location.description,
  ].filter((part) => part !== '');
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function configuredIdentity(configured: ConfiguredIdentity): DeviceIdentity {
  if ('eui64' in configured) return { kind: 'eui64', eui64: normalizeEui64(configured.eui64)! };
  if ('serialNumber' in configured) return { kind: 'serial', ...configured };
  return { kind: 'name', name: configured.name };
}

/**
 * The identity of last resort, for device systems without any OBX-18: the deviceBySender setting,
 * else an EUI-64 in MSH-3 (HD-2 with HD-3 "EUI-64", as IHE PCD senders identify themselves), else
 * MSH-3^MSH-4 as a name.
 */
function senderIdentityOf(message: Pcd01Message, config: Hl7v2PcdConfig): () => DeviceIdentity {
  return () => {
    const application = message.sendingApplication.namespaceId || message.sendingApplication.universalId;
    const facility = message.sendingFacility.namespaceId || message.sendingFacility.universalId;
    const sender = [application, facility].filter((part) => part !== '').join('^');
    const configured = config.deviceBySender[sender];
    if (configured !== undefined) return configuredIdentity(configured);
    const eui64 =
      message.sendingApplication.universalIdType.toUpperCase() === 'EUI-64'
        ? normalizeEui64(message.sendingApplication.universalId)
        : undefined;
    if (eui64 !== undefined) return { kind: 'eui64', eui64 };
    if (sender !== '') return { kind: 'name', name: sender };
    throw new GatewayError('no_device_identity', undefined, { location: { segment: 'MSH', sequence: 1, field: 3 } });
  };
}

// ---------------------------------------------------------------------------------------------
// One metric row
// ---------------------------------------------------------------------------------------------

/** OBX-3 as the sender wrote it, for the skipped-rows report (which, unlike error details, is not logged as text). */
const codeAsSent = (code: CodedElement) =>
  [code.identifier, code.text, code.codingSystem, code.alternateIdentifier, code.alternateText, code.alternateCodingSystem]
    .join('^')
    .replace(/\^+$/, '');

/** OBX-6: an MDC unit (first or alternate triplet) and/or a UCUM one; a triplet naming no system is tried as UCUM. */
function unitRefOf(units: CodedElement, row: ObservationRow): UnitRef {
  // Plain comparisons of the two triplets: arrays of triplets and find() per row cost ~2% of the pipeline.
  const firstNamed = units.identifier !== '' || units.text !== '';
  const alternateNamed = units.alternateIdentifier !== '' || units.alternateText !== '';
  const unit: { mdcCode?: number; refId?: string; ucum?: string; location?: Hl7ErrorLocation } =
    firstNamed && isMdc(units.codingSystem)
      ? mdcPart(units.identifier, units.text)
      : alternateNamed && isMdc(units.alternateCodingSystem)
        ? mdcPart(units.alternateIdentifier, units.alternateText)
        : {};
  if (firstNamed && units.codingSystem.toUpperCase() === 'UCUM') unit.ucum = units.identifier || units.text;
  else if (alternateNamed && units.alternateCodingSystem.toUpperCase() === 'UCUM') unit.ucum = units.alternateIdentifier || units.alternateText;
  else if (units.codingSystem === '' && units.identifier !== '') unit.ucum = units.identifier;
  unit.location = obx(row, 6);
  return unit;
}

const rangePattern = /^([+-]?(?:\d+\.?\d*|\.\d+))\s*-\s*([+-]?(?:\d+\.?\d*|\.\d+))$/;

/** OBX-7: "low-high" as limits in the value's unit; any other form ("<500", "> 10") kept as text. */
function referenceRangeOf(text: string): ReferenceRange | undefined {
  if (text === '') return undefined;
  const match = rangePattern.exec(text);
  return match === null ? { text } : { low: match[1]!, high: match[2]! };
}

/**
 * OBX-14, else the nearest device row's OBX-14 (channel, VMD, MDS: TF-2 B.8 OBX-14, "metric
 * observations get their time stamps from their nearest 'ancestor'"), else OBR-7. Without an offset,
 * the configured time zone decides it.
 */
function timeOf(row: ObservationRow, placement: MetricPlacement, order: ObservationOrder, config: Hl7v2PcdConfig): string {
  const time =
    row.observationTime ?? placement.ancestors.find((ancestor) => ancestor.observationTime)?.observationTime ?? order.observationTime;
  if (time === undefined) {
    throw new GatewayError('missing_observation_time', undefined, { location: obx(row, 14) });
  }
  return instantOf(time, config.defaultTimeZone);
}

/**
 * FHIR instants by DTM: parse.ts gives one Hl7DateTime per DTM text, and a message repeats one time
 * in every row (formatting, and without an offset the time-zone lookup, ran per row). Kept with the
 * time zone it was worked out in.
 */
const instants = new WeakMap<Hl7DateTime, { readonly timeZone: string; readonly instant: string }>();

function instantOf(time: Hl7DateTime, timeZone: string): string {
  const known = instants.get(time);
  if (known !== undefined && known.timeZone === timeZone) return known.instant;
  const instant = formatInstant(time.local, time.offset ?? offsetInTimeZone(time.local, timeZone));
  instants.set(time, { timeZone, instant });
  return instant;
}

function readingOf(
  row: ObservationRow,
  placement: MetricPlacement,
  order: ObservationOrder,
  subject: ReadingSubject,
  config: Hl7v2PcdConfig,
): Reading {
  if (row.identifier.identifier === '' && row.identifier.text === '') {
    throw new GatewayError('hl7_missing_field', 'OBX-3 (observation identifier) is empty.', { location: obx(row, 3) });
  }
  if (row.value !== '' && parseDecimal(row.value) === undefined) {
    // The value itself stays out of the message: error details end up in logs.
    throw new GatewayError('invalid_numeric_value', undefined, { location: obx(row, 5) });
  }
  const status = observationStatusOf(row.status);
  if (status === undefined) {
    throw new GatewayError('hl7_invalid_field', `OBX-11 is ${quotedCode(row.status, hl7Code)}, not an HL7 table 0085 result status.`, {
      location: obx(row, 11),
    });
  }
  const range = referenceRangeOf(row.referenceRange);
  const interpretation = interpretationOf(row.abnormalFlags);
  const category = (metricCategories as readonly string[]).includes(row.method) ? (row.method as MetricCategory) : undefined;
  return {
    source: { key: placement.key, deviceId: placement.deviceId },
    subject,
    metric: codeRefOf(row.identifier),
    value: row.value !== '' ? { decimal: row.value } : { absent: absentReasonOf(row.abnormalFlags) },
    unit: unitRefOf(row.units, row),
    time: timeOf(row, placement, order, config),
    status,
    ...(category !== undefined ? { category } : {}),
    ...(placement.containment !== undefined ? { containment: placement.containment } : {}),
    ...(range !== undefined ? { referenceRange: range } : {}),
    ...(interpretation.length > 0 ? { interpretation } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The message
// ---------------------------------------------------------------------------------------------

export function normalizePcd01(
  message: Pcd01Message,
  context: NormalizeContext<Hl7v2PcdConfig>,
  terminology?: TerminologyLookups,
): Pcd01Normalized {
  const { config } = context;
  const senderIdentity = senderIdentityOf(message, config);
  const devices: NormalizedResource[] = [];
  const readings: Reading[] = [];
  const skipped: SkippedObservation[] = [];
  const rowOfReading = new Map<Reading, ObservationRow>();

  for (const order of message.orders) {
    const tree = buildDeviceTree(order.rows, locationDisplay(order.location), senderIdentity);
    devices.push(...tree.devices.map(buildDevice));
    const patient = order.patientIdentifier === undefined ? undefined : patientIdentifierOf(order.patientIdentifier, config);
    for (const { row, placement } of tree.metrics) {
      if (row.valueType !== 'NM') {
        skipped.push({ location: obx(row, 2), valueType: row.valueType, code: codeAsSent(row.identifier), reason: 'value-type-not-normalized' });
        continue;
      }
      const subject: ReadingSubject =
        patient !== undefined ? { kind: 'patient', identifier: patient } : { kind: 'device', deviceId: placement.systemDeviceId };
      const reading = readingOf(row, placement, order, subject, config);
      rowOfReading.set(reading, row);
      readings.push(reading);
    }
  }

  const observations = buildObservations(readings, { bloodPressure: config.bloodPressure, ...(terminology ? { terminology } : {}) });
  for (const reading of observations.withoutMdcCode) {
    const row = rowOfReading.get(reading)!;
    skipped.push({ location: obx(row, 3), valueType: row.valueType, code: codeAsSent(row.identifier), reason: 'no-mdc-code' });
  }

  // The same device (or a repeated row) can appear in several OBR groups: each resource once, first wins.
  const seen = new Set<string>();
  const resources = [...devices, ...observations.resources].filter(({ resource }) => {
    if (seen.has(resource.id ?? '')) return false;
    seen.add(resource.id ?? '');
    return true;
  });

  return {
    sourceMessageId: message.controlId,
    resources,
    unmappedCodes: observations.unmappedCodes,
    skipped: skipped.sort((a, b) => (a.location.sequence ?? 0) - (b.location.sequence ?? 0)),
  };
}
