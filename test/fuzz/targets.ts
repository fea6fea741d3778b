/**
 * The fuzz targets: each a fast-check property over random and mutated inputs, seeded from the
 * adapters' fixtures. A property fails on any uncaught exception, on an outcome that is not one of
 * the allowed kinds (a frame, a catalogued discard, resources that validate, a catalogued
 * GatewayError -> dead letter + NAK), on memory a framer holds beyond its limit, and (async targets)
 * on a message that never gets an answer. Run by test/fuzz/hostile-input.test.ts (a bounded count
 * in CI) and scripts/fuzz.ts (`npm run fuzz -- --seed <n> --count <n> [--target <name>]`).
 */
import { isUtf8 } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { adapters } from '../../adapters/index.ts';
import templateAdapter from '../../adapters/_template/index.ts';
import type { AnyAdapter, StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import { decodeHexCapture } from '../../src/adapter-kit/hex-capture.ts';
import { errorCatalogue, GatewayError } from '../../src/errors/catalogue.ts';
import { isAcknowledgement, shouldSendAcknowledgement } from '../../src/hl7/ack.ts';
import { readMessageHeader } from '../../src/hl7/header.ts';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { createMessageProcessor } from '../../src/pipeline/message-processor.ts';
import type { OutboundRecord, Publisher } from '../../src/publishing/publisher.ts';
import { MllpFramer, encodeMllpFrame, type FramerEvent } from '../../src/transports/mllp/framer.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import { chunkSizesArbitrary, describeInput, mutatedInputArbitrary, splitIntoChunks, type MutatedInput } from './mutations.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const receivedAt = new Date('2024-01-01T00:00:00.000Z');

/** One fuzz target: a property to check, and what the bounded CI run gives it. */
export interface FuzzTarget {
  readonly name: string;
  /** What is fuzzed and which outcomes are allowed. */
  readonly summary: string;
  /** Cases in the CI run (test/fuzz/hostile-input.test.ts). */
  readonly ciCases: number;
  /** Per-case time limit (async targets): a case still running after it counts as a hang. */
  readonly caseTimeoutMs?: number;
  property(): fc.IRawProperty<unknown[]>;
}

// ---------------------------------------------------------------- work per case

/** The slowest case of each target so far (ms), shrinking included: the evidence of bounded work per input. */
export const slowestCaseMs = new Map<string, number>();

function timed<Ts extends unknown[]>(name: string, property: fc.IPropertyWithHooks<Ts>): fc.IPropertyWithHooks<Ts> {
  let started = 0;
  return property
    .beforeEach((previous) => {
      previous();
      started = performance.now();
    })
    .afterEach((previous) => {
      slowestCaseMs.set(name, Math.max(slowestCaseMs.get(name) ?? 0, performance.now() - started));
      previous();
    });
}

function timedAsync<Ts extends unknown[]>(name: string, property: fc.IAsyncPropertyWithHooks<Ts>): fc.IAsyncPropertyWithHooks<Ts> {
  let started = 0;
  return property
    .beforeEach(async (previous) => {
      await previous();
      started = performance.now();
    })
    .afterEach(async (previous) => {
      slowestCaseMs.set(name, Math.max(slowestCaseMs.get(name) ?? 0, performance.now() - started));
      await previous();
    });
}

// ---------------------------------------------------------------- seeds

export interface FixtureSeed {
  readonly name: string;
  readonly bytes: Buffer;
  /** The fixture's adapter config (config.json), {} when it has none. */
  readonly config: unknown;
}

/** The input of every fixture folder of an adapter (the same files the fixture tests read). */
export function fixtureSeeds(adapterFolder: string): FixtureSeed[] {
  const dir = join(root, 'adapters', adapterFolder, 'fixtures');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const files = readdirSync(join(dir, name));
      const inputFile = files.find((file) => file.startsWith('input'));
      if (inputFile === undefined) throw new Error(`fixture ${adapterFolder}/${name} has no input file`);
      const path = join(dir, name, inputFile);
      const bytes = path.endsWith('.hex') ? decodeHexCapture(readFileSync(path, 'utf8'), path) : readFileSync(path);
      const config: unknown = files.includes('config.json') ? JSON.parse(readFileSync(join(dir, name, 'config.json'), 'utf8')) : {};
      return { name, bytes, config };
    });
}

