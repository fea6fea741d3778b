import type { z } from 'zod';
import type { FhirResource } from '../../schemas/fhir.ts';

/** How an adapter's frames reach it. Serial transports arrive with the vendor-protocol issue. */
export type TransportKind = 'mllp';

/** What normalize needs besides the parsed frame. Time is passed in: pure stages never read the clock. */
export interface NormalizeContext<Config> {
  readonly config: Config;
  /** When the gateway received the frame; the fallback time for results that carry none. */
  readonly receivedAt: Date;
}

/** A resource ready to publish, with the Kafka record key (the device identity) it belongs under. */
export interface NormalizedResource {
  readonly key: string;
  readonly resource: FhirResource;
}

export interface Normalized {
  /** The source message id (HL7 MSH-10) where the protocol has one. */
  readonly sourceMessageId: string | undefined;
  readonly resources: readonly NormalizedResource[];
  /** Metric codes the terminology table does not know: published as they came, and counted. */
  readonly unmappedCodes: readonly string[];
}

export interface AdapterDefinition<Config, Parsed> {
  /** Folder name and registry name, kebab-case, after the protocol or vendor. */
  readonly name: string;
  readonly summary: string;
  readonly transport: TransportKind;
  /** The adapter's own settings; every field described, with defaults where sensible. */
  readonly config: z.ZodType<Config>;
  /** Pure: frame bytes to a parsed message. Throws GatewayError for bad input. */
  parse(frame: Buffer): Parsed;
  /** Pure: parsed message to FHIR resources. Throws GatewayError for bad input. */
  normalize(parsed: Parsed, context: NormalizeContext<Config>): Normalized;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds adapters of any config and parse type
export type AnyAdapter = AdapterDefinition<any, any>;

/** Declares an adapter. Opens nothing: transports are started by the engine. */
export function defineAdapter<Config, Parsed>(
  definition: AdapterDefinition<Config, Parsed>,
): AdapterDefinition<Config, Parsed> {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(definition.name)) {
    throw new Error(`adapter name "${definition.name}" must be kebab-case`);
  }
  return Object.freeze({ ...definition });
}
