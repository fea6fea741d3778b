/**
 * The floor under the gateway: the least a Node process can do for the hospital load on this machine.
 * Plain JavaScript (no tsx, no build), run as a child process by bench/lib/floor-servers.ts:
 *
 *   node bench/floor-server.mjs <port> ack
 *     MLLP frames in, one fixed ACK per frame out: no parsing, no FHIR, no Kafka.
 *   node bench/floor-server.mjs <port> kafka <brokers> <topic> <records.json> [compression] [lingerMs] [lingerAfterSendMs]
 *     the same, and per frame one bench message's records (1 Device + 7 Observations, made by the
 *     gateway's pipeline: records.json, written by bench/lib/floor-servers.ts) produced with the gateway's client
 *     settings (@platformatic/kafka, idempotent, acks=all, one request in flight, sends coalesced
 *     across connections, the gateway's two lingers: with 1,000 connections another sender can always
 *     join); the ACK goes after the send completes.
 *
 * Prints "ready" on stdout once it listens (and, for kafka, once the producer is connected).
 */
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { Producer, ProduceAcks, compatibilityPartitioner, stringSerializers } from '@platformatic/kafka';

const [portText, mode, brokers, topic, recordsFile, compression = 'none', lingerText = '0', lingerAfterSendText = '0'] = process.argv.slice(2);
const lingerMs = Number(lingerText);
const lingerAfterSendMs = Number(lingerAfterSendText);
/** At most 64 frames (~410 KB) per send: the gateway caps a batch at 512 KB (kafka.maxBatchBytes). */
const MAX_BATCH_FRAMES = 64;
if (portText === undefined || (mode !== 'ack' && mode !== 'kafka') || (mode === 'kafka' && recordsFile === undefined)) {
  process.stderr.write('usage: floor-server.mjs <port> ack | <port> kafka <brokers> <topic> <records.json> [compression] [lingerMs] [lingerAfterSendMs]\n');
  process.exit(2);
}

const FS = 0x1c;
const ack = Buffer.from('\x0bMSH|^~\\&|VITALBRIDGE||MONITOR_GW||20240501000000+0000||ACK^R01^ACK|A1|P|2.6\rMSA|CA|P-1\r\x1c\r', 'latin1');
/** Per bench message, its records' values (JSON strings), taken in turn frame after frame. */
const messageRecords = mode === 'kafka' ? JSON.parse(readFileSync(recordsFile, 'utf8')) : [];
let nextMessage = 0;
const headers = { 'content-type': 'application/fhir+json; fhirVersion=4.0', 'source-adapter': 'hl7v2-pcd', 'trace-id': '00000000-0000-4000-8000-000000000000' };

let producer;
if (mode === 'kafka') {
  producer = new Producer({
    clientId: 'floor',
    bootstrapBrokers: brokers.split(','),
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    partitioner: compatibilityPartitioner,
    serializers: stringSerializers,
    compression,
  });
  await producer.connectToBrokers(null);
}

/** Frames waiting for the next send, and whether one is in flight (one request at a time, as the gateway). */
let waiting = [];
let sending = false;
let lingerTimer;
/** Sends after `ms`, or at once when that is 0 or a full batch waits (as the gateway's coalescing queue). */
function flushAfter(ms) {
  if (ms <= 0 || waiting.length >= MAX_BATCH_FRAMES) flush();
  else lingerTimer ??= setTimeout(flush, ms);
}
function flush() {
  clearTimeout(lingerTimer);
  lingerTimer = undefined;
  if (sending || waiting.length === 0) return;
  const batch = waiting.splice(0, MAX_BATCH_FRAMES);
  sending = true;
  const messages = [];
  for (const { key, values } of batch) for (const value of values) messages.push({ topic, key, value, headers });
  producer.send({ messages }).then(
    () => {
      for (const { socket } of batch) socket.write(ack);
    },
    (error) => {
      process.stderr.write(`send failed: ${inspect(error, { depth: 4 })}\n`);
      process.exit(1);
    },
  ).finally(() => {
    sending = false;
    if (waiting.length > 0) flushAfter(lingerAfterSendMs);
  });
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  const key = `dev-${socket.remotePort}`;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    // The bench sends one message at a time per connection; a frame ends with FS CR.
    if (chunk.indexOf(FS) < 0) return;
    if (producer === undefined) socket.write(ack);
    else {
      waiting.push({ socket, key, values: messageRecords[nextMessage++ % messageRecords.length] });
      if (!sending) flushAfter(lingerMs);
    }
  });
});
server.maxConnections = 5000;
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', async () => {
  server.close();
  await producer?.close();
  process.exit(0);
});
