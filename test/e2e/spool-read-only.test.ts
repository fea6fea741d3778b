/**
 * `delivery.ack: spool` on a spool directory the gateway cannot write: a real read-only file system
 * (a tmpfs mounted `ro` in a mount namespace of the gateway's own, `unshare --mount`, as root; the
 * same way the disk-full fault test gets its small disk). The gateway must not start on a spool it
 * cannot keep: `vitalbridge start` exits 1 with spool_unusable, the errno and what to do, before the
 * MLLP listener opens, so no sender is ever told CA for a message that could not be kept.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vitalbridgeBin, type CliResult } from '../support/cli.ts';
import { kafkaBrokers } from '../support/kafka.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitalbridge-ro-spool-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `vitalbridge start` with its spool dir on a read-only tmpfs only it sees. */
function startOnReadOnlySpool(spoolDir: string): Promise<CliResult> {
  const script = 'mount -t tmpfs -o ro,size=1m tmpfs "$1" || exit 97; shift; exec "$@"';
  return new Promise((resolve) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', spoolDir, process.execPath, vitalbridgeBin, 'start'], {
      env: { ...process.env, DELIVERY_ACK: 'spool', SPOOL_DIR: spoolDir, KAFKA_BROKERS: kafkaBrokers().join(','), MLLP_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('delivery.ack: spool on a read-only file system', () => {
  it('vitalbridge start exits 1 with spool_unusable, EROFS and what to do, before the MLLP listener opens', async () => {
    const result = await startOnReadOnlySpool(dir);
    expect(result.code, `stderr: ${result.stderr}`).toBe(1);
    expect(result.stderr).toMatch(/^vitalbridge start: spool_unusable: /);
    expect(result.stderr).toContain('EROFS');
    expect(result.stderr).toContain(dir);
    expect(result.stderr).toMatch(/SPOOL_DIR.*delivery\.ack: kafka/);
    expect(result.stderr.split('\n').filter((line) => /^\s+at /.test(line))).toEqual([]); // a message, not a stack trace
    const events = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).not.toContain('mllp_listening');
  }, 90_000);
});
