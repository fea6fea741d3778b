/**
 * A Medibus frame (framing.ts) to a typed message. Pure.
 *
 * Formats (shared/reference/device-protocols.md section A; mdpnp/mdpnp:devices/draeger/.../Medibus.java
 * for the layouts of 0x52 and 0x28):
 * - response 0x24, current measured data code page 1: repeated 6-character groups, 2 hex digits of
 *   code then 4 characters of value (right-aligned decimal text, e.g. " 5.0", "  25").
 * - response 0x52, device identification: 4 characters of device id number, the device name between
 *   apostrophes, then the revision (11 characters, space padded), e.g. `0161'Evita4'04.03      `.
 * - response 0x28, date and time: `HH:MM:SS DD-MON-YY` with German or English month abbreviations
 *   (mdpnp notes an Evita XL that omits the seconds and a V500 that omits the space).
 * - response 0x15: the device could not understand our last message (mdpnp command.map: "Corrupt").
 * - commands (ESC) from the device, e.g. ICC 0x51 and NOP 0x30, which the host must echo.
 */
import { GatewayError } from '../../src/errors/catalogue.ts';
import type { LocalDateTime } from '../../src/fhir/index.ts';
import { CR, commands, ESC, hasValidChecksum, SOH } from './checksum.ts';

export interface MeasuredValue {
  readonly code: number;
  /** The 4 value characters exactly as sent. */
  readonly text: string;
}

export type MedibusMessage =
  /** A command the device sends us (ICC, NOP, ...): the host answers it (session.ts). */
  | { readonly kind: 'device-command'; readonly command: number; readonly data: string }
  | { readonly kind: 'measured-data'; readonly codePage: 1; readonly values: readonly MeasuredValue[] }
  | { readonly kind: 'device-identification'; readonly deviceId: string; readonly name: string | undefined; readonly revision: string | undefined }
  | { readonly kind: 'date-time'; readonly text: string; readonly local: LocalDateTime | undefined }
  /** The device's 0x15 answer: it could not understand our last command. */
  | { readonly kind: 'nak'; readonly data: string }
  /** Any other response: the echo that acknowledges a command (ICC, NOP), or data this adapter does not read yet. */
  | { readonly kind: 'response'; readonly command: number; readonly data: string };

const groupLength = 6;

function parseMeasuredData(data: string): MedibusMessage {
  if (data.length % groupLength !== 0) {
    throw new GatewayError('device_message_malformed', `Measured data of ${data.length} characters is not a whole number of 6-character groups.`);
  }
  const values: MeasuredValue[] = [];
  for (let at = 0; at < data.length; at += groupLength) {
    const codeText = data.slice(at, at + 2);
    if (!/^[0-9A-Fa-f]{2}$/.test(codeText)) {
      throw new GatewayError('device_message_malformed', `Measured data group ${at / groupLength + 1} does not start with a hex code.`);
    }
    values.push({ code: Number.parseInt(codeText, 16), text: data.slice(at + 2, at + groupLength) });
  }
  return { kind: 'measured-data', codePage: 1, values };
}

function parseDeviceIdentification(data: string): MedibusMessage {
  const deviceId = data.slice(0, 4).trim();
  const rest = data.slice(4);
  const quoted = /^'([^']*)'(.*)$/s.exec(rest);
  const name = quoted?.[1]?.trim() || undefined;
  const revision = (quoted === null ? rest : quoted[2]!).trim() || undefined;
  if (deviceId === '') throw new GatewayError('device_message_malformed', 'The device identification carries no device id.');
  return { kind: 'device-identification', deviceId, name, revision };
}

const months: Readonly<Record<string, number>> = {
  JAN: 1, FEB: 2, MAR: 3, MRZ: 3, APR: 4, MAI: 5, MAY: 5, JUN: 6, JUL: 7, AUG: 8,
  SEP: 9, OKT: 10, OCT: 10, NOV: 11, DEZ: 12, DEC: 12,
};

/** The device's wall-clock time; undefined when the text does not read as one. */
function parseDateTime(text: string): LocalDateTime | undefined {
  const match = /^\s*(\d{1,2}):(\d{2}):?(\d{0,2})\s*(\d{1,2})-([A-Za-z]{3})-(\d{2,4})\s*$/.exec(text);
  if (match === null) return undefined;
  const month = months[match[5]!.toUpperCase()];
  if (month === undefined) return undefined;
  const year = Number(match[6]);
  return {
    year: year < 100 ? 2000 + year : year,
    month,
    day: Number(match[4]),
    hour: Number(match[1]),
    minute: Number(match[2]),
    second: match[3] === '' ? 0 : Number(match[3]),
  };
}

export function parseMedibus(frame: Buffer): MedibusMessage {
  const start = frame[0];
  if ((start !== SOH && start !== ESC) || frame[frame.length - 1] !== CR || frame.length < 5) {
    throw new GatewayError('device_message_malformed', 'Not a Medibus message (SOH or ESC ... CR).');
  }
  if (!hasValidChecksum(frame)) throw new GatewayError('stream_checksum_mismatch');
  const command = frame[1]!;
  const data = frame.subarray(2, frame.length - 3).toString('latin1');
  if (start === ESC) return { kind: 'device-command', command, data };
  switch (command) {
    case commands.measuredDataCp1:
      return parseMeasuredData(data);
    case commands.deviceIdentification:
      return parseDeviceIdentification(data);
    case commands.dateTime:
      return { kind: 'date-time', text: data, local: parseDateTime(data) };
    case commands.nak:
      return { kind: 'nak', data };
    default:
      return { kind: 'response', command, data };
  }
}
