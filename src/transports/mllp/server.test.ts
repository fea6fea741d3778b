import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/catalogue.ts';
import { readMessageHeader } from '../../hl7/header.ts';
import { MllpClient } from './client.ts';
import { MllpFramer, encodeMllpFrame } from './framer.ts';
import { createMllpServer, type MllpHandler, type MllpLogEvent, type MllpServer, type MllpServerOptions } from './server.ts';
import { generateTestPki } from '../../../test/support/certificates.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const echoHandler: MllpHandler = {
  onMessage: async (payload) => `ACK:${payload.toString()}`,
  onOversize: async (prefix) => `NAK:${readMessageHeader(prefix)?.controlId ?? '?'}`,
};

const servers: MllpServer[] = [];
const sockets: net.Socket[] = [];
const clients: MllpClient[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close({ graceMs: 100 })));
});

async function startServer(overrides: Partial<MllpServerOptions> = {}) {
  const logs: MllpLogEvent[] = [];
  const server = createMllpServer({
    host: '127.0.0.1',
    port: 0,
    maxFrameBytes: 64 * 1024,
    idleTimeoutMs: 10_000,
    maxConnections: 100,
    handler: echoHandler,
    log: (event) => logs.push(event),
    ...overrides,
  });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port, logs };
}

async function connectRaw(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

async function connectClient(port: number): Promise<MllpClient> {
  const client = new MllpClient();
  clients.push(client);
  await client.connect('127.0.0.1', port, { timeoutMs: 2_000 });
  return client;
}

/** Collects reply payloads from a raw socket until count arrived. */
function readReplies(socket: net.Socket, count: number, timeoutMs = 5_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const framer = new MllpFramer({ maxFrameBytes: 1024 * 1024 });
    const replies: string[] = [];
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`only ${replies.length} of ${count} replies within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      for (const event of framer.push(chunk)) if (event.kind === 'frame') replies.push(event.payload.toString());
      if (replies.length >= count) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(replies);
      }
    };
    socket.on('data', onData);
  });
}

function closedBy(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

/** Polls the server's state closely: these tests wait for socket events, not for Kafka. */
const serverReaches = (condition: () => boolean) => waitFor('the server state the test expects', condition, 5_000, 10);

const eventsNamed = (logs: readonly MllpLogEvent[], name: MllpLogEvent['event']) =>
  logs.filter((event) => event.event === name);

describe('MLLP server over TCP', () => {
  it('answers one connection strictly in order, one message at a time, whatever each takes', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { port } = await startServer({
      handler: {
        ...echoHandler,
        onMessage: async (payload) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(Math.random() * 8);
          inFlight -= 1;
          return `ACK:${payload.toString()}`;
        },
      },
    });
    const socket = await connectRaw(port);
    const messages = Array.from({ length: 40 }, (_, index) => `MSG-${index}`);
    const replies = readReplies(socket, messages.length);
    socket.write(Buffer.concat(messages.map((message) => encodeMllpFrame(message))));
    expect(await replies).toEqual(messages.map((message) => `ACK:${message}`));
    expect(maxInFlight).toBe(1);
  });

  it('serves 50 connections concurrently', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { port, server } = await startServer({
      handler: {
        ...echoHandler,
        onMessage: async (payload) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(20);
          inFlight -= 1;
          return `ACK:${payload.toString()}`;
        },
      },
    });
    const connected = await Promise.all(Array.from({ length: 50 }, () => connectClient(port)));
    await serverReaches(() => server.connectionCount() === 50);
    const results = await Promise.all(
      connected.map(async (client, clientIndex) => {
        const replies: string[] = [];
        for (let message = 0; message < 3; message += 1) {
          replies.push((await client.send(`C${clientIndex}-M${message}`, { timeoutMs: 5_000 })).toString());
        }
        return replies;
      }),
    );
    results.forEach((replies, clientIndex) => {
      expect(replies).toEqual([0, 1, 2].map((message) => `ACK:C${clientIndex}-M${message}`));
    });
    expect(maxInFlight).toBeGreaterThan(1);
  });

  it('logs bytes outside frames once per burst and still answers the frame that follows', async () => {
    const { port, logs } = await startServer();
    const socket = await connectRaw(port);
    const replies = readReplies(socket, 2);
    socket.write('GET / HTTP/1.1\r\n');
    await sleep(20);
    socket.write(Buffer.concat([Buffer.from('more junk'), encodeMllpFrame('first')]));
    await sleep(20);
    socket.write(Buffer.concat([Buffer.from('\n'), encodeMllpFrame('second')]));
    expect(await replies).toEqual(['ACK:first', 'ACK:second']);
    const garbageLines = eventsNamed(logs, 'bytes_outside_frame');
    expect(garbageLines).toHaveLength(2); // one per burst: the burst before "first", the one before "second"
    expect(garbageLines.every((event) => event.code === 'mllp_bytes_outside_frame')).toBe(true);
    socket.end();
    await serverReaches(() => eventsNamed(logs, 'connection_closed').length === 1);
    expect(eventsNamed(logs, 'connection_closed')[0]?.garbageBytes).toBe(16 + 9 + 1);
  });

  it('answers an oversize frame through onOversize and keeps the connection working', async () => {
    const { port, logs } = await startServer({ maxFrameBytes: 1_000 });
    const socket = await connectRaw(port);
    const replies = readReplies(socket, 2);
    const big = `MSH|^~\\&|PUMP|ICU|||20240101||ORU^R01|BIG-1|P|2.6\r${'OBX|1|NM|x||1\r'.repeat(500)}`;
    socket.write(Buffer.concat([encodeMllpFrame(big), encodeMllpFrame('after')]));
    expect(await replies).toEqual(['NAK:BIG-1', 'ACK:after']);
    const tooLarge = eventsNamed(logs, 'frame_too_large');
    expect(tooLarge).toHaveLength(1);
    expect(tooLarge[0]).toMatchObject({ code: 'mllp_frame_too_large', bytes: Buffer.byteLength(big), limit: 1_000 });
  });

  it('counts connections so that a log sink reading connectionCount() on open and close sees the new count', async () => {
    const counts: Array<[string, number]> = [];
    let server: MllpServer | undefined;
    const started = await startServer({
      log: (event) => {
        if (event.event === 'connection_opened' || event.event === 'connection_closed') {
          counts.push([event.event, server?.connectionCount() ?? -1]);
        }
      },
    });
    server = started.server;
    const socket = await connectRaw(started.port);
    await serverReaches(() => counts.length === 1);
    socket.destroy();
    await serverReaches(() => counts.length === 2);
    expect(counts).toEqual([
      ['connection_opened', 1],
      ['connection_closed', 0],
    ]);
  });

  it('closes a connection that stays idle, and logs why', async () => {
    const { port, logs, server } = await startServer({ idleTimeoutMs: 150 });
    const socket = await connectRaw(port);
    await closedBy(socket);
    expect(eventsNamed(logs, 'idle_timeout')).toEqual([expect.objectContaining({ code: 'mllp_idle_timeout', limit: 150 })]);
    await serverReaches(() => server.connectionCount() === 0);
  });

  it('does not count a slow handler as idleness', async () => {
    const { port, logs } = await startServer({
      idleTimeoutMs: 100,
      handler: {
        ...echoHandler,
        onMessage: async () => {
          await sleep(350);
          return 'late but welcome';
        },
      },
    });
    const socket = await connectRaw(port);
    const replies = readReplies(socket, 1);
    socket.write(encodeMllpFrame('slow'));
    expect(await replies).toEqual(['late but welcome']);
    expect(eventsNamed(logs, 'idle_timeout')).toHaveLength(0);
    await closedBy(socket); // and once answered, silence closes it
  });

  it('refuses connections over maxConnections at once, with a log line', async () => {
    const { port, logs, server } = await startServer({ maxConnections: 2 });
    const first = await connectClient(port);
    const second = await connectClient(port);
    await serverReaches(() => server.connectionCount() === 2);
    const refused = await connectRaw(port);
    await closedBy(refused);
    expect(eventsNamed(logs, 'connection_refused')).toEqual([expect.objectContaining({ limit: 2 })]);
    expect(server.connectionCount()).toBe(2);
    expect((await first.send('still', { timeoutMs: 2_000 })).toString()).toBe('ACK:still');
    await second.close();
    await serverReaches(() => server.connectionCount() === 1);
    const third = await connectClient(port);
    expect((await third.send('room again', { timeoutMs: 2_000 })).toString()).toBe('ACK:room again');
  });

  it('counts TLS sockets still in their handshake against maxConnections: one more is refused at once, and room comes back when the handshake timeout closes one', async () => {
    const pki = await generateTestPki();
    try {
      const { port, logs, server } = await startServer({
        maxConnections: 2,
        tls: { cert: await readFile(pki.server.certFile), key: await readFile(pki.server.keyFile), requireClientCert: false, minVersion: 'TLSv1.2', handshakeTimeoutMs: 1_500 },
      });
      // TCP connections that never send a ClientHello: each holds its socket until the handshake timeout.
      const stalled = [await connectRaw(port), await connectRaw(port)];
      const refused = await connectRaw(port);
      await closedBy(refused);
      expect(eventsNamed(logs, 'connection_refused')).toEqual([expect.objectContaining({ code: 'mllp_connection_limit', limit: 2 })]);
      expect(eventsNamed(logs, 'tls_handshake_failed')).toEqual([]);
      expect(server.connectionCount()).toBe(0); // neither stalled socket was ever served

      await Promise.all(stalled.map((socket) => closedBy(socket)));
      expect(eventsNamed(logs, 'tls_handshake_failed')).toHaveLength(2);
      const client = new MllpClient();
      clients.push(client);
      await client.connect('127.0.0.1', port, { timeoutMs: 2_000, tls: { ca: [await readFile(pki.ca.certFile)] } });
      expect((await client.send('over TLS', { timeoutMs: 2_000 })).toString()).toBe('ACK:over TLS');
    } finally {
      await rm(pki.dir, { recursive: true, force: true });
    }
  });

  it('frees the slot of a peer that leaves in the middle of its TLS handshake at once, not after the handshake timeout', async () => {
    const pki = await generateTestPki();
    try {
      const { port, logs } = await startServer({
        maxConnections: 1,
        tls: { cert: await readFile(pki.server.certFile), key: await readFile(pki.server.keyFile), requireClientCert: false, minVersion: 'TLSv1.2', handshakeTimeoutMs: 30_000 },
      });
      const quitter = await connectRaw(port);
      quitter.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50, 0x01])); // the first bytes of a ClientHello
      await sleep(50);
      quitter.end();
      await serverReaches(() => eventsNamed(logs, 'tls_handshake_failed').length === 1);
      expect(eventsNamed(logs, 'tls_handshake_failed')[0]).toMatchObject({ code: 'mllp_tls_handshake_failed', errorName: 'ECONNRESET' });
      // The one slot is free again well inside the 30 s handshake timeout.
      const client = new MllpClient();
      clients.push(client);
      await client.connect('127.0.0.1', port, { timeoutMs: 2_000, tls: { ca: [await readFile(pki.ca.certFile)] } });
      expect((await client.send('after the quitter', { timeoutMs: 2_000 })).toString()).toBe('ACK:after the quitter');
      expect(eventsNamed(logs, 'connection_refused')).toEqual([]);
    } finally {
      await rm(pki.dir, { recursive: true, force: true });
    }
  });

  it('replies over TLS to a sender that half-closes right after its last message', async () => {
    const pki = await generateTestPki();
    try {
      const { port } = await startServer({
        tls: { cert: await readFile(pki.server.certFile), key: await readFile(pki.server.keyFile), requireClientCert: false, minVersion: 'TLSv1.2', handshakeTimeoutMs: 5_000 },
        handler: {
          ...echoHandler,
          onMessage: async (payload) => {
            await sleep(50);
            return `ACK:${payload.toString()}`;
          },
        },
      });
      const socket = tls.connect({ host: '127.0.0.1', port, ca: [await readFile(pki.ca.certFile)] });
      sockets.push(socket);
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      const replies = readReplies(socket, 2);
      socket.end(Buffer.concat([encodeMllpFrame('a'), encodeMllpFrame('b')]));
      expect(await replies).toEqual(['ACK:a', 'ACK:b']);
      await closedBy(socket);
    } finally {
      await rm(pki.dir, { recursive: true, force: true });
    }
  });

  it('survives a handler that throws or rejects: no reply, a log line with the code, service goes on', async () => {
    const { port, logs } = await startServer({
      handler: {
        ...echoHandler,
        onMessage: (payload) => {
          const text = payload.toString();
          if (text === 'throw') throw new TypeError('DOE^JOHN broke it');
          if (text === 'reject') return Promise.reject(new GatewayError('publish_failed', 'DOE^JOHN'));
          return Promise.resolve(`ACK:${text}`);
        },
      },
    });
    const socket = await connectRaw(port);
    const replies = readReplies(socket, 2);
    socket.write(Buffer.concat(['throw', 'ok-1', 'reject', 'ok-2'].map((message) => encodeMllpFrame(message))));
    expect(await replies).toEqual(['ACK:ok-1', 'ACK:ok-2']);
    const failures = eventsNamed(logs, 'handler_failed');
    expect(failures.map((event) => event.errorName ?? event.code)).toEqual(['TypeError', 'publish_failed']);
    expect(JSON.stringify(logs)).not.toContain('DOE');
  });

  it('shrugs off a client that disconnects in the middle of a frame', async () => {
    const { port, logs } = await startServer();
    const quitter = await connectRaw(port);
    quitter.write(Buffer.concat([encodeMllpFrame('whole'), Buffer.from([0x0b]), Buffer.from('MSH|^~\\&|half')]));
    await sleep(50);
    quitter.destroy();
    await serverReaches(() => eventsNamed(logs, 'connection_closed').length === 1);
    expect(eventsNamed(logs, 'connection_closed')[0]).toMatchObject({ frames: 1, unfinishedFrameBytes: 13 });
    const client = await connectClient(port);
    expect((await client.send('next', { timeoutMs: 2_000 })).toString()).toBe('ACK:next');
  });

  it('stops reading a fast sender while frames queue up, and still answers every one in order', async () => {
    const { port, logs } = await startServer({
      maxQueuedFrames: 4,
      handler: {
        ...echoHandler,
        onMessage: async (payload) => {
          await sleep(1);
          return `ACK:${payload.toString()}`;
        },
      },
    });
    const socket = await connectRaw(port);
    const messages = Array.from({ length: 200 }, (_, index) => `M${index}`);
    const replies = readReplies(socket, messages.length, 15_000);
    for (const message of messages) socket.write(encodeMllpFrame(message));
    expect(await replies).toEqual(messages.map((message) => `ACK:${message}`));
    expect(eventsNamed(logs, 'reading_paused').length).toBeGreaterThan(0);
    expect(eventsNamed(logs, 'reading_resumed').length).toBeGreaterThan(0);
  });

  it('replies to a sender that half-closes right after its last message', async () => {
    const { port } = await startServer({
      handler: {
        ...echoHandler,
        onMessage: async (payload) => {
          await sleep(50);
          return `ACK:${payload.toString()}`;
        },
      },
    });
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    sockets.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    const replies = readReplies(socket, 2);
    socket.end(Buffer.concat([encodeMllpFrame('a'), encodeMllpFrame('b')]));
    expect(await replies).toEqual(['ACK:a', 'ACK:b']);
    await closedBy(socket);
  });

  it('on close, lets the message in hand be answered, then closes connections and refuses new ones', async () => {
    let handlerStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    const { port, server } = await startServer({
      handler: {
        ...echoHandler,
        onMessage: async (payload) => {
          handlerStarted();
          await sleep(150);
          return `ACK:${payload.toString()}`;
        },
      },
    });
    const client = await connectClient(port);
    const reply = client.send('in flight', { timeoutMs: 2_000 });
    await started;
    const closing = server.close({ graceMs: 2_000 });
    expect((await reply).toString()).toBe('ACK:in flight');
    await closing;
    expect(server.listening).toBe(false);
    expect(server.connectionCount()).toBe(0);
    await expect(connectClient(port)).rejects.toThrow(/cannot connect/);
  });

  it('destroys connections still busy when the close grace period ends', async () => {
    const { port, server } = await startServer({
      handler: { ...echoHandler, onMessage: () => new Promise(() => {}) },
    });
    const socket = await connectRaw(port);
    socket.write(encodeMllpFrame('never answered'));
    await sleep(20);
    const startedAt = Date.now();
    await server.close({ graceMs: 100 });
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    await closedBy(socket);
  });

  it('never logs message contents', async () => {
    const { port, logs } = await startServer({ maxFrameBytes: 200 });
    const secret = 'PID|||SECRET-MRN-778899||DOE^JANE';
    const socket = await connectRaw(port);
    const replies = readReplies(socket, 2);
    socket.write(`junk ${secret}`);
    socket.write(Buffer.concat([encodeMllpFrame(secret), encodeMllpFrame(secret.repeat(20))]));
    await replies;
    socket.destroy();
    await serverReaches(() => eventsNamed(logs, 'connection_closed').length === 1);
    expect(JSON.stringify(logs)).not.toMatch(/SECRET|DOE/);
  });

  describe('hostile senders (issue 5)', () => {
    /** Writes one byte every intervalMs until the socket closes; resolves with how many were written. */
    function trickle(socket: net.Socket, byte: number, intervalMs: number): Promise<number> {
      return new Promise((resolve) => {
        let written = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || !socket.writable) return;
          socket.write(Buffer.from([byte]));
          written += 1;
        }, intervalMs);
        socket.once('close', () => {
          clearInterval(timer);
          resolve(written);
        });
      });
    }

    it('closes a slowloris sender whose frame does not end within frameTimeoutMs, though each byte arrives well within the idle timeout', async () => {
      const { port, logs, server } = await startServer({ idleTimeoutMs: 5_000, frameTimeoutMs: 400 });
      const socket = await connectRaw(port);
      socket.write(Buffer.from([0x0b]));
      const written = await trickle(socket, 0x41, 50);
      expect(written).toBeGreaterThan(2); // it did trickle, and was closed for it
      expect(eventsNamed(logs, 'frame_timeout')).toEqual([expect.objectContaining({ code: 'mllp_frame_timeout', limit: 400 })]);
      expect(eventsNamed(logs, 'idle_timeout')).toHaveLength(0);
      await serverReaches(() => server.connectionCount() === 0 && server.bufferedBytes() === 0);
      const client = await connectClient(port);
      expect((await client.send('after', { timeoutMs: 2_000 })).toString()).toBe('ACK:after');
    });

    it('on a frame timeout, still answers the message being handled before closing', async () => {
      const { port, logs } = await startServer({
        idleTimeoutMs: 5_000,
        frameTimeoutMs: 200,
        handler: {
          ...echoHandler,
          onMessage: async (payload) => {
            await sleep(500);
            return `ACK:${payload.toString()}`;
          },
        },
      });
      const socket = await connectRaw(port);
      const replies = readReplies(socket, 1);
      socket.write(Buffer.concat([encodeMllpFrame('in hand'), Buffer.from('\x0bMSH|stalled')]));
      expect(await replies).toEqual(['ACK:in hand']);
      await closedBy(socket);
      expect(eventsNamed(logs, 'frame_timeout')).toHaveLength(1);
    });

    it('restarts the frame timer for every new frame: a steady sender of whole frames is never cut off', async () => {
      const { port, logs } = await startServer({ idleTimeoutMs: 5_000, frameTimeoutMs: 300 });
      const client = await connectClient(port);
      for (let index = 0; index < 8; index += 1) {
        expect((await client.send(`m${index}`, { timeoutMs: 2_000 })).toString()).toBe(`ACK:m${index}`);
        await sleep(100);
      }
      expect(eventsNamed(logs, 'frame_timeout')).toHaveLength(0);
    });

    it('does not let bytes outside frames keep a connection open past the idle timeout', async () => {
      const { port, logs } = await startServer({ idleTimeoutMs: 300 });
      const socket = await connectRaw(port);
      const written = await trickle(socket, 0x20, 50);
      expect(written).toBeGreaterThan(2);
      expect(eventsNamed(logs, 'idle_timeout')).toEqual([expect.objectContaining({ code: 'mllp_idle_timeout' })]);
      expect(eventsNamed(logs, 'bytes_outside_frame').length).toBeGreaterThan(0);
    });

    it('keeps all connections within maxBufferedBytes by closing the one holding most, and serves the others', async () => {
      const { port, logs, server } = await startServer({ maxFrameBytes: 4096, maxBufferedBytes: 8192 });
      const unfinished = (bytes: number) => Buffer.concat([Buffer.from([0x0b]), Buffer.alloc(bytes, 0x41)]);
      const small = await connectRaw(port);
      const medium = await connectRaw(port);
      small.write(unfinished(2_000));
      medium.write(unfinished(3_000));
      await serverReaches(() => server.bufferedBytes() === 5_000);
      const hog = await connectRaw(port);
      hog.write(unfinished(3_900)); // 8,900 > 8,192: the hog holds most
      await closedBy(hog);
      expect(eventsNamed(logs, 'buffer_limit')).toEqual([expect.objectContaining({ code: 'mllp_buffer_limit', bytes: 3_900, limit: 8192 })]);
      expect(server.bufferedBytes()).toBe(5_000);
      expect(small.destroyed || medium.destroyed).toBe(false);
      // The unfinished frames can still end, and are answered.
      const replies = readReplies(small, 1);
      small.write(Buffer.from([0x1c, 0x0d]));
      expect(await replies).toEqual([`ACK:${'A'.repeat(2_000)}`]);
      await serverReaches(() => server.bufferedBytes() === 3_000);
    });

    it('refuses maxBufferedBytes below maxFrameBytes', () => {
      expect(() =>
        createMllpServer({ host: '127.0.0.1', port: 0, maxFrameBytes: 4096, maxBufferedBytes: 1024, idleTimeoutMs: 0, maxConnections: 1, handler: echoHandler, log: () => {} }),
      ).toThrow(/maxBufferedBytes/);
    });
  });
});
