/**
 * A DeviceDescription to a FHIR R4 Device, shaped after the HL7 PoCD IG: MdsDevice, VmdDevice and
 * ChannelDevice linked by `parent` (channel -> VMD -> MDS), `type` in MDC, the EUI-64 identifier in
 * urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680, and the location on the device system.
 */
import { systems, type Coding, type Device } from '../../schemas/fhir.ts';
import type { NormalizedResource } from '../adapter-kit/define-adapter.ts';
import { localCodeSystem } from './codings.ts';
import { deviceIdentifier } from './device-identity.ts';
import type { CodeRef, DeviceDescription } from './reading.ts';
import { uuidIdentifier } from './resource-identity.ts';

/** Device types are taken as the device sent them: the terminology table holds metrics, not device classes. */
function typeCoding(type: CodeRef): Coding | undefined {
  if (type.mdcCode !== undefined) {
    return type.refId === undefined
      ? { system: systems.mdc, code: String(type.mdcCode) }
      : { system: systems.mdc, code: String(type.mdcCode), display: type.refId };
  }
  const local = type.localCode;
  if (local === undefined) return undefined;
  // The same FHIR system as a local metric code (codings.ts localCodeSystem).
  const system = localCodeSystem(local.system);
  return local.display === undefined ? { system, code: local.code } : { system, code: local.code, display: local.display };
}

export function buildDevice(description: DeviceDescription): NormalizedResource {
  const identity = description.identity;
  const serialNumber = identity === undefined || identity.kind === 'name' ? undefined : identity.serialNumber;
  const coding = description.type === undefined ? undefined : typeCoding(description.type);
  const device: Device = {
    resourceType: 'Device',
    id: description.id,
    identifier: [identity === undefined ? uuidIdentifier(description.id) : deviceIdentifier(identity)],
    status: 'active',
    ...(identity?.kind === 'serial' && identity.manufacturer !== undefined ? { manufacturer: identity.manufacturer } : {}),
    ...(serialNumber !== undefined ? { serialNumber } : {}),
    ...(identity?.kind === 'serial' && identity.modelNumber !== undefined ? { modelNumber: identity.modelNumber } : {}),
    ...(coding !== undefined ? { type: { coding: [coding] } } : {}),
    ...(description.location !== undefined ? { location: { display: description.location } } : {}),
    ...(description.parentId !== undefined ? { parent: { reference: `Device/${description.parentId}` } } : {}),
  };
  return { key: description.key, resource: device };
}
