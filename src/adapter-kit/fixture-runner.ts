/**
 * Folder-driven adapter tests (after Telegraf's testcases/): one vitest test per folder under an
 * adapter's fixtures/, each holding
 * - `input.*`: the frame bytes exactly as a device sends them;
 * - `expected.json`: the Normalized result (resources with their keys), or
 *   `expected-error.json`: `{ "code": <catalogue code>, "location"?: <HL7 ERR-2 location> }`;
 * - optionally `config.json`: the adapter config for this case (default `{}`, i.e. the defaults).
 * - byte-stream adapters: `input.hex` (hex text) or raw `input.*`, optionally `binding.json` (the
 *   configured device), and `expected.json` holding a `StreamFixtureResult`: frames, discards, per-frame
 *   errors and resources (a stream case never has expected-error.json: bad bytes are results too).
 *
 * Every published resource is also checked with our strict schemas and, when given, by `checkResource`
 * (e.g. the full-spec FHIR validator). Expected files are written and checked by hand against the
 * standards; there is deliberately no "update the expectations from the output" switch.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import { decodeHexCapture } from './hex-capture.ts';
import { validateResource } from '../validation/validate-resource.ts';
import type { FhirResource } from '../../schemas/fhir.ts';
import type { AdapterDefinition, DeviceBinding, Normalized, StreamFramerEvent } from './define-adapter.ts';

export interface FixtureRunOptions<Config, Parsed> {
  readonly adapter: AdapterDefinition<Config, Parsed>;
  /** The adapter's fixtures folder (absolute path). */
  readonly fixturesDir: string;
  /** Passed to normalize as receivedAt; fixed so results do not depend on when the tests run. */
  readonly receivedAt?: Date;
  /** A further check on every published resource; throw (or reject) to fail the case. */
  readonly checkResource?: (resource: FhirResource) => void | Promise<void>;
}

export const fixtureReceivedAt = new Date('2024-01-01T00:00:00.000Z');
export const fixtureBinding: DeviceBinding = { deviceId: 'fixture-device' };

/**
 * `input.hex` is hex text (whitespace and `#` comments ignored) so binary captures stay readable
 * in review; any other `input.*` is the raw bytes.
 */
function readInput(path: string): Buffer {
  if (!path.endsWith('.hex')) return readFileSync(path);
  return decodeHexCapture(readFileSync(path, 'utf8'), path);
}


/**
 * What a byte-stream case produces: the input is framed (in one push, and again byte by byte: both
 * must agree), every frame parsed and normalized, and everything the framer discarded or a frame
 * failed with is listed, so a fixture pins bad bytes as exactly as good ones.
 */
export interface StreamFixtureResult {
  readonly frames: number;
  readonly discarded: readonly { readonly code: string; readonly bytes: number }[];
  readonly errors: readonly { readonly frame: number; readonly code: string }[];
  readonly resources: Normalized['resources'];
  readonly unmappedCodes: readonly string[];
}

export function runStreamFixtureCase<Config, Parsed>(
  adapter: AdapterDefinition<Config, Parsed>,
  fixture: FixtureCase,
  receivedAt: Date = fixtureReceivedAt,
): StreamFixtureResult {
  const stream = adapter.stream;
  if (stream === undefined) throw new Error(`${adapter.name} is not a byte-stream adapter`);
  const config = adapter.config.parse(fixture.config);
  const events = stream.createFramer(config).push(fixture.input);
  const byteByByte = stream.createFramer(config);
  const eventsByByte = [...fixture.input].flatMap((byte) => byteByByte.push(Buffer.from([byte])));
  const summary = (list: StreamFramerEvent[]) => list.map((e) => (e.kind === 'frame' ? `frame:${e.bytes.toString('hex')}` : `discarded:${e.code}`));
  expect(summary(eventsByByte), 'framing byte by byte gives the same frames and discards').toEqual(summary(events));

  const discarded: { code: string; bytes: number }[] = [];
  const errors: { frame: number; code: string }[] = [];
  const resources: Normalized['resources'][number][] = [];
  const unmappedCodes: string[] = [];
  let frames = 0;
  for (const event of events) {
    if (event.kind === 'discarded') {
      discarded.push({ code: event.code, bytes: event.bytes.length });
      continue;
    }
    frames += 1;
    try {
      const normalized = adapter.normalize(adapter.parse(event.bytes), { config, receivedAt, binding: fixture.binding });
      resources.push(...normalized.resources);
      unmappedCodes.push(...normalized.unmappedCodes);
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      errors.push({ frame: frames, code: error.code });
    }
  }
  return { frames, discarded, errors, resources, unmappedCodes };
}

