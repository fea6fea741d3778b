/**
 * `vitalbridge simulate` as a real process (a socat pty pair for --pty, or a TCP listener like a
 * terminal server for --tcp), in its own process group so its socat goes with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { killWhenWeDie } from './child-gateway.ts';
import { assertSocatInstalled } from './socat.ts';

const bin = new URL('../../bin/vitalbridge.js', import.meta.url).pathname;

export interface SimulatorProcess {
  readonly adapter: string;
  readonly child: ChildProcess;
  output(): string;
  /** Signals the whole process group (simulator and its socat). */
  signal(signal: NodeJS.Signals): void;
  kill(): Promise<void>;
}

const live = new Set<SimulatorProcess>();
process.once('exit', () => {
  for (const simulator of live) simulator.signal('SIGKILL');
});

export async function startSimulator(adapter: string, mode: { pty: string } | { tcpPort: number }, options: { speed: number; seed: number }): Promise<SimulatorProcess> {
  if ('pty' in mode) assertSocatInstalled();
  const modeArgs = 'pty' in mode ? ['--pty', '--link', mode.pty] : ['--tcp', String(mode.tcpPort)];
  const child = spawn(process.execPath, [bin, 'simulate', adapter, ...modeArgs, '--speed', String(options.speed), '--seed', String(options.seed)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  // The whole group (simulator and socat) goes if this process dies without cleaning up.
  const cancelWatchdog = child.pid !== undefined ? killWhenWeDie(-child.pid) : () => undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const simulator: SimulatorProcess = {
    adapter,
    child,
    output: () => output,
    signal(signal) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
    },
    async kill() {
      simulator.signal('SIGKILL');
      await exited;
      cancelWatchdog();
      live.delete(simulator);
    },
  };
  live.add(simulator);
  const deadline = Date.now() + 30_000;
  while (!/^(gateway side:|simulating .* on tcp)/m.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await simulator.kill();
      throw new Error(`vitalbridge simulate ${adapter} ${modeArgs.join(' ')} did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return simulator;
}
