/**
 * Folder-driven adapter tests (after Telegraf's testcases/): one vitest test per folder under an
 * adapter's fixtures/, each holding
 * - `input.*`: the frame bytes exactly as a device sends them;
 * - `expected.json`: the Normalized result (resources with their keys), or
 *   `expected-error.json`: `{ "code": <catalogue code>, "location"?: <HL7 ERR-2 location> }`;
 * - optionally `config.json`: the adapter config for this case (default `{}`, i.e. the defaults).
 *
 * Every published resource is also checked with our strict schemas and, when given, by `checkResource`
 * (e.g. the full-spec FHIR validator). Expected files are written and checked by hand against the
 * standards; there is deliberately no "update the expectations from the output" switch.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import { validateResource } from '../validation/validate-resource.ts';
import type { FhirResource } from '../../schemas/fhir.ts';
import type { AdapterDefinition, Normalized } from './define-adapter.ts';

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

export interface FixtureCase {
  readonly name: string;
  readonly dir: string;
  readonly input: Buffer;
  readonly config: unknown;
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
      return { name, dir, input: readFileSync(join(dir, inputFile)), config, expected };
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
