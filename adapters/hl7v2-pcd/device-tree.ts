/**
 * The device side of a PCD-01 message: which device system (MDS) each OBX belongs to, who that system
 * is, and the MDS -> VMD -> channel tree as Device descriptions.
 *
 * IHE PCD TF-2 B.8 (OBX-4): `<MDS>.<VMD>.<CHAN>.<METRIC>[.<FACET>...]`; "device-related" rows have
 * trailing zeros (MDS 1.0.0.0, VMD 1.1.0.0, channel 1.1.1.0), their OBX-3 is the device type and
 * their OBX-18 the device's identifier. Metric rows hang under the nearest device row present.
 *
 * Identity of a device system (the record key), first found wins:
 * 1. the MDS row's own OBX-18;
 * 2. the first OBX-18 in the system's rows: TF-2 B.8 lets the identifier be sent once, "at the highest
 *    level of device related OBX possible", and inherited; TF-2 E.1.2 carries it on the metric rows only;
 * 3. the sender (MSH-3/MSH-4, or the adapter's deviceBySender setting).
 * Rows without a containment path (legacy senders) each take their own OBX-18, or the last one seen
 * before them ("required only in the first OBX segment", TF-2 B.8), or the sender's.
 */
import { GatewayError } from '../../src/errors/catalogue.ts';
import {
  deviceKey,
  deviceResourceId,
  normalizeEui64,
  type CodeRef,
  type DeviceDescription,
  type DeviceIdentity,
  type LocalCode,
} from '../../src/fhir/index.ts';
import type { CodedElement, EntityIdentifier, ObservationRow } from './parse.ts';
import { recentValues } from './recent-values.ts';

const containmentPattern = /^\d+(\.\d+){3,}$/;

/** OBX-4 read as a containment path, with what the tree asks of it, worked out once per path. */
interface Containment {
  readonly levels: readonly number[];
  /** A device-related row: everything after the channel is zero. */
  readonly isDeviceRow: boolean;
  /** The MDS row itself (1.0.0.0). */
  readonly isMdsRow: boolean;
  /** A device row's path, normalized (e.g. "01.1.0.0" -> "1.1.0.0"). */
  readonly devicePath: string;
  /** The VMD above (a channel's parent when the message has that VMD's row), undefined when VMD is 0. */
  readonly vmdPath: string | undefined;
  /** The device rows above a metric, nearest first: channel, VMD, MDS (those that are not 0). */
  readonly ancestorPaths: readonly string[];
}

/**
 * OBX-4 strings seen lately and what they parse to: the tree asks several times per row, and devices
 * send the same few paths in every message (regex + split + map, then path strings rebuilt per row,
 * were 5-6% of the pipeline). Bounded: cleared when full. The values are shared, hence frozen.
 */
const recentContainments = recentValues<Containment | null>();

/** OBX-4 as a containment path (at least four parts, MDS from 1), else undefined. */
export function containmentOf(subId: string): Containment | undefined {
  const known = recentContainments.get(subId);
  if (known !== undefined) return known ?? undefined;
  const containment = parseContainment(subId);
  recentContainments.remember(subId, containment ?? null);
  return containment;
}

function parseContainment(subId: string): Containment | undefined {
  if (!containmentPattern.test(subId)) return undefined;
  const levels = subId.split('.').map(Number);
  if (levels[0]! < 1) return undefined;
  const [mds, vmd, channel] = levels as [number, number, number];
  const mdsPath = `${mds}.0.0.0`;
  const vmdPath = vmd !== 0 ? `${mds}.${vmd}.0.0` : undefined;
  const channelPath = channel !== 0 ? `${mds}.${vmd}.${channel}.0` : undefined;
  return Object.freeze({
    levels: Object.freeze(levels),
    isDeviceRow: levels.slice(3).every((level) => level === 0),
    isMdsRow: vmd === 0 && channel === 0 && levels.slice(3).every((level) => level === 0),
    // As before: with VMD and channel 0 the MDS, with channel 0 the VMD (even VMD 0), else the channel.
    devicePath: vmd === 0 && channel === 0 ? mdsPath : channel === 0 ? `${mds}.${vmd}.0.0` : `${mds}.${vmd}.${channel}.0`,
    vmdPath,
    ancestorPaths: Object.freeze([...(channelPath !== undefined ? [channelPath] : []), ...(vmdPath !== undefined ? [vmdPath] : []), mdsPath]),
  });
}

/** MDC as HL7 names it in CE/CWE.3 (table 0396); senders nearly always write it in capitals. */
export const isMdc = (codingSystem: string) => codingSystem === 'MDC' || codingSystem.toUpperCase() === 'MDC';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An MDC triplet's code10 and reference id. */
export function mdcPart(identifier: string, text: string): Mutable<Pick<CodeRef, 'mdcCode' | 'refId'>> {
  // Built member by member, not with spreads of temporary objects (3.5% of the pipeline).
  const part: { mdcCode?: number; refId?: string } = {};
  if (digitsPattern.test(identifier)) part.mdcCode = Number(identifier);
  if (text !== '') part.refId = text;
  return part;
}
const digitsPattern = /^\d+$/;

