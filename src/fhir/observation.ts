/**
 * Readings to FHIR R4 Observations, following the HL7 PoCD IG and the R4 vital-signs profile:
 * - code: the MDC coding (system urn:iso:std:iso:11073:10101, code10, display = reference id), plus
 *   LOINC where the terminology table maps one, plus a local code as sent; a code the table does not
 *   know (an unknown MDC code, or a local code with no MDC code at all) is published as it came,
 *   tagged unmapped-code and reported in unmappedCodes, never dropped;
 * - category vital-signs where the table says the metric is a vital sign and the subject is a patient
 *   (R4: an Observation with that category SHALL conform to the vital-signs profile, whose subject is a
 *   Patient, so a device-only subject cannot claim it);
 * - valueQuantity in UCUM, or dataAbsentReason;
 * - blood-pressure parts (findPanelOf) as one panel Observation with components, by default
 *   (R4 vital signs: BP is 85354-9 with 8480-6/8462-4 components; PoCD: CompoundNumericObservation).
 */
import { GatewayError } from '../errors/catalogue.ts';
import { systems, type CodeableConcept, type Coding, type Observation, type Reference, type UcumQuantity } from '../../schemas/fhir.ts';
import type { NormalizedResource } from '../adapter-kit/define-adapter.ts';
import type { MetricTerm, PanelTerm } from '../terminology/index.ts';
import { dataAbsentReason, interpretation, localCodeSystem, unmappedCodeTag, vitalSignsCategory } from './codings.ts';
import { parseDecimal } from './decimal.ts';
import type { CodeRef, LocalCode, Reading, ReadingSubject, ReadingValue } from './reading.ts';
import { observationResourceId, uuidIdentifier } from './resource-identity.ts';
import { defaultTerminology, type TerminologyLookups } from './terminology-lookups.ts';
import { resolveUnit, type UcumUnit } from './units.ts';

export interface ObservationOptions {
  /** 'panel': blood-pressure parts measured together become one Observation with components; 'separate': one each. */
  readonly bloodPressure: 'panel' | 'separate';
  readonly terminology?: TerminologyLookups;
}

export interface BuiltObservations {
  readonly resources: readonly NormalizedResource[];
  /**
   * Codes published as sent because the table does not know them, as `system|code` with the FHIR
   * system they were published under, each once.
   */
  readonly unmappedCodes: readonly string[];
  /**
   * Readings that carry no code a FHIR Coding can hold: no MDC code10 (sent, or found in the table by
   * reference id) and no code of another system, only an MDC reference id the table does not know.
   * They cannot be published. (A local code alone is published, tagged unmapped-code.)
   */
  readonly withoutMdcCode: readonly Reading[];
}

interface CodedMetric {
  /** What the metric contributes to the resource id. */
  readonly idKey: string;
  /** Undefined for a local code published without an MDC coding. */
  readonly mdcCode: number | undefined;
  readonly concept: CodeableConcept;
  readonly vitalSign: boolean;
  /** `system|code` when the table does not know the code (an MDC code, or a local code alone). */
  readonly unmapped: string | undefined;
}

const mdcToken = (code: number): string => `${systems.mdc}|${code}`;

function mdcCoding(code: number, refId: string | undefined): Coding {
  return refId === undefined ? { system: systems.mdc, code: String(code) } : { system: systems.mdc, code: String(code), display: refId };
}

/** The table's LOINC coding, then any further LOINC codes it lists (SpO2: 2708-6 for R4 vital signs, then 59408-5). */
function loincCodings(term: MetricTerm | PanelTerm | undefined, terminology: TerminologyLookups): Coding[] {
  if (term === undefined) return [];
  const loincs = [...(term.loinc === undefined ? [] : [term.loinc]), ...terminology.additionalLoincCodings(term.mdcCode)];
  return loincs.map((loinc) => ({ system: systems.loinc, code: loinc.code, display: loinc.display }));
}

/** A code of another system as sent (display = the sender's text), its system made a FHIR URI (localCodeSystem). */
function localCoding(local: LocalCode): Coding {
  const system = localCodeSystem(local.system);
  return local.display === undefined ? { system, code: local.code } : { system, code: local.code, display: local.display };
}

function findTerm(metric: CodeRef, terminology: TerminologyLookups): MetricTerm | undefined {
  // The code10 is authoritative when sent; the reference id only stands in for a missing code.
  if (metric.mdcCode !== undefined) return terminology.findMetric({ mdcCode: metric.mdcCode });
  if (metric.refId !== undefined) return terminology.findMetric({ refId: metric.refId });
  return undefined;
}

/**
 * Coded metrics by terminology table and by the metric as sent, when the adapter shares and freezes
 * it (hl7v2-pcd does, per code the device sends): the table lookups and the concept are then built
 * once, not per Observation. The concept is shared by those Observations, hence frozen.
 */
const codedMetricsByTable = new WeakMap<TerminologyLookups, WeakMap<CodeRef, CodedMetric | null>>();

