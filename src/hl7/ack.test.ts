import { HL7Message } from 'hl7v2';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import {
  ackErrorOf,
  ackMode,
  acknowledgementCode,
  buildAck,
  escapeHl7Text,
  formatHl7Timestamp,
  hl7ErrorConditions,
  isAcknowledgement,
  shouldSendAcknowledgement,
  type AckOutcome,
} from './ack.ts';
import { defaultDelimiters, readMessageHeader, type MessageHeader } from './header.ts';

const pcd01 =
  'MSH|^~\\&|MONITOR^0123456789ABCDEF^EUI-64|ICU-3|GATEWAY|HOSPITAL|20240101120000+0100||ORU^R01^ORU_R01|MSG-00042|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\rPID|||12345';
const originalMode = 'MSH|^~\\&|LAB|WARD|GATEWAY|HOSPITAL|20240101120000||ORU^R01|ORIG-1|T|2.5\rPID|||1';

function header(message: string): MessageHeader {
  const read = readMessageHeader(message);
  if (read === undefined) throw new Error('test message has no MSH');
  return read;
}

/** Splits an ACK the plain way, independent of the builder: segments by CR, fields by MSH-1. */
function fieldsOf(ack: string, segmentId: string, occurrence = 0): string[] {
  const segments = ack.split('\r').filter((segment) => segment.startsWith(segmentId));
  const segment = segments[occurrence];
  if (segment === undefined) throw new Error(`no ${segmentId} #${occurrence} in ACK`);
  const fields = segment.split(ack.charAt(3));
  // Numbered as HL7 does: MSH-1 is the separator, so shift MSH fields by one.
  return segmentId === 'MSH' ? ['MSH', ack.charAt(3), ...fields.slice(1)] : fields;
}

const timestamp = new Date(Date.UTC(2024, 0, 31, 23, 59, 58));

describe('acknowledgement mode', () => {
  it('is enhanced when MSH-15 or MSH-16 is set, original otherwise', () => {
    expect(ackMode(header(pcd01))).toBe('enhanced');
    expect(ackMode(header('MSH|^~\\&|A|B|C|D|||ORU^R01|1|P|2.6||||AL'))).toBe('enhanced');
    expect(ackMode(header(originalMode))).toBe('original');
    expect(ackMode(undefined)).toBe('original');
  });

  it('maps outcomes to AA/AE/AR in original mode and CA/CE/CR in enhanced mode', () => {
    const outcomes: AckOutcome[] = ['accepted', 'error', 'rejected'];
    expect(outcomes.map((outcome) => acknowledgementCode('original', outcome))).toEqual(['AA', 'AE', 'AR']);
    expect(outcomes.map((outcome) => acknowledgementCode('enhanced', outcome))).toEqual(['CA', 'CE', 'CR']);
  });

  it('always acknowledges in original mode', () => {
    for (const outcome of ['accepted', 'error', 'rejected'] as const) {
      expect(shouldSendAcknowledgement(header(originalMode), outcome)).toBe(true);
      expect(shouldSendAcknowledgement(undefined, outcome)).toBe(true);
    }
  });

  it.each([
    ['AL', [true, true, true]],
    ['NE', [false, false, false]],
    ['ER', [false, true, true]],
    ['SU', [true, false, false]],
    ['', [true, true, true]],
    ['XX', [true, true, true]],
  ])('in enhanced mode, MSH-15 %j acknowledges [accepted, error, rejected] = %j', (msh15, expected) => {
    // MSH-16 set keeps the message in enhanced mode even when MSH-15 is empty.
    const message = `MSH|^~\\&|A|B|C|D|||ORU^R01|1|P|2.6|||${msh15}|NE`;
    const decisions = (['accepted', 'error', 'rejected'] as const).map((outcome) =>
      shouldSendAcknowledgement(header(message), outcome),
    );
    expect(decisions).toEqual(expected);
  });

  it('recognises an ACK by MSH-9.1, in any delimiters', () => {
    expect(isAcknowledgement(header('MSH|^~\\&|A|B|C|D|||ACK^R01^ACK|1|P|2.6'))).toBe(true);
    expect(isAcknowledgement(header('MSH|^~\\&|A|B|C|D|||ACK|1|P|2.6'))).toBe(true);
    expect(isAcknowledgement(header('MSH#*!@%#A#B#C#D###ACK*R01#1#P#2.6'))).toBe(true);
    expect(isAcknowledgement(header(pcd01))).toBe(false);
    expect(isAcknowledgement(undefined)).toBe(false);
  });
});

