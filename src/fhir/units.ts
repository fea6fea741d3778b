/**
 * A unit as sent (MDC and/or UCUM) to the UCUM quantity parts FHIR requires (PoCD and the R4
 * vital-signs profile both fix Quantity.system to UCUM).
 */
import { GatewayError } from '../errors/catalogue.ts';
import { systems, type UcumQuantity } from '../../schemas/fhir.ts';
import type { UnitRef } from './reading.ts';
import type { TerminologyLookups } from './terminology-lookups.ts';
import type { UnitTerm } from '../terminology/index.ts';

export type UcumUnit = Omit<UcumQuantity, 'value'>;

/**
 * UCUM curly-brace annotations are "equivalent to 1" (UCUM §6.4), so `{beat}/min` is `/min`: senders
 * such as IHE PCD TF-2 E.1.2 use them for counts per minute.
 */
function withoutAnnotations(ucum: string): string {
  return ucum.replaceAll(/\{[^{}]*\}/g, '');
}

function findByUcum(ucum: string, terminology: TerminologyLookups): UnitTerm | undefined {
  const stripped = withoutAnnotations(ucum);
  return terminology.findUnit({ ucum }) ?? (stripped !== '' && stripped !== ucum ? terminology.findUnit({ ucum: stripped }) : undefined);
}

/**
 * MDC first, then UCUM (IHE PCD TF-2 B.8 OBX-6: "The preferred format is an MDC value, secondly a
 * UCUM value"); a UCUM code alone counts only when the table knows it.
 */
export function resolveUnit(unit: UnitRef | undefined, terminology: TerminologyLookups): UcumUnit {
  const term =
    (unit?.mdcCode !== undefined ? terminology.findUnit({ mdcCode: unit.mdcCode }) : undefined) ??
    (unit?.refId !== undefined ? terminology.findUnit({ refId: unit.refId }) : undefined) ??
    (unit?.ucum !== undefined ? findByUcum(unit.ucum, terminology) : undefined);
  if (term === undefined) {
    throw new GatewayError('unknown_unit', describeUnit(unit), { location: unit?.location });
  }
  return { unit: term.display, system: systems.ucum, code: term.ucum };
}

/**
 * Error details are logged, so only codes of a fixed shape are quoted (an MDC code10, an MDC
 * reference id); free text from the message, which a garbled message could fill with anything, is not.
 */
function describeUnit(unit: UnitRef | undefined): string {
  if (unit === undefined || (unit.mdcCode === undefined && unit.refId === undefined && unit.ucum === undefined)) {
    return 'No MDC or UCUM unit was sent for a numeric value.';
  }
  const parts = [
    unit.mdcCode !== undefined ? `MDC code ${unit.mdcCode}` : undefined,
    unit.refId !== undefined && /^MDC_[A-Z0-9_]{1,60}$/.test(unit.refId) ? `MDC reference id ${unit.refId}` : undefined,
    unit.ucum !== undefined ? 'a UCUM code' : undefined,
  ].filter((part) => part !== undefined);
  return `Unknown unit: ${parts.join(', ')}.`;
}