function codeMetric(metric: CodeRef, terminology: TerminologyLookups): CodedMetric | undefined {
  if (!Object.isFrozen(metric)) return newCodedMetric(metric, terminology);
  let known = codedMetricsByTable.get(terminology);
  if (known === undefined) codedMetricsByTable.set(terminology, (known = new WeakMap()));
  const found = known.get(metric);
  if (found !== undefined) return found ?? undefined;
  const coded = newCodedMetric(metric, terminology);
  if (coded !== undefined) {
    for (const coding of coded.concept.coding) Object.freeze(coding);
    Object.freeze(coded.concept.coding);
    Object.freeze(coded.concept);
  }
  known.set(metric, coded ?? null);
  return coded;
}

function newCodedMetric(metric: CodeRef, terminology: TerminologyLookups): CodedMetric | undefined {
  const term = findTerm(metric, terminology);
  const mdcCode = term?.mdcCode ?? metric.mdcCode;
  const local = metric.localCode === undefined ? undefined : localCoding(metric.localCode);
  if (mdcCode === undefined) {
    if (local === undefined) return undefined;
    // A device-local code alone: published as it came, tagged, counted (schemas/fhir.ts allows an
    // Observation without MDC coding only with the unmapped-code tag).
    return {
      idKey: `local:${JSON.stringify([local.system, local.code])}`,
      mdcCode: undefined,
      concept: { coding: [local] },
      vitalSign: false,
      unmapped: `${local.system}|${local.code}`,
    };
  }
  return {
    idKey: `mdc:${mdcCode}`,
    mdcCode,
    concept: { coding: [mdcCoding(mdcCode, term?.refId ?? metric.refId), ...loincCodings(term, terminology), ...(local !== undefined ? [local] : [])] },
    vitalSign: term?.vitalSign === true,
    unmapped: term === undefined ? mdcToken(mdcCode) : undefined,
  };
}

function subjectReference(subject: ReadingSubject): Reference {
  return subject.kind === 'patient'
    ? { type: 'Patient', identifier: subject.identifier }
    : { reference: `Device/${subject.deviceId}` };
}

function subjectKey(subject: ReadingSubject): string {
  return subject.kind === 'patient'
    ? `patient:${subject.identifier.system ?? ''}|${subject.identifier.value}`
    : `device:${subject.deviceId}`;
}

