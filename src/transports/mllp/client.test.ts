import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MllpClient, MllpClientError } from './client.ts';
import { MllpFramer, encodeMllpFrame } from './framer.ts';

/**
 * A scripted peer on a real socket: for each frame received, `respond` decides what to do with the socket,
 * so tests can split replies, stay silent or hang up, things our own server would never do.
 */
async function startPeer(respond: (payload: string, socket: net.Socket) => void | Promise<void>) {
  const received: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const framer = new MllpFramer({ maxFrameBytes: 1024 * 1024 });
    socket.on('data', (chunk: Buffer) => {
      for (const event of framer.push(chunk)) {
        if (event.kind !== 'frame') continue;
        received.push(event.payload.toString());
        void respond(event.payload.toString(), socket);
      }
    });
  });
  peers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, received };
}

const peers: net.Server[] = [];
const clients: MllpClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const peer of peers.splice(0)) peer.close();
});

async function connectedClient(port: number, maxReplyBytes?: number): Promise<MllpClient> {
  const client = new MllpClient(maxReplyBytes === undefined ? {} : { maxReplyBytes });
  clients.push(client);
  await client.connect('127.0.0.1', port, { timeoutMs: 2_000 });
  return client;
}

async function failureOf(promise: Promise<unknown>): Promise<MllpClientError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof MllpClientError)) throw new Error(`expected an MllpClientError, got ${String(error)}`);
  return error;
}

describe('MllpClient', () => {
  it('assembles a reply split across many reads, even between 0x1C and 0x0D', async () => {
    const { port } = await startPeer(async (payload, socket) => {
      const reply = encodeMllpFrame(`MSA|AA|${payload}`);
      for (const byte of reply) {
        socket.write(Buffer.from([byte]));
        await sleep(1);
      }
    });
    const client = await connectedClient(port);
    expect((await client.send('CTRL-1', { timeoutMs: 5_000 })).toString()).toBe('MSA|AA|CTRL-1');
  });

  it('sends one message at a time and matches replies to sends in order', async () => {
    const { port, received } = await startPeer(async (payload, socket) => {
      await sleep(payload === 'slow' ? 60 : 1);
      socket.write(encodeMllpFrame(`re:${payload}`));
    });
    const client = await connectedClient(port);
    const sends = ['slow', 'b', 'c'].map((message) => client.send(message, { timeoutMs: 2_000 }));
    await sleep(30);
    expect(received).toEqual(['slow']); // the others wait for the first reply
    expect((await Promise.all(sends)).map((reply) => reply.toString())).toEqual(['re:slow', 're:b', 're:c']);
  });

  it('ignores bytes outside frames around a reply', async () => {
    const { port } = await startPeer((payload, socket) => {
      socket.write(Buffer.concat([Buffer.from('\r\nnoise'), encodeMllpFrame(`re:${payload}`), Buffer.from('\n')]));
    });
    const client = await connectedClient(port);
    expect((await client.send('x', { timeoutMs: 2_000 })).toString()).toBe('re:x');
  });

  it('rejects the pending and the queued sends when the server closes the connection', async () => {
    const { port } = await startPeer((_payload, socket) => {
      socket.end();
    });
    const client = await connectedClient(port);
    const first = client.send('one', { timeoutMs: 2_000 });
    const second = client.send('two', { timeoutMs: 2_000 });
    const [firstError, secondError] = await Promise.all([failureOf(first), failureOf(second)]);
    expect(firstError.reason).toBe('connection_closed');
    expect(firstError.message).toMatch(/closed the connection before replying/);
    expect(secondError.reason).toBe('connection_closed');
    expect(secondError.message).toMatch(/not sent: the server closed the connection/);
    expect(client.connected).toBe(false);
  });

  it('fails a send whose reply does not come in time, and closes the connection', async () => {
    const { port } = await startPeer(() => {});
    const client = await connectedClient(port);
    const error = await failureOf(client.send('unanswered', { timeoutMs: 100 }));
    expect(error.reason).toBe('reply_timeout');
    expect((await failureOf(client.send('after', { timeoutMs: 100 }))).reason).toMatch(/connection_closed|not_connected/);
  });

  it('fails a send whose reply is over maxReplyBytes but keeps the connection', async () => {
    const { port } = await startPeer((payload, socket) => {
      socket.write(encodeMllpFrame(payload === 'big' ? 'x'.repeat(500) : `re:${payload}`));
    });
    const client = await connectedClient(port, 100);
    expect((await failureOf(client.send('big', { timeoutMs: 2_000 }))).reason).toBe('reply_too_large');
    expect((await client.send('small', { timeoutMs: 2_000 })).toString()).toBe('re:small');
  });

  it('reports a refused connection and a send without connection clearly', async () => {
    const { port } = await startPeer(() => {});
    peers[0]?.close();
    await sleep(20);
    const client = new MllpClient();
    expect((await failureOf(client.connect('127.0.0.1', port, { timeoutMs: 2_000 }))).reason).toBe('connect_failed');
    expect((await failureOf(client.send('x', { timeoutMs: 100 }))).reason).toBe('not_connected');
  });

  it('fails a pending send when the client itself closes', async () => {
    const { port } = await startPeer(() => {});
    const client = await connectedClient(port);
    const pending = client.send('x', { timeoutMs: 2_000 });
    await sleep(20);
    await client.close();
    expect((await failureOf(pending)).reason).toBe('closed_by_client');
  });
});
