/**
 * `npm run new:adapter <name>`: starts a new byte-stream adapter from adapters/_template.
 *
 * Copies adapters/_template/ to adapters/<name>/, substituting the placeholders in file names and
 * contents, registers it in adapters/index.ts (one import line, one array entry, alphabetical) and adds
 * its row to the table in adapters/README.md. The result passes `tsc`, the conventions test and its own
 * fixture test as generated.
 *
 * Placeholders (the template must type-check and its tests run as-is, so each is valid where it stands):
 *   __name__       kebab-case name          acme-spo2   (file names, prose, test titles)
 *   __Name__       PascalCase               AcmeSpo2    (types and function names)
 *   __nameCamel__  camelCase                acmeSpo2    (values)
 *   template-line  kebab-case name          acme-spo2   (the registry name literal: defineAdapter checks it is kebab-case)
 */
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const usage = `Usage: npm run new:adapter -- <name> [--root <dir>]

Creates adapters/<name>/ from adapters/_template (a working line-oriented serial adapter),
registers it in adapters/index.ts and adds its row to the table in adapters/README.md.

  <name>        kebab-case, after the protocol or vendor it speaks: acme-spo2, draeger-medibus
  --root <dir>  the project root to write into (default: this repository)
  --help        this text
`;

const kebab = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Words that name no protocol or vendor: an adapter is named after what it speaks. */
const meaninglessNames = new Set(['adapter', 'new', 'new-adapter', 'my-adapter', 'test', 'template', 'example', 'serial', 'device', 'index', 'fixtures']);

export class NewAdapterError extends Error {}

export function validateAdapterName(name: string): void {
  if (!kebab.test(name)) {
    throw new NewAdapterError(`"${name}" is not a kebab-case name: lower-case letters and digits in words joined by "-", starting with a letter (e.g. acme-spo2).`);
  }
  if (name.length > 40) throw new NewAdapterError(`"${name}" is longer than 40 characters.`);
  if (meaninglessNames.has(name)) {
    throw new NewAdapterError(`"${name}" does not say what the adapter speaks: name it after the protocol or vendor (e.g. masimo-ascii, draeger-medibus).`);
  }
}

const words = (name: string) => name.split('-');
const capitalise = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
export const pascalCase = (name: string): string => words(name).map(capitalise).join('');
export const camelCase = (name: string): string => {
  const pascal = pascalCase(name);
  return pascal.charAt(0).toLowerCase() + pascal.slice(1);
};

function substitute(text: string, name: string): string {
  return text
    .replaceAll('__nameCamel__', camelCase(name))
    .replaceAll('__Name__', pascalCase(name))
    .replaceAll('__name__', name)
    .replaceAll('template-line', name);
}

const textFile = /\.(ts|md|json|txt|yaml|yml)$/;

/** Renames and rewrites every file under `dir` (depth first, so renamed folders stay reachable). */
function substituteTree(dir: string, name: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      substituteTree(path, name);
    } else if (textFile.test(entry)) {
      // Rewritten only when it is UTF-8 text holding a placeholder: fixture inputs keep their exact bytes.
      const bytes = readFileSync(path);
      const text = bytes.toString('utf8');
      const replaced = substitute(text, name);
      if (replaced !== text && Buffer.from(text, 'utf8').equals(bytes)) writeFileSync(path, replaced);
    }
    const renamed = substitute(entry, name);
    if (renamed !== entry) renameSync(path, join(dir, renamed));
  }
}

/** Adds `import <identifier> from './<name>/index.ts';` and the array entry, both in alphabetical order. */
export function registerInIndex(source: string, name: string): string {
  const identifier = camelCase(name);
  const importLine = `import ${identifier} from './${name}/index.ts';`;
  const lines = source.split('\n');
  const importPattern = /^import (\w+) from '\.\/([^/]+)\/index\.ts';$/;
  const imports = lines.map((line, index) => ({ index, match: importPattern.exec(line) })).filter((entry) => entry.match !== null);
  if (imports.length === 0) throw new NewAdapterError('adapters/index.ts has no adapter import lines to add to.');
  if (imports.some((entry) => entry.match![1] === identifier)) throw new NewAdapterError(`adapters/index.ts already imports an adapter as ${identifier}.`);
  const before = imports.find((entry) => entry.match![2]! > name);
  lines.splice(before !== undefined ? before.index : imports.at(-1)!.index + 1, 0, importLine);
  let updated = lines.join('\n');

  const arrayPattern = /(export const adapters: readonly AnyAdapter\[\] = \[)([^\]]*)(\];)/;
  const array = arrayPattern.exec(updated);
  if (array === null) throw new NewAdapterError('adapters/index.ts has no `export const adapters: readonly AnyAdapter[] = [...]` to add to.');
  const multiline = array[2]!.includes('\n');
  const entries = array[2]!.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  // Sorted like the folders the identifiers stand for, as the file keeps them.
  const folderOf = new Map(imports.map((entry) => [entry.match![1]!, entry.match![2]!]));
  folderOf.set(identifier, name);
  entries.push(identifier);
  entries.sort((a, b) => (folderOf.get(a) ?? a).localeCompare(folderOf.get(b) ?? b));
  const oneLine = `${array[1]}${entries.join(', ')}${array[3]}`;
  const replacement = !multiline && oneLine.length <= 140 ? oneLine : `${array[1]}\n${entries.map((entry) => `  ${entry},`).join('\n')}\n${array[3]}`;
  updated = updated.replace(arrayPattern, () => replacement);
  return updated;
}

