/**
 * OBX-8 abnormal flags (IHE PCD TF-2 B.8, Tables B.8.5-5 and B.8.5-7; HL7 PoCD IG mappingv2):
 * - abnormality flags become Observation.interpretation (HL7 v3 ObservationInterpretation has the
 *   same codes as HL7 v2 table 0078 for these: N, L, LL, H, HH, A, AA, <, >);
 * - missing/invalid-data flags say why OBX-5 is empty, and become the dataAbsentReason. NullFlavor
 *   flags follow the FHIR R4 ConceptMap cm-data-absent-reason-v3 (NAV temp-unknown, MSK masked,
 *   NA not-applicable, OTH not-permitted, NINF/PINF negative-/positive-infinity). The others:
 *   NI "no information" has no equivalent there and becomes unknown; NAN not-a-number; OFF
 *   "deactivated by user" not-performed; INV "invalid" error; BUSY "measurement ongoing" temp-unknown.
 * Alarm priority and source flags (PN/PL/PM/PH, SP/ST/SA) and other measurement-status flags are not
 * Observation data and are left out.
 */
import { interpretationCodes, type DataAbsentReasonCode, type InterpretationCode } from '../../src/fhir/index.ts';

const absentReasonByFlag: Readonly<Record<string, DataAbsentReasonCode>> = {
  NI: 'unknown',
  NA: 'not-applicable',
  NAV: 'temp-unknown',
  OFF: 'not-performed',
  MSK: 'masked',
  OTH: 'not-permitted',
  NAN: 'not-a-number',
  PINF: 'positive-infinity',
  NINF: 'negative-infinity',
  INV: 'error',
  BUSY: 'temp-unknown',
};

export function interpretationOf(flags: readonly string[]): InterpretationCode[] {
  if (flags.length === 0) return []; // most rows: no filter, no Set
  const codes = flags.filter((flag): flag is InterpretationCode => (interpretationCodes as readonly string[]).includes(flag));
  return [...new Set(codes)];
}

/** The reason a value is missing: the first missing-data flag, else unknown. */
export function absentReasonOf(flags: readonly string[]): DataAbsentReasonCode {
  for (const flag of flags) {
    if (Object.hasOwn(absentReasonByFlag, flag)) return absentReasonByFlag[flag]!;
  }
  return 'unknown';
}
