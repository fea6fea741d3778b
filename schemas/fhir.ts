/**
 * The FHIR R4 subset Vitalbridge emits, as strict zod schemas. Strict: an unknown property is an
 * error, so nothing we did not mean to publish reaches Kafka. These enforce the invariants consumers
 * rely on (MDC coding present, UCUM quantities, exactly one value[x] or a dataAbsentReason, an
 * effective time with a zone); a full-spec validator checks the same resources again in the tests.
 */
import { z } from 'zod';

export const systems = {
  mdc: 'urn:iso:std:iso:11073:10101',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  eui64: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680',
  deviceSerial: 'urn:vitalbridge:device-serial',
  gatewayTag: 'urn:vitalbridge:tag',
  observationIdentifier: 'urn:ietf:rfc:3986',
  issueType: 'http://hl7.org/fhir/issue-type',
} as const;

/*
 * The patterns are exported for src/validation/fast-fhir-check.ts, the hot path's equivalent of these
 * schemas (fast-fhir-check.test.ts holds the two to the same verdicts).
 */

/** FHIR `id`: 1-64 of [A-Za-z0-9-.]. */
export const fhirIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;
export const fhirId = z.string().regex(fhirIdPattern, 'not a FHIR id');

/** FHIR dateTime with seconds: a full instant must carry a zone so consumers never guess it. */
export const fhirDateTimePattern =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;
export const fhirDateTime = z.string().regex(fhirDateTimePattern, 'not a FHIR dateTime with time zone');

export const fhirStringPattern = /^[\s\S]*\S[\s\S]*$/;
export const fhirCodePattern = /^[^\s]+( [^\s]+)*$/;
export const fhirUriPattern = /^\S+$/;
const fhirString = z.string().min(1).regex(fhirStringPattern, 'blank string');
const fhirCode = z.string().regex(fhirCodePattern, 'not a FHIR code');
const fhirUri = z.string().regex(fhirUriPattern, 'not a FHIR uri');

export const coding = z.strictObject({
  system: fhirUri,
  code: fhirCode,
  display: fhirString.optional(),
});
export type Coding = z.infer<typeof coding>;

export const codeableConcept = z.strictObject({
  coding: z.array(coding).min(1),
  text: fhirString.optional(),
});
export type CodeableConcept = z.infer<typeof codeableConcept>;

/** A UCUM quantity: the profile fixes the system and requires a code. */
export const ucumQuantity = z.strictObject({
  value: z.number().finite(),
  unit: fhirString,
  system: z.literal(systems.ucum),
  code: fhirCode,
});
export type UcumQuantity = z.infer<typeof ucumQuantity>;

export const identifier = z.strictObject({
  system: fhirUri.optional(),
  value: fhirString,
  type: codeableConcept.optional(),
});
export type Identifier = z.infer<typeof identifier>;

export const referencePattern = /^(Device|Patient|Location|Observation)\/[A-Za-z0-9\-.]{1,64}$/;
export const reference = z
  .strictObject({
    reference: z.string().regex(referencePattern).optional(),
    type: z.enum(['Device', 'Patient', 'Location']).optional(),
    identifier: identifier.optional(),
    display: fhirString.optional(),
  })
  .refine((ref) => ref.reference !== undefined || ref.identifier !== undefined || ref.display !== undefined, {
    message: 'a reference needs a reference, an identifier or a display',
  });
export type Reference = z.infer<typeof reference>;

const meta = z.strictObject({
  profile: z.array(fhirUri).min(1).optional(),
  tag: z.array(coding).min(1).optional(),
});

const referenceRange = z.strictObject({
  low: ucumQuantity.optional(),
  high: ucumQuantity.optional(),
  text: fhirString.optional(),
});

/** An MDC coding must be present in every Observation code (HL7 PoCD IG). */
const mdcCoded = codeableConcept.refine((concept) => concept.coding.some((c) => c.system === systems.mdc), {
  message: 'code must carry an MDC coding (urn:iso:std:iso:11073:10101)',
});

const observationComponent = z
  .strictObject({
    code: mdcCoded,
    valueQuantity: ucumQuantity.optional(),
    dataAbsentReason: codeableConcept.optional(),
    interpretation: z.array(codeableConcept).min(1).optional(),
    referenceRange: z.array(referenceRange).min(1).optional(),
  })
  .refine((c) => (c.valueQuantity === undefined) !== (c.dataAbsentReason === undefined), {
    message: 'a component has either valueQuantity or dataAbsentReason, not both, not neither',
  });

