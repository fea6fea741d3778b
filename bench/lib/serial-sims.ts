/**
 * The four byte-stream simulators in the load-generator process, each on a TCP port like a terminal
 * server (what `vitalbridge simulate <adapter> --tcp <port> --speed 100` does); the gateway dials them
 * with tcp-client transports.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { findAdapter } from '../../adapters/index.ts';
import type { DeviceSimulator } from '../../src/adapter-kit/define-adapter.ts';

export const SERIAL_ADAPTERS = ['masimo-ascii', 'nonin-oem3', 'draeger-medibus', 'philips-intellivue'] as const;

export interface RunningSimulators {
  readonly devices: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startSimulators(speed: number): Promise<RunningSimulators> {
  const servers: Server[] = [];
  const live: { socket: Socket; simulator: DeviceSimulator }[] = [];
  const devices: Record<string, unknown>[] = [];
  for (const [i, name] of SERIAL_ADAPTERS.entries()) {
    const adapter = findAdapter(name);
    if (adapter?.stream === undefined) throw new Error(`${name} is not a byte-stream adapter`);
    const stream = adapter.stream;
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      const simulator = stream.createSimulator({ speed, seed: i + 1 });
      simulator.start({ write: (bytes) => void socket.write(bytes), now: () => new Date() });
      const entry = { socket, simulator };
      live.push(entry);
      socket.on('data', (chunk: Buffer) => simulator.receive(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => simulator.stop());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    devices.push({
      id: `bench-${name}`,
      adapter: name,
      transport: { kind: 'tcp-client', host: '127.0.0.1', port },
      patient: { identifier: `BENCH-${i + 1}` },
      location: `Bench ward, bed ${i + 1}`,
    });
  }
  return {
    devices,
    async stop() {
      for (const { socket, simulator } of live) {
        simulator.stop();
        socket.destroy();
      }
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