// ---------------------------------------------------------------- shared checks

function fail(message: string, input?: MutatedInput): never {
  throw new Error(input === undefined ? message : `${message} (${describeInput(input)})`);
}

/** A thrown error must be a GatewayError with a catalogue code: anything else is a defect, however it is caught later. */
function assertCatalogued(error: unknown, input: MutatedInput, where: string): GatewayError {
  if (!(error instanceof GatewayError)) {
    const description = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    fail(`${where} threw something other than a GatewayError: ${description}`, input);
  }
  if (!(error.code in errorCatalogue)) fail(`${where} threw an uncatalogued code ${error.code}`, input);
  return error;
}

export type FrameOutcome = 'resources' | 'dead-letter';

/** parse -> normalize -> validate through the adapter interface, as the pipelines run it. */
export function runAdapterPipeline(adapter: AnyAdapter, config: unknown, frame: Buffer, input: MutatedInput, binding?: { deviceId: string }): FrameOutcome {
  try {
    const normalized = adapter.normalize(adapter.parse(frame), { config, receivedAt, binding });
    for (const item of normalized.resources) {
      validateResource(item.resource);
      if (typeof item.key !== 'string' || item.key.length === 0) fail(`${adapter.name}: a resource without a record key`, input);
    }
    return 'resources';
  } catch (error) {
    assertCatalogued(error, input, `${adapter.name} parse/normalize/validate`);
    return 'dead-letter';
  }
}

// ---------------------------------------------------------------- MLLP framer

const MLLP_SPECIAL = [0x0b, 0x1c, 0x0d, 0x0a, 0x00, 0xff];
const hl7Seeds = () => fixtureSeeds('hl7v2-pcd');

const mllpFramerTarget: FuzzTarget = {
  name: 'mllp-framer',
  summary:
    'MLLP framer, framed fixture messages mutated and cut into random chunks: never throws, holds at most maxFrameBytes, every byte is accounted for (frame, oversize NAK, counted garbage or the unfinished frame).',
  ciCases: 2_000,
  property() {
    const seeds = hl7Seeds().map((seed) => ({ name: seed.name, bytes: encodeMllpFrame(seed.bytes) }));
    return timed('mllp-framer', fc.property(
      mutatedInputArbitrary(seeds, { specialBytes: MLLP_SPECIAL, maxSeeds: 4 }),
      chunkSizesArbitrary,
      fc.integer({ min: 64, max: 4096 }),
      (input, chunkSizes, maxFrameBytes) => {
        const framer = new MllpFramer({ maxFrameBytes, oversizePrefixBytes: 256 });
        const events: FramerEvent[] = [];
        for (const chunk of splitIntoChunks(input.bytes, chunkSizes)) {
          events.push(...framer.push(chunk));
          if (framer.heldBytes > maxFrameBytes) fail(`framer holds ${framer.heldBytes} bytes, limit ${maxFrameBytes}`, input);
        }
        let accounted = 0;
        for (const event of events) {
          if (event.kind === 'frame') {
            if (event.payload.length > maxFrameBytes) fail('a frame over maxFrameBytes was delivered', input);
            accounted += event.payload.length + 3;
          } else if (event.kind === 'oversize') {
            if (event.droppedBytes <= maxFrameBytes || event.prefix.length > 256) fail('oversize event out of bounds', input);
            accounted += event.droppedBytes + 3;
          } else {
            if (event.bytes <= 0) fail('an empty garbage report', input);
            accounted += event.bytes;
          }
        }
        // The start byte of an unfinished frame is not in unfinishedFrameBytes.
        const unfinished = framer.inFrame ? framer.unfinishedFrameBytes + 1 : 0;
        if (accounted + unfinished !== input.bytes.length) {
          fail(`bytes not accounted for: ${input.bytes.length} in, ${accounted} reported + ${unfinished} unfinished`, input);
        }
      },
    ));
  },
};

