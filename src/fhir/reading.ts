/**
 * The protocol-neutral shapes every adapter produces and the FHIR builders consume. An adapter's job
 * ends at a `Reading` (one measured or set value of one metric) and a `DeviceDescription` (one device
 * in a containment tree); the FHIR shape of both lives in this folder only.
 */
import type { Hl7ErrorLocation } from '../errors/catalogue.ts';
import type { Identifier, ObservationStatus } from '../../schemas/fhir.ts';

export type { ObservationStatus };

/**
 * Where a value came from in the source message, so an error raised while building FHIR can point at
 * it (HL7 ERR-2). Serial adapters use the segment name for their record type.
 */
export type SourceLocation = Hl7ErrorLocation;

/** A code as the device sent it: an MDC term (code10 and/or reference id) and/or a local code. */
export interface CodeRef {
  /** MDC code10 (partition * 65536 + term code), e.g. 150456. */
  readonly mdcCode?: number;
  /** MDC reference id, e.g. MDC_PULS_OXIM_SAT_O2. */
  readonly refId?: string;
  /** A code from another system, kept exactly as sent. */
  readonly localCode?: LocalCode;
}

export interface LocalCode {
  readonly code: string;
  /** The coding system as the sender named it (e.g. an HL7 coding system name such as 99PHILIPS). */
  readonly system?: string;
  readonly display?: string;
}

/** A unit as sent: an MDC unit (code10 and/or reference id) and/or a UCUM code. */
export interface UnitRef {
  readonly mdcCode?: number;
  readonly refId?: string;
  readonly ucum?: string;
  /** Where the unit was read, for `unknown_unit` errors. */
  readonly location?: SourceLocation;
}

/**
 * The value of a reading: the sender's exact decimal text (converted to a JSON number once, never
 * computed with), or the reason there is none (a FHIR data-absent-reason code).
 */
export type ReadingValue = { readonly decimal: string } | { readonly absent: DataAbsentReasonCode };

export const dataAbsentReasonCodes = [
  'unknown',
  'asked-unknown',
  'temp-unknown',
  'not-asked',
  'asked-declined',
  'masked',
  'not-applicable',
  'unsupported',
  'as-text',
  'error',
  'not-a-number',
  'negative-infinity',
  'positive-infinity',
  'not-performed',
  'not-permitted',
] as const;
export type DataAbsentReasonCode = (typeof dataAbsentReasonCodes)[number];

/** HL7 v3 ObservationInterpretation codes a device can signal about one value. */
export const interpretationCodes = ['N', 'L', 'LL', 'H', 'HH', 'A', 'AA', '<', '>'] as const;
export type InterpretationCode = (typeof interpretationCodes)[number];

/** IEEE 11073-10201 MetricCategory, as PCD-01 OBX-17 names it. */
export const metricCategories = ['UNSPEC', 'AMEAS', 'MMEAS', 'ASET', 'MSET', 'ACALC', 'MCALC'] as const;
export type MetricCategory = (typeof metricCategories)[number];

/** A range for the value (on devices: usually the alarm limits), as decimal text in the value's unit. */
export type ReferenceRange =
  | { readonly low?: string; readonly high?: string; readonly text?: undefined }
  | { readonly text: string; readonly low?: undefined; readonly high?: undefined };

/** Who the reading is about: a patient known by an identifier, or (no patient known) the device system itself. */
export type ReadingSubject =
  | { readonly kind: 'patient'; readonly identifier: Identifier }
  | { readonly kind: 'device'; readonly deviceId: string };

/** The device a reading belongs to. */
export interface ReadingSource {
  /** The record key: the identity of the device system (MDS), shared by all its resources. */
  readonly key: string;
  /** FHIR id of the Device closest to the metric (channel, else VMD, else MDS): Observation.device. */
  readonly deviceId: string;
}

export interface Reading {
  readonly source: ReadingSource;
  readonly subject: ReadingSubject;
  readonly metric: CodeRef;
  readonly value: ReadingValue;
  /** Required when the value is a decimal. */
  readonly unit: UnitRef | undefined;
  /** An ISO 8601 instant with the sender's offset, e.g. 2024-05-01T12:30:00+02:00 (see date-time.ts). */
  readonly time: string;
  readonly status: ObservationStatus;
  /** Carried for DeviceMetric.category; FHIR R4 Observation has no element for it. */
  readonly category?: MetricCategory;
  /**
   * The metric's place in the device's containment tree (PCD-01 OBX-4, e.g. "1.1.1.1"). Part of the
   * resource id, so two metrics with the same code on different channels stay apart.
   */
  readonly containment?: string;
  readonly referenceRange?: ReferenceRange;
  readonly interpretation?: readonly InterpretationCode[];
}

/** How a device is identified; the record key and Device.identifier both derive from it. */
export type DeviceIdentity =
  /** An EUI-64, and the manufacturer's serial number when the device also gives one. */
  | { readonly kind: 'eui64'; readonly eui64: string; readonly serialNumber?: string }
  | { readonly kind: 'serial'; readonly serialNumber: string; readonly modelNumber?: string; readonly manufacturer?: string }
  /** A name given by configuration or by the sending system, when the device itself names nothing. */
  | { readonly kind: 'name'; readonly name: string };

/** One device of a containment tree (MDS, VMD or channel), ready to become a FHIR Device. */
export interface DeviceDescription {
  /** The record key: the identity of the device system (MDS) this device belongs to. */
  readonly key: string;
  /** The deterministic FHIR id (see resource-identity.ts). */
  readonly id: string;
  /** The device's own identity; without one, the Device is identified by its deterministic id. */
  readonly identity: DeviceIdentity | undefined;
  /** The device type (PCD-01: the device-related row's OBX-3, e.g. 69965 MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS). */
  readonly type?: CodeRef;
  /** FHIR id of the containing device (channel -> VMD -> MDS). */
  readonly parentId?: string;
  /** Where the device is, as a person would say it (PCD-01: PV1-3). */
  readonly location?: string;
}
