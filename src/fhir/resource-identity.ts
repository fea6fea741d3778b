/**
 * Deterministic resource identity: the id of a resource is derived from what it describes, so a
 * resent or replayed message yields the same ids and consumers can de-duplicate (DESIGN.md).
 *
 * The id is a name-based UUID (RFC 9562 version 5, SHA-1) in a namespace of our own; it is a valid
 * FHIR id (36 characters of [0-9a-f-]) and, as `urn:uuid:<id>`, a valid identifier value in the
 * `urn:ietf:rfc:3986` system.
 */
import { createHash } from 'node:crypto';
import { systems, type Identifier } from '../../schemas/fhir.ts';

/** The Vitalbridge name space for version-5 UUIDs. Changing it changes every id ever published. */
const vitalbridgeNamespace = 'e2f077e6-09f9-4134-831d-064ebf517c40';

const namespaceBytesOf = (namespace: string): Buffer => Buffer.from(namespace.replaceAll('-', ''), 'hex');
/** Decoded once: this ran for every resource id (the gateway profile showed the hex decoding). */
const vitalbridgeNamespaceBytes = namespaceBytesOf(vitalbridgeNamespace);

/** RFC 9562 section 5.5: SHA-1 over namespace bytes + name bytes, version and variant bits set. */
export function nameBasedUuid(name: string, namespace: string = vitalbridgeNamespace): string {
  const namespaceBytes = namespace === vitalbridgeNamespace ? vitalbridgeNamespaceBytes : namespaceBytesOf(namespace);
  const hash = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The parts are joined as a JSON array, so no choice of separator can make two different part lists collide. */
function idOf(parts: readonly string[]): string {
  return nameBasedUuid(JSON.stringify(parts));
}

/** A Device: its system's identity (the record key) plus its place in the containment tree, if any. */
export function deviceResourceId(deviceKey: string, containment: string | undefined): string {
  return idOf(['Device', deviceKey, containment ?? '']);
}

/** An Observation: device, metric, place in the containment tree and time (DESIGN.md "deterministic identity"). */
export function observationResourceId(parts: {
  readonly deviceKey: string;
  readonly metricKey: string;
  readonly containment: string | undefined;
  readonly time: string;
}): string {
  return idOf(['Observation', parts.deviceKey, parts.metricKey, parts.containment ?? '', parts.time]);
}

/** The identifier that carries a derived id, for resources that have no business identifier of their own. */
export function uuidIdentifier(id: string): Identifier {
  return { system: systems.observationIdentifier, value: `urn:uuid:${id}` };
}