describe('buildAck', () => {
  it('addresses the ACK back to the sender and echoes what the sender needs', () => {
    const ack = buildAck({
      header: header(pcd01),
      code: 'CA',
      controlId: 'ACK-1',
      timestamp,
      receivingApp: { application: 'VITALBRIDGE', facility: 'HOSPITAL' },
    });
    const msh = fieldsOf(ack, 'MSH');
    expect(msh[1]).toBe('|');
    expect(msh[2]).toBe('^~\\&');
    expect(msh[3]).toBe('VITALBRIDGE');
    expect(msh[4]).toBe('HOSPITAL');
    expect(msh[5]).toBe('MONITOR^0123456789ABCDEF^EUI-64');
    expect(msh[6]).toBe('ICU-3');
    expect(msh[7]).toBe('20240131235958+0000');
    expect(msh[9]).toBe('ACK^R01^ACK');
    expect(msh[10]).toBe('ACK-1');
    expect(msh[11]).toBe('P');
    expect(msh[12]).toBe('2.6');
    // An ACK asks for no ACK and names no profile.
    expect(msh[15] ?? '').toBe('');
    expect(msh[16] ?? '').toBe('');
    expect(msh[21] ?? '').toBe('');
    expect(fieldsOf(ack, 'MSA')).toEqual(['MSA', 'CA', 'MSG-00042']);
    expect(ack.split('\r')).toHaveLength(2);
  });

  it('is read back the same by an independent HL7 parser, with escaped text restored', () => {
    const text = 'OBX-5 "9x8" is not a number | expected ^ NM & more ~ \\ and\ra new line';
    const ack = buildAck({
      header: header(pcd01),
      code: 'CE',
      controlId: 'ACK-2',
      timestamp,
      errors: [
        {
          code: 'invalid_numeric_value',
          hl7ErrorCode: '102',
          severity: 'E',
          location: { segment: 'OBX', sequence: 3, field: 5, component: 1 },
          text,
        },
      ],
    });
    const parsed = HL7Message.parse(ack);
    const msh = parsed.getSegment('MSH');
    expect(msh?.field(3).getValue()).toBe('VITALBRIDGE');
    expect(msh?.field(9).getValue(1)).toBe('ACK');
    expect(msh?.field(9).getValue(2)).toBe('R01');
    expect(parsed.getSegment('MSA')?.field(1).getValue()).toBe('CE');
    expect(parsed.getSegment('MSA')?.field(2).getValue()).toBe('MSG-00042');
    const err = parsed.getSegment('ERR');
    expect(err?.field(2).getValue(1)).toBe('OBX');
    expect(Number(err?.field(2).getValue(2))).toBe(3);
    expect(Number(err?.field(2).getValue(3))).toBe(5);
    expect(Number(err?.field(2).getValue(4))).toBe(1);
    expect(Number(err?.field(2).getValue(5))).toBe(1);
    expect(err?.field(3).getValue(1)).toBe('102');
    expect(err?.field(3).getValue(2)).toBe('Data type error');
    expect(err?.field(3).getValue(3)).toBe('HL70357');
    expect(err?.field(4).getValue()).toBe('E');
    expect(err?.field(5).getValue(1)).toBe('invalid_numeric_value');
    expect(err?.field(5).getValue(3)).toBe('VITALBRIDGE');
    expect(err?.field(8).getValue()).toBe(text);
  });

  it('escapes every delimiter and line breaks in the user message so it stays inside ERR-8', () => {
    const ack = buildAck({
      header: header(pcd01),
      code: 'AE',
      controlId: 'A',
      timestamp,
      errors: [{ code: 'hl7_invalid_field', hl7ErrorCode: '102', severity: 'W', text: 'a|b^c~d\\e&f\rg\nh' }],
    });
    expect(ack.split('\r')).toHaveLength(3);
    expect(fieldsOf(ack, 'ERR')[8]).toBe('a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0D\\g\\X0A\\h');
    expect(fieldsOf(ack, 'ERR')[4]).toBe('W');
  });

  it('uses the original message delimiters', () => {
    const ack = buildAck({
      header: header('MSH#*!@%#APP#FAC#US#OURS###ORU*R01#ID-9#T#2.4'),
      code: 'AR',
      controlId: 'N-1',
      timestamp,
      errors: [{ code: 'x', hl7ErrorCode: '200', severity: 'E', location: { segment: 'MSH', field: 9 }, text: 'a#b*c' }],
    });
    expect(ack.startsWith('MSH#*!@%#')).toBe(true);
    const msh = fieldsOf(ack, 'MSH');
    expect(msh[5]).toBe('APP');
    expect(msh[9]).toBe('ACK*R01*ACK');
    expect(msh[11]).toBe('T');
    expect(msh[12]).toBe('2.4');
    const err = fieldsOf(ack, 'ERR');
    expect(err[2]).toBe('MSH*1*9');
    expect(err[3]).toBe('200*Unsupported message type*HL70357');
    expect(err[8]).toBe('a@F@b@S@c');
  });

  it('builds a valid ACK for an unreadable message: empty MSA-2, default MSH-11 and MSH-12', () => {
    const ack = buildAck({
      header: undefined,
      code: 'AR',
      controlId: 'N-2',
      timestamp,
      errors: [ackErrorOf(new GatewayError('hl7_missing_msh'))],
    });
    const msh = fieldsOf(ack, 'MSH');
    expect(msh[2]).toBe('^~\\&');
    expect(msh[3]).toBe('VITALBRIDGE');
    expect(msh[5] ?? '').toBe('');
    expect(msh[9]).toBe('ACK^^ACK');
    expect(msh[11]).toBe('P');
    expect(msh[12]).toBe('2.6');
    expect(fieldsOf(ack, 'MSA')).toEqual(['MSA', 'AR']);
    const err = fieldsOf(ack, 'ERR');
    expect(err[3]).toBe('100^Segment sequence error^HL70357');
    expect(err[5]).toBe('hl7_missing_msh^hl7_missing_msh^VITALBRIDGE');
    expect(err[8]).toBe(new GatewayError('hl7_missing_msh').message);
    expect(HL7Message.parse(ack).getSegment('MSA')?.field(1).getValue()).toBe('AR');
  });

  it('writes one ERR per error, with the location the gateway error carries', () => {
    const ack = buildAck({
      header: header(originalMode),
      code: 'AE',
      controlId: 'A',
      timestamp,
      errors: [
        ackErrorOf(new GatewayError('unknown_unit', 'OBX-6 "bpm"', { location: { segment: 'OBX', sequence: 2, field: 6 } })),
        ackErrorOf(new GatewayError('missing_observation_time'), 'W'),
      ],
    });
    expect(fieldsOf(ack, 'ERR', 0)[2]).toBe('OBX^2^6');
    expect(fieldsOf(ack, 'ERR', 0)[3]).toBe('103^Table value not found^HL70357');
    expect(fieldsOf(ack, 'ERR', 1)[2]).toBe('');
    expect(fieldsOf(ack, 'ERR', 1)[4]).toBe('W');
    expect(ack.split('\r')).toHaveLength(4);
  });
});

describe('HL7 helpers', () => {
  it('formats MSH-7 as YYYYMMDDHHMMSS+ZZZZ at the given offset', () => {
    expect(formatHl7Timestamp(timestamp, 0)).toBe('20240131235958+0000');
    expect(formatHl7Timestamp(timestamp, 60)).toBe('20240201005958+0100');
    expect(formatHl7Timestamp(timestamp, -330)).toBe('20240131182958-0530');
    expect(() => formatHl7Timestamp(new Date(Number.NaN), 0)).toThrow(RangeError);
    expect(() => formatHl7Timestamp(timestamp, 1.5)).toThrow(RangeError);
  });

  it('escapes the escape character first, so no sequence is escaped twice', () => {
    expect(escapeHl7Text('\\F\\', defaultDelimiters)).toBe('\\E\\F\\E\\');
  });

  it('knows the text of every HL7 table 0357 code the catalogue uses', () => {
    expect(Object.keys(hl7ErrorConditions).sort()).toEqual(
      ['0', '100', '101', '102', '103', '200', '201', '202', '203', '204', '205', '206', '207'].sort(),
    );
  });
});
