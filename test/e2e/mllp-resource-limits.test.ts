/**
 * MLLP resource limits end to end: real TCP connections into the real gateway (real Kafka broker from
 * test/support/global-setup.ts). Oversized frames, a frame that never ends, 1,600 idle connections,
 * slowloris senders (a byte every 400 ms inside a frame, or outside any frame), a connection flood past
 * mllp.maxConnections and senders of huge unfinished frames past mllp.maxBufferedBytes, while one
 * well-behaved sender keeps sending and must get a CA for every message throughout.
 * Limits are small here so the test stays bounded (well under 60 s); the defaults are in schemas/config.ts.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { encodeMllpFrame } from '../../src/transports/mllp/framer.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { waitFor } from '../support/wait-for.ts';

const limits = {
  maxFrameBytes: 64 * 1024,
  maxConnections: 2_000,
  // Long enough for the 1,900 connections to be open before any of them times out.
  idleTimeoutSeconds: 8,
  frameTimeoutSeconds: 5,
  maxBufferedBytes: 1024 * 1024,
};

let gw: TestGateway;
const openSockets = new Set<net.Socket>();

/** The storm needs ~2,400 client and ~2,000 gateway sockets in this process: say so plainly if the limit is lower. */
function assertEnoughFileDescriptors(needed: number): void {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
  if (soft !== undefined && soft !== 'unlimited' && Number(soft) < needed) {
    throw new Error(`this test opens about ${needed} sockets, but the open-file limit is ${soft}: raise it (ulimit -n ${needed}) and run again`);
  }
}

beforeAll(async () => {
  assertEnoughFileDescriptors(5_000);
  gw = await startTestGateway({ brokers: kafkaBrokers(), config: { mllp: limits }, logLevel: 'info' });
});

afterAll(async () => {
  for (const socket of openSockets) socket.destroy();
  await gw?.stop();
});

/** A raw socket the test tracks; resolves once connected, or with undefined when the connect itself failed. */
function rawSocket(): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: gw.gateway.mllp.port });
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

async function openMany(count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let offset = 0; offset < count; offset += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, count - offset) }, () => rawSocket()));
    for (const socket of batch) if (socket !== undefined) sockets.push(socket);
  }
  return sockets;
}

const closed = (socket: net.Socket): Promise<void> => new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

async function gauge(name: 'openConnections' | 'mllpBufferedBytes'): Promise<number> {
  const metric = await gw.gateway.metrics[name].get();
  const sample = name === 'openConnections' ? metric.values.find((value) => value.labels.transport === 'mllp') : metric.values[0];
  return sample?.value ?? 0;
}

async function errorCount(code: string): Promise<number> {
  const metric = await gw.gateway.metrics.errors.get();
  return metric.values.filter((value) => value.labels.code === code).reduce((sum, value) => sum + value.value, 0);
}

const logged = (event: string) => gw.logLines.filter((line) => (JSON.parse(line) as { event?: string }).event === event).length;

