/**
 * The user data of the messages the gateway (and the simulator) sends, before framing.ts wraps them.
 * Requests are the documented byte arrays of xeonfusion/VSCaptureMP Class2.cs (DataConstants:
 * aarq_msg_ext_poll, mds_create_resp_msg, ext_poll_request_msg, keep_alive_msg, rlrq_msg,
 * rlrq_resp_msg), re-typed field by field; invoke ids and poll numbers are filled in per request.
 */
import { encodeFloatType } from './float-type.ts';
import { attr, command, NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT, NOM_ATTR_GRP_SYS_PROD, NOM_MOC_VMO_METRIC_NU, NOM_MOC_VMS_MDS, NOM_NOTI_MDS_CREAT, NOM_PART_OBJ, roType } from './protocol.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const u16 = (value: number): Buffer => Buffer.from([(value >>> 8) & 0xff, value & 0xff]);
const u32 = (value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
};

/**
 * Association request (AARQ): session header CN (0D) with LI 0xEC, session data, presentation header
 * (C1 DC ...), ASN.1 ACSE, then MDSEUserInfoStd (length 0x48): protocol_version 0x80000000,
 * nomenclature_version 0x40000000, functional_units 0, system_type 0x80000000 (SYST_CLIENT),
 * startup_mode 0x20000000 (COLD_START), option_list empty, supported_aprofiles with
 * NOM_POLL_PROFILE_SUPPORT (0x0001): revision 0x80000000, min_poll_period 0x09C4, max_mtu_rx 0x09C4
 * (2500), max_mtu_tx 0x03E8 (1000), max_bw_tx 0xFFFFFFFF, options 0x60000000, and the optional package
 * NOM_ATTR_POLL_PROFILE_EXT (0xF001) options 0x8C000000 (extended polling); then the 16-byte trailer.
 * 238 bytes, exactly VSCaptureMP's aarq_msg_ext_poll.
 */
export const associationRequest: Buffer = hex(`
  0D EC 05 08 13 01 00 16 01 02 80 00 14 02 00 02
  C1 DC 31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00
  00 01 A4 80 30 80 02 01 01 06 04 52 01 00 01 30
  80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0C
  2A 86 48 CE 14 02 01 00 00 00 01 01 30 80 06 0C
  2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00
  00 00 61 80 30 80 02 01 01 A0 80 60 80 A1 80 06
  0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 BE
  80 28 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 01
  01 02 01 02 81 48 80 00 00 00 40 00 00 00 00 00
  00 00 80 00 00 00 20 00 00 00 00 00 00 00 00 01
  00 2C 00 01 00 28 80 00 00 00 00 00 09 C4 00 00
  09 C4 00 00 03 E8 FF FF FF FF 60 00 00 00 00 01
  00 0C F0 01 00 08 8C 00 00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00 00 00 00 00 00 00`);

/** Release request (RLRQ, FN 09) and release response (RLRE, DN 0A): VSCaptureMP rlrq_msg / rlrq_resp_msg. */
export const releaseRequest: Buffer = hex('09 18 C1 16 61 80 30 80 02 01 01 A0 80 62 80 80 01 00 00 00 00 00 00 00 00 00');
export const releaseResponse: Buffer = hex('0A 18 C1 16 61 80 30 80 02 01 01 A0 80 63 80 80 01 00 00 00 00 00 00 00 00 00');
/** Abort (AB 19): VSCaptureMP assoc_abort_resp_msg. */
export const abort: Buffer = hex(
  '19 2E 11 01 03 C1 29 A0 80 A0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02 01 01 A0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00',
);

const spduHeader = hex('E1 00 00 02');
const mdsObject = Buffer.concat([u16(NOM_MOC_VMS_MDS), u16(0), u16(0)]);

function remoteOperation(type: number, invokeId: number, commandType: number, body: Buffer): Buffer {
  const inner = Buffer.concat([u16(invokeId), u16(commandType), u16(body.length), body]);
  return Buffer.concat([spduHeader, u16(type), u16(inner.length), inner]);
}

/** MDS Create Event Result (RORS, CMD_CONFIRMED_EVENT_REPORT, NOM_NOTI_MDS_CREAT), as mds_create_resp_msg. */
export function mdsCreateResult(invokeId: number, currentTime: number): Buffer {
  return remoteOperation(roType.result, invokeId, command.confirmedEventReport, Buffer.concat([mdsObject, u32(currentTime), u16(NOM_NOTI_MDS_CREAT), u16(0)]));
}

function pollAction(invokeId: number, actionType: number, pollNumber: number, objCode: number, attrGroup: number, extra: Buffer): Buffer {
  const request = Buffer.concat([u16(pollNumber), u16(NOM_PART_OBJ), u16(objCode), u16(attrGroup), extra]);
  return remoteOperation(roType.invoke, invokeId, command.confirmedAction, Buffer.concat([mdsObject, u32(0), u16(actionType), u16(request.length), request]));
}

/** Extended Poll Data Request for all numerics (ext_poll_request_msg): NOM_MOC_VMO_METRIC_NU, all attribute groups, empty attribute list. */
export function extendedNumericPollRequest(invokeId: number, pollNumber: number): Buffer {
  return pollAction(invokeId, NOM_ACT_POLL_MDIB_DATA_EXT, pollNumber, NOM_MOC_VMO_METRIC_NU, 0, hex('00 00 00 00'));
}

