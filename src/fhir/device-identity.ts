/**
 * A device identity becomes two things: the Kafka record key (all resources of one device system share
 * it, so they stay ordered in one partition) and the Device.identifier consumers look devices up by.
 */
import { systems, type Identifier } from '../../schemas/fhir.ts';
import type { DeviceIdentity } from './reading.ts';

/** Identifier system for devices named by configuration or by their sender rather than by themselves. */
export const deviceNameSystem = 'urn:vitalbridge:device-name';

const eui64Pattern = /^[0-9A-F]{16}$/;

/** An EUI-64 as 16 upper-case hex digits (IHE PCD TF-2 C.5), or undefined when the text is not one. */
export function normalizeEui64(text: string): string | undefined {
  const upper = text.trim().toUpperCase();
  return eui64Pattern.test(upper) ? upper : undefined;
}

/**
 * The record key. An EUI-64 is the key as it is (16 hex digits); serial numbers and names carry a
 * prefix so they can never be mistaken for an EUI-64 or for each other.
 */
export function deviceKey(identity: DeviceIdentity): string {
  switch (identity.kind) {
    case 'eui64':
      return identity.eui64;
    case 'serial':
      return `serial:${identity.modelNumber === undefined ? '' : `${identity.modelNumber}/`}${identity.serialNumber}`;
    case 'name':
      return `name:${identity.name}`;
    default:
      return identity satisfies never;
  }
}

export function deviceIdentifier(identity: DeviceIdentity): Identifier {
  switch (identity.kind) {
    case 'eui64':
      return { system: systems.eui64, value: identity.eui64 };
    case 'serial':
      return { system: systems.deviceSerial, value: identity.serialNumber };
    case 'name':
      return { system: deviceNameSystem, value: identity.name };
    default:
      return identity satisfies never;
  }
}