/** Sends one valid message every intervalMs on its own connection until stopped; every reply must be CA. */
function wellBehavedSender(intervalMs: number) {
  const client = new MllpClient();
  const codes: string[] = [];
  let running = true;
  const done = (async () => {
    try {
      await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
      for (let index = 0; running; index += 1) {
        const reply = await client.send(pcd01Message({ controlId: `GOOD-${index}` }), { timeoutMs: 20_000 });
        codes.push(readAcknowledgement(reply)?.code ?? 'not an ACK');
        await sleep(intervalMs);
      }
    } catch (error) {
      // A failure is a result the test asserts on (every code must be CA), not an unhandled rejection.
      codes.push(`failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await client.close();
    }
  })();
  return {
    codes,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Writes one byte every intervalMs (after an optional opening) until the gateway closes the socket. */
function trickle(socket: net.Socket, opening: Buffer, byte: number, intervalMs: number): void {
  socket.write(opening);
  const timer = setInterval(() => {
    if (socket.writable) socket.write(Buffer.from([byte]));
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
}

describe('MLLP resource limits against a real gateway', () => {
  it('answers an oversized frame with CE mllp_frame_too_large and keeps the connection usable', async () => {
    const client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
    try {
      const huge = `${pcd01Message({ controlId: 'HUGE-1' })}NTE|1||${'X'.repeat(200 * 1024)}\r`;
      const nak = readAcknowledgement(await client.send(huge, { timeoutMs: 20_000 }));
      expect(nak).toMatchObject({ code: 'CE', ackedControlId: 'HUGE-1' });
      expect(nak?.errors[0]?.applicationCode).toBe('mllp_frame_too_large');
      expect(readAcknowledgement(await client.send(pcd01Message({ controlId: 'AFTER-HUGE-1' }), { timeoutMs: 20_000 }))?.code).toBe('CA');
    } finally {
      await client.close();
    }
  });

  it('discards a frame that never ends past maxFrameBytes, holding only its prefix, and closes it at the frame timeout', async () => {
    const timeoutsBefore = await errorCount('mllp_frame_timeout');
    const socket = await rawSocket();
    if (socket === undefined) throw new Error('could not connect');
    socket.write(Buffer.from([0x0b]));
    socket.write(pcd01Message({ controlId: 'ENDLESS-1' }));
    for (let index = 0; index < 10; index += 1) socket.write(Buffer.alloc(32 * 1024, 0x41)); // 320 KiB, no end
    await waitFor('the gateway to take the bytes', async () => (await gauge('mllpBufferedBytes')) > 0, 5_000);
    await sleep(300);
    // Past maxFrameBytes the framer keeps only the 4 KiB prefix it needs to address a NAK.
    expect(await gauge('mllpBufferedBytes')).toBeLessThanOrEqual(4096);
    await closed(socket);
    expect(await errorCount('mllp_frame_timeout')).toBe(timeoutsBefore + 1);
    await waitFor('the closed connection to release its bytes', async () => (await gauge('mllpBufferedBytes')) === 0, 5_000);
  });

  it('keeps all connections within maxBufferedBytes: huge unfinished frames get their connections closed, others are served', async () => {
    const sender = wellBehavedSender(50);
    const hogs = await openMany(40);
    let maxBuffered = 0;
    // 40 x 60 KiB unfinished = 2.4 MiB against a 1 MiB bound.
    for (const hog of hogs) hog.write(Buffer.concat([Buffer.from([0x0b]), Buffer.alloc(60 * 1024, 0x42)]));
    const sampler = setInterval(() => void gauge('mllpBufferedBytes').then((bytes) => (maxBuffered = Math.max(maxBuffered, bytes))), 20);
    try {
      await waitFor('buffer-limit closes', async () => (await errorCount('mllp_buffer_limit')) >= 20, 15_000);
      await Promise.all(hogs.map((hog) => closed(hog))); // the rest by the frame timeout
    } finally {
      clearInterval(sampler);
      await sender.stop();
    }
    console.log(`buffer bound: max ${maxBuffered} bytes held (limit ${limits.maxBufferedBytes}); ${await errorCount('mllp_buffer_limit')} connections closed for it`);
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(limits.maxBufferedBytes);
    expect(sender.codes.length).toBeGreaterThan(0);
    expect(sender.codes.filter((code) => code !== 'CA')).toEqual([]);
  });

  it('holds max connections, closes idle and slowloris connections, bounds buffers and memory, and keeps serving a well-behaved sender', async () => {
    const memoryBefore = process.memoryUsage();
    const sender = wellBehavedSender(100);
    await waitFor('the well-behaved sender to be served', () => sender.codes.length > 0, 15_000);
    let maxConnections = 0;
    let maxBuffered = 0;
    let maxRss = memoryBefore.rss;
    let maxHeap = memoryBefore.heapUsed;
    const sampler = setInterval(() => {
      void gauge('openConnections').then((count) => (maxConnections = Math.max(maxConnections, count)));
      void gauge('mllpBufferedBytes').then((bytes) => (maxBuffered = Math.max(maxBuffered, bytes)));
      const memory = process.memoryUsage();
      maxRss = Math.max(maxRss, memory.rss);
      maxHeap = Math.max(maxHeap, memory.heapUsed);
    }, 50);
    const refusedBefore = logged('connection_refused');
    const idleBefore = logged('idle_timeout');
    const frameTimeoutsBefore = logged('frame_timeout');

    try {
      const idle = await openMany(1_600);
      const slowInFrame = await openMany(200);
      for (const socket of slowInFrame) trickle(socket, Buffer.from('\x0bMSH|^~\\&|'), 0x41, 400);
      const slowOutsideFrames = await openMany(100);
      for (const socket of slowOutsideFrames) trickle(socket, Buffer.alloc(0), 0x20, 400);
      expect(idle.length + slowInFrame.length + slowOutsideFrames.length).toBe(1_900); // all accepted: under the limit

      // The flood: 500 more, as fast as they go, once the gateway has accepted the 1,901 (room for 99).
      await waitFor('the gateway to accept the 1,900', async () => (await gauge('openConnections')) >= 1_901, 10_000);
      const openBeforeFlood = await gauge('openConnections');
      const flood = await openMany(500);
      const floodClosedQuickly = await Promise.all(flood.map((socket) => Promise.race([closed(socket).then(() => true), sleep(2_000).then(() => false)])));
      const refused = logged('connection_refused') - refusedBefore;
      console.log(`flood: ${openBeforeFlood} open before, ${flood.length} connected at TCP level, ${refused} refused by the gateway, ${floodClosedQuickly.filter(Boolean).length} closed within 2 s`);
      expect(refused).toBeGreaterThanOrEqual(flood.length - (limits.maxConnections - openBeforeFlood));
      expect(refused).toBeGreaterThan(0);
      expect(await errorCount('mllp_connection_limit')).toBeGreaterThanOrEqual(refused);

      // Idle and trickling-garbage connections go at the idle timeout, slowloris frames at the frame timeout.
      await Promise.all([...idle, ...slowInFrame, ...slowOutsideFrames].map((socket) => closed(socket)));
      await waitFor('only the well-behaved sender left', async () => (await gauge('openConnections')) === 1, 15_000);
    } catch (error) {
      await sender.stop();
      throw error;
    } finally {
      clearInterval(sampler);
    }
    const served = sender.codes.length;
    await sleep(500);
    expect(sender.codes.length).toBeGreaterThan(served); // still served after the storm
    await sender.stop();

    const growthMiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      `limits: max ${maxConnections} connections (limit ${limits.maxConnections}); max ${maxBuffered} bytes buffered (limit ${limits.maxBufferedBytes}); ` +
        `heap +${growthMiB(maxHeap - memoryBefore.heapUsed)} MiB, rss +${growthMiB(maxRss - memoryBefore.rss)} MiB (test process: gateway and ~2,400 client sockets); ` +
        `${sender.codes.length} messages of the well-behaved sender, all CA`,
    );
    expect(maxConnections).toBeGreaterThan(1_800);
    expect(maxConnections).toBeLessThanOrEqual(limits.maxConnections);
    expect(maxBuffered).toBeLessThanOrEqual(limits.maxBufferedBytes);
    expect(logged('idle_timeout') - idleBefore).toBeGreaterThanOrEqual(1_600 + 100);
    expect(logged('frame_timeout') - frameTimeoutsBefore).toBeGreaterThanOrEqual(200);
    expect(sender.codes.filter((code) => code !== 'CA')).toEqual([]);
    // Loose: thousands of sockets cost memory, but a leak or unbounded buffering would cost far more.
    expect(maxRss - memoryBefore.rss).toBeLessThan(512 * 2 ** 20);
  }, 90_000);
});
