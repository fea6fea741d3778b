/**
 * Real pty pairs from Debian's socat, for serial transport tests. socat missing is a failure, never
 * a skip: `.ci/run` installs it (apt-get install socat).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PtyPair {
  /** The gateway's end (what a device config's transport.path names). */
  readonly gatewayPath: string;
  /** The device's (simulator's) end. */
  readonly devicePath: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export function assertSocatInstalled(): void {
  const probe = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  if (probe.error !== undefined) {
    throw new Error('socat is required for the serial (pty) tests and is missing: apt-get install socat');
  }
}

/** Starts `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B` and waits until both links exist. */
export async function startPtyPair(gatewayPath: string, devicePath: string): Promise<PtyPair> {
  assertSocatInstalled();
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${gatewayPath}`, `pty,raw,echo=0,link=${devicePath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 5_000;
  while (!(existsSync(gatewayPath) && existsSync(devicePath) && /starting data transfer loop/.test(stderr))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not create the pty pair: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    gatewayPath,
    devicePath,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