/** A triplet of another system as a local code, kept as sent; none without an identifier. */
function localCodeOf(identifier: string, text: string, codingSystem: string): LocalCode | undefined {
  if (identifier === '') return undefined;
  const local: Mutable<LocalCode> = { code: identifier };
  if (codingSystem !== '') local.system = codingSystem;
  if (text !== '') local.display = text;
  return local;
}

/** Codes by the (frozen, shared: parse.ts) coded element they were read from: devices send the same codes in every message. */
const codeRefsByElement = new WeakMap<CodedElement, CodeRef>();

/** OBX-3 as a code: the MDC triplet (first or alternate) and any other triplet as a local code, kept as sent. */
export function codeRefOf(code: CodedElement): CodeRef {
  const known = codeRefsByElement.get(code);
  if (known !== undefined) return known;
  const ref = newCodeRef(code);
  if (Object.isFrozen(code)) {
    if (ref.localCode !== undefined) Object.freeze(ref.localCode);
    codeRefsByElement.set(code, Object.freeze(ref));
  }
  return ref;
}

function newCodeRef(code: CodedElement): CodeRef {
  // Member by member, no closure or spreads: this runs for every OBX.
  if (isMdc(code.codingSystem)) {
    const ref: Mutable<CodeRef> = mdcPart(code.identifier, code.text);
    if (!isMdc(code.alternateCodingSystem)) {
      const alternate = localCodeOf(code.alternateIdentifier, code.alternateText, code.alternateCodingSystem);
      if (alternate !== undefined) ref.localCode = alternate;
    }
    return ref;
  }
  const primary = localCodeOf(code.identifier, code.text, code.codingSystem);
  if (isMdc(code.alternateCodingSystem)) {
    const ref: Mutable<CodeRef> = mdcPart(code.alternateIdentifier, code.alternateText);
    if (primary !== undefined) ref.localCode = primary;
    return ref;
  }
  return primary !== undefined ? { localCode: primary } : {};
}

/**
 * OBX-18 (EI) to an identity, IHE PCD TF-2 B.8 and C.5: an EUI-64 in EI-3 with EI-4 "EUI-64" (EI-1
 * then repeats it or holds the manufacturer's serial number; EI-2 is a local application name, not
 * used); else a legacy serial number in EI-1 with the model in EI-2 and the manufacturer in EI-3;
 * else a universal id of another type (ISO OID, URI, DNS) in EI-3, used as a name.
 */
export function identityOf(equipment: EntityIdentifier, row: ObservationRow): DeviceIdentity | undefined {
  if (equipment.universalIdType.toUpperCase() === 'EUI-64') {
    const eui64 = normalizeEui64(equipment.universalId) ?? normalizeEui64(equipment.entityIdentifier);
    if (eui64 === undefined) {
      throw new GatewayError('hl7_invalid_field', 'OBX-18 says EUI-64 but EI-3 is not 16 hex digits.', {
        location: { segment: 'OBX', sequence: row.sequence, field: 18 },
      });
    }
    const serial = equipment.entityIdentifier;
    return serial !== '' && normalizeEui64(serial) !== eui64 ? { kind: 'eui64', eui64, serialNumber: serial } : { kind: 'eui64', eui64 };
  }
  if (equipment.entityIdentifier !== '') {
    return {
      kind: 'serial',
      serialNumber: equipment.entityIdentifier,
      ...(equipment.namespaceId !== '' ? { modelNumber: equipment.namespaceId } : {}),
      ...(equipment.universalId !== '' ? { manufacturer: equipment.universalId } : {}),
    };
  }
  return equipment.universalId !== '' ? { kind: 'name', name: equipment.universalId } : undefined;
}

/** Of OBX-18's repetitions (lowest-level equipment first, TF-2 B.8), an EUI-64 is preferred, as TF-2 prefers it. */
function rowIdentity(row: ObservationRow): DeviceIdentity | undefined {
  const eui = row.equipment.find((e) => e.universalIdType.toUpperCase() === 'EUI-64');
  for (const equipment of eui !== undefined ? [eui, ...row.equipment] : row.equipment) {
    const identity = identityOf(equipment, row);
    if (identity !== undefined) return identity;
  }
  return undefined;
}

/** Where a metric row sits: its system's key, the Device it points to, and the device rows above it. */
export interface MetricPlacement {
  readonly key: string;
  readonly deviceId: string;
  readonly systemDeviceId: string;
  /** Device rows above the metric, nearest first: their OBX-14 is the metric's default time (TF-2 B.8 OBX-14). */
  readonly ancestors: readonly ObservationRow[];
  /** The metric's containment path (OBX-4 as sent) for its resource id. */
  readonly containment: string | undefined;
}

export interface DeviceTree {
  readonly devices: readonly DeviceDescription[];
  readonly metrics: readonly { readonly row: ObservationRow; readonly placement: MetricPlacement }[];
}