function quantity(decimal: string, unit: UcumUnit): UcumQuantity {
  const value = parseDecimal(decimal);
  if (value === undefined) throw new GatewayError('invalid_numeric_value', 'A reading value is not a decimal number.');
  return { value, unit: unit.unit, system: unit.system, code: unit.code };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ObservationComponent = NonNullable<Observation['component']>[number];
/** What measuredElements adds to an Observation or a panel component. */
type Measured = Mutable<Pick<Observation, 'valueQuantity' | 'dataAbsentReason' | 'interpretation' | 'referenceRange'>>;
type ReferenceRangeElement = Mutable<NonNullable<Observation['referenceRange']>[number]>;

/**
 * Adds the value, interpretation and reference range elements shared by Observations and panel
 * components to `target`, in this order. Member by member rather than spreads of temporary objects:
 * the same members in the same order give every Observation the same shape, and this runs per
 * Observation. The unit, then the range's limits, then the value are worked out in that order, so
 * the first error raised stays the same.
 */
function addMeasuredElements(target: Measured, reading: Reading, terminology: TerminologyLookups): void {
  const value: ReadingValue = reading.value;
  const range = reading.referenceRange;
  const needsUnit = 'decimal' in value || range?.low !== undefined || range?.high !== undefined;
  const unit = needsUnit ? resolveUnit(reading.unit, terminology) : undefined;
  let referenceRange: ReferenceRangeElement | undefined;
  if (range !== undefined) {
    if (range.text !== undefined) {
      referenceRange = { text: range.text };
    } else {
      referenceRange = {};
      if (range.low !== undefined && unit !== undefined) referenceRange.low = quantity(range.low, unit);
      if (range.high !== undefined && unit !== undefined) referenceRange.high = quantity(range.high, unit);
    }
  }
  if ('decimal' in value && unit !== undefined) target.valueQuantity = quantity(value.decimal, unit);
  else target.dataAbsentReason = dataAbsentReason('absent' in value ? value.absent : 'unknown');
  if (reading.interpretation !== undefined && reading.interpretation.length > 0) target.interpretation = reading.interpretation.map(interpretation);
  if (referenceRange !== undefined) target.referenceRange = [referenceRange];
}

/** resourceType, id, meta, identifier, status and category: how every Observation starts. */
function observationHead(id: string, unmapped: boolean, status: Reading['status'], category: boolean): Mutable<Partial<Observation>> {
  const observation: Mutable<Partial<Observation>> = { resourceType: 'Observation', id };
  if (unmapped) observation.meta = { tag: [unmappedCodeTag] };
  observation.identifier = [uuidIdentifier(id)];
  observation.status = status;
  if (category) observation.category = [vitalSignsCategory];
  return observation;
}

function singleObservation(reading: Reading, coded: CodedMetric, terminology: TerminologyLookups): Observation {
  const id = observationResourceId({
    deviceKey: reading.source.key,
    metricKey: coded.idKey,
    containment: reading.containment,
    time: reading.time,
  });
  const observation = observationHead(id, coded.unmapped !== undefined, reading.status, coded.vitalSign && reading.subject.kind === 'patient');
  observation.code = coded.concept;
  observation.subject = subjectReference(reading.subject);
  observation.effectiveDateTime = reading.time;
  addMeasuredElements(observation, reading, terminology);
  observation.device = { reference: `Device/${reading.source.deviceId}` };
  return observation as Observation;
}

/** The containment path of the channel (or VMD) that holds a metric: "1.1.1.5" -> "1.1.1". */
function parentContainment(containment: string | undefined): string | undefined {
  if (containment === undefined) return undefined;
  const cut = containment.lastIndexOf('.');
  return cut < 0 ? undefined : containment.slice(0, cut);
}

interface PanelMember {
  readonly reading: Reading;
  /** Panel parts are MDC-coded: a panel is found by its parts' MDC codes. */
  readonly coded: CodedMetric & { readonly mdcCode: number };
}

/**
 * Members form a panel only when they can honestly be one Observation: at least two distinct parts
 * that agree on status (a panel has one status). Otherwise each part is published on its own.
 */
function formsPanel(members: readonly PanelMember[]): boolean {
  const codes = new Set(members.map((member) => member.coded.mdcCode));
  const statuses = new Set(members.map((member) => member.reading.status));
  return members.length >= 2 && codes.size === members.length && statuses.size === 1;
}

function panelObservation(panel: PanelTerm, members: readonly PanelMember[], terminology: TerminologyLookups): Observation {
  const first = members[0]!.reading;
  const containment = parentContainment(first.containment);
  const id = observationResourceId({
    deviceKey: first.source.key,
    metricKey: `mdc:${panel.mdcCode}`,
    containment,
    time: first.time,
  });
  const ordered = [...members].sort(
    (a, b) => panel.componentCodes.indexOf(a.coded.mdcCode) - panel.componentCodes.indexOf(b.coded.mdcCode),
  );
  const anyUnmapped = members.some((member) => member.coded.unmapped !== undefined);
  const observation = observationHead(id, anyUnmapped, first.status, panel.vitalSign && first.subject.kind === 'patient');
  observation.code = { coding: [mdcCoding(panel.mdcCode, panel.refId), ...loincCodings(panel, terminology)] };
  observation.subject = subjectReference(first.subject);
  observation.effectiveDateTime = first.time;
  observation.device = { reference: `Device/${first.source.deviceId}` };
  observation.component = ordered.map(({ reading, coded }) => {
    const component: Mutable<Partial<ObservationComponent>> = { code: coded.concept };
    addMeasuredElements(component, reading, terminology);
    return component as ObservationComponent;
  });
  return observation as Observation;
}

export function buildObservations(readings: readonly Reading[], options: ObservationOptions): BuiltObservations {
  const terminology = options.terminology ?? defaultTerminology;
  const unmapped = new Set<string>();
  const withoutMdcCode: Reading[] = [];
  // Output keeps the readings' order; a panel takes the place of its first part.
  const slots: ({ reading: Reading; coded: CodedMetric } | { panel: PanelTerm; members: PanelMember[] })[] = [];
  const panelsByGroup = new Map<string, { panel: PanelTerm; members: PanelMember[] }>();

  for (const reading of readings) {
    const coded = codeMetric(reading.metric, terminology);
    if (coded === undefined) {
      withoutMdcCode.push(reading);
      continue;
    }
    if (coded.unmapped !== undefined) unmapped.add(coded.unmapped);
    const mdcCode = coded.mdcCode;
    const panel = options.bloodPressure === 'panel' && mdcCode !== undefined ? terminology.findPanelOf(mdcCode) : undefined;
    if (panel === undefined || mdcCode === undefined) {
      slots.push({ reading, coded });
      continue;
    }
    const member: PanelMember = { reading, coded: { ...coded, mdcCode } };
    const groupKey = JSON.stringify([
      reading.source.key,
      reading.source.deviceId,
      panel.mdcCode,
      parentContainment(reading.containment) ?? '',
      reading.time,
      subjectKey(reading.subject),
    ]);
    const group = panelsByGroup.get(groupKey);
    if (group === undefined) {
      const created = { panel, members: [member] };
      panelsByGroup.set(groupKey, created);
      slots.push(created);
    } else {
      group.members.push(member);
    }
  }

  const resources: NormalizedResource[] = [];
  for (const slot of slots) {
    if ('reading' in slot) {
      resources.push({ key: slot.reading.source.key, resource: singleObservation(slot.reading, slot.coded, terminology) });
    } else if (formsPanel(slot.members)) {
      resources.push({ key: slot.members[0]!.reading.source.key, resource: panelObservation(slot.panel, slot.members, terminology) });
    } else {
      for (const { reading, coded } of slot.members) {
        resources.push({ key: reading.source.key, resource: singleObservation(reading, coded, terminology) });
      }
    }
  }
  return { resources, unmappedCodes: [...unmapped], withoutMdcCode };
}
