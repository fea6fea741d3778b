/**
 * Conventions every adapter follows, so adding one stays "one folder, one registry line":
 * registered, named after its folder, with a README, fixtures and tests, and listed in
 * adapters/README.md's table.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapters } from '../adapters/index.ts';

const adaptersDir = new URL('../adapters/', import.meta.url).pathname;
const folders = readdirSync(adaptersDir).filter(
  (entry) => statSync(join(adaptersDir, entry)).isDirectory() && !entry.startsWith('_') && !entry.startsWith('.'),
);

describe('adapter conventions', () => {
  it('every adapter folder is registered in adapters/index.ts, and every registered adapter has a folder', () => {
    expect(adapters.map((a) => a.name).sort()).toEqual([...folders].sort());
  });

  for (const folder of folders) {
    describe(folder, () => {
      const dir = join(adaptersDir, folder);
      it('has README.md, index.ts, at least one *.test.ts and at least one fixture case', () => {
        expect(existsSync(join(dir, 'README.md'))).toBe(true);
        expect(existsSync(join(dir, 'index.ts'))).toBe(true);
        expect(readdirSync(dir).some((f) => f.endsWith('.test.ts'))).toBe(true);
        const fixtures = join(dir, 'fixtures');
        expect(existsSync(fixtures) && readdirSync(fixtures).length).toBeGreaterThan(0);
      });

      it('each fixture case has an input and exactly one expectation', () => {
        const fixtures = join(dir, 'fixtures');
        for (const name of readdirSync(fixtures)) {
          const files = readdirSync(join(fixtures, name));
          expect(files.some((f) => f.startsWith('input')), `${name} has an input file`).toBe(true);
          const expectations = files.filter((f) => f === 'expected.json' || f === 'expected-error.json');
          expect(expectations, `${name} has one expectation`).toHaveLength(1);
        }
      });

      it('is listed in the adapters/README.md table with its summary', () => {
        const readme = readFileSync(join(adaptersDir, 'README.md'), 'utf8');
        const adapter = adapters.find((a) => a.name === folder);
        const row = readme.split('\n').find((line) => line.startsWith(`| [\`${folder}\`]`));
        expect(row, `a table row for ${folder}`).toBeDefined();
        expect(row).toContain(adapter?.summary ?? '(unregistered)');
        expect(row).toContain(adapter?.transport ?? '(unregistered)');
      });
    });
  }
});