/** The rows of one device system (MDS) and who it is. */
interface SystemRows {
  readonly rows: ObservationRow[];
  readonly mdsRow: ObservationRow | undefined;
  readonly identity: DeviceIdentity;
}

function deviceType(row: ObservationRow): CodeRef | undefined {
  const type = codeRefOf(row.identifier);
  return type.mdcCode !== undefined || type.localCode !== undefined ? type : undefined;
}

const isMdsRow = (row: ObservationRow): boolean => containmentOf(row.subId)?.isMdsRow === true;

/** Contained rows grouped by MDS number; uncontained rows by the identity they carry or inherit. In order of first appearance. */
function groupSystems(rows: readonly ObservationRow[], senderIdentity: () => DeviceIdentity): SystemRows[] {
  const groups = new Map<string, { rows: ObservationRow[]; identity?: DeviceIdentity }>();
  const groupOf = (name: string) => {
    let group = groups.get(name);
    if (group === undefined) groups.set(name, (group = { rows: [] }));
    return group;
  };
  let lastUncontainedIdentity: DeviceIdentity | undefined;
  for (const row of rows) {
    const containment = containmentOf(row.subId);
    if (containment !== undefined) {
      groupOf(`mds:${containment.levels[0]}`).rows.push(row);
      continue;
    }
    const identity = rowIdentity(row) ?? lastUncontainedIdentity ?? senderIdentity();
    lastUncontainedIdentity = identity;
    const group = groupOf(`uncontained:${deviceKey(identity)}`);
    group.identity = identity;
    group.rows.push(row);
  }
  return [...groups.values()].map((group) => {
    const mdsRow = group.rows.find(isMdsRow);
    const identity =
      group.identity ??
      (mdsRow !== undefined ? rowIdentity(mdsRow) : undefined) ??
      group.rows.map(rowIdentity).find((found) => found !== undefined) ??
      senderIdentity();
    return { rows: group.rows, mdsRow, identity };
  });
}

/** One system's Devices (MDS, then VMDs and channels as their rows come) and where each metric row sits. */
function describeSystem(system: SystemRows, location: string | undefined): DeviceTree {
  const key = deviceKey(system.identity);
  const systemDeviceId = deviceResourceId(key, undefined);
  const mdsType = system.mdsRow !== undefined ? deviceType(system.mdsRow) : undefined;
  const devices: DeviceDescription[] = [
    {
      key,
      id: systemDeviceId,
      identity: system.identity,
      ...(mdsType !== undefined ? { type: mdsType } : {}),
      ...(location !== undefined ? { location } : {}),
    },
  ];

  const deviceRows = new Map<string, { row: ObservationRow; id: string }>();
  for (const row of system.rows) {
    const containment = containmentOf(row.subId);
    if (containment === undefined || !containment.isDeviceRow || containment.isMdsRow) continue; // a second MDS row adds nothing
    const path = containment.devicePath;
    if (deviceRows.has(path)) continue;
    const id = deviceResourceId(key, path);
    deviceRows.set(path, { row, id });
    // A channel's parent is its VMD when the message has that VMD's row; a VMD's parent is the MDS.
    const isChannel = containment.levels[2] !== 0;
    const parentPath = isChannel ? containment.vmdPath : undefined;
    const type = deviceType(row);
    devices.push({
      key,
      id,
      identity: rowIdentity(row),
      ...(type !== undefined ? { type } : {}),
      parentId: (parentPath !== undefined ? deviceRows.get(parentPath)?.id : undefined) ?? systemDeviceId,
    });
  }

  // Plain loops: filter/map/spread per metric row were most of this function's time.
  const metrics: { row: ObservationRow; placement: MetricPlacement }[] = [];
  for (const row of system.rows) {
    const containment = containmentOf(row.subId);
    if (containment?.isDeviceRow === true) continue;
    let deviceId: string | undefined;
    const ancestors: ObservationRow[] = [];
    for (const path of containment?.ancestorPaths ?? []) {
      const found = deviceRows.get(path);
      if (found === undefined) continue;
      deviceId ??= found.id;
      ancestors.push(found.row);
    }
    if (system.mdsRow !== undefined) ancestors.push(system.mdsRow);
    metrics.push({
      row,
      placement: { key, deviceId: deviceId ?? systemDeviceId, systemDeviceId, ancestors, containment: row.subId !== '' ? row.subId : undefined },
    });
  }
  return { devices, metrics };
}

/**
 * The device tree of one OBR group.
 * @param senderIdentity the identity of last resort; throws no_device_identity when there is none.
 */
export function buildDeviceTree(rows: readonly ObservationRow[], location: string | undefined, senderIdentity: () => DeviceIdentity): DeviceTree {
  const trees = groupSystems(rows, senderIdentity).map((system) => describeSystem(system, location));
  return { devices: trees.flatMap((tree) => tree.devices), metrics: trees.flatMap((tree) => tree.metrics) };
}
