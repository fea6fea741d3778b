/**
 * Fault test: the spool's disk fills up (delivery.ack: spool). Running as root, chmod stops no
 * write, so the gateway (a child process) runs in a mount namespace of its own (`unshare --mount`)
 * with an 8 MiB tmpfs as its spool dir; the test fills that file system through /proc/<pid>/root
 * until ENOSPC, then frees it. While it is full: a clear error (NAK with spool_write_failed, a log
 * line with errno ENOSPC, /readyz 503 "unwritable", the write-error metric) and no positive ACK;
 * once freed, the gateway accepts again on its own, and nothing acknowledged before, during or after
 * is lost. Needs root and unshare: without them the test fails, saying what is missing.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AckedLedger, positiveAckCodes } from '../support/acked-ledger.ts';
import { assertMountNamespaceAvailable } from '../support/child-gateway.ts';
import { expectNothingAcknowledgedLost, finalCheck, useFaultRig, waitUntilDelivered, waitForSerialData } from '../support/fault-scenario.ts';
import { waitFor } from '../support/wait-for.ts';
import { startMllpStream } from '../support/mllp-stream.ts';

const TMPFS_BYTES = 8 * 1024 * 1024;
beforeAll(() => assertMountNamespaceAvailable());
const rig = useFaultRig({
  name: 'disk-full',
  gateway: (serial) => ({
    tmpfs: { path: spoolDir, sizeBytes: TMPFS_BYTES },
    // maxBytes stays at its 1 GiB default, far above the file system: the disk fills, not the spool.
    config: { devices: serial.devices, delivery: { ack: 'spool', spool: { dir: spoolDir, segmentBytes: 1024 * 1024 } } },
  }),
});
const spoolDir = join(rig.workDir, 'spool');

/** Writes `path` until the file system refuses one more byte (ENOSPC); returns the bytes written. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const chunkSize of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(chunkSize, 0x5a);
      for (;;) {
        try {
          const count = writeSync(fd, chunk);
          written += count;
          if (count < chunkSize) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('fault: the spool disk is full (delivery.ack: spool, tmpfs in a private mount namespace)', () => {
  it('full: NAK spool_write_failed, ENOSPC logged, /readyz 503, no positive ACK; freed: accepts again; nothing acknowledged lost', async () => {
    const { gateway, serial } = rig;
    const ledger = new AckedLedger();
    const stream = startMllpStream({ port: gateway.mllpPort, connections: 4, ledger, prefix: 'DF' });
    const filler = gateway.pathInside(join(spoolDir, 'filler'));
    let fullFrom = 0;
    let freedAt = 0;
    try {
      // The mechanism itself: the gateway sees a tmpfs of its own at the spool dir (the test process does not).
      const mountInfo = readFileSync(`/proc/${gateway.pid}/mountinfo`, 'utf8');
      expect(mountInfo.split('\n').some((line) => line.includes(` ${spoolDir} `) && line.includes(' - tmpfs '))).toBe(true);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${spoolDir} `);
      await stream.waitForAcks(5, 30_000);
      await waitForSerialData(gateway, serial.deviceIds, 3, 30_000);

      const filledAt = Date.now();
      const filled = fillUp(filler);
      // The error is visible on every channel: /readyz, the NAKs senders get, the metric, the log.
      const readiness = await waitFor(
        '/readyz to report the spool unwritable',
        async () => {
          const state = await gateway.readiness();
          return state.checks.spool === 'unwritable' ? state : undefined;
        },
        30_000,
      );
      expect(readiness.httpStatus).toBe(503);
      expect(readiness.spool?.lastWriteError).toBe('ENOSPC');
      await waitFor(
        'a spool_write_failed NAK on every connection',
        () => new Set(ledger.all().filter((entry) => entry.errorCodes.includes('spool_write_failed')).map((entry) => entry.key)).size === 4,
        30_000,
      );
      // From here on the disk is known to be full: hold it a few seconds; no message may be acknowledged.
      fullFrom = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const metrics = await gateway.metrics();
      expect(metrics.sum('vitalbridge_spool_write_errors_total', { errno: 'ENOSPC' })).toBeGreaterThan(0);
      const logged = gateway.logEvents().filter((event) => event.event === 'spool_write_failed' && event.lifetime === 0);
      expect(logged.length).toBeGreaterThan(0);
      expect(logged[0]).toMatchObject({ level: 'error', code: 'spool_write_failed', errno: 'ENOSPC' });

      unlinkSync(filler);
      freedAt = Date.now();
      console.log(`[faults] spool tmpfs (${TMPFS_BYTES / 1024 / 1024} MiB) filled with ${(filled / 1024 / 1024).toFixed(2)} MiB; full (confirmed) for ${freedAt - fullFrom} ms, ${freedAt - filledAt} ms in all`);
      // Recovery on its own, with no restart: ready again and positive ACKs on every connection.
      await gateway.waitReady(30_000);
      await stream.waitForAcks(5, 60_000);
      console.log(`[faults] spool disk freed -> ready and 5 more positive ACKs per connection in ${Date.now() - freedAt} ms`);
    } finally {
      await stream.stop();
    }

    await serial.stop();
    await waitUntilDelivered(gateway, serial.deviceIds, 60_000);
    // The serial queues held the frames the spool refused, within their bound.
    expect((await gateway.metrics()).sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
    expect((await gateway.stop()).code).toBe(0);

    const positiveWhileFull = ledger
      .all()
      .flatMap((entry) => entry.replies.map((code, index) => ({ controlId: entry.controlId, code, at: entry.replyTimes[index] ?? 0 })))
      .filter((reply) => positiveAckCodes.has(reply.code) && reply.at >= fullFrom && reply.at < freedAt);
    const check = await finalCheck('spool disk full, then freed (ack: spool)', gateway, rig.brokers, ledger, serial.deviceIds);
    console.log(`[faults]   positive ACKs while the disk was full: ${positiveWhileFull.length}`);
    expect(positiveWhileFull).toEqual([]);
    expect(check.mllp.errorCodes.spool_write_failed ?? 0).toBeGreaterThan(0);
    expectNothingAcknowledgedLost(check);
  }, 240_000);
});
