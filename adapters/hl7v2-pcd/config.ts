/** The hl7v2-pcd adapter's settings (`mllp.adapterConfig` in the gateway config). */
import { z } from 'zod';
import { isTimeZone, normalizeEui64 } from '../../src/fhir/index.ts';

const configuredIdentity = z.union([
  z
    .strictObject({
      eui64: z
        .string()
        .refine((text) => normalizeEui64(text) !== undefined, 'an EUI-64 is 16 hex digits')
        .describe('The EUI-64 of the device (16 hex digits).'),
    })
    .describe('Identify the device by its EUI-64.'),
  z
    .strictObject({
      serialNumber: z.string().trim().min(1).describe("The device's serial number."),
      modelNumber: z.string().trim().min(1).optional().describe("The device's model."),
      manufacturer: z.string().trim().min(1).optional().describe("The device's manufacturer."),
    })
    .describe('Identify the device by serial number (and model).'),
  z.strictObject({ name: z.string().trim().min(1).describe('A name unique among your devices.') }).describe('Identify the device by a name.'),
]);
export type ConfiguredIdentity = z.infer<typeof configuredIdentity>;

export const hl7v2PcdConfigSchema = z
  .strictObject({
    defaultTimeZone: z
      .string()
      .refine(isTimeZone, 'an IANA time zone name, e.g. Europe/Berlin')
      .default('UTC')
      .describe(
        'IANA time zone for HL7 times sent without a UTC offset (IHE PCD requires one; many devices omit it). The offset in force at that wall-clock time is used.',
      ),
    bloodPressure: z
      .enum(['panel', 'separate'])
      .default('panel')
      .describe(
        "How blood-pressure parts measured together are published: 'panel' = one Observation (LOINC 85354-9 + MDC) with systolic/diastolic/mean components, as the FHIR R4 vital-signs profile requires; 'separate' = one Observation per part.",
      ),
    deviceBySender: z
      .record(z.string().min(1), configuredIdentity)
      .default({})
      .describe(
        'Device identity for messages that carry no OBX-18 equipment identifier, by sender: the key is "<MSH-3>^<MSH-4>" (their first components, e.g. "MONITOR_GW^ICU_WEST"). Senders not listed are identified by their MSH-3/MSH-4 themselves.',
      ),
    patientIdentifierSystems: z
      .record(z.string().min(1), z.string().regex(/^\S+$/, 'a URI without spaces'))
      .default({})
      .describe(
        'FHIR identifier system for patient identifiers (PID-3) whose assigning authority (CX.4) names no ISO OID, by the authority\'s namespace id (CX.4.1), e.g. { "HOSP": "urn:oid:1.2.3.4.5" }.',
      ),
  })
  .describe('IHE PCD-01 ORU^R01 adapter settings.');

export type Hl7v2PcdConfig = z.infer<typeof hl7v2PcdConfigSchema>;
