/**
 * The pure part of one message's way through the gateway: parse -> normalize -> validate -> Kafka
 * records, plus what the activity tracker learns from it. No I/O and no shared state beyond the
 * adapter's own memo, so the same function runs in the message processor's thread or on a pipeline
 * worker thread (pipeline-workers.ts), whichever `mllp.workerThreads` chooses.
 */
import type { AnyAdapter } from '../adapter-kit/define-adapter.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { summarizePublished, type PublishedActivity } from '../observability/activity-tracker.ts';
import type { OutboundRecord } from '../publishing/publisher.ts';
import { validateResource } from '../validation/validate-resource.ts';
import { buildResourceRecords } from './records.ts';
import type { GatewayConfig } from '../../schemas/config.ts';

export interface PipelineResult {
  readonly records: OutboundRecord[];
  readonly sourceMessageId: string | undefined;
  /** Metric codes the terminology table does not know (counted by the caller). */
  readonly unmappedCodes: readonly string[];
  readonly activity: PublishedActivity;
}

export type PipelineOutcome = { readonly ok: true; readonly result: PipelineResult } | { readonly ok: false; readonly error: GatewayError };

export interface MessagePipelineOptions {
  readonly adapter: AnyAdapter;
  readonly adapterConfig: unknown;
  readonly topics: GatewayConfig['kafka']['topics'];
}

export type MessagePipeline = (raw: Buffer, context: { traceId: string; receivedAt: Date }) => PipelineOutcome;

export function createMessagePipeline(options: MessagePipelineOptions): MessagePipeline {
  const { adapter, adapterConfig, topics } = options;
  return (raw, context) => {
    try {
      const normalized = adapter.normalize(adapter.parse(raw), { config: adapterConfig, receivedAt: context.receivedAt });
      for (const item of normalized.resources) validateResource(item.resource);
      const records = buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: context.traceId });
      return {
        ok: true,
        result: {
          records,
          sourceMessageId: normalized.sourceMessageId,
          unmappedCodes: normalized.unmappedCodes,
          activity: summarizePublished(normalized.resources),
        },
      };
    } catch (error) {
      if (error instanceof GatewayError) return { ok: false, error };
      return { ok: false, error: new GatewayError('adapter_failure', error instanceof Error ? error.message : undefined, { cause: error }) };
    }
  };
}
