/**
 * Fault test: the gateway (a child process) is SIGKILLed mid-stream and restarted on the same
 * config, three times, while 4 MLLP senders and 2 serial devices (real simulator processes) stream.
 * Every message that got a positive ACK is on Kafka afterwards; duplicates (a message whose records
 * reached Kafka but whose ACK died with the process, then resent) are counted, listed and must be
 * identical. Serial frames: with `delivery.ack: kafka` a device's in-memory queue dies with the
 * process (README: serial devices), so frames accepted by a killed lifetime may be missing; the
 * count is printed and every frame accepted by the lifetime that ends with SIGTERM must be on Kafka.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckedLedger } from '../support/acked-ledger.ts';
import { createChildGateway, type ChildGateway } from '../support/child-gateway.ts';
import { finalCheck, startSerialRig, waitFor, type SerialRig } from '../support/fault-scenario.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { startMllpStream } from '../support/mllp-stream.ts';

const KILLS = 3;
const workDir = mkdtempSync(join(tmpdir(), 'vb-faults-kill-'));
let serial: SerialRig;
let gateway: ChildGateway;

beforeAll(async () => {
  serial = await startSerialRig(workDir);
  gateway = await createChildGateway({
    brokers: kafkaBrokers(),
    name: 'gateway-kill',
    logLevel: 'debug',
    config: { devices: serial.devices },
  });
  await gateway.start();
}, 180_000);

afterAll(async () => {
  await serial?.stop();
  await gateway?.dispose();
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

/** Frames accepted by the current lifetime, from its debug log. */
function acceptedThisLifetime(deviceId: string): number {
  const current = gateway.lifetimes.length - 1;
  return gateway.logEvents().filter((event) => event.lifetime === current && event.event === 'device_frame_accepted' && event.device === deviceId).length;
}

describe('fault: gateway SIGKILLed mid-stream and restarted', () => {
  it(`${KILLS} SIGKILLs: no positively acknowledged MLLP message lost; duplicates only identical`, async () => {
    const ledger = new AckedLedger();
    const stream = startMllpStream({ port: gateway.mllpPort, connections: 4, ledger, prefix: 'GK' });
    const restartMs: number[] = [];
    try {
      for (let kill = 0; kill <= KILLS; kill += 1) {
        // Mid-stream: every sender and every serial device is moving in this lifetime.
        await stream.waitForAcks(8, 60_000);
        await waitFor('serial frames in this lifetime', () => serial.deviceIds.every((id) => acceptedThisLifetime(id) >= 3), 30_000);
        if (kill === KILLS) break;
        await gateway.kill();
        const killedAt = Date.now();
        await gateway.start();
        restartMs.push(Date.now() - killedAt);
      }
    } finally {
      await stream.stop();
    }
    await serial.stop();
    await waitFor('the serial backlog to drain', async () => (await gateway.devices()).every((device) => device.pendingMessages === 0), 30_000);
    const metrics = await gateway.metrics();
    console.log(`[faults] last lifetime errors: ${metrics.samples.filter((s) => s.name === 'vitalbridge_errors_total').map((s) => `${s.labels.code}=${s.value}`).join(' ')}`);
    console.log(`[faults] devices: ${JSON.stringify((await gateway.devices()).filter((d) => serial.deviceIds.includes(d.id)).map((d) => [d.id, d.framesReceived, d.messages.total, d.deadLetters]))}`);
    expect(metrics.sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
    const end = await gateway.stop();
    expect(end.code).toBe(0);
    expect(gateway.lifetimes.map((lifetime) => lifetime.end?.by)).toEqual([...Array<string>(KILLS).fill('SIGKILL'), 'SIGTERM']);
    console.log(`[faults] gateway SIGKILL -> ready again: ${restartMs.map((ms) => `${ms} ms`).join(', ')}`);

    const check = await finalCheck(`gateway SIGKILLed ${KILLS}x and restarted (ack: kafka)`, gateway, kafkaBrokers(), ledger, serial.deviceIds);
    expect(check.mllp.acked).toBeGreaterThan(4 * 8 * (KILLS + 1));
    expect(check.mllp.missing).toEqual([]);
    // The kills hit senders mid-exchange: some attempts ended without a reply and were resent.
    expect(check.mllp.failedAttempts.connection_closed ?? 0).toBeGreaterThan(0);
    for (const duplicate of check.mllp.duplicates) expect(duplicate, duplicate.resourceId).toMatchObject({ identicalKey: true, identicalValue: true });

    const lastLifetime = gateway.lifetimes.length - 1;
    for (const device of check.serial) {
      expect(device.accepted, device.device).toBeGreaterThan(10);
      // ack: kafka keeps a serial device's queue in memory: only a SIGKILLed lifetime may lose frames.
      expect(device.missing.filter((frame) => frame.lifetime === lastLifetime), device.device).toEqual([]);
      expect(device.differingDuplicates, device.device).toBe(0);
      console.log(`[faults] serial ${device.device}: ${device.missing.length} accepted frame(s) lost with SIGKILLed in-memory queues (ack: kafka)`);
    }
  }, 240_000);
});
