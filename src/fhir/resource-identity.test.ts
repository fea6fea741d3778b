import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fhirId } from '../../schemas/fhir.ts';
import { parseDecimal } from './decimal.ts';
import { deviceIdentifier, deviceKey, normalizeEui64 } from './device-identity.ts';
import { deviceResourceId, jsonString, nameBasedUuid, observationResourceId } from './resource-identity.ts';

describe('nameBasedUuid', () => {
  it('matches the RFC 9562 version-5 test vector (Appendix A.4)', () => {
    expect(nameBasedUuid('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('jsonString', () => {
  // Observation ids hash the JSON of their parts, written without JSON.stringify: the bytes must be the same.
  it('writes any string exactly as JSON.stringify does', () => {
    for (const text of ['', 'plain', 'a"b', 'a\\b', '\n', '\u0000', '\u001f', '\u007f', '\u2028', 'é°ü', '\ud83d\ude00', '\ud800', 'x\udfff', '\udfff\ud800']) {
      expect(jsonString(text)).toBe(JSON.stringify(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '"', '\\', '\u0001', '\ud800', '\udc00', '\u00e9') }), (any, tricky) => {
        expect(jsonString(any)).toBe(JSON.stringify(any));
        expect(jsonString(tricky)).toBe(JSON.stringify(tricky));
      }),
      { numRuns: 2000, seed: 20261121 },
    );
  });

  it('gives Observation ids hashed from the JSON array of their parts, as before', () => {
    const parts = { deviceKey: 'name:a"b\\c', metricKey: 'local:["99X","\u0001"]', containment: undefined, time: '2024-05-01T12:30:00+02:00' };
    expect(observationResourceId(parts)).toBe(nameBasedUuid(JSON.stringify(['Observation', parts.deviceKey, parts.metricKey, '', parts.time])));
    expect(observationResourceId({ ...parts, containment: '1.1.1.1' })).toBe(
      nameBasedUuid(JSON.stringify(['Observation', parts.deviceKey, parts.metricKey, '1.1.1.1', parts.time])),
    );
  });
});

describe('resource ids', () => {
  const parts = { deviceKey: '0123456789ABCDEF', metricKey: 'mdc:150456', containment: '1.1.1.1', time: '2024-05-01T12:30:00+02:00' };

  it('are the same for the same description and valid FHIR ids', () => {
    expect(observationResourceId(parts)).toBe(observationResourceId({ ...parts }));
    expect(fhirId.safeParse(observationResourceId(parts)).success).toBe(true);
  });

  it('differ when any part differs', () => {
    const base = observationResourceId(parts);
    for (const change of [
      { deviceKey: '0123456789ABCDEE' },
      { metricKey: 'mdc:150457' },
      { containment: '1.1.2.1' },
      { containment: undefined },
      { time: '2024-05-01T12:30:01+02:00' },
    ]) {
      expect(observationResourceId({ ...parts, ...change })).not.toBe(base);
    }
    expect(deviceResourceId('0123456789ABCDEF', undefined)).not.toBe(deviceResourceId('0123456789ABCDEF', '1.1.0.0'));
  });

  it('cannot be made to collide by moving a separator between parts', () => {
    expect(deviceResourceId('a|b', 'c')).not.toBe(deviceResourceId('a', 'b|c'));
  });
});

describe('device identity', () => {
  it('keys an EUI-64 by itself, serials and names with a prefix', () => {
    expect(deviceKey({ kind: 'eui64', eui64: '0123456789ABCDEF' })).toBe('0123456789ABCDEF');
    expect(deviceKey({ kind: 'serial', serialNumber: 'SN1', modelNumber: 'M1' })).toBe('serial:M1/SN1');
    expect(deviceKey({ kind: 'serial', serialNumber: 'SN1' })).toBe('serial:SN1');
    expect(deviceKey({ kind: 'name', name: 'BED7' })).toBe('name:BED7');
  });

  it('gives the PoCD EUI-64 identifier system', () => {
    expect(deviceIdentifier({ kind: 'eui64', eui64: '0123456789ABCDEF' })).toEqual({
      system: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680',
      value: '0123456789ABCDEF',
    });
  });

  it('accepts only 16 hex digits as an EUI-64', () => {
    expect(normalizeEui64('0123456789abcdef')).toBe('0123456789ABCDEF');
    expect(normalizeEui64('0123456789ABCDE')).toBeUndefined();
    expect(normalizeEui64('0123456789ABCDEG')).toBeUndefined();
  });
});

describe('parseDecimal', () => {
  it('converts the decimal text once, exactly as JSON will print it', () => {
    expect(parseDecimal('37.10')).toBe(37.1);
    expect(JSON.stringify(parseDecimal('37.10'))).toBe('37.1');
    expect(JSON.stringify(parseDecimal('0.1'))).toBe('0.1');
    expect(parseDecimal('0012.500')).toBe(12.5);
    expect(parseDecimal('-.5')).toBe(-0.5);
    expect(parseDecimal('+5')).toBe(5);
    expect(parseDecimal(' 98 ')).toBe(98);
  });

  it('rejects what is not a plain decimal', () => {
    for (const text of ['', '9x8', '1e3', '0x10', '1,5', '.', '-', '1.2.3', 'NaN', 'Infinity', '9'.repeat(400)]) {
      expect(parseDecimal(text), text).toBeUndefined();
    }
  });
});

describe('nameBasedUuid against a reference implementation (createHash, bits set on the bytes)', () => {
  function reference(name: string, namespace: string): string {
    const hash = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
    const bytes = hash.subarray(0, 16);
    bytes[6] = (bytes[6]! & 0x0f) | 0x50;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  it('gives the same UUID for any name (including non-ASCII) and namespace', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.uuid(), (name, namespace) => {
        expect(nameBasedUuid(name, namespace)).toBe(reference(name, namespace));
        expect(nameBasedUuid(name)).toBe(reference(name, 'e2f077e6-09f9-4134-831d-064ebf517c40'));
      }),
      { numRuns: 5_000, seed: 6 },
    );
  });

  it('gives the same UUID for names around and past what its reusable buffer holds (1,024 bytes)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 300, maxLength: 1_200 }), (name) => {
        expect(nameBasedUuid(name)).toBe(reference(name, 'e2f077e6-09f9-4134-831d-064ebf517c40'));
      }),
      { numRuns: 500, seed: 6 },
    );
    for (const length of [340, 341, 342, 1023, 1024, 1025]) {
      const name = 'é'.repeat(length);
      expect(nameBasedUuid(name)).toBe(reference(name, 'e2f077e6-09f9-4134-831d-064ebf517c40'));
    }
  });

  it('gives a device the same id from the recent-ids cache as freshly hashed', () => {
    const first = deviceResourceId('ABCDEF0123456789', '1.1.0.0');
    expect(deviceResourceId('ABCDEF0123456789', '1.1.0.0')).toBe(first);
    expect(first).toBe(reference(JSON.stringify(['Device', 'ABCDEF0123456789', '1.1.0.0']), 'e2f077e6-09f9-4134-831d-064ebf517c40'));
  });
});