/** Results whose code the terminology table does not know are published as they came, with this tag. */
export const unmappedCodeTag = { system: systems.gatewayTag, code: 'unmapped-code' } as const;

function isTaggedUnmapped(value: z.infer<typeof meta> | undefined): boolean {
  return value?.tag?.some((t) => t.system === unmappedCodeTag.system && t.code === unmappedCodeTag.code) ?? false;
}

export const observationStatus = z.enum([
  'registered',
  'preliminary',
  'final',
  'amended',
  'corrected',
  'cancelled',
  'entered-in-error',
  'unknown',
]);
export type ObservationStatus = z.infer<typeof observationStatus>;

export const observation = z
  .strictObject({
    resourceType: z.literal('Observation'),
    id: fhirId,
    meta: meta.optional(),
    identifier: z.array(identifier).min(1),
    status: observationStatus,
    category: z.array(codeableConcept).min(1).optional(),
    code: codeableConcept,
    subject: reference.optional(),
    effectiveDateTime: fhirDateTime,
    valueQuantity: ucumQuantity.optional(),
    dataAbsentReason: codeableConcept.optional(),
    interpretation: z.array(codeableConcept).min(1).optional(),
    referenceRange: z.array(referenceRange).min(1).optional(),
    device: reference,
    component: z.array(observationComponent).min(1).optional(),
  })
  .refine((o) => o.code.coding.some((c) => c.system === systems.mdc) || isTaggedUnmapped(o.meta), {
    message: 'code must carry an MDC coding (HL7 PoCD IG), unless the Observation is tagged unmapped-code (a device-local code published as it came)',
    path: ['code'],
  })
  .refine(
    (o) =>
      o.component !== undefined
        ? o.valueQuantity === undefined
        : (o.valueQuantity === undefined) !== (o.dataAbsentReason === undefined),
    { message: 'an Observation has exactly one of valueQuantity or dataAbsentReason, or components (panel) instead' },
  );
export type Observation = z.infer<typeof observation>;

export const deviceStatus = z.enum(['active', 'inactive', 'entered-in-error', 'unknown']);

export const device = z.strictObject({
  resourceType: z.literal('Device'),
  id: fhirId,
  meta: meta.optional(),
  identifier: z.array(identifier).min(1),
  status: deviceStatus,
  manufacturer: fhirString.optional(),
  serialNumber: fhirString.optional(),
  modelNumber: fhirString.optional(),
  deviceName: z
    .array(z.strictObject({ name: fhirString, type: z.enum(['udi-label-name', 'user-friendly-name', 'patient-reported-name', 'manufacturer-name', 'model-name', 'other']) }))
    .min(1)
    .optional(),
  type: codeableConcept.optional(),
  patient: reference.optional(),
  location: reference.optional(),
  parent: reference.optional(),
});
export type Device = z.infer<typeof device>;

export const deviceMetricCategory = z.enum(['measurement', 'setting', 'calculation', 'unspecified']);

export const deviceMetric = z.strictObject({
  resourceType: z.literal('DeviceMetric'),
  id: fhirId,
  meta: meta.optional(),
  identifier: z.array(identifier).min(1).optional(),
  type: mdcCoded,
  unit: codeableConcept.optional(),
  source: reference.optional(),
  parent: reference.optional(),
  operationalStatus: z.enum(['on', 'off', 'standby', 'entered-in-error']).optional(),
  category: deviceMetricCategory,
});
export type DeviceMetric = z.infer<typeof deviceMetric>;

export const operationOutcome = z.strictObject({
  resourceType: z.literal('OperationOutcome'),
  id: fhirId.optional(),
  issue: z
    .array(
      z.strictObject({
        severity: z.enum(['fatal', 'error', 'warning', 'information']),
        code: fhirCode,
        details: codeableConcept.optional(),
        diagnostics: fhirString.optional(),
        expression: z.array(fhirString).min(1).optional(),
      }),
    )
    .min(1),
});
export type OperationOutcome = z.infer<typeof operationOutcome>;

export const fhirResource = z.union([observation, device, deviceMetric, operationOutcome]);
export type FhirResource = Observation | Device | DeviceMetric | OperationOutcome;
