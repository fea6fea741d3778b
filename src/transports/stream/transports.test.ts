/**
 * The byte-stream transports over real parts: pty pairs made by socat (the serialport binding opens
 * them like hardware ports) and real TCP sockets. socat missing fails these tests (never skips).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, describe, expect, it } from 'vitest';
import { startPtyPair } from '../../../test/support/socat.ts';
import { createByteStreamTransport, type ByteStreamTransport } from './index.ts';
import { freePort } from '../free-port.ts';

const fast = { initialDelayMs: 50, maxDelayMs: 200, multiplier: 2, jitter: 0.2 };
const dir = mkdtempSync(join(tmpdir(), 'vb-transport-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records a transport's events and lets a test wait for the next one of a kind. */
function watch(transport: ByteStreamTransport) {
  const events: string[] = [];
  let received = Buffer.alloc(0);
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) if (waiter.test()) waiters.splice(waiters.indexOf(waiter), 1) && waiter.resolve();
  };
  transport.on('open', () => (events.push('open'), check()));
  transport.on('close', ({ reason }) => (events.push(`close:${reason}`), check()));
  transport.on('error', (error) => (events.push(`error:${error.code}`), check()));
  transport.on('data', (chunk) => ((received = Buffer.concat([received, chunk])), check()));
  // Generous: in the full suite on a loaded 2-core machine, noticing an unplugged pty once took over 5 s.
  const until = (test: () => boolean, what: string, timeoutMs = 15_000) =>
    test()
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; events: ${events.join(', ')}`)), timeoutMs);
          waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
        });
  return {
    events,
    received: () => received.toString('latin1'),
    count: (prefix: string) => events.filter((e) => e.startsWith(prefix)).length,
    until,
  };
}

async function openPort(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return port;
}

describe('serial transport over a real socat pty pair', () => {
  it('opens the port, carries bytes both ways, and reconnects with back-off after the port goes away', async () => {
    const gatewayPath = join(dir, 'gw0');
    const devicePath = join(dir, 'dev0');
    let pair = await startPtyPair(gatewayPath, devicePath);
    const transport = createByteStreamTransport(
      { kind: 'serial', path: gatewayPath, baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
      { backoff: fast },
    );
    const seen = watch(transport);
    transport.open();
    await seen.until(() => seen.count('open') === 1, 'open');
    expect(transport.description).toBe(`serial:${gatewayPath}`);

    let device = await openPort(devicePath);
    device.write('hello from the device\n');
    await seen.until(() => seen.received().includes('hello from the device'), 'data');

    const fromGateway = new Promise<string>((resolve) => device.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    expect(transport.write(Buffer.from('POLL\n'))).toBe(true);
    expect(await fromGateway).toBe('POLL\n');

    // Unplug: socat dies, the pty vanishes; the transport notices, retries (failing: no such path), ...
    device.close();
    await pair.stop();
    await seen.until(() => seen.count('close') === 1, 'close');
    await seen.until(() => seen.count('error:transport_unavailable') >= 2, 'failed reopen attempts');
    expect(transport.connected).toBe(false);
    expect(transport.write(Buffer.from('x'))).toBe(false);

    // ... and plugging back in (the same path) reconnects on its own.
    rmSync(gatewayPath, { force: true });
    rmSync(devicePath, { force: true });
    pair = await startPtyPair(gatewayPath, devicePath);
    await seen.until(() => seen.count('open') === 2, 'reopen');
    device = await openPort(devicePath);
    device.write('back again\n');
    await seen.until(() => seen.received().includes('back again'), 'data after reconnect');

    await transport.close();
    expect(seen.events.at(-1)).toBe('close:transport closed');
    device.close();
    await pair.stop();
  }, 60_000);
});

function listen(port = 0): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0, sockets });
    }),
  );
}


describe('tcp-client transport (terminal server) over real TCP', () => {
  it('retries while the terminal server is down, connects when it is up, and reconnects after it drops the line', async () => {
    const port = await freePort();
    const transport = createByteStreamTransport(
      { kind: 'tcp-client', host: '127.0.0.1', port, keepAliveMs: 1_000, connectTimeoutMs: 1_000 },
      { backoff: fast },
    );
    const seen = watch(transport);
    transport.open();
    await seen.until(() => seen.count('error:transport_unavailable') >= 2, 'refused attempts');

    const terminal = await listen(port);
    await seen.until(() => seen.count('open') === 1, 'open');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const socket = terminal.sockets[0] as Socket;
    socket.write('V|1|97|70\n');
    await seen.until(() => seen.received().includes('V|1|97|70'), 'data');
    const echoed = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(chunk.toString())));
    transport.write(Buffer.from('POLL\n'));
    expect(await echoed).toBe('POLL\n');

    socket.destroy();
    await seen.until(() => seen.count('close') === 1, 'close');
    await seen.until(() => seen.count('open') === 2, 'reconnect');
    expect(terminal.sockets).toHaveLength(2);

    await transport.close();
    for (const s of terminal.sockets) s.destroy();
    await new Promise((resolve) => terminal.server.close(resolve));
  });
});

describe('tcp-server transport (the device connects in) over real TCP', () => {
  it('accepts the device, and a new connection replaces the old one (one device per listener)', async () => {
    const port = await freePort();
    const transport = createByteStreamTransport({ kind: 'tcp-server', host: '127.0.0.1', port, keepAliveMs: 1_000 }, { backoff: fast });
    const seen = watch(transport);
    transport.open();
    const dial = () =>
      new Promise<Socket>((resolve, reject) => {
        const attempt = () => {
          const socket = connect({ host: '127.0.0.1', port });
          socket.once('connect', () => resolve(socket));
          socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? setTimeout(attempt, 20) : reject(error)));
        };
        attempt();
      });
    const first = await dial();
    await seen.until(() => seen.count('open') === 1, 'open');
    first.write('A|OK\n');
    await seen.until(() => seen.received().includes('A|OK'), 'data');

    const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await dial();
    await firstClosed;
    await seen.until(() => seen.count('open') === 2, 'second open');
    second.write('V|2|96|71\n');
    await seen.until(() => seen.received().includes('V|2|96|71'), 'data on the new connection');

    await transport.close();
    await new Promise<void>((resolve) => (second.destroyed ? resolve() : second.once('close', () => resolve())));
    // The listener is gone too.
    await expect(
      new Promise((resolve, reject) => connect({ host: '127.0.0.1', port }).once('connect', resolve).once('error', reject)),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
