import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import { ackErrorOf, buildAck } from './ack.ts';
import { readMessageHeader } from './header.ts';
import { readAcknowledgement, splitHl7Messages } from './read-ack.ts';

describe('readAcknowledgement', () => {
  it('reads back what buildAck wrote, including escaped ERR text', () => {
    const header = readMessageHeader('MSH|^~\\&|MON|WARD|GW||20240501120000||ORU^R01^ORU_R01|M-1|P|2.6|||AL|NE\r');
    const error = new GatewayError('invalid_numeric_value', 'OBX-5 "9|x^7" is not\ra number.', { location: { segment: 'OBX', sequence: 2, field: 5 } });
    const ack = buildAck({ header, code: 'CE', controlId: 'ACK-1', timestamp: new Date('2024-05-01T10:00:00Z'), errors: [ackErrorOf(error)] });
    const read = readAcknowledgement(ack);
    expect(read).toMatchObject({ code: 'CE', ackedControlId: 'M-1', controlId: 'ACK-1', messageType: 'ACK^R01^ACK' });
    expect(read?.errors).toEqual([
      { location: 'OBX^2^5', hl7Code: '102', severity: 'E', applicationCode: 'invalid_numeric_value', text: error.message },
    ]);
  });

  it('returns undefined for a reply without MSH or MSA', () => {
    expect(readAcknowledgement('hello')).toBeUndefined();
    expect(readAcknowledgement('MSH|^~\\&|A|B\r')).toBeUndefined();
  });
});

describe('splitHl7Messages', () => {
  it('splits a file into messages at each MSH and normalises segment ends to CR', () => {
    const text = 'MSH|^~\\&|A\nPID|1\r\n\nMSH|^~\\&|B\rOBX|1\n';
    expect(splitHl7Messages(text)).toEqual(['MSH|^~\\&|A\rPID|1\r', 'MSH|^~\\&|B\rOBX|1\r']);
  });
});
