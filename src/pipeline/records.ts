/** Normalized resources -> Kafka records, with the headers of the message contract. */
import type { Normalized } from '../adapter-kit/define-adapter.ts';
import { fhirContentType, recordHeaders, type OutboundRecord } from '../publishing/publisher.ts';
import type { GatewayConfig } from '../../schemas/config.ts';

export function buildResourceRecords(
  normalized: Normalized,
  context: { topics: GatewayConfig['kafka']['topics']; adapter: string; traceId: string },
): OutboundRecord[] {
  const headers: Record<string, string> = {
    [recordHeaders.contentType]: fhirContentType,
    [recordHeaders.sourceAdapter]: context.adapter,
    [recordHeaders.traceId]: context.traceId,
  };
  if (normalized.sourceMessageId !== undefined) headers[recordHeaders.sourceMessageId] = normalized.sourceMessageId;
  return normalized.resources.map(({ key, resource }) => ({
    topic: resource.resourceType === 'Device' ? context.topics.device : context.topics.observation,
    key,
    value: JSON.stringify(resource),
    headers,
  }));
}
