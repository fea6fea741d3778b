import { describe, expect, it } from 'vitest';
import { buildSinkDeadLetter, entryFor } from './fhir-sink.ts';

describe('entryFor', () => {
  it('upserts a Device by its first identifier, escaping | , $ and \\ in the value', () => {
    const made = entryFor(
      JSON.stringify({ resourceType: 'Device', id: 'd-1', status: 'active', identifier: [{ value: 'no-system' }, { system: 'urn:oid:1.2', value: 'A|B' }] }),
    );
    expect(made).toMatchObject({ resourceType: 'Device', entry: { method: 'PUT', url: `Device?identifier=${encodeURIComponent('urn:oid:1.2|A\\|B')}` } });
  });

  it('writes a Device without a usable identifier, and everything else, by id', () => {
    expect(entryFor(JSON.stringify({ resourceType: 'Device', id: 'd-2', status: 'active' }))).toMatchObject({ entry: { url: 'Device/d-2' } });
    expect(entryFor(JSON.stringify({ resourceType: 'Observation', id: 'o.1-x' }))).toMatchObject({ entry: { url: 'Observation/o.1-x' } });
  });

  it('says why a record cannot be written', () => {
    expect(entryFor('not json')).toEqual({ problem: 'the record value is not JSON' });
    expect(entryFor('[1]')).toEqual({ problem: 'the record value is not a JSON object' });
    expect(entryFor('{"id":"x"}')).toEqual({ problem: 'the record has no resourceType' });
    expect(entryFor('{"resourceType":"Observation","id":"a/b"}')).toEqual({ problem: 'the Observation has no valid id' });
  });
});

describe('buildSinkDeadLetter', () => {
  it('has the dead-letter contract fields, the record coordinates and the server outcome', () => {
    const outcome = { resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error', code: 'invalid', diagnostics: 'status: bad' }] };
    const record = buildSinkDeadLetter({
      topic: 'gateway.deadletter',
      record: { topic: 'fhir.observation', partition: 2, offset: '41', key: 'dev', value: '{"resourceType":"Observation"}', headers: { 'trace-id': 't1', 'source-adapter': 'hl7v2-pcd', 'source-message-id': 'M1' } },
      code: 'fhir_server_rejected',
      httpStatus: 422,
      outcome,
    });
    expect(record).toMatchObject({
      topic: 'gateway.deadletter',
      key: 'dev',
      headers: { 'content-type': 'application/vnd.vitalbridge.deadletter+json', 'error-code': 'fhir_server_rejected', 'trace-id': 't1', 'source-adapter': 'hl7v2-pcd', 'source-message-id': 'M1' },
    });
    const value = JSON.parse(record.value);
    expect(value).toMatchObject({
      error: { code: 'fhir_server_rejected', stage: 'sink', retryable: false, httpStatus: 422 },
      source: { adapter: 'hl7v2-pcd', messageId: 'M1', topic: 'fhir.observation', partition: 2, offset: '41', key: 'dev' },
      raw: { encoding: 'base64', bytes: 30 },
      outcome,
    });
    expect(Buffer.from(value.raw.data, 'base64').toString()).toBe('{"resourceType":"Observation"}');
  });
});
