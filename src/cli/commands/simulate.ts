import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import type { AnyAdapter, DeviceSimulator } from '../../adapter-kit/define-adapter.ts';
import { byteStreamAdapterNames, loadAdapter } from '../../adapter-kit/load-adapter.ts';
import { hostPortOption, integerOption, stringOption, UsageError, type CommandSpec } from '../args.ts';
import { shutdownSignal } from '../signals.ts';

export const simulateCommand: CommandSpec = {
  name: 'simulate',
  summary: "Run a device simulator (the adapter's own) on a pty pair, a TCP port, or into a gateway's TCP listener.",
  usage: 'vitalbridge simulate <adapter> (--pty [--link path] | --tcp <port> | --connect host:port) [--speed n] [--seed n]',
  help: `Options:
  --pty                 Make a pty pair with socat (Debian: apt-get install socat) and serve the
                        device end; prints the gateway end to put in devices[].transport.path.
  --link <path>         With --pty: also make <path> a symlink to the gateway end, so the config can
                        keep one path across simulator restarts.
  --tcp <port>          Listen on <port> like a terminal server (the gateway's tcp-client connects);
                        --host sets the address (default 127.0.0.1).
  --connect <host:port> Connect to a gateway device listener (tcp-server transport); reconnects.
  --speed <n>           Rate multiplier (default 1 = the device's real rate).
  --seed <n>            Seed for the slowly varying values (default 1).
  --serial <sn>         Serial number the simulated device reports.
  --adapter-module <f>  Load the adapter from a module instead of the registry (one being written).
  -h, --help            Show this help.

Runs until SIGINT/SIGTERM. Byte-stream adapters: ${byteStreamAdapterNames().join(', ') || '(none registered yet)'}.

Examples:
  vitalbridge simulate masimo-ascii --pty --link /tmp/masimo
      then in the gateway config: transport: { kind: serial, path: /tmp/masimo }
  vitalbridge simulate draeger-medibus --tcp 4001 --speed 10
      then: transport: { kind: tcp-client, host: 127.0.0.1, port: 4001 }
  vitalbridge simulate nonin-oem3 --connect 127.0.0.1:5001
      with: transport: { kind: tcp-server, port: 5001 }`,
  options: {
    pty: { type: 'boolean' },
    link: { type: 'string' },
    tcp: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string' },
    speed: { type: 'string' },
    seed: { type: 'string' },
    serial: { type: 'string' },
    'adapter-module': { type: 'string' },
  },
  allowPositionals: true,
  async run(args) {
    const [name, ...extra] = args.positionals;
    if (name === undefined || extra.length > 0) throw new UsageError('name one adapter, e.g. vitalbridge simulate masimo-ascii --pty');
    const modes = [args.values.pty === true, stringOption(args, 'tcp') !== undefined, stringOption(args, 'connect') !== undefined].filter(Boolean).length;
    if (modes !== 1) throw new UsageError('choose exactly one of --pty, --tcp <port>, --connect host:port');
    const speedText = stringOption(args, 'speed') ?? '1';
    const speed = Number(speedText);
    if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed expects a positive number, got "${speedText}"`);
    const seed = integerOption(args, 'seed', 1);
    const serialNumber = stringOption(args, 'serial');
    const adapter = await loadAdapter(name, stringOption(args, 'adapter-module'));
    if (adapter.stream === undefined) throw new UsageError(`"${adapter.name}" is not a byte-stream adapter (nothing to simulate on a serial line)`);
    const newSimulator = (): DeviceSimulator =>
      adapter.stream!.createSimulator({ speed, seed, ...(serialNumber !== undefined ? { serialNumber } : {}) });

    const stopped = shutdownSignal();
    let cleanup: () => Promise<void>;
    if (args.values.pty === true) cleanup = await servePty(adapter, newSimulator, stringOption(args, 'link'));
    else if (stringOption(args, 'tcp') !== undefined) {
      const port = integerOption(args, 'tcp', 0);
      cleanup = await serveTcp(adapter, newSimulator, stringOption(args, 'host') ?? '127.0.0.1', port);
    } else cleanup = dialTcp(adapter, newSimulator, hostPortOption(stringOption(args, 'connect') as string, '--connect'));
    await stopped;
    await cleanup();
    return 0;
  },
};

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function attach(simulator: DeviceSimulator, write: (bytes: Buffer) => void): DeviceSimulator {
  simulator.start({ write, now: () => new Date() });
  return simulator;
}

async function servePty(adapter: AnyAdapter, newSimulator: () => DeviceSimulator, link: string | undefined): Promise<() => Promise<void>> {
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).error !== undefined) {
    throw new Error('--pty needs socat, which is not installed: apt-get install socat (Debian/Ubuntu)');
  }
  if (link !== undefined) {
    // A link left behind by a simulator that was killed: replace it (only ever a symlink).
    try {
      if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
      else throw new Error(`--link ${link} exists and is not a symlink; refusing to replace it`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const socat: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0${link !== undefined ? `,link=${link}` : ''}`, 'pty,raw,echo=0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ptys = await new Promise<string[]>((resolve, reject) => {
    let stderr = '';
    const found: string[] = [];
    socat.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const match of stderr.matchAll(/PTY is (\S+)/g)) if (!found.includes(match[1] as string)) found.push(match[1] as string);
      if (found.length === 2 && /starting data transfer loop/.test(stderr)) resolve(found);
    });
    socat.once('exit', (code) => reject(new Error(`socat exited (${code}): ${stderr.trim()}`)));
  });
  const [gatewaySide, deviceSide] = ptys as [string, string];
  const port = new SerialPort({ path: deviceSide, baudRate: adapter.stream?.serialDefaults.baudRate ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  const simulator = attach(newSimulator(), (bytes) => port.write(bytes));
  port.on('data', (chunk: Buffer) => simulator.receive(chunk));
  port.on('error', () => undefined);
  say(`simulating ${adapter.name} on a pty pair`);
  say(`gateway side: ${link ?? gatewaySide}`);
  say(`config: { id: sim-${adapter.name}, adapter: ${adapter.name}, transport: { kind: serial, path: ${link ?? gatewaySide} } }`);
  return async () => {
    simulator.stop();
    await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
    socat.kill('SIGTERM');
  };
}

async function serveTcp(adapter: AnyAdapter, newSimulator: () => DeviceSimulator, host: string, port: number): Promise<() => Promise<void>> {
  let current: { socket: Socket; simulator: DeviceSimulator } | undefined;
  const server = createServer((socket) => {
    // Like a terminal server port: one client at a time; a new one takes over.
    if (current !== undefined) {
      current.simulator.stop();
      current.socket.destroy();
    }
    socket.setNoDelay(true);
    const simulator = attach(newSimulator(), (bytes) => socket.write(bytes));
    const mine = { socket, simulator };
    current = mine;
    socket.on('data', (chunk) => simulator.receive(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      simulator.stop();
      if (current === mine) current = undefined;
    });
    say(`gateway connected from ${socket.remoteAddress}:${socket.remotePort}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  say(`simulating ${adapter.name} on tcp ${host}:${bound}`);
  say(`config: { id: sim-${adapter.name}, adapter: ${adapter.name}, transport: { kind: tcp-client, host: ${host}, port: ${bound} } }`);
  return async () => {
    current?.simulator.stop();
    current?.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

function dialTcp(adapter: AnyAdapter, newSimulator: () => DeviceSimulator, target: { host: string; port: number }): () => Promise<void> {
  let stopped = false;
  let current: { socket: Socket; simulator?: DeviceSimulator } | undefined;
  let retry: NodeJS.Timeout | undefined;
  const dial = () => {
    if (stopped) return;
    const socket = connect(target);
    const entry: { socket: Socket; simulator?: DeviceSimulator } = { socket };
    current = entry;
    socket.setNoDelay(true);
    socket.once('connect', () => {
      say(`connected to ${target.host}:${target.port}`);
      entry.simulator = attach(newSimulator(), (bytes) => socket.write(bytes));
      socket.on('data', (chunk) => entry.simulator?.receive(chunk));
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      entry.simulator?.stop();
      if (!stopped) retry = setTimeout(dial, 1_000);
    });
  };
  say(`simulating ${adapter.name}, connecting to ${target.host}:${target.port}`);
  dial();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    current?.simulator?.stop();
    current?.socket.destroy();
  };
}
