/**
 * `npm run new:adapter`: the generated adapter type-checks, passes the conventions test and its own
 * fixture test as generated, and bad names or an existing folder are refused without touching anything.
 * Everything runs in a temporary copy of the project (node_modules symlinked): the real adapters/ is
 * never modified. The type check covers adapters/ (with the template and the new adapter) and all it
 * imports, with the project's compiler options; `npm run typecheck` covers the rest.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { camelCase, pascalCase, validateAdapterName } from '../scripts/new-adapter.ts';

const run = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;
const bin = (path: string) => join(repo, 'node_modules', path);
const generator = join(repo, 'scripts', 'new-adapter.ts');

/** Runs a node program; resolves with its exit code and output instead of rejecting on a non-zero exit. */
async function node(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: options.cwd ?? repo, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const newAdapter = (root: string, ...args: string[]) => node([bin('tsx/dist/cli.mjs'), generator, ...args, '--root', root]);

/** The environment for a nested vitest: no inherited VITEST_* state, and a placeholder broker (these tests need none). */
function nestedEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'TEST' && key !== 'NODE_ENV'));
  return { ...env, KAFKA_BROKERS: process.env.KAFKA_BROKERS || '127.0.0.1:1', FORCE_COLOR: '0', NO_COLOR: '1' };
}

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vitalbridge-new-adapter-'));
  for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'vitest.config.ts', 'src', 'schemas', 'adapters']) {
    if (existsSync(join(repo, path))) cpSync(join(repo, path), join(root, path), { recursive: true });
  }
  mkdirSync(join(root, 'test'));
  cpSync(join(repo, 'test', 'support'), join(root, 'test', 'support'), { recursive: true });
  cpSync(join(repo, 'test', 'conventions.test.ts'), join(root, 'test', 'conventions.test.ts'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
});

afterAll(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe('new:adapter', () => {
  it('makes names into identifiers', () => {
    expect(pascalCase('acme-spo2')).toBe('AcmeSpo2');
    expect(camelCase('nonin-oem3')).toBe('noninOem3');
    expect(camelCase('acme')).toBe('acme');
  });

  it('generates an adapter that type-checks, follows the conventions and passes its own fixture test', { timeout: 120_000 }, async () => {
    const generated = await newAdapter(root, 'acme-spo2');
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    expect(generated.stdout).toContain('Created adapters/acme-spo2/');
    expect(generated.stdout).toContain('adapters/acme-spo2/parse.ts');

    const dir = join(root, 'adapters', 'acme-spo2');
    expect(existsSync(join(dir, 'acme-spo2.test.ts'))).toBe(true);
    expect(existsSync(join(dir, 'fixtures', 'example-record', 'expected.json'))).toBe(true);
    // Fixture inputs keep their exact bytes (the template's holds non-UTF-8 noise).
    expect(readFileSync(join(dir, 'fixtures', 'example-record', 'input.txt'))).toEqual(readFileSync(join(repo, 'adapters', '_template', 'fixtures', 'example-record', 'input.txt')));
    for (const file of ['index.ts', 'config.ts', 'framing.ts', 'parse.ts', 'normalize.ts', 'simulator.ts', 'README.md', 'acme-spo2.test.ts']) {
      expect(readFileSync(join(dir, file), 'utf8'), `${file} has no placeholder left`).not.toMatch(/__name__|__Name__|__nameCamel__|template-line/);
    }
    expect(readFileSync(join(dir, 'index.ts'), 'utf8')).toContain("name: 'acme-spo2',");
    const index = readFileSync(join(root, 'adapters', 'index.ts'), 'utf8');
    expect(index).toContain("import acmeSpo2 from './acme-spo2/index.ts';");
    expect(index).toMatch(/= \[acmeSpo2, /);
    expect(readFileSync(join(root, 'adapters', 'README.md'), 'utf8')).toMatch(/^\| \[`acme-spo2`\]\(acme-spo2\/README\.md\) \| .+ \| byte-stream \| /m);

    // The project's settings, over adapters/ and everything it imports: what the new adapter can break.
    // (Other engineers' work in progress elsewhere, e.g. an unfinished test helper, does not fail this test.)
    writeFileSync(join(root, 'tsconfig.adapters.json'), JSON.stringify({ extends: './tsconfig.json', include: ['adapters', 'test/conventions.test.ts'] }));
    const [typecheck, tests] = await Promise.all([
      node([bin('typescript/bin/tsc'), '--noEmit', '-p', join(root, 'tsconfig.adapters.json')], { cwd: root }),
      node([bin('vitest/vitest.mjs'), 'run', 'adapters/acme-spo2', 'test/conventions.test.ts'], { cwd: root, env: nestedEnv() }),
    ]);
    expect(typecheck.stdout + typecheck.stderr, 'tsc --noEmit').toBe('');
    expect(typecheck.code).toBe(0);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/Tests: [1-9]\d* passed, 0 failed, 0 skipped/);
    expect(tests.stdout).toContain('acme-spo2.test.ts');
    expect(tests.stdout).toContain('conventions.test.ts');
  });

  it('refuses an existing folder, and leaves the registry and the table as they were', async () => {
    const before = [readFileSync(join(root, 'adapters', 'index.ts'), 'utf8'), readFileSync(join(root, 'adapters', 'README.md'), 'utf8')];
    for (const name of ['masimo-ascii', 'acme-spo2']) {
      const refused = await newAdapter(root, name);
      expect(refused.code, name).toBe(1);
      expect(refused.stderr).toContain(`adapters/${name}/ already exists`);
    }
    expect([readFileSync(join(root, 'adapters', 'index.ts'), 'utf8'), readFileSync(join(root, 'adapters', 'README.md'), 'utf8')]).toEqual(before);
  });

  it('refuses a name that is not kebab-case or says nothing about the protocol, creating nothing', async () => {
    for (const name of ['AcmeSpo2', 'acme_spo2', 'acme--spo2', 'acme-', '2acme', 'acme spo2', '_template', 'template', 'adapter', 'a'.repeat(41)]) {
      expect(() => validateAdapterName(name), name).toThrow();
    }
    const refused = await newAdapter(root, 'Acme_SpO2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('kebab-case');
    expect(existsSync(join(root, 'adapters', 'Acme_SpO2'))).toBe(false);
    expect((await newAdapter(root, 'test')).stderr).toContain('protocol or vendor');
  });

  it('prints its usage for --help and for a missing name', async () => {
    const help = await newAdapter(root, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run new:adapter');
    const missing = await newAdapter(root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Usage:');
  });
});
