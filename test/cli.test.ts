/**
 * The command line as a user runs it: real processes, `vitalbridge start` against the test broker,
 * `vitalbridge send` with the example file, `vitalbridge tail` reading the records back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/transports/free-port.ts';
import { runCli as run, vitalbridgeBin } from './support/cli.ts';
import { kafkaBrokers } from './support/kafka.ts';

const started: ChildProcess[] = [];

afterAll(() => {
  for (const child of started) child.kill('SIGTERM');
});



describe('vitalbridge CLI', () => {
  it.each(['start', 'send', 'tail', 'simulate', 'replay', 'check-config', 'kafka-local'])('%s --help prints usage and exits 0', async (command) => {
    const result = await run([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: vitalbridge ${command}`);
  });

  it('lists the commands with --help and rejects an unknown one', async () => {
    expect((await run(['--help'])).stdout).toMatch(/start[\s\S]*send[\s\S]*tail/);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('refuses an invalid configuration before opening anything, listing every problem with its path', async () => {
    const result = await run(['start'], { MLLP_PORT: 'abc', HTTP_PORT: '99999', KAFKA_BROKERS: 'nohostport' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('3 problems');
    expect(result.stderr).toContain('MLLP_PORT');
    expect(result.stderr).toContain('http.port');
    expect(result.stderr).toContain('kafka.brokers.0');
  });

  it('check-config prints the effective config with tokens redacted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vb-check-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, 'http:\n  token: sup3r-secret-token-value\nmllp:\n  port: 2600\n');
    const result = await run(['check-config', '--config', file], { HTTP_ADMIN_TOKEN: 'another-secret-admin-token' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).mllp.port).toBe(2600);
    expect(JSON.parse(result.stdout).http.token).toBe('(set, redacted)');
    expect(result.stdout).not.toContain('sup3r-secret');
    expect(result.stdout).not.toContain('another-secret');
  });

  it('start + send + tail: the example monitor message comes back from Kafka as FHIR', async () => {
    const brokers = kafkaBrokers().join(',');
    const [mllpPort, httpPort] = [await freePort(), await freePort()];
    const gateway = spawn(process.execPath, [vitalbridgeBin, 'start'], {
      env: { ...process.env, KAFKA_BROKERS: brokers, MLLP_PORT: String(mllpPort), HTTP_PORT: String(httpPort), MLLP_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1' },
    });
    started.push(gateway);
    let gatewayLog = '';
    gateway.stdout?.on('data', (chunk) => (gatewayLog += chunk));
    for (let i = 0; i < 120; i += 1) {
      const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const sent = await run(['send', 'examples/philips-monitor.hl7', '--to', `127.0.0.1:${mllpPort}`]);
    expect(sent.stdout).toMatch(/EXAMPLE-0001: CA \(ACK /);
    expect(sent.code).toBe(0);

    const tailed = await run(['tail', '--topic', 'fhir.observation', '--brokers', brokers, '--idle-exit', '5']);
    expect(tailed.code).toBe(0);
    expect(tailed.stdout).toContain('source-message-id=EXAMPLE-0001');
    expect(tailed.stdout).toContain('"resourceType": "Observation"');
    expect(tailed.stdout).toContain('"value": 37.1');

    gateway.kill('SIGTERM');
    const exitCode = await new Promise((resolve) => gateway.on('close', resolve));
    expect(exitCode).toBe(0);
    expect(gatewayLog).toContain('"event":"gateway_stopped"');
  }, 120_000);
});

describe('vitalbridge replay and simulate', () => {
  const testAdapter = new URL('./support/test-line-adapter.ts', import.meta.url).pathname;

  it('replay prints the FHIR of a capture and every discard and failed frame with its code; exit 1 on a failed frame', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'vb-replay-'));
    const good = join(dir, 'good.hex');
    await writeFile(good, '# V|S9|97|70\\n\n567c53397c39377c37300a\n');
    const ok = await run(['replay', good, '--hex', '--adapter', 'test-line', '--adapter-module', testAdapter, '--received-at', '2024-05-01T10:00:00Z']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('"resourceType": "Observation"');
    expect(ok.stderr).toContain('1 frames (1 with data), 3 resources, 0 failed frames, 0 discards');

    const bad = join(dir, 'bad.txt');
    await writeFile(bad, 'noise\nV|S9|9x|70\nV|S9|97|70\n');
    const failed = await run(['replay', bad, '--adapter', 'test-line', '--adapter-module', testAdapter]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('discarded 6 bytes: stream_out_of_sync');
    expect(failed.stderr).toContain('frame 1: device_value_out_of_range');
    expect(failed.stdout).toContain('"resourceType": "Device"');
  });

  it('replay names the byte-stream adapters when the adapter is unknown', async () => {
    const result = await run(['replay', 'x.bin', '--adapter', 'no-such']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown adapter "no-such"; byte-stream adapters:');
  });

  it('simulate --pty says how to install socat when it is missing', async () => {
    const result = await run(['simulate', 'test-line', '--pty', '--adapter-module', testAdapter], { PATH: '/nonexistent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('apt-get install socat');
  });
});
