/**
 * One Masimo ASCII 1 record (a line, as the framer delivers it) into typed fields. The layout, from
 * the public sources named in README.md:
 *
 *   12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% SPCO=01.0% SPMET=00.5% DESAT=01
 *   PIDELTA=-02 PVI=027 ALARM=0000 EXC=000820
 *
 * Date MM/DD/YY and time HH:MM:SS without a zone; then KEY=value tokens; a value filled with '-'
 * (`---`, `--.-`, `+--`) means "no value". ALARM and EXC are hexadecimal bit fields. Older models
 * (Radical-5, Rad-8) send a subset of the fields; all are optional except the date and time.
 */
import { GatewayError } from '../../src/errors/catalogue.ts';
import type { LocalDateTime } from '../../src/fhir/index.ts';

/** The numeric fields the adapter reads, by their key on the line. */
export const numericFields = ['SPO2', 'BPM', 'PI', 'SPCO', 'SPMET', 'DESAT', 'PIDELTA', 'PVI'] as const;
export type NumericField = (typeof numericFields)[number];

/** A numeric field as sent: its decimal text (sign and leading zeros as sent), or absent ('-' filled). */
export type FieldValue = { readonly decimal: string } | { readonly absent: true };

export interface MasimoRecord {
  /** Wall-clock time as the device printed it (MM/DD/YY read as 20YY). */
  readonly local: LocalDateTime;
  /** SN=, when sent and not '-' filled. */
  readonly serialNumber: string | undefined;
  /** The numeric fields present on the line; a field the model does not send is missing here. */
  readonly values: Partial<Record<NumericField, FieldValue>>;
  /** ALARM= as a number (hex on the line), when sent. */
  readonly alarm: number | undefined;
  /** EXC= as a number (hex on the line), when sent. */
  readonly exceptions: number | undefined;
  /** Fields this adapter does not know (newer firmware adds some), as sent. Not published. */
  readonly otherFields: Readonly<Record<string, string>>;
}

const recordPattern = /^(\d\d)\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)((?: +[A-Z][A-Z0-9]*=[0-9A-Za-z.+\-%]*)*)\s*$/;
const decimalText = /^[+-]?\d+(\.\d+)?$/;
/** '-' filled, optionally signed: ---, --.-, +--. */
const absentText = /^[+-]?-+(\.-+)?$/;

function notAFrame(detail: string): GatewayError {
  return new GatewayError('device_message_malformed', detail);
}

function hexField(key: string, text: string): number | undefined {
  if (text === '' || /^-+$/.test(text)) return undefined;
  if (!/^[0-9A-Fa-f]{1,8}$/.test(text)) throw notAFrame(`${key} is not a hexadecimal bit field.`);
  return Number.parseInt(text, 16);
}

export function parseMasimoRecord(frame: Buffer): MasimoRecord {
  const text = frame.toString('latin1').replace(/[\r\n]+$/, '');
  const match = recordPattern.exec(text);
  if (match === null) throw notAFrame('The line is not a Masimo ASCII 1 record.');
  const [, month, day, year, hour, minute, second, rest] = match;
  const local: LocalDateTime = {
    year: 2000 + Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
  };
  const values: Partial<Record<NumericField, FieldValue>> = {};
  const otherFields: Record<string, string> = {};
  let serialNumber: string | undefined;
  let alarm: number | undefined;
  let exceptions: number | undefined;
  for (const token of rest!.trim().split(/ +/).filter((t) => t !== '')) {
    const equals = token.indexOf('=');
    const key = token.slice(0, equals);
    // Units are printed after some values (SPO2=098%); the key says what the unit is.
    const value = token.slice(equals + 1).replace(/%$/, '');
    if (key === 'SN') {
      serialNumber = value === '' || /^-+$/.test(value) ? undefined : value;
    } else if (key === 'ALARM') {
      alarm = hexField(key, value);
    } else if (key === 'EXC') {
      exceptions = hexField(key, value);
    } else if ((numericFields as readonly string[]).includes(key)) {
      if (absentText.test(value) || value === '') values[key as NumericField] = { absent: true };
      else if (decimalText.test(value)) values[key as NumericField] = { decimal: value };
      else throw notAFrame(`${key} is neither a number nor '-' filled.`);
    } else {
      otherFields[key] = value;
    }
  }
  return { local, serialNumber, values, alarm, exceptions, otherFields };
}