export interface FixtureCase {
  readonly name: string;
  readonly dir: string;
  readonly input: Buffer;
  readonly config: unknown;
  /** Byte-stream adapters: the configured device (binding.json; default `fixtureBinding`). */
  readonly binding: DeviceBinding;
  readonly expected: { readonly kind: 'result'; readonly value: unknown } | { readonly kind: 'error'; readonly code: string; readonly location?: unknown };
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

export function readFixtureCases(fixturesDir: string): FixtureCase[] {
  return readdirSync(fixturesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const dir = join(fixturesDir, name);
      const files = readdirSync(dir);
      const inputFile = files.find((file) => file.startsWith('input'));
      if (inputFile === undefined) throw new Error(`fixture ${name} has no input file`);
      const config = files.includes('config.json') ? readJson(join(dir, 'config.json')) : {};
      let expected: FixtureCase['expected'];
      if (files.includes('expected-error.json')) {
        const error = readJson(join(dir, 'expected-error.json')) as { code: string; location?: unknown };
        expected = { kind: 'error', code: error.code, ...(error.location !== undefined ? { location: error.location } : {}) };
      } else {
        expected = { kind: 'result', value: readJson(join(dir, 'expected.json')) };
      }
      const binding = files.includes('binding.json') ? (readJson(join(dir, 'binding.json')) as DeviceBinding) : fixtureBinding;
      return { name, dir, input: readInput(join(dir, inputFile)), config, binding, expected };
    });
}

/** Runs a case: the adapter's config parsed as the engine parses it, then parse and normalize. */
export function runFixtureCase<Config, Parsed>(
  adapter: AdapterDefinition<Config, Parsed>,
  fixture: FixtureCase,
  receivedAt: Date = fixtureReceivedAt,
): Normalized {
  const config = adapter.config.parse(fixture.config);
  return adapter.normalize(adapter.parse(fixture.input), { config, receivedAt });
}

/** Defines one test per fixture folder; call it from the adapter's *.test.ts. */
export function defineFixtureTests<Config, Parsed>(options: FixtureRunOptions<Config, Parsed>): void {
  describe(`${options.adapter.name} fixtures`, () => {
    for (const fixture of readFixtureCases(options.fixturesDir)) {
      it(fixture.name, async () => {
        if (options.adapter.stream !== undefined) {
          const result = runStreamFixtureCase(options.adapter, fixture, options.receivedAt);
          expect(JSON.parse(JSON.stringify(result))).toEqual(fixture.expected.kind === 'result' ? fixture.expected.value : { error: fixture.expected });
          for (const { resource } of result.resources) {
            validateResource(resource);
            await options.checkResource?.(resource);
          }
          return;
        }
        const run = () => runFixtureCase(options.adapter, fixture, options.receivedAt);
        if (fixture.expected.kind === 'error') {
          let thrown: unknown;
          try {
            run();
          } catch (error) {
            thrown = error;
          }
          expect(thrown, 'a GatewayError').toBeInstanceOf(GatewayError);
          const error = thrown as GatewayError;
          expect(error.code).toBe(fixture.expected.code);
          if (fixture.expected.location !== undefined) expect(error.location).toEqual(fixture.expected.location);
          return;
        }
        const normalized = run();
        // Through JSON, as the records are published: undefined members vanish, numbers print as JSON numbers.
        expect(JSON.parse(JSON.stringify(normalized))).toEqual(fixture.expected.value);
        for (const { resource } of normalized.resources) {
          validateResource(resource);
          await options.checkResource?.(resource);
        }
      });
    }
  });
}
