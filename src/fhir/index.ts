/**
 * The FHIR shape of everything Vitalbridge publishes, shared by every adapter: adapters describe
 * readings and devices (reading.ts); these builders turn them into FHIR R4 resources.
 */
export type {
  CodeRef,
  DataAbsentReasonCode,
  DeviceDescription,
  DeviceIdentity,
  InterpretationCode,
  LocalCode,
  MetricCategory,
  ObservationStatus,
  Reading,
  ReadingSource,
  ReadingSubject,
  ReadingValue,
  ReferenceRange,
  SourceLocation,
  UnitRef,
} from './reading.ts';
export { dataAbsentReasonCodes, interpretationCodes, metricCategories } from './reading.ts';
export { buildObservations, type BuiltObservations, type ObservationOptions } from './observation.ts';
export { buildDevice } from './device.ts';
export { deviceIdentifier, deviceKey, deviceNameSystem, normalizeEui64 } from './device-identity.ts';
export { deviceResourceId, nameBasedUuid, observationResourceId, uuidIdentifier } from './resource-identity.ts';
export {
  formatInstant,
  instantFromDate,
  isCalendarValid,
  isOffsetValid,
  isTimeZone,
  offsetInTimeZone,
  utc,
  type LocalDateTime,
  type UtcOffset,
} from './date-time.ts';
export { parseDecimal } from './decimal.ts';
export { resolveUnit, type UcumUnit } from './units.ts';
export { defaultTerminology, type TerminologyLookups } from './terminology-lookups.ts';
export { localCodeSystem, localCodeSystemPrefix, unmappedCodeTag } from './codings.ts';
