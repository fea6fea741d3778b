import type { z } from 'zod';
import type { ErrorCode } from '../errors/catalogue.ts';
import type { FhirResource } from '../../schemas/fhir.ts';

/**
 * How an adapter's frames reach it:
 * - `mllp`: HL7 v2 over MLLP; the engine frames, and acknowledges each message after Kafka.
 * - `byte-stream`: a vendor protocol on a serial line, or the same bytes through a terminal server
 *   (TCP client) or from a converter that connects in (TCP server); which one is configuration.
 *   The adapter brings its own framer, and a session when the protocol is request/response.
 */
export type TransportKind = 'mllp' | 'byte-stream';

/** The configured facts about a device that its protocol does not say (serial adapters mostly). */
export interface DeviceBinding {
  /** The configured device id: unique per gateway; the identity when the protocol gives none. */
  readonly deviceId: string;
  /** Patient bound to this device (bed) in config; a later issue may derive it from ADT. */
  readonly patient?: { readonly identifier: string; readonly system?: string };
  /** Location display, e.g. "ICU West, bed 7". */
  readonly location?: string;
}

/** What normalize needs besides the parsed frame. Time is passed in: pure stages never read the clock. */
export interface NormalizeContext<Config> {
  readonly config: Config;
  /** When the gateway received the frame; the fallback time for results that carry none. */
  readonly receivedAt: Date;
  /** For byte-stream adapters: the configured device this frame came from. */
  readonly binding?: DeviceBinding;
}

/** Serial line settings; an adapter gives its device's defaults, config may override them. */
export interface SerialSettings {
  readonly baudRate: number;
  readonly dataBits: 5 | 6 | 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
  /** Hardware flow control (RTS/CTS). */
  readonly rtscts: boolean;
}

/** What a framer reports: a complete frame, or bytes it discarded to resynchronise (never silently). */
export type StreamFramerEvent =
  | { readonly kind: 'frame'; readonly bytes: Buffer }
  | { readonly kind: 'discarded'; readonly bytes: Buffer; readonly code: ErrorCode; readonly detail?: string };

/**
 * Incremental, stateful, pure (no I/O, no clock): bytes in, frames out. Memory is bounded: a framer
 * keeps at most `maxBufferBytes` and resynchronises on garbage. One instance per connection.
 */
export interface StreamFramer {
  push(chunk: Buffer): StreamFramerEvent[];
}

/**
 * A request/response protocol's side of the conversation (Medibus, IntelliVue). Pure state
 * machine: the engine calls it and writes what it returns; `now` is passed in.
 */
export interface DeviceSession {
  /** Bytes to send when the line opens (e.g. initialise communication, association request). */
  onOpen(now: Date): SessionStep;
  /** A frame arrived: answer the device's own requests, advance the state, and say whether the frame carries data. */
  onFrame(frame: Buffer, now: Date): SessionStep & { readonly data: boolean };
  /** Called every `tickMs`: polls, keep-alives, retries after a timeout. */
  onTick(now: Date): SessionStep;
  readonly tickMs: number;
}

export interface SessionStep {
  readonly send: readonly Buffer[];
  /** Set when the session gives up (e.g. no answer after retries): the engine closes and reconnects. */
  readonly reset?: { readonly code: ErrorCode; readonly detail: string };
}

/** A simulated device: writes what the real device would, at its real rate (times `speed`), and answers requests. */
export interface DeviceSimulator {
  /** Starts producing; `write` sends bytes to the gateway side. */
  start(io: { write(bytes: Buffer): void; now(): Date }): void;
  /** Bytes from the gateway side (requests, acknowledgements). */
  receive(bytes: Buffer): void;
  stop(): void;
}

export interface SimulatorOptions {
  /** Rate multiplier: 1 = the device's real rate; the benchmark uses 100. */
  readonly speed: number;
  /** Seed for the slowly varying values, so a run can be repeated. */
  readonly seed: number;
  /** Serial number (or other identity) the simulated device reports. */
  readonly serialNumber?: string;
}

/** What only byte-stream adapters declare. */
export interface ByteStreamParts<Config> {
  /** The device's usual serial settings (the manual's defaults). */
  readonly serialDefaults: SerialSettings;
  /** A new framer for one connection. */
  createFramer(config: Config): StreamFramer;
  /** Request/response protocols only. */
  createSession?(config: Config): DeviceSession;
  /** Seconds between data from a healthy device; silence for 3x this marks it stale. */
  readonly expectedIntervalSeconds: number;
  createSimulator(options: SimulatorOptions): DeviceSimulator;
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
  /** Required when transport is 'byte-stream'. */
  readonly stream?: ByteStreamParts<Config>;
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
  if ((definition.transport === 'byte-stream') !== (definition.stream !== undefined)) {
    throw new Error(`adapter "${definition.name}": a byte-stream adapter declares stream parts, an MLLP adapter none`);
  }
  return Object.freeze({ ...definition });
}