/** Adds the adapter's row to the "All adapters" table, in alphabetical order. */
export function addReadmeRow(readme: string, name: string, summary: string, transport: string): string {
  const row = `| [\`${name}\`](${name}/README.md) | ${summary} | ${transport} | generated from the template: nothing checked against a device yet |`;
  const lines = readme.split('\n');
  const rows = lines.map((line, index) => ({ index, line })).filter(({ line }) => /^\| \[`[^`]+`\]\(/.test(line));
  if (rows.length === 0) throw new NewAdapterError('adapters/README.md has no adapter table rows to add to.');
  if (rows.some(({ line }) => line.startsWith(`| [\`${name}\`]`))) throw new NewAdapterError(`adapters/README.md already has a row for ${name}.`);
  const before = rows.find(({ line }) => /^\| \[`([^`]+)`\]/.exec(line)![1]! > name);
  lines.splice(before !== undefined ? before.index : rows.at(-1)!.index + 1, 0, row);
  return lines.join('\n');
}

/** Reads a string property (`summary: '...'`) from the generated index.ts, as the README row must repeat it. */
function readStringProperty(source: string, property: string): string {
  const match = new RegExp(`^\\s*${property}: '((?:[^'\\\\]|\\\\.)*)',`, 'm').exec(source);
  if (match === null) throw new NewAdapterError(`the template's index.ts has no single-quoted ${property}.`);
  return match[1]!.replace(/\\(.)/g, '$1');
}

export interface NewAdapterResult {
  readonly dir: string;
  readonly files: readonly string[];
}

export function createAdapter(root: string, name: string): NewAdapterResult {
  validateAdapterName(name);
  const adaptersDir = join(root, 'adapters');
  const templateDir = join(adaptersDir, '_template');
  const target = join(adaptersDir, name);
  if (!existsSync(templateDir)) throw new NewAdapterError(`no template at ${templateDir}.`);
  if (existsSync(target)) throw new NewAdapterError(`adapters/${name}/ already exists: pick another name, or edit that adapter.`);
  const indexPath = join(adaptersDir, 'index.ts');
  const readmePath = join(adaptersDir, 'README.md');
  // Compute every edit before writing anything, so a refusal leaves the tree as it was.
  const index = registerInIndex(readFileSync(indexPath, 'utf8'), name);
  const templateIndex = substitute(readFileSync(join(templateDir, 'index.ts'), 'utf8'), name);
  const readme = addReadmeRow(readFileSync(readmePath, 'utf8'), name, readStringProperty(templateIndex, 'summary'), readStringProperty(templateIndex, 'transport'));

  cpSync(templateDir, target, { recursive: true });
  substituteTree(target, name);
  writeFileSync(indexPath, index);
  writeFileSync(readmePath, readme);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(relative(root, path));
    }
  };
  walk(target);
  return { dir: target, files };
}

function nextSteps(name: string): string {
  return `Created adapters/${name}/, registered it in adapters/index.ts and added its row to adapters/README.md.
It already runs the template's example protocol. Check it:

  npx tsc --noEmit && npx vitest run adapters/${name} test/conventions.test.ts

Then make it speak your device's protocol, in this order (each file's header says what to change):
  1. adapters/${name}/index.ts     summary (and the same text in the adapters/README.md row), serial defaults, expected interval
  2. adapters/${name}/config.ts    the adapter's settings
  3. adapters/${name}/framing.ts   bytes -> frames (line end, checksum, record start)
  4. adapters/${name}/parse.ts     frame -> typed record
  5. adapters/${name}/normalize.ts record -> Readings -> FHIR via src/fhir (metrics, units, time, identity)
  6. adapters/${name}/simulator.ts what the device writes (and answers)
  7. adapters/${name}/fixtures/    real captures with hand-checked expected.json; delete example-record
  8. adapters/${name}/README.md    every TODO, and "What was checked against what"
  9. adapters/README.md        the Status cell of the row
Run \`npm test\` before you commit.
`;
}

function main(argv: readonly string[]): number {
  const args = [...argv];
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  let root = fileURLToPath(new URL('..', import.meta.url));
  const rootAt = args.indexOf('--root');
  if (rootAt !== -1) {
    const value = args[rootAt + 1];
    if (value === undefined || value.startsWith('--')) {
      process.stderr.write(`--root needs a directory\n\n${usage}`);
      return 2;
    }
    root = resolve(value);
    args.splice(rootAt, 2);
  }
  const unknown = args.find((arg) => arg.startsWith('-'));
  if (unknown !== undefined || args.length !== 1) {
    process.stderr.write(`${unknown !== undefined ? `unknown option ${unknown}` : 'give exactly one adapter name'}\n\n${usage}`);
    return 2;
  }
  try {
    const result = createAdapter(root, args[0]!);
    process.stdout.write(`${result.files.map((file) => `  created ${file}`).join('\n')}\n\n${nextSteps(args[0]!)}`);
    return 0;
  } catch (error) {
    if (error instanceof NewAdapterError) {
      process.stderr.write(`new:adapter: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
