/**
 * Deterministic resource identity: the id of a resource is derived from what it describes, so a
 * resent or replayed message yields the same ids and consumers can de-duplicate (DESIGN.md).
 *
 * The id is a name-based UUID (RFC 9562 version 5, SHA-1) in a namespace of our own; it is a valid
 * FHIR id (36 characters of [0-9a-f-]) and, as `urn:uuid:<id>`, a valid identifier value in the
 * `urn:ietf:rfc:3986` system.
 */
import { hash } from 'node:crypto';
import { systems, type Identifier } from '../../schemas/fhir.ts';

/** The Vitalbridge name space for version-5 UUIDs. Changing it changes every id ever published. */
const vitalbridgeNamespace = 'e2f077e6-09f9-4134-831d-064ebf517c40';

const namespaceBytesOf = (namespace: string): Buffer => Buffer.from(namespace.replaceAll('-', ''), 'hex');
/** Decoded once: this ran for every resource id (the gateway profile showed the hex decoding). */
const vitalbridgeNamespaceBytes = namespaceBytesOf(vitalbridgeNamespace);

const variantDigits = '89ab89ab89ab89ab';

/**
 * Our namespace's bytes, then room for a name: names (a few JSON strings) are written here rather
 * than into a new Buffer per id, with no byte length counted first and no namespace copied. The hash
 * reads it at once (crypto.hash is synchronous), so one buffer serves every call.
 */
const scratch = Buffer.alloc(16 + 1024);
vitalbridgeNamespaceBytes.copy(scratch, 0);

/** Namespace bytes + the name's UTF-8 bytes. */
function hashInput(name: string, namespace: string): Buffer {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so a name this short always fits.
  if (namespace === vitalbridgeNamespace && name.length * 3 <= scratch.length - 16) {
    return scratch.subarray(0, 16 + scratch.write(name, 16, 'utf8'));
  }
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name, 'utf8'));
  namespaceBytesOf(namespace).copy(input, 0, 0, 16);
  input.write(name, 16, 'utf8');
  return input;
}

/**
 * RFC 9562 section 5.5: SHA-1 over namespace bytes + name bytes, version and variant bits set.
 * One-shot crypto.hash over one buffer, the bits set on the hex digits: createHash + two updates +
 * digest + a Buffer per id were ~7% of the pure pipeline's CPU.
 */
export function nameBasedUuid(name: string, namespace: string = vitalbridgeNamespace): string {
  const hex = hash('sha1', hashInput(name, namespace), 'hex');
  // Digit 12 is the version (5); digit 16's top two bits are the variant (10).
  const variant = variantDigits[Number.parseInt(hex[16]!, 16)]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A string as JSON.stringify writes it. */
const needsJsonEscape = /["\\\u0000-\u001f\ud800-\udfff]/;
/**
 * JSON.stringify(text) for a string, exactly: a string with no quote, backslash, control character or
 * surrogate (lone ones are escaped) is written as it is between quotes, without the serializer.
 */
export function jsonString(text: string): string {
  return needsJsonEscape.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * Device ids of recent messages: the same devices report again and again, so their ids are kept
 * rather than hashed per message. Bounded (oldest first out): 1,000 monitors with a few VMD and
 * channel rows each fit.
 */
const recentDeviceIds = new Map<string, string>();
const recentDeviceIdsMax = 8192;

/** A Device: its system's identity (the record key) plus its place in the containment tree, if any. */
export function deviceResourceId(deviceKey: string, containment: string | undefined): string {
  const name = JSON.stringify(['Device', deviceKey, containment ?? '']);
  const known = recentDeviceIds.get(name);
  if (known !== undefined) return known;
  const id = nameBasedUuid(name);
  if (recentDeviceIds.size >= recentDeviceIdsMax) recentDeviceIds.delete(recentDeviceIds.keys().next().value!);
  recentDeviceIds.set(name, id);
  return id;
}

/** An Observation: device, metric, place in the containment tree and time (DESIGN.md "deterministic identity"). */
export function observationResourceId(parts: {
  readonly deviceKey: string;
  readonly metricKey: string;
  readonly containment: string | undefined;
  readonly time: string;
}): string {
  // The parts are joined as a JSON array (JSON.stringify's bytes, written out: the array stringify was
  // a third of the id's cost), so no choice of separator can make two different part lists collide.
  const name = `["Observation",${jsonString(parts.deviceKey)},${jsonString(parts.metricKey)},${jsonString(parts.containment ?? '')},${jsonString(parts.time)}]`;
  return nameBasedUuid(name);
}

/** The identifier that carries a derived id, for resources that have no business identifier of their own. */
export function uuidIdentifier(id: string): Identifier {
  return { system: systems.observationIdentifier, value: `urn:uuid:${id}` };
}
