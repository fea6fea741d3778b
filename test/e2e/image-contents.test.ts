/**
 * The gateway image's contents, assembled as the Dockerfile assembles them but without Docker (there is
 * no engine here): the build stage's `npm run build` and `npm prune --omit=dev`, then what the final
 * stage copies (the package files, the pruned node_modules, bin/, dist/) in a directory of their own,
 * outside the repository, so that nothing can resolve the repository's dev dependencies. Run as the
 * image runs it (its ENTRYPOINT's node flags, its ENV), it must take a PCD-01 message over MLLP to
 * Kafka and pass the image's HEALTHCHECK. This catches what test/e2e/compiled-build.test.ts cannot: a
 * module the compiled code imports that is only a devDependency, or a file dist/ reads that the final
 * stage leaves out.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnvironment, gatewayNodeFlags } from '../../bin/launcher.js';
import { build } from '../../scripts/build.ts';
import { createChildGateway, type ChildGateway } from '../support/child-gateway.ts';
import { kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { sendForAck } from '../support/send-for-ack.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
/** The final stage: everything after the last FROM. */
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const imageDir = mkdtempSync(join(tmpdir(), 'vitalbridge-image-'));
/** The image's ENV (gatewayEnvironment, kept equal to the Dockerfile's by compiled-build.test.ts) and NODE_ENV. */
const imageEnvironment = { ...gatewayEnvironment, NODE_ENV: 'production' };
let gateway: ChildGateway | undefined;

function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n${result.stderr}`);
}

describe('the image contents (Dockerfile, assembled without Docker)', () => {
  beforeAll(() => {
    // What the final stage copies, so that this test assembles the same (a change there must change this test).
    expect(finalStage.match(/^COPY .*$/gm)).toEqual([
      'COPY package.json package-lock.json ./',
      'COPY --from=build /app/node_modules ./node_modules',
      'COPY bin ./bin',
      'COPY --from=build /app/dist ./dist',
    ]);
    expect(dockerfile).toContain('RUN npm run build && npm prune --omit=dev --no-audit --no-fund');
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, file), join(imageDir, file));
    cpSync(join(repoRoot, 'bin'), join(imageDir, 'bin'), { recursive: true });
    // The build stage's node_modules: `npm ci` (patches applied) as in the repository, then pruned.
    run('cp', ['-a', join(repoRoot, 'node_modules'), join(imageDir, 'node_modules')], repoRoot);
    run('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund', '--offline'], imageDir);
    build(repoRoot, join(imageDir, 'dist'));
  }, 180_000);

  afterAll(async () => {
    await gateway?.dispose();
    rmSync(imageDir, { recursive: true, force: true });
  }, 60_000);

  it('holds the production dependencies only: no dev-only package is left to hide a missing one', () => {
    // The lockfile marks each package only dev dependencies need ("dev": true); npm prune --omit=dev removes those.
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true).map(([path]) => path);
    expect(devOnly).toContain('node_modules/typescript');
    expect(devOnly.filter((path) => existsSync(join(imageDir, path)))).toEqual([]);
    expect(existsSync(join(imageDir, 'node_modules', '@platformatic', 'kafka'))).toBe(true);
    expect(existsSync(join(imageDir, 'src'))).toBe(false);
  });

  it('answers --help, run as the ENTRYPOINT runs it', () => {
    const result = spawnSync(process.execPath, [...gatewayNodeFlags, join(imageDir, 'bin', 'vitalbridge.js'), '--help'], { cwd: imageDir, encoding: 'utf8', env: { ...process.env, ...imageEnvironment } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Run the gateway: MLLP listener');
  });

  it('takes a PCD-01 message over MLLP to Kafka and passes the HEALTHCHECK, run with the image entrypoint flags and environment', async () => {
    gateway = await createChildGateway({
      brokers: kafkaBrokers(),
      name: 'image',
      entry: join(imageDir, 'bin', 'vitalbridge.js'),
      nodeFlags: gatewayNodeFlags,
      env: imageEnvironment,
    });
    await gateway.start();
    expect(await sendForAck(gateway.mllpPort, pcd01Message({ controlId: 'IMAGE-1' }))).toBe('CA');
    // SpO2, pulse rate and the blood-pressure panel, coded from the terminology tables (JSON files dist/ reads at run time).
    const records = await readAll(kafkaBrokers(), gateway.topics.observation, { expected: 3, timeoutMs: 30_000 });
    const loinc = records.flatMap((record) => (JSON.parse(record.value) as { code: { coding: { system: string; code: string }[] } }).code.coding.filter((c) => c.system === 'http://loinc.org').map((c) => c.code));
    expect(records).toHaveLength(3);
    expect(loinc).toEqual(expect.arrayContaining(['59408-5', '85354-9']));
    // The compiled pipeline worker (dist/src/pipeline/pipeline-worker.js) took the message.
    expect(gateway.logEvents().filter(({ event }) => event === 'pipeline_workers_started')).toEqual([expect.objectContaining({ threads: 1 })]);

    // The HEALTHCHECK's own command, as the image runs it.
    const healthcheck = /^\s*CMD node -e "(.*)"$/m.exec(finalStage.slice(finalStage.indexOf('HEALTHCHECK')))?.[1];
    expect(healthcheck, 'the Dockerfile HEALTHCHECK runs node -e "..."').toBeDefined();
    const env = { ...process.env, HTTP_PORT: String(gateway.httpPort) };
    const healthcheckStatus = () => spawnSync(process.execPath, ['-e', healthcheck ?? ''], { cwd: imageDir, env, timeout: 3_000 }).status;
    expect(healthcheckStatus()).toBe(0);
    await gateway.stop();
    expect(healthcheckStatus()).toBe(1);
  }, 120_000);
});
