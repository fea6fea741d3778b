/**
 * OBX-11 (HL7 table 0085, observation result status) to FHIR R4 Observation.status.
 *
 * Where the HL7 v2-to-FHIR concept map (HL7/v2-to-fhir, "ObservationResultStatusCodesInterpretation")
 * gives a target, it is used: A amended, C corrected, D and W entered-in-error, F final, P preliminary,
 * X cancelled. For the codes it leaves open, the choice and its reason:
 * - R "results entered, not verified": preliminary. IHE PCD TF-2 B.8 (Table B.8.5-6) uses R for a raw
 *   device measurement that "has not been reviewed nor validated"; R4 preliminary is "initial or
 *   interim ... data may be incomplete or unverified".
 * - S "partial results": preliminary ("data may be incomplete").
 * - U "status change to final without retransmitting results" and V "verified": final.
 * - B "appended report, values unchanged": amended ("updates/new information").
 * - I "specimen in lab, results pending" and O "order detail only (no result)": registered ("no result yet").
 * - N "not asked": cancelled ("not started").
 * - empty: unknown ("the source system does not know which status applies").
 */
import type { ObservationStatus } from '../../src/fhir/index.ts';

export const observationStatusByResultStatus: Readonly<Record<string, ObservationStatus>> = {
  A: 'amended',
  B: 'amended',
  C: 'corrected',
  D: 'entered-in-error',
  F: 'final',
  I: 'registered',
  N: 'cancelled',
  O: 'registered',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  U: 'final',
  V: 'final',
  W: 'entered-in-error',
  X: 'cancelled',
  '': 'unknown',
};

/** undefined for a code outside table 0085. */
export function observationStatusOf(resultStatus: string): ObservationStatus | undefined {
  return Object.hasOwn(observationStatusByResultStatus, resultStatus) ? observationStatusByResultStatus[resultStatus] : undefined;
}