/** Keep-alive: a single MDS poll of the System Production group (keep_alive_msg). */
export function keepAliveRequest(invokeId: number, pollNumber: number): Buffer {
  return pollAction(invokeId, NOM_ACT_POLL_MDIB_DATA, pollNumber, NOM_MOC_VMS_MDS, NOM_ATTR_GRP_SYS_PROD, Buffer.alloc(0));
}

// ------------------------------------------------------------------------------------------------
// The monitor's side (simulator and tests).
// ------------------------------------------------------------------------------------------------

/** An abbreviated association response: AC (0E) with a session/presentation body. The gateway reads only the first byte. */
export const associationAccept: Buffer = hex('0E 0C 05 08 13 01 00 16 01 02 80 00 14 02 00 02');
/** An association refuse (RF 0C). */
export const associationRefuse: Buffer = hex('0C 03 32 01 00');

function ava(id: number, value: Buffer): Buffer {
  return Buffer.concat([u16(id), u16(value.length), value]);
}
function attributeList(avas: readonly Buffer[]): Buffer {
  const body = Buffer.concat(avas);
  return Buffer.concat([u16(avas.length), u16(body.length), body]);
}
function label(text: string): Buffer {
  const bytes = Buffer.from(text.length % 2 === 0 ? text : `${text}\0`, 'latin1');
  return Buffer.concat([u16(bytes.length), bytes]);
}

/** MDS Create Event Report (ROIV, CMD_CONFIRMED_EVENT_REPORT) with model and serial number attributes. */
export function mdsCreateEvent(invokeId: number, eventTime: number, device: { manufacturer: string; model: string; serialNumber: string }): Buffer {
  const prodSpec = Buffer.concat([u16(1), u16(0x0008), label(device.serialNumber)]);
  const attributes = attributeList([
    ava(attr.NOM_ATTR_ID_MODEL, Buffer.concat([label(device.manufacturer), label(device.model)])),
    ava(attr.NOM_ATTR_ID_PROD_SPECN, Buffer.concat([u16(1), u16(prodSpec.length), prodSpec])),
  ]);
  const info = Buffer.concat([mdsObject, attributes]);
  return remoteOperation(roType.invoke, invokeId, command.confirmedEventReport, Buffer.concat([mdsObject, u32(eventTime), u16(NOM_NOTI_MDS_CREAT), u16(info.length), info]));
}

export interface SimNumeric {
  readonly handle: number;
  /** One value, or several (a compound value such as NIBP sys/dia/mean). */
  readonly values: readonly { readonly physioId: number; readonly unitCode: number; readonly mantissa: number; readonly exponent: number; readonly state?: number }[];
  readonly compound?: boolean;
}

/** BCD AbsoluteTime of a UTC date (the simulator's monitor clock runs in UTC). */
export function absoluteTimeBytes(date: Date): Buffer {
  const bcd = (n: number) => ((Math.floor(n / 10) % 10) << 4) | n % 10;
  const year = date.getUTCFullYear();
  return Buffer.from([
    bcd(Math.floor(year / 100)),
    bcd(year % 100),
    bcd(date.getUTCMonth() + 1),
    bcd(date.getUTCDate()),
    bcd(date.getUTCHours()),
    bcd(date.getUTCMinutes()),
    bcd(date.getUTCSeconds()),
    bcd(Math.floor(date.getUTCMilliseconds() / 10)),
  ]);
}

/** Extended Poll Data Result (RORS, CMD_CONFIRMED_ACTION, NOM_ACT_POLL_MDIB_DATA_EXT) of numerics in context 0. */
export function extendedPollResult(invokeId: number, pollNumber: number, relativeTime: number, time: Date, numerics: readonly SimNumeric[]): Buffer {
  const nu = (v: SimNumeric['values'][number]) => Buffer.concat([u16(v.physioId), u16(v.state ?? 0), u16(v.unitCode), u32(encodeFloatType(v.mantissa, v.exponent))]);
  const polls = numerics.map((n) => {
    const value =
      n.compound === true
        ? ava(attr.NOM_ATTR_NU_CMPD_VAL_OBS, Buffer.concat([u16(n.values.length), u16(n.values.length * 10), ...n.values.map(nu)]))
        : ava(attr.NOM_ATTR_NU_VAL_OBS, nu(n.values[0]!));
    return Buffer.concat([u16(n.handle), attributeList([value])]);
  });
  const pollBody = Buffer.concat(polls);
  const context = Buffer.concat([u16(0), u16(polls.length), u16(pollBody.length), pollBody]);
  const reply = Buffer.concat([
    u16(pollNumber),
    u16(0),
    u32(relativeTime),
    absoluteTimeBytes(time),
    u16(NOM_PART_OBJ),
    u16(NOM_MOC_VMO_METRIC_NU),
    u16(0),
    u16(1),
    u16(context.length),
    context,
  ]);
  return remoteOperation(roType.result, invokeId, command.confirmedAction, Buffer.concat([mdsObject, u16(NOM_ACT_POLL_MDIB_DATA_EXT), u16(reply.length), reply]));
}

/** The answer to keepAliveRequest: an (empty) single poll result for the MDS. */
export function keepAliveAnswer(invokeId: number, pollNumber: number, relativeTime: number, time: Date): Buffer {
  const reply = Buffer.concat([u16(pollNumber), u32(relativeTime), absoluteTimeBytes(time), u16(NOM_PART_OBJ), u16(NOM_MOC_VMS_MDS), u16(NOM_ATTR_GRP_SYS_PROD), u16(0), u16(0)]);
  return remoteOperation(roType.result, invokeId, command.confirmedAction, Buffer.concat([mdsObject, u16(NOM_ACT_POLL_MDIB_DATA), u16(reply.length), reply]));
}
