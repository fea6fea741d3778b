/**
 * Fault test: the Kafka broker is stopped and restarted while 4 MLLP senders and 2 serial devices
 * (real simulator processes: one on a socat pty pair, one over TCP) stream into the gateway (a child
 * process). Every message that got a positive ACK is on Kafka afterwards; every serial frame the
 * gateway accepted is on Kafka; duplicates are counted, listed and must be identical. Uses a broker
 * of its own, since it stops it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';
import { AckedLedger, positiveAckCodes } from '../support/acked-ledger.ts';
import { createChildGateway, type ChildGateway } from '../support/child-gateway.ts';
import { finalCheck, startSerialRig, waitFor, waitForSerialData, type SerialRig } from '../support/fault-scenario.ts';
import { startMllpStream } from '../support/mllp-stream.ts';

const workDir = mkdtempSync(join(tmpdir(), 'vb-faults-broker-'));
let broker: LocalKafka;
let serial: SerialRig;
let gateway: ChildGateway;

beforeAll(async () => {
  [broker, serial] = await Promise.all([startLocalKafka({ heapMb: 384 }), startSerialRig(workDir)]);
  gateway = await createChildGateway({
    brokers: broker.brokers,
    name: 'broker-restart',
    logLevel: 'debug',
    // A short publish deadline: during the outage senders get CR quickly and resend, like devices do.
    config: { kafka: { publishTimeoutMs: 3_000 }, devices: serial.devices },
  });
  await gateway.start();
}, 180_000);

afterAll(async () => {
  await serial?.stop();
  await gateway?.dispose();
  await broker?.stop();
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('fault: Kafka broker stopped and restarted mid-stream', () => {
  it('loses no positively acknowledged MLLP message and no accepted serial frame; duplicates only identical', async () => {
    const ledger = new AckedLedger();
    const stream = startMllpStream({ port: gateway.mllpPort, connections: 4, ledger, prefix: 'BR' });
    const maxPending = new Map<string, number>();
    try {
      await stream.waitForAcks(10, 30_000);
      await waitForSerialData(gateway, serial.deviceIds, 3, 30_000);

      // Twice: a controlled stop (SIGTERM), then a crash (SIGKILL, the log recovered on restart).
      for (const how of ['stop', 'kill'] as const) {
        const outageStartedAt = Date.now();
        await (how === 'stop' ? broker.stop() : broker.kill());
        // Hold the outage at least 6 s and until it has shown on both paths: senders refused (CR or
        // no reply) and a serial backlog on every device.
        await waitFor(
          'negative replies on every connection and a serial backlog on every device',
          async () => {
            for (const device of await gateway.devices()) {
              if (serial.deviceIds.includes(device.id)) maxPending.set(device.id, Math.max(maxPending.get(device.id) ?? 0, device.pendingMessages));
            }
            const refused = ledger.all().filter((entry) => entry.replies.length > 0 && entry.firstSentAt >= outageStartedAt - 30_000 && entry.replies.some((code) => !positiveAckCodes.has(code)));
            return Date.now() - outageStartedAt >= 6_000 && refused.length >= 4 && serial.deviceIds.every((id) => (maxPending.get(id) ?? 0) >= 3);
          },
          45_000,
        );
        expect((await gateway.getJson('/readyz')).status).toBe(503);
        const outageMs = Date.now() - outageStartedAt;

        await broker.restart();
        await stream.waitForAcks(10, 90_000);
        await gateway.waitReady(30_000);
        console.log(`[faults] broker ${how}: outage ${outageMs} ms; largest serial backlog ${JSON.stringify(Object.fromEntries(maxPending))}`);
        maxPending.clear();
      }
    } finally {
      await stream.stop();
    }

    // Serial: stop the devices, let the backlog drain, then the gateway's own counts.
    await serial.stop();
    const drained = await waitFor(
      'the serial backlog to drain',
      async () => {
        const devices = (await gateway.devices()).filter((device) => serial.deviceIds.includes(device.id));
        return devices.every((device) => device.pendingMessages === 0) ? devices : undefined;
      },
      60_000,
    );
    const metrics = await gateway.metrics();
    expect(metrics.sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
    for (const device of drained) {
      // Every data frame received became a published message or a dead letter: nothing was dropped.
      expect(device.messages.total + device.deadLetters, device.id).toBe(device.framesReceived);
    }
    const end = await gateway.stop();
    expect(end.code).toBe(0);

    const check = await finalCheck('broker stopped and restarted (ack: kafka)', gateway, broker.brokers, ledger, serial.deviceIds);
    expect(check.mllp.acked).toBeGreaterThan(40);
    expect(check.mllp.missing).toEqual([]);
    for (const duplicate of check.mllp.duplicates) expect(duplicate, duplicate.resourceId).toMatchObject({ identicalKey: true, identicalValue: true });
    for (const device of check.serial) {
      expect(device.accepted, device.device).toBeGreaterThan(5);
      expect(device.missing, device.device).toEqual([]);
      expect(device.differingDuplicates, device.device).toBe(0);
    }
    for (const device of drained) {
      expect(check.serial.find((report) => report.device === device.id)?.accepted, device.id).toBe(device.messages.total);
    }
  }, 240_000);
});
