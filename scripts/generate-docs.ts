import { writeFile } from 'node:fs/promises';
import { generatedFiles } from './generated-docs.ts';

for (const [path, render] of Object.entries(generatedFiles)) {
  await writeFile(new URL(`../${path}`, import.meta.url), render());
  process.stdout.write(`wrote ${path}\n`);
}
