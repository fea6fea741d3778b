import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { topicsSchema } from '../schemas/config.ts';
import { deadLetterContentType, eventContentType, fhirContentType, recordHeaders } from '../src/publishing/publisher.ts';

interface AsyncApi {
  defaultContentType: string;
  channels: Record<string, { address: string }>;
  components: {
    messages: Record<string, { contentType: string }>;
    schemas: { fhirHeaders: { required: string[]; properties: Record<string, unknown> } };
  };
}

const contract = parse(readFileSync(new URL('../asyncapi.yaml', import.meta.url), 'utf8')) as AsyncApi;

describe('asyncapi.yaml agrees with the code', () => {
  it('names the default topics', () => {
    const defaults = topicsSchema.parse(undefined);
    expect(Object.values(contract.channels).map((c) => c.address).sort()).toEqual(
      [defaults.observation, defaults.device, defaults.deadLetter, defaults.events].sort(),
    );
  });

  it('declares every header the publisher sets', () => {
    const declared = Object.keys(contract.components.schemas.fhirHeaders.properties);
    for (const name of [recordHeaders.contentType, recordHeaders.sourceAdapter, recordHeaders.sourceMessageId, recordHeaders.traceId]) {
      expect(declared).toContain(name);
    }
  });

  it('declares the content types the publisher sets', () => {
    expect(contract.defaultContentType).toBe(fhirContentType);
    expect(contract.components.messages.deadLetter?.contentType).toBe(deadLetterContentType);
    expect(contract.components.messages.deviceEvent?.contentType).toBe(eventContentType);
  });
});
