/**
 * Fault scenario: the Kafka broker is stopped (SIGTERM) and later killed (SIGKILL), each time
 * restarted, while 4 MLLP senders and 2 serial devices (real simulator processes: one on a socat pty
 * pair, one over TCP) stream into the gateway (a child process). Every message that got a positive
 * ACK is on Kafka afterwards; every serial frame the gateway accepted is on Kafka; duplicates are
 * counted, listed and must be identical. Run by faults-broker-restart.test.ts (ack: kafka) and
 * faults-broker-restart-spool.test.ts (ack: spool). Uses a broker of its own, since it stops it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AckedLedger, positiveAckCodes } from '../support/acked-ledger.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  deliveryConfig,
  expectNothingAcknowledgedLost,
  finalCheck,
  spoolPending,
  useFaultRig,
  waitForSerialData,
  waitUntilDelivered,
  type AckMode,
} from '../support/fault-scenario.ts';
import { startMllpStream } from '../support/mllp-stream.ts';

export function defineBrokerRestartTests(mode: AckMode): void {
  const rig = useFaultRig({
    name: `broker-restart-${mode}`,
    ownBroker: true,
    // A short publish deadline: during the outage (ack: kafka) senders get CR quickly and resend, like devices do.
    gateway: (serial, workDir) => ({ config: { kafka: { publishTimeoutMs: 3_000 }, devices: serial.devices, ...deliveryConfig(mode, join(workDir, 'spool')) } }),
  });

  describe(`fault: Kafka broker stopped and restarted mid-stream (delivery.ack: ${mode})`, () => {
    it('loses no positively acknowledged MLLP message and no accepted serial frame; duplicates only identical', async () => {
      const { gateway, serial, broker } = rig;
      const ledger = new AckedLedger();
      const stream = startMllpStream({ port: gateway.mllpPort, connections: 4, ledger, prefix: 'BR' });
      const maxPending = new Map<string, number>();
      let maxSpoolPending = 0;
      try {
        await stream.waitForAcks(10, 30_000);
        await waitForSerialData(gateway, serial.deviceIds, 3, 30_000);

        // Twice: a controlled stop (SIGTERM), then a crash (SIGKILL, the log recovered on restart).
        for (const how of ['stop', 'kill'] as const) {
          const outageStartedAt = Date.now();
          const ackedBefore = stream.ackedCount();
          await (how === 'stop' ? broker.stop() : broker.kill());
          // Hold the outage at least 6 s and until it has shown on both paths. ack: kafka: senders
          // refused (CR) and a serial backlog in memory. ack: spool: the spool grows.
          await waitFor(
            mode === 'kafka' ? 'negative replies and a serial backlog on every device' : 'the spool to hold records',
            async () => {
              for (const device of await gateway.devices()) {
                if (serial.deviceIds.includes(device.id)) maxPending.set(device.id, Math.max(maxPending.get(device.id) ?? 0, device.pendingMessages));
              }
              maxSpoolPending = Math.max(maxSpoolPending, await spoolPending(gateway));
              if (Date.now() - outageStartedAt < 6_000) return false;
              if (mode === 'spool') return maxSpoolPending > 0;
              const refused = ledger.all().filter((entry) => entry.replyTimes.some((at, index) => at >= outageStartedAt && !positiveAckCodes.has(entry.replies[index] ?? '')));
              return refused.length >= 4 && serial.deviceIds.every((id) => (maxPending.get(id) ?? 0) >= 3);
            },
            45_000,
          );
          const readiness = await gateway.readiness();
          const ackedDuringOutage = stream.ackedCount() - ackedBefore;
          if (mode === 'kafka') {
            // Nothing is acknowledged that Kafka does not hold: not ready, and (beyond what was in flight) no ACKs.
            expect(readiness.httpStatus).toBe(503);
          } else {
            // The spool takes over: still ready, and senders keep getting positive ACKs.
            expect(readiness.httpStatus).toBe(200);
            expect(ackedDuringOutage).toBeGreaterThan(8);
          }
          const outageMs = Date.now() - outageStartedAt;
          await broker.restart();
          await stream.waitForAcks(10, 90_000);
          await gateway.waitReady(30_000);
          console.log(
            `[faults] broker ${how} (ack: ${mode}): outage ${outageMs} ms, positive ACKs during it ${ackedDuringOutage};` +
              ` largest serial backlog ${JSON.stringify(Object.fromEntries(maxPending))}, largest spool backlog ${maxSpoolPending} records`,
          );
          maxPending.clear();
          maxSpoolPending = 0;
        }
      } finally {
        await stream.stop();
      }

      // Serial: stop the devices, let queues and spool drain, then the gateway's own counts.
      await serial.stop();
      const drained = await waitUntilDelivered(gateway, serial.deviceIds, 60_000);
      const metrics = await gateway.metrics();
      expect(metrics.sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
      for (const device of drained) {
        // Every data frame received became a published message or a dead letter: nothing was dropped.
        expect(device.messages.total + device.deadLetters, device.id).toBe(device.framesReceived);
      }
      const end = await gateway.stop();
      expect(end.code).toBe(0);

      const check = await finalCheck(`broker stopped and restarted (ack: ${mode})`, gateway, broker.brokers, ledger, serial.deviceIds);
      expect(check.mllp.acked).toBeGreaterThan(40);
      expectNothingAcknowledgedLost(check);
      for (const device of check.serial) {
        expect(device.published, device.device).toBe(drained.find((counted) => counted.id === device.device)?.messages.total);
      }
    }, 240_000);
  });
}
