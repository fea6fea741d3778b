/**
 * The Observation and Device schemas of schemas/fhir.ts as plain code, for the hot path. zod was
 * 7-12% of the pure pipeline's CPU (per-value closures, issue arrays, catch-all key scans) for
 * resources our own typed builders made. The verdicts are the schemas' own: fast-fhir-check.test.ts
 * checks this against zod on the fixtures' resources and on random mutations of them. It only ever
 * says "valid" or "ask zod": validate-resource.ts runs zod whenever this says no, so the errors
 * (and any case this misjudges as invalid) stay zod's.
 */
import {
  deviceStatus,
  fhirCodePattern,
  fhirDateTimePattern,
  fhirIdPattern,
  fhirUriPattern,
  observationStatus,
  referencePattern,
  systems,
  unmappedCodeTag,
} from '../../schemas/fhir.ts';
import { interpretationSystem, localCodeSystemPrefix } from '../fhir/codings.ts';
import { deviceNameSystem } from '../fhir/device-identity.ts';

type Check = (value: unknown) => boolean;
type Members = Record<string, unknown>;

// Written out per type, with literal member names: a generic table-driven version (closures reading
// members by computed key) was megamorphic and only ~2x faster than zod.

const isObject = (value: unknown): value is Members => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every own or inherited enumerable member is one of `known` (zod's strict objects refuse the rest). */
function onlyMembers(value: Members, known: ReadonlySet<string>): boolean {
  for (const key in value) if (!known.has(key) || !Object.hasOwn(value, key)) return false;
  return true;
}

/** z.array(item).min(1); absent when `optional` and undefined. */
function arrayOf(value: unknown, item: Check): boolean {
  if (!Array.isArray(value) || value.length < 1) return false;
  for (let i = 0; i < value.length; i += 1) if (!item(value[i])) return false;
  return true;
}
const optionalArrayOf = (value: unknown, item: Check): boolean => value === undefined || arrayOf(value, item);

/** fhirString: min(1) and /^[\s\S]*\S[\s\S]*$/, i.e. some non-white-space character. */
const nonBlank = /\S/;
const isFhirString = (value: unknown): boolean => typeof value === 'string' && nonBlank.test(value);
const isOptionalFhirString = (value: unknown): boolean => value === undefined || isFhirString(value);
const isFhirCode = (value: unknown): boolean => typeof value === 'string' && fhirCodePattern.test(value);
/** The systems our builders use on every resource: known to be URIs, so no regex for them. */
const knownUris: ReadonlySet<unknown> = new Set([...Object.values(systems), interpretationSystem, localCodeSystemPrefix, deviceNameSystem]);
const isFhirUri = (value: unknown): boolean => knownUris.has(value) || (typeof value === 'string' && fhirUriPattern.test(value));
const isFhirId = (value: unknown): boolean => typeof value === 'string' && fhirIdPattern.test(value);

const codingMembers = new Set(['system', 'code', 'display']);
const isCoding = (value: unknown): boolean =>
  isObject(value) && isFhirUri(value.system) && isFhirCode(value.code) && isOptionalFhirString(value.display) && onlyMembers(value, codingMembers);

const conceptMembers = new Set(['coding', 'text']);

/**
 * Concepts found valid that cannot change: frozen through and through, of plain data members. The
 * FHIR builders share one such concept per metric code (src/fhir/observation.ts), so each is checked
 * once rather than in every Observation.
 */
const validFrozenConcepts = new WeakSet<object>();

const isFrozenData = (value: object): boolean =>
  Object.isFrozen(value) && Object.values(Object.getOwnPropertyDescriptors(value)).every((member) => 'value' in member);

/** The concept and its coding array and Codings frozen data (strings are immutable; validity excludes deeper objects). */
const isFrozenConcept = (value: Members): boolean =>
  isFrozenData(value) && Array.isArray(value.coding) && isFrozenData(value.coding) && (value.coding as object[]).every(isFrozenData);

const isCodeableConcept = (value: unknown): boolean => {
  if (!isObject(value)) return false;
  if (validFrozenConcepts.has(value)) return true;
  const valid = arrayOf(value.coding, isCoding) && isOptionalFhirString(value.text) && onlyMembers(value, conceptMembers);
  if (valid && isFrozenConcept(value)) validFrozenConcepts.add(value);
  return valid;
};
const isOptionalCodeableConcept = (value: unknown): boolean => value === undefined || isCodeableConcept(value);

const hasMdcCoding = (concept: Members): boolean => (concept.coding as readonly Members[]).some((c) => c.system === systems.mdc);

const quantityMembers = new Set(['value', 'unit', 'system', 'code']);
const isUcumQuantity = (value: unknown): boolean =>
  isObject(value) &&
  typeof value.value === 'number' &&
  Number.isFinite(value.value) &&
  isFhirString(value.unit) &&
  value.system === systems.ucum &&
  isFhirCode(value.code) &&
  onlyMembers(value, quantityMembers);
const isOptionalUcumQuantity = (value: unknown): boolean => value === undefined || isUcumQuantity(value);

const identifierMembers = new Set(['system', 'value', 'type']);
const isIdentifier = (value: unknown): boolean =>
  isObject(value) &&
  isFhirString(value.value) &&
  (value.system === undefined || isFhirUri(value.system)) &&
  isOptionalCodeableConcept(value.type) &&
  onlyMembers(value, identifierMembers);

/**
 * The last string that matched, per pattern: the Observations of a message share one time and one
 * device reference, so each is tested once per message rather than per Observation. Safe because a
 * string cannot change and these patterns keep no state (no g or y flag): an equal string matches too.
 */
function lastMatchMemo(pattern: RegExp, remember: (text: string) => boolean = () => true): (value: unknown) => boolean {
  if (pattern.global || pattern.sticky) throw new Error(`${pattern} keeps state between tests`);
  let lastMatch: string | undefined;
  return (value) => {
    if (typeof value !== 'string') return false;
    if (value === lastMatch) return true;
    if (!pattern.test(value)) return false;
    if (remember(value)) lastMatch = value;
    return true;
  };
}
const isFhirDateTime = lastMatchMemo(fhirDateTimePattern);
// Device references only: a Patient/<id> reference names a patient, and none is kept beyond its message.
const isReferenceText = lastMatchMemo(referencePattern, (text) => text.startsWith('Device/'));

const referenceMembers = new Set(['reference', 'type', 'identifier', 'display']);
const referenceTypes: ReadonlySet<unknown> = new Set(['Device', 'Patient', 'Location']);
/** Includes the refinement: a reference, an identifier or a display. */
const isReference = (value: unknown): boolean =>
  isObject(value) &&
  (value.reference === undefined || isReferenceText(value.reference)) &&
  (value.type === undefined || referenceTypes.has(value.type)) &&
  (value.identifier === undefined || isIdentifier(value.identifier)) &&
  isOptionalFhirString(value.display) &&
  onlyMembers(value, referenceMembers) &&
  (value.reference !== undefined || value.identifier !== undefined || value.display !== undefined);
const isOptionalReference = (value: unknown): boolean => value === undefined || isReference(value);

const metaMembers = new Set(['profile', 'tag']);
const isOptionalMeta = (value: unknown): boolean =>
  value === undefined ||
  (isObject(value) && optionalArrayOf(value.profile, isFhirUri) && optionalArrayOf(value.tag, isCoding) && onlyMembers(value, metaMembers));

const rangeMembers = new Set(['low', 'high', 'text']);
const isReferenceRange = (value: unknown): boolean =>
  isObject(value) &&
  isOptionalUcumQuantity(value.low) &&
  isOptionalUcumQuantity(value.high) &&
  isOptionalFhirString(value.text) &&
  onlyMembers(value, rangeMembers);

const componentMembers = new Set(['code', 'valueQuantity', 'dataAbsentReason', 'interpretation', 'referenceRange']);
/** Includes both refinements: an MDC coding, and exactly one of valueQuantity or dataAbsentReason. */
const isComponent = (value: unknown): boolean =>
  isObject(value) &&
  isCodeableConcept(value.code) &&
  hasMdcCoding(value.code as Members) &&
  isOptionalUcumQuantity(value.valueQuantity) &&
  isOptionalCodeableConcept(value.dataAbsentReason) &&
  optionalArrayOf(value.interpretation, isCodeableConcept) &&
  optionalArrayOf(value.referenceRange, isReferenceRange) &&
  onlyMembers(value, componentMembers) &&
  (value.valueQuantity === undefined) !== (value.dataAbsentReason === undefined);

const observationStatuses: ReadonlySet<unknown> = new Set(observationStatus.options);
const observationMembers = new Set([
  'resourceType', 'id', 'meta', 'identifier', 'status', 'category', 'code', 'subject', 'effectiveDateTime',
  'valueQuantity', 'dataAbsentReason', 'interpretation', 'referenceRange', 'device', 'component',
]);

function isTaggedUnmapped(meta: unknown): boolean {
  const tags = (meta as { tag?: readonly Members[] } | undefined)?.tag;
  return tags?.some((t) => t.system === unmappedCodeTag.system && t.code === unmappedCodeTag.code) ?? false;
}

/** schemas/fhir.ts `observation`, with its two refinements. */
export function isValidObservation(value: unknown): boolean {
  if (
    !(
      isObject(value) &&
      value.resourceType === 'Observation' &&
      isFhirId(value.id) &&
      isOptionalMeta(value.meta) &&
      arrayOf(value.identifier, isIdentifier) &&
      observationStatuses.has(value.status) &&
      optionalArrayOf(value.category, isCodeableConcept) &&
      isCodeableConcept(value.code) &&
      isOptionalReference(value.subject) &&
      isFhirDateTime(value.effectiveDateTime) &&
      isOptionalUcumQuantity(value.valueQuantity) &&
      isOptionalCodeableConcept(value.dataAbsentReason) &&
      optionalArrayOf(value.interpretation, isCodeableConcept) &&
      optionalArrayOf(value.referenceRange, isReferenceRange) &&
      isReference(value.device) &&
      optionalArrayOf(value.component, isComponent) &&
      onlyMembers(value, observationMembers)
    )
  ) {
    return false;
  }
  if (!hasMdcCoding(value.code as Members) && !isTaggedUnmapped(value.meta)) return false;
  return value.component !== undefined
    ? value.valueQuantity === undefined
    : (value.valueQuantity === undefined) !== (value.dataAbsentReason === undefined);
}

const deviceNameTypes: ReadonlySet<unknown> = new Set([
  'udi-label-name', 'user-friendly-name', 'patient-reported-name', 'manufacturer-name', 'model-name', 'other',
]);
const deviceNameMembers = new Set(['name', 'type']);
const isDeviceName = (value: unknown): boolean =>
  isObject(value) && isFhirString(value.name) && deviceNameTypes.has(value.type) && onlyMembers(value, deviceNameMembers);

const deviceStatuses: ReadonlySet<unknown> = new Set(deviceStatus.options);
const deviceMembers = new Set([
  'resourceType', 'id', 'meta', 'identifier', 'status', 'manufacturer', 'serialNumber', 'modelNumber', 'deviceName',
  'type', 'patient', 'location', 'parent',
]);

/** schemas/fhir.ts `device`. */
export function isValidDevice(value: unknown): boolean {
  return (
    isObject(value) &&
    value.resourceType === 'Device' &&
    isFhirId(value.id) &&
    isOptionalMeta(value.meta) &&
    arrayOf(value.identifier, isIdentifier) &&
    deviceStatuses.has(value.status) &&
    isOptionalFhirString(value.manufacturer) &&
    isOptionalFhirString(value.serialNumber) &&
    isOptionalFhirString(value.modelNumber) &&
    optionalArrayOf(value.deviceName, isDeviceName) &&
    isOptionalCodeableConcept(value.type) &&
    isOptionalReference(value.patient) &&
    isOptionalReference(value.location) &&
    isOptionalReference(value.parent) &&
    onlyMembers(value, deviceMembers)
  );
}
