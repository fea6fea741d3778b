/** Every resource is checked against our strict FHIR subset schemas before it is published. */
import { GatewayError } from '../errors/catalogue.ts';
import { fhirResource, observation, device, deviceMetric, operationOutcome, type FhirResource } from '../../schemas/fhir.ts';
import { isValidDevice, isValidObservation } from './fast-fhir-check.ts';

const schemaByType = {
  Observation: observation,
  Device: device,
  DeviceMetric: deviceMetric,
  OperationOutcome: operationOutcome,
} as const;

/** Throws GatewayError('fhir_invalid_resource') naming every failing path (never a value: values may identify a patient). */
export function validateResource(resource: FhirResource): void {
  // The hot path's two types first, by the same rules without zod's overhead; zod still decides
  // (and names the problems) whenever the fast check does not say valid.
  if (resource.resourceType === 'Observation' ? isValidObservation(resource) : resource.resourceType === 'Device' && isValidDevice(resource)) return;
  const schema = schemaByType[resource.resourceType] ?? fhirResource;
  const result = schema.safeParse(resource);
  if (result.success) return;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new GatewayError('fhir_invalid_resource', `${resource.resourceType} ${problems.join('; ')}`);
}
