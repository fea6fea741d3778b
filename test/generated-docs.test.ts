import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../scripts/generated-docs.ts';

describe('generated files match their sources (run `npm run docs` after changing a schema or the error catalogue)', () => {
  for (const [path, render] of Object.entries(generatedFiles)) {
    it(path, async () => {
      const committed = await readFile(new URL(`../${path}`, import.meta.url), 'utf8');
      expect(committed).toBe(render());
    });
  }
});
