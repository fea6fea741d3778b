/**
 * One __name__ record (a line, as the framer delivers it) into typed fields. Pure: bytes in, a typed
 * record out, or a GatewayError. Nothing untyped leaves this file.
 *
 * TODO(parse): this is the template's example layout. Replace it with your device's, and write down
 * where it comes from (manual section, capture) here and in README.md:
 *
 *   SN=A1234 SPO2=097 PR=072
 *
 * `KEY=value` tokens separated by spaces, in any order; a value of dashes (`---`) means "no value";
 * SN is optional (without it the configured deviceId names the device); unknown keys are kept aside.
 */
import { GatewayError } from '../../src/errors/catalogue.ts';

/** The numeric fields the adapter reads, by their key on the line. TODO(parse): your device's fields. */
export const numericFields = ['SPO2', 'PR'] as const;
export type NumericField = (typeof numericFields)[number];

/** A numeric field as sent: its decimal text exactly as sent, or absent (dash filled). */
export type FieldValue = { readonly decimal: string } | { readonly absent: true };

export interface __Name__Record {
  /** SN=, when sent and not dash filled. */
  readonly serialNumber: string | undefined;
  /** The numeric fields present on the line; a field not sent is missing here. */
  readonly values: Partial<Record<NumericField, FieldValue>>;
  /** Fields this adapter does not know, as sent. Not published. */
  readonly otherFields: Readonly<Record<string, string>>;
}

const tokenPattern = /^([A-Z][A-Z0-9]*)=(\S*)$/;
const decimalText = /^[+-]?\d+(\.\d+)?$/;
const absentText = /^-+(\.-+)?$/;

function notARecord(detail: string): GatewayError {
  // Never put patient data in detail: it is logged.
  return new GatewayError('device_message_malformed', detail);
}

export function parse__Name__Record(frame: Buffer): __Name__Record {
  const tokens = frame.toString('latin1').trim().split(/[ \t]+/).filter((token) => token !== '');
  if (tokens.length === 0) throw notARecord('The line is empty.');
  let serialNumber: string | undefined;
  const values: Partial<Record<NumericField, FieldValue>> = {};
  const otherFields: Record<string, string> = {};
  for (const token of tokens) {
    const match = tokenPattern.exec(token);
    if (match === null) throw notARecord('A token is not KEY=value.');
    const key = match[1]!;
    const value = match[2]!;
    if (key === 'SN') {
      serialNumber = value === '' || absentText.test(value) ? undefined : value;
    } else if ((numericFields as readonly string[]).includes(key)) {
      if (value === '' || absentText.test(value)) values[key as NumericField] = { absent: true };
      else if (decimalText.test(value)) values[key as NumericField] = { decimal: value };
      else throw notARecord(`${key} is neither a number nor dash filled.`);
    } else {
      otherFields[key] = value;
    }
  }
  return { serialNumber, values, otherFields };
}
