import { describe, expect, it } from 'vitest';
import { encodingCharactersOf, readMessageHeader } from './header.ts';

const msh =
  'MSH|^~\\&|MONITOR^0123456789ABCDEF^EUI-64|ICU-3|VITALBRIDGE|HOSPITAL|20240101120000+0100||ORU^R01^ORU_R01|MSG-00042|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO';
const pid = 'PID|||12345^^^HOSP^MR||DOE^JOHN';

describe('readMessageHeader', () => {
  it('reads MSH fields by their HL7 numbers (MSH-1 is the separator, MSH-2 the encoding characters)', () => {
    expect(readMessageHeader(`${msh}\r${pid}`)).toEqual({
      fieldSeparator: '|',
      encodingCharacters: '^~\\&',
      delimiters: { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' },
      sendingApplication: 'MONITOR^0123456789ABCDEF^EUI-64',
      sendingFacility: 'ICU-3',
      receivingApplication: 'VITALBRIDGE',
      receivingFacility: 'HOSPITAL',
      messageType: 'ORU^R01^ORU_R01',
      controlId: 'MSG-00042',
      processingId: 'P',
      version: '2.6',
      acceptAckType: 'AL',
      applicationAckType: 'NE',
      characterSet: 'UNICODE UTF-8',
    });
  });

  it.each([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('stops at the end of the first segment when segments end with %s', (_name, terminator) => {
    const header = readMessageHeader(`MSH|^~\\&|A|B|C|D|||ADT^A01|CTRL-1|P|2.5${terminator}${pid}${terminator}`);
    expect(header?.controlId).toBe('CTRL-1');
    expect(header?.version).toBe('2.5');
    expect(header?.characterSet).toBe('');
  });

  it('reads a Buffer the same as a string', () => {
    expect(readMessageHeader(Buffer.from(`${msh}\r${pid}`))).toEqual(readMessageHeader(`${msh}\r${pid}`));
  });

  it('gives empty strings for fields a short MSH does not have', () => {
    const header = readMessageHeader('MSH|^~\\&|SENDER');
    expect(header?.sendingApplication).toBe('SENDER');
    expect(header?.controlId).toBe('');
    expect(header?.acceptAckType).toBe('');
  });

  it('follows non-default delimiters', () => {
    const header = readMessageHeader('MSH#*!@%#APP#FAC#US#OURS###ORU*R01#ID-9#T#2.4');
    expect(header?.fieldSeparator).toBe('#');
    expect(header?.delimiters).toEqual({ field: '#', component: '*', repetition: '!', escape: '@', subcomponent: '%' });
    expect(header?.messageType).toBe('ORU*R01');
    expect(header?.controlId).toBe('ID-9');
    expect(header?.processingId).toBe('T');
  });

  it('keeps a declared truncation character (HL7 2.7+) and falls back to defaults for unusable MSH-2', () => {
    const withTruncation = readMessageHeader('MSH|^~\\&#|A');
    expect(withTruncation?.delimiters.truncation).toBe('#');
    expect(encodingCharactersOf(withTruncation!.delimiters)).toBe('^~\\&#');
    expect(readMessageHeader('MSH|^^^^|A')?.delimiters).toEqual({
      field: '|',
      component: '^',
      repetition: '~',
      escape: '\\',
      subcomponent: '&',
    });
    expect(readMessageHeader('MSH||A')?.delimiters.component).toBe('^');
  });

  // Regressions found by fuzzing (test/fuzz/targets.ts, hl7-message-processor): the ACK is written in the
  // message's delimiters, so delimiters that collide or are letters made NAKs unreadable (MSA-1 `AE` split at `E`).
  it('refuses a letter, digit or space as field separator, and one that collides with the fallback delimiters', () => {
    expect(readMessageHeader('MSHE3ED02D^EUI-64|ACME|||20110602||ORU^R01|ID1|P|2.6')).toBeUndefined();
    expect(readMessageHeader('MSH1^~\\&1APP')).toBeUndefined();
    expect(readMessageHeader('MSH ^~\\& APP')).toBeUndefined();
    // `^` as field separator with MSH-2 `~\&|`... would be fine, but a short MSH-2 falls back to `^` as component.
    expect(readMessageHeader('MSH^^^^APP^FAC')).toBeUndefined();
    expect(readMessageHeader('MSH^~\\&|^APP^FAC^^^^^ORU|R01^ID-2^P^2.6')?.delimiters).toEqual({
      field: '^',
      component: '~',
      repetition: '\\',
      escape: '&',
      subcomponent: '|',
    });
  });

  it('treats an MSH-2 holding letters or digits as unusable and falls back to the defaults', () => {
    expect(readMessageHeader('MSH|^~AB|APP')?.delimiters).toEqual({ field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
  });

  it.each([
    ['empty', ''],
    ['not HL7', 'GET / HTTP/1.1\r\n'],
    ['another segment first', `${pid}\r${msh}`],
    ['MSH without a separator', 'MSH'],
    ['MSH then a line break', 'MSH\r|^~\\&|'],
    ['binary', Buffer.from([0x00, 0xff, 0x0b, 0x1c])],
  ])('returns undefined for %s', (_name, payload) => {
    expect(readMessageHeader(payload)).toBeUndefined();
  });
});