// ---------------------------------------------------------------- HL7 (hl7v2-pcd) through the adapter interface

/** Bytes that matter to HL7 parsing: delimiters, segment ends, escape, bytes outside ASCII, UTF-8 lead and continuation bytes. */
const HL7_SPECIAL = [0x7c, 0x5e, 0x7e, 0x5c, 0x26, 0x0d, 0x0a, 0x20, 0x2e, 0x2d, 0x2b, 0x45, 0x58, 0x80, 0xc3, 0xa9, 0xe9, 0xef, 0xbb, 0xbf, 0xff, 0x00];

/** HL7 seeds plus variants that name other character sets in MSH-18, so the charset branches are reached too. */
function hl7SeedsWithCharsets(): { name: string; bytes: Buffer }[] {
  const seeds = hl7Seeds().map(({ name, bytes }) => ({ name, bytes }));
  const charsets = ['UNICODE UTF-8', '8859/1', 'ASCII', '8859/2', 'UNICODE UTF-16'];
  const base = seeds.find((seed) => seed.name === 'philips-tf2-e1-1') ?? seeds[0]!;
  const text = base.bytes.toString('latin1');
  const mshEnd = text.search(/\r|\n/);
  const fields = text.slice(0, mshEnd).split('|');
  while (fields.length < 18) fields.push('');
  for (const charset of charsets) {
    fields[17] = charset;
    seeds.push({ name: `${base.name}+MSH-18=${charset}`, bytes: Buffer.from(fields.join('|') + text.slice(mshEnd), 'latin1') });
  }
  return seeds;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** MSH-18's first component of its first repetition, as the adapter reads it; undefined without a readable MSH. */
function declaredCharset(bytes: Buffer): string | undefined {
  const header = readMessageHeader(bytes.subarray(0, 3).equals(UTF8_BOM) ? bytes.subarray(3) : bytes);
  if (header === undefined) return undefined;
  return header.characterSet.split(header.delimiters.repetition)[0]!.split(header.delimiters.component)[0]!.trim();
}

function hl7Adapter(): AnyAdapter {
  const adapter = adapters.find((candidate) => candidate.name === 'hl7v2-pcd');
  if (adapter === undefined) throw new Error('hl7v2-pcd is not registered');
  return adapter;
}

const hl7AdapterTarget: FuzzTarget = {
  name: 'hl7-adapter',
  summary:
    'hl7v2-pcd parse + normalize + validation through the adapter interface, fixture messages mutated: resources that pass validation, or a GatewayError with a catalogue code (dead letter + AE/CE); nothing else is thrown.',
  ciCases: 1_500,
  property() {
    const adapter = hl7Adapter();
    const configs = [adapter.config.parse({}), adapter.config.parse({ bloodPressure: 'separate' })];
    return timed('hl7-adapter', fc.property(mutatedInputArbitrary(hl7SeedsWithCharsets(), { specialBytes: HL7_SPECIAL, maxSeeds: 1 }), fc.nat({ max: 1 }), (input, configIndex) => {
      const outcome = runAdapterPipeline(adapter, configs[configIndex], input.bytes, input);
      // Never mojibake: bytes the declared character set cannot hold must end as an error, not as text.
      const declared = declaredCharset(input.bytes);
      const body = input.bytes.subarray(0, 3).equals(UTF8_BOM) ? input.bytes.subarray(3) : input.bytes;
      if (outcome === 'resources' && (declared === '' || declared === 'ASCII') && body.some((byte) => byte > 0x7f)) {
        fail(`non-ASCII bytes published although MSH-18 is "${declared}" (ASCII)`, input);
      }
      if (outcome === 'resources' && declared === 'UNICODE UTF-8' && !isUtf8(body)) fail('invalid UTF-8 published although MSH-18 is UNICODE UTF-8', input);
    }));
  },
};

// ---------------------------------------------------------------- HL7 through the message processor (the ACK decision)

/** Records what the processor publishes; fails nothing. The real-Kafka counterpart is test/e2e/hostile-input.test.ts. */
function recordingPublisher(): Publisher & { records: OutboundRecord[] } {
  const records: OutboundRecord[] = [];
  return {
    records,
    start: async () => {},
    publish: async (batch) => {
      records.push(...batch);
    },
    isConnected: () => true,
    inFlightRecords: () => 0,
    stop: async () => {},
  };
}

const topics = { observation: 'fuzz.observation', device: 'fuzz.device', deadLetter: 'fuzz.deadletter', events: 'fuzz.events' };

const messageProcessorTarget: FuzzTarget = {
  name: 'hl7-message-processor',
  summary:
    'src/pipeline/message-processor.ts onMessage with mutated messages: always settles (5 s per case), and every message that is not itself an ACK ends as published resources with AA/CA, or a dead letter holding the exact raw bytes with AE/CE/AR/CR naming the same code; an ACK is only withheld when MSH-15 asks for none.',
  ciCases: 800,
  caseTimeoutMs: 5_000,
  property() {
    const adapter = hl7Adapter();
    const metrics = createMetrics({ defaultMetrics: false });
    return timedAsync('hl7-message-processor', fc.asyncProperty(mutatedInputArbitrary(hl7SeedsWithCharsets(), { specialBytes: HL7_SPECIAL, maxSeeds: 1 }), async (input) => {
        const publisher = recordingPublisher();
        const processor = createMessageProcessor({
          adapter,
          adapterConfig: adapter.config.parse({}),
          publisher,
          topics,
          publishTimeoutMs: 1_000,
          ackSender: { application: 'VITALBRIDGE', facility: '' },
          log: silentLogger,
          metrics,
          clock: () => receivedAt,
        });
        const reply = await processor.onMessage(input.bytes, { id: 'fuzz' });
        const header = readMessageHeader(input.bytes);
        const deadLetters = publisher.records.filter((record) => record.topic === topics.deadLetter);
        const resources = publisher.records.filter((record) => record.topic !== topics.deadLetter);
        if (deadLetters.length > 0 && resources.length > 0) fail('both a dead letter and resources for one message', input);
        if (deadLetters.length > 1) fail(`${deadLetters.length} dead letters for one message`, input);
        if (publisher.records.length === 0) {
          if (isAcknowledgement(header)) {
            // An ACK the sender sent us: never answered (no ACK storms), nothing to publish.
            if (reply !== undefined) fail('an ACK was answered', input);
            return;
          }
          // Otherwise only an order whose rows hold no numeric result may publish nothing, and it is acknowledged as such.
          if (!/(^|[\r\n])(OBR|OBX)/.test(input.bytes.toString('latin1'))) fail('a message without OBR/OBX vanished: no record, no dead letter', input);
          const ack = reply === undefined ? undefined : readAcknowledgement(reply);
          if (ack !== undefined && !['AA', 'CA'].includes(ack.code)) fail(`nothing published, yet acknowledged ${ack.code}`, input);
          if (ack === undefined && shouldSendAcknowledgement(header, 'accepted')) fail('no reply although MSH-15 asks for one', input);
          return;
        }
        const outcome = deadLetters.length === 0 ? 'accepted' : undefined;
        const ack = reply === undefined ? undefined : readAcknowledgement(reply);
        if (reply !== undefined && ack === undefined) fail('the reply is not an HL7 ACK', input);
        if (outcome === 'accepted') {
          if (ack === undefined && shouldSendAcknowledgement(header, 'accepted')) fail('accepted but no ACK sent although MSH-15 asks for one', input);
          if (ack !== undefined && !['AA', 'CA'].includes(ack.code)) fail(`resources published but acknowledged ${ack.code}`, input);
          return;
        }
        const record = deadLetters[0]!;
        const value = JSON.parse(record.value) as { raw: { data: string }; error: { code: string } };
        if (!Buffer.from(value.raw.data, 'base64').equals(input.bytes)) fail('the dead letter does not hold the exact raw bytes', input);
        if (record.headers['error-code'] !== value.error.code) fail('dead-letter header and body disagree on the code', input);
        if (ack === undefined) {
          if (shouldSendAcknowledgement(header, 'error') || shouldSendAcknowledgement(header, 'rejected')) fail('dead-lettered but no NAK sent although MSH-15 asks for one', input);
          return;
        }
        if (!['AE', 'CE', 'AR', 'CR'].includes(ack.code)) fail(`dead-lettered but acknowledged ${ack.code}`, input);
        if (unescapeHl7(ack.errors[0]?.applicationCode ?? '', reply!) !== value.error.code) fail(`NAK code ${ack.errors[0]?.applicationCode} != dead letter ${value.error.code}`, input);
      }));
  },
};

/** Undoes the delimiter escapes of an ACK field (ERR-5 escapes a code holding the component character, e.g. `_`). */
function unescapeHl7(value: string, ack: string | Buffer): string {
  const text = typeof ack === 'string' ? ack : ack.toString('utf8');
  const escapes: Record<string, string> = { F: text[3] ?? '|', S: text[4] ?? '^', R: text[5] ?? '~', E: text[6] ?? '\\', T: text[7] ?? '&' };
  return value.replace(/\\([FSRET])\\/g, (_match, code: string) => escapes[code] ?? '');
}

// ---------------------------------------------------------------- byte-stream adapters

interface StreamAdapterSpec {
  readonly adapter: AnyAdapter;
  readonly folder: string;
  /** Framing and protocol bytes worth inserting. */
  readonly specialBytes: readonly number[];
  /** Bytes that end a frame; a stream without them is a frame that never ends. */
  readonly terminators: readonly number[];
  /** Bytes that open a frame, put first in the never-ending stream. */
  readonly starters: readonly number[];
  /** The most bytes the framer may hold without reporting anything, for a config. */
  heldLimit(config: Record<string, unknown>): number;
}

const registered = (name: string): AnyAdapter => {
  const adapter = adapters.find((candidate) => candidate.name === name);
  if (adapter === undefined) throw new Error(`${name} is not registered`);
  return adapter;
};

const numberField = (config: Record<string, unknown>, field: string): number => {
  const value = config[field];
  if (typeof value !== 'number') throw new Error(`config has no numeric ${field}`);
  return value;
};

const streamAdapters: readonly StreamAdapterSpec[] = [
  {
    adapter: registered('masimo-ascii'),
    folder: 'masimo-ascii',
    specialBytes: [0x0d, 0x0a, 0x20, 0x3d, 0x2f, 0x2d, 0x2a, 0x3a, 0x2e, 0x00, 0xff],
    terminators: [0x0d, 0x0a],
    starters: [],
    heldLimit: (config) => numberField(config, 'maxLineBytes') + 1,
  },
  {
    adapter: registered('nonin-oem3'),
    folder: 'nonin-oem3',
    specialBytes: [0x01, 0x80, 0x81, 0x7f, 0xff, 0x00],
    terminators: [],
    starters: [0x01],
    // Hunting: a packet's worth of garbage plus the window; in sync: one packet plus one frame.
    heldLimit: () => 2 * 125 + 5,
  },
  {
    adapter: registered('draeger-medibus'),
    folder: 'draeger-medibus',
    specialBytes: [0x01, 0x1b, 0x0d, 0x06, 0x15, 0x10, 0x11, 0x13, 0x24, 0x00, 0xff],
    terminators: [0x0d],
    starters: [0x1b, 0x01],
    // At most two open frames (a device command inside a response) and one garbage run.
    heldLimit: (config) => 3 * numberField(config, 'maxFrameBytes'),
  },
  {
    adapter: registered('philips-intellivue'),
    folder: 'philips-intellivue',
    specialBytes: [0xc0, 0xc1, 0x7d, 0x11, 0x01, 0x00, 0xff],
    terminators: [0xc1],
    starters: [0xc0],
    // One frame, escaped: every byte may come as two.
    heldLimit: (config) => 2 * numberField(config, 'maxFrameBytes') + 8,
  },
  {
    adapter: templateAdapter,
    folder: '_template',
    specialBytes: [0x0d, 0x0a, 0x20, 0x3d],
    terminators: [0x0d, 0x0a],
    starters: [],
    heldLimit: (config) => numberField(config, 'maxLineBytes') + 1,
  },
];

function summariseEvents(events: readonly StreamFramerEvent[]): string[] {
  return events.map((event) => (event.kind === 'frame' ? `frame:${event.bytes.toString('hex')}` : `discarded:${event.code}:${event.bytes.length}`));
}

function checkDiscard(event: StreamFramerEvent, input: MutatedInput, name: string): void {
  if (event.kind !== 'discarded') return;
  if (!(event.code in errorCatalogue)) fail(`${name}: discard with an uncatalogued code ${event.code}`, input);
  if (errorCatalogue[event.code].stage !== 'receive') fail(`${name}: discard code ${event.code} is not a receive-stage code`, input);
  if (event.bytes.length === 0) fail(`${name}: an empty discard`, input);
}

/** Mutated captures: framer (chunked and whole agree), session, parse, normalize, validate. */
function streamPipelineTarget(spec: StreamAdapterSpec): FuzzTarget {
  const name = spec.adapter.name === 'template-line' ? '_template' : spec.adapter.name;
  return {
    name: `${name}-stream`,
    summary: `${spec.folder}: fixture captures mutated and chunked through framer${spec.adapter.stream?.createSession ? ', session' : ''}, parse, normalize and validation: same events however chunked, every discard a catalogued receive code, every frame resources or a catalogued error (dead letter), nothing thrown.`,
    ciCases: 600,
    property() {
      const stream = spec.adapter.stream;
      if (stream === undefined) throw new Error(`${spec.adapter.name} is not a byte-stream adapter`);
      const byConfig = new Map<string, FixtureSeed[]>();
      for (const seed of fixtureSeeds(spec.folder)) {
        const key = JSON.stringify(seed.config);
        byConfig.set(key, [...(byConfig.get(key) ?? []), seed]);
      }
      const cases = [...byConfig.entries()].map(([configText, seeds]) =>
        mutatedInputArbitrary(seeds, { specialBytes: spec.specialBytes, maxSeeds: 4 }).map((input) => ({ configText, input })),
      );
      return timed(`${name}-stream`, fc.property(fc.oneof(...cases), chunkSizesArbitrary, ({ configText, input }, chunkSizes) => {
        const config: unknown = spec.adapter.config.parse(JSON.parse(configText));
        const whole = stream.createFramer(config).push(input.bytes);
        const chunkedFramer = stream.createFramer(config);
        const chunked: StreamFramerEvent[] = [];
        for (const chunk of splitIntoChunks(input.bytes, chunkSizes)) chunked.push(...chunkedFramer.push(chunk));
        const wholeSummary = summariseEvents(whole);
        const chunkedSummary = summariseEvents(chunked);
        if (JSON.stringify(wholeSummary) !== JSON.stringify(chunkedSummary)) {
          fail(`${name}: chunking changed the events: whole ${wholeSummary.length} events, chunked ${chunkedSummary.length}`, input);
        }
        const session = stream.createSession?.(config);
        const now = receivedAt;
        if (session !== undefined) checkSessionStep(session.onOpen(now), input, name);
        for (const event of chunked) {
          checkDiscard(event, input, name);
          if (event.kind !== 'frame') continue;
          let carriesData = true;
          if (session !== undefined) {
            let step;
            try {
              step = session.onFrame(event.bytes, now);
            } catch (error) {
              // The device runner does not guard onFrame: a throw here would crash the gateway.
              fail(`${name}: session.onFrame threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, input);
            }
            checkSessionStep(step, input, name);
            carriesData = step.data;
            checkSessionStep(session.onTick(new Date(now.getTime() + session.tickMs)), input, name);
          }
          if (carriesData) runAdapterPipeline(spec.adapter, config, event.bytes, input, { deviceId: 'fuzz-device' });
        }
      }));
    },
  };
}

function checkSessionStep(step: { send: readonly Buffer[]; reset?: { code: string } }, input: MutatedInput, name: string): void {
  if (!Array.isArray(step.send) || step.send.some((bytes) => !Buffer.isBuffer(bytes))) fail(`${name}: a session step whose send is not a list of Buffers`, input);
  if (step.reset !== undefined && !(step.reset.code in errorCatalogue)) fail(`${name}: session reset with an uncatalogued code ${step.reset.code}`, input);
}

/**
 * A frame that never ends (or endless noise): the framer must report something at least every
 * heldLimit bytes, or it is holding more than its limit (or dropping bytes silently).
 */
function streamBoundTarget(spec: StreamAdapterSpec): FuzzTarget {
  const name = spec.adapter.name === 'template-line' ? '_template' : spec.adapter.name;
  return {
    name: `${name}-endless-frame`,
    summary: `${spec.folder}: a frame that never ends and endless noise, in random chunks: a catalogued discard at least every heldLimit bytes (memory bounded, nothing dropped silently).`,
    ciCases: 100,
    property() {
      const stream = spec.adapter.stream;
      if (stream === undefined) throw new Error(`${spec.adapter.name} is not a byte-stream adapter`);
      const config = spec.adapter.config.parse({}) as Record<string, unknown>;
      const limit = spec.heldLimit(config);
      const noiseByte = fc.integer({ min: 0, max: 255 }).filter((byte) => !spec.terminators.includes(byte));
      return timed(`${name}-endless-frame`, fc.property(
        fc.array(noiseByte, { minLength: 1, maxLength: 64 }),
        fc.integer({ min: 3, max: 5 }),
        chunkSizesArbitrary,
        (pattern, repeats, chunkSizes) => {
          const body = Buffer.alloc(limit * repeats);
          for (let index = 0; index < body.length; index += 1) body[index] = pattern[index % pattern.length]!;
          const bytes = Buffer.concat([Buffer.from(spec.starters.slice(0, 1)), body]);
          const input: MutatedInput = { seedNames: ['endless'], mutations: [], bytes };
          const framer = stream.createFramer(config);
          let silentBytes = 0;
          for (const chunk of splitIntoChunks(bytes, chunkSizes)) {
            const events = framer.push(chunk);
            for (const event of events) checkDiscard(event, input, name);
            silentBytes = events.length > 0 ? 0 : silentBytes + chunk.length;
            if (silentBytes > limit + 300) fail(`${name}: ${silentBytes} bytes taken with nothing reported (limit ${limit})`, input);
          }
        },
      ));
    },
  };
}

export const fuzzTargets: readonly FuzzTarget[] = [
  mllpFramerTarget,
  hl7AdapterTarget,
  messageProcessorTarget,
  ...streamAdapters.map(streamPipelineTarget),
  ...streamAdapters.map(streamBoundTarget),
];

export function findFuzzTarget(name: string): FuzzTarget | undefined {
  return fuzzTargets.find((target) => target.name === name);
}
