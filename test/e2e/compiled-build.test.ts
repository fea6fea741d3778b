/**
 * `npm run build` (scripts/build.ts): the compiled gateway runs the whole path — MLLP in, FHIR on
 * Kafka (through the pipeline worker thread), the dashboard page — from plain JavaScript, so nothing the code reads at run time is left out
 * of dist/. And bin/launcher.js never runs a build older than the sources.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInfoFile, compiledEntry, gatewayEnvironment, gatewayNodeFlags, sourceRoots } from '../../bin/launcher.js';
import { build } from '../../scripts/build.ts';
import { createChildGateway, type ChildGateway } from '../support/child-gateway.ts';
import { kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { sendForAck } from '../support/send-for-ack.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
// Inside the repository, so the compiled modules resolve node_modules as dist/ does.
const outDir = join(repoRoot, 'test-artifacts', `build-${randomUUID().slice(0, 8)}`);
let gateway: ChildGateway | undefined;

describe('the compiled gateway (npm run build)', () => {
  beforeAll(() => {
    build(repoRoot, outDir);
  }, 180_000);

  afterAll(async () => {
    await gateway?.dispose();
    rmSync(outDir, { recursive: true, force: true });
  }, 60_000);

  it('takes a PCD-01 message over MLLP, publishes its Observations with their LOINC codes, and serves the dashboard page (GET /), run with the node flags and environment of the image', async () => {
    gateway = await createChildGateway({ brokers: kafkaBrokers(), name: 'compiled', entry: join(outDir, 'src', 'cli', 'main.js'), nodeFlags: gatewayNodeFlags, env: gatewayEnvironment });
    await gateway.start();
    expect(await sendForAck(gateway.mllpPort, pcd01Message({ controlId: 'BUILD-1' }))).toBe('CA');
    const records = await readAll(kafkaBrokers(), gateway.topics.observation, { expected: 3, timeoutMs: 30_000 }); // SpO2, pulse rate, the blood-pressure panel
    const codings = records.map((record) => (JSON.parse(record.value) as { code: { coding: { system: string; code: string }[] } }).code.coding);
    // The terminology tables (JSON files read at run time) mapped MDC 150456 to LOINC 59408-5.
    expect(codings.some((coding) => coding.some((c) => c.system === 'http://loinc.org' && c.code === '59408-5'))).toBe(true);
    const page = await fetch(`http://127.0.0.1:${gateway.httpPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    // The message went through the compiled pipeline worker (dist/src/pipeline/pipeline-worker.js).
    expect(gateway.logEvents().filter(({ event }) => event === 'pipeline_workers_started')).toEqual([expect.objectContaining({ threads: 1 })]);
  }, 120_000);
});

describe('gatewayNodeFlags (bin/launcher.js): the node flags of the image', () => {
  it('are the flags the Dockerfile ENTRYPOINT gives node, so the bench measures the gateway as the image runs it', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))?.[1];
    expect(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT').toBeDefined();
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...gatewayNodeFlags, 'bin/vitalbridge.js']);
  });

  it('are the flags and environment `npm start` gives node', () => {
    const scripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const environment = Object.entries(gatewayEnvironment).map(([name, value]) => `${name}=${value}`);
    expect(scripts.start).toBe([...environment, 'node', ...gatewayNodeFlags, 'bin/vitalbridge.js', 'start'].join(' '));
  });

  it('with gatewayEnvironment, the environment the Dockerfile sets (ENV lines)', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const set = Object.fromEntries([...dockerfile.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((match) => [match[1], match[2]]));
    expect(set).toMatchObject(gatewayEnvironment);
  });
});

describe('bin/launcher.js: which code bin/vitalbridge.js runs', () => {
  const root = mkdtempSync(join(tmpdir(), 'vb-launcher-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it('runs dist/ only while the build is newer than every source file', () => {
    for (const name of sourceRoots) mkdirSync(join(root, name, 'deep'), { recursive: true });
    const source = join(root, 'src', 'deep', 'module.ts');
    writeFileSync(source, 'export {};\n');
    at(source, 1_000);
    expect(compiledEntry(root), 'no build').toBeUndefined();

    const entry = join(root, 'dist', 'src', 'cli', 'main.js');
    mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(entry, '');
    writeFileSync(join(root, 'dist', buildInfoFile), '{}\n');
    at(join(root, 'dist', buildInfoFile), 2_000);
    expect(compiledEntry(root), 'build newer than the sources').toBe(entry);

    at(source, 3_000);
    expect(compiledEntry(root), 'a source edited after the build').toBeUndefined();

    // A test file changed after the build does not make the build stale: tests are not compiled.
    at(source, 1_000);
    const testFile = join(root, 'adapters', 'deep', 'parse.test.ts');
    writeFileSync(testFile, '');
    at(testFile, 3_000);
    expect(compiledEntry(root)).toBe(entry);
  });
});
