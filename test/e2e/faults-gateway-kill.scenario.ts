/**
 * Fault scenario: the gateway (a child process) is SIGKILLed mid-stream and restarted on the same
 * config (and spool dir), three times, while 4 MLLP senders and 2 serial devices (real simulator
 * processes) stream; the broker is the suite's shared one. Every message that got a positive ACK is
 * on Kafka afterwards; duplicates (records that reached Kafka, or were spooled, but whose ACK or
 * checkpoint died with the process) are counted, listed and must be identical.
 *
 * Serial frames: what the publisher took (Kafka with ack: kafka, the fsynced spool with ack: spool)
 * must all be on Kafka. A frame still in a device's in-memory queue when the process dies is lost
 * (README, serial devices): the count is printed, and only a SIGKILLed lifetime may lose any.
 * Run by faults-gateway-kill.test.ts (ack: kafka) and faults-gateway-kill-spool.test.ts (ack: spool).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AckedLedger } from '../support/acked-ledger.ts';
import { deliveryConfig, finalCheck, useFaultRig, waitUntilDelivered, type AckMode } from '../support/fault-scenario.ts';
import { waitFor } from '../support/wait-for.ts';
import { startMllpStream } from '../support/mllp-stream.ts';

const KILLS = 3;

export function defineGatewayKillTests(mode: AckMode): void {
  const rig = useFaultRig({
    name: `gateway-kill-${mode}`,
    gateway: (serial, workDir) => ({ config: { devices: serial.devices, ...deliveryConfig(mode, join(workDir, 'spool')) } }),
  });

  /** Frames the current lifetime handed to the publisher, from its debug log. */
  function publishedThisLifetime(deviceId: string): number {
    const current = rig.gateway.lifetimes.length - 1;
    return rig.gateway.logEvents().filter((event) => event.lifetime === current && event.event === 'device_message_published' && event.device === deviceId).length;
  }

  describe(`fault: gateway SIGKILLed mid-stream and restarted (delivery.ack: ${mode})`, () => {
    it(`${KILLS} SIGKILLs: no positively acknowledged MLLP message and no published serial frame lost; duplicates only identical`, async () => {
      const { gateway, serial } = rig;
      const ledger = new AckedLedger();
      // Short pauses between messages, so that a kill usually finds exchanges in flight (attempts
      // without a reply, resent to the next lifetime: "failed attempts" in the summary).
      const stream = startMllpStream({ port: gateway.mllpPort, connections: 4, ledger, prefix: 'GK', intervalMs: 20 });
      const restartMs: number[] = [];
      const tornRecords: number[] = [];
      try {
        for (let kill = 0; kill <= KILLS; kill += 1) {
          // Mid-stream: every sender and every serial device is moving in this lifetime.
          await stream.waitForAcks(8, 60_000);
          await waitFor('serial frames published in this lifetime', () => serial.deviceIds.every((id) => publishedThisLifetime(id) >= 3), 30_000);
          if (kill === KILLS) break;
          await gateway.kill();
          const killedAt = Date.now();
          await gateway.start();
          restartMs.push(Date.now() - killedAt);
          tornRecords.push((await gateway.metrics()).sum('vitalbridge_spool_torn_records_discarded_total'));
        }
      } finally {
        await stream.stop();
      }
      await serial.stop();
      await waitUntilDelivered(gateway, serial.deviceIds, 60_000);
      expect((await gateway.metrics()).sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
      const end = await gateway.stop();
      expect(end.code).toBe(0);
      expect(gateway.lifetimes.map((lifetime) => lifetime.end?.by)).toEqual([...Array<string>(KILLS).fill('SIGKILL'), 'SIGTERM']);
      console.log(
        `[faults] gateway SIGKILL -> ready again (ack: ${mode}): ${restartMs.map((ms) => `${ms} ms`).join(', ')}` +
          (mode === 'spool' ? `; torn spool records discarded at each restart: ${tornRecords.join(', ')}` : ''),
      );

      const check = await finalCheck(`gateway SIGKILLed ${KILLS}x and restarted (ack: ${mode})`, gateway, rig.brokers, ledger, serial.deviceIds);
      expect(check.mllp.acked).toBeGreaterThan(4 * 8 * (KILLS + 1));
      expect(check.mllp.missing).toEqual([]);
      for (const duplicate of check.mllp.duplicates) expect(duplicate, duplicate.resourceId).toMatchObject({ identicalKey: true, identicalValue: true });

      const lastLifetime = gateway.lifetimes.length - 1;
      for (const device of check.serial) {
        expect(device.published, device.device).toBeGreaterThan(10);
        expect(device.publishedMissing, device.device).toEqual([]);
        // Only a SIGKILLed lifetime may lose frames, and only those still in the in-memory queue.
        expect(device.acceptedMissing.filter((frame) => frame.lifetime === lastLifetime), device.device).toEqual([]);
        expect(device.differingDuplicates, device.device).toBe(0);
        console.log(`[faults] serial ${device.device} (ack: ${mode}): ${device.acceptedMissing.length} accepted frame(s) lost in the in-memory queue at a SIGKILL`);
      }
    }, 240_000);
  });
}
