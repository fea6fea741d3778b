/**
 * Fault test: a slow Kafka. The broker process is frozen (SIGSTOP, then SIGCONT: connections stay
 * open, nothing is answered) while 4 MLLP senders and 2 serial devices stream into the gateway (a
 * child process). Twice: a short freeze (under kafka.publishTimeoutMs: ACKs are only late) and a
 * long one (over it: senders get CR and resend while the first attempts still sit in the frozen
 * broker). ACK latency grows (printed, not asserted beyond sanity), the gateway's RSS stays bounded,
 * nothing acknowledged or accepted is lost, duplicates are identical. Uses a broker of its own.
 */
import { describe, expect, it } from 'vitest';
import { AckedLedger, summarize } from '../support/acked-ledger.ts';
import { expectNothingAcknowledgedLost, finalCheck, useFaultRig, waitForSerialData } from '../support/fault-scenario.ts';
import { waitFor } from '../support/wait-for.ts';
import { startMllpStream } from '../support/mllp-stream.ts';

const PUBLISH_TIMEOUT_MS = 8_000;
/** Generous: the gateway runs at ~100-200 MB here; a leak under a frozen broker would pass it. */
const RSS_BOUND_MB = 600;
const rig = useFaultRig({
  name: 'kafka-pause',
  ownBroker: true,
  gateway: (serial) => ({ config: { kafka: { publishTimeoutMs: PUBLISH_TIMEOUT_MS }, devices: serial.devices } }),
});

describe('fault: Kafka slow (broker process frozen with SIGSTOP, then SIGCONT)', () => {
  it('ACKs are late or refused, never lost; memory stays bounded; accepted serial frames all reach Kafka', async () => {
    const { gateway, serial, broker } = rig;
    const ledger = new AckedLedger();
    const rssSamples: { at: number; kb: number }[] = [];
    const sampler = setInterval(() => {
      try {
        rssSamples.push({ at: Date.now(), kb: gateway.rssKb() });
      } catch {
        // between lifetimes: nothing to sample
      }
    }, 250);
    const pendingMax = new Map<string, number>();
    const stream = startMllpStream({ port: gateway.mllpPort, connections: 4, ledger, prefix: 'KP' });
    const phases: { label: string; from: number; to: number }[] = [];
    try {
      await stream.waitForAcks(15, 30_000);
      await waitForSerialData(gateway, serial.deviceIds, 3, 30_000);
      const baselineEnd = Date.now();
      phases.push({ label: 'before any freeze', from: 0, to: baselineEnd });

      for (const freezeMs of [PUBLISH_TIMEOUT_MS / 2, PUBLISH_TIMEOUT_MS + 4_000]) {
        const frozenAt = Date.now();
        await broker.pause();
        try {
          // The freeze length is the scenario itself, so it is a wait, not a poll for a result.
          while (Date.now() - frozenAt < freezeMs) {
            for (const device of await gateway.devices()) {
              if (serial.deviceIds.includes(device.id)) pendingMax.set(device.id, Math.max(pendingMax.get(device.id) ?? 0, device.pendingMessages));
            }
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        } finally {
          broker.resume();
        }
        const resumedAt = Date.now();
        await stream.waitForAcks(10, 90_000);
        phases.push({ label: `freeze ${freezeMs / 1000} s (publish timeout ${PUBLISH_TIMEOUT_MS / 1000} s) until 10 more ACKs each`, from: frozenAt, to: Date.now() });
        console.log(`[faults] broker frozen ${resumedAt - frozenAt} ms; largest serial backlog ${JSON.stringify(Object.fromEntries(pendingMax))}`);
      }
    } finally {
      clearInterval(sampler);
      await stream.stop();
    }

    await serial.stop();
    await waitFor('the serial backlog to drain', async () => (await gateway.devices()).every((device) => device.pendingMessages === 0), 60_000);
    expect((await gateway.metrics()).sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
    expect((await gateway.stop()).code).toBe(0);

    const check = await finalCheck('Kafka frozen twice (ack: kafka)', gateway, broker.brokers, ledger, serial.deviceIds);
    const latencies = phases.map((phase) => ({ ...phase, latency: ledger.latency(phase), firstSend: ledger.latency(phase, 'first-send') }));
    for (const { label, latency, firstSend } of latencies) {
      console.log(
        `[faults]   ${label}: ACK latency p50 ${latency.p50.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms, max ${latency.max.toFixed(0)} ms;` +
          ` first send -> ACK p99 ${firstSend.p99.toFixed(0)} ms, max ${firstSend.max.toFixed(0)} ms (n=${latency.count})`,
      );
    }
    const rss = summarize(rssSamples.map((sample) => sample.kb / 1024));
    const baselineRss = summarize(rssSamples.filter((sample) => sample.at < (phases[0]?.to ?? 0)).map((sample) => sample.kb / 1024));
    console.log(`[faults]   gateway RSS MB: before the freezes max ${baselineRss.max.toFixed(0)}; whole run p50 ${rss.p50.toFixed(0)}, max ${rss.max.toFixed(0)} (${rss.count} samples, bound ${RSS_BOUND_MB})`);

    expectNothingAcknowledgedLost(check);
    for (const device of check.serial) {
      // The backlog grew while the broker was frozen: the freeze was felt on the serial path too.
      expect(pendingMax.get(device.device) ?? 0, device.device).toBeGreaterThan(0);
    }
    // Sanity only (no timing thresholds): the freeze held some ACKs back for seconds, and the long one refused some.
    const [, shortFreeze, longFreeze] = latencies;
    expect(shortFreeze?.latency.max ?? 0).toBeGreaterThan(1_000);
    expect(longFreeze?.firstSend.max ?? 0).toBeGreaterThan(PUBLISH_TIMEOUT_MS);
    expect((check.mllp.negativeReplies.CR ?? 0) + (check.mllp.failedAttempts.reply_timeout ?? 0)).toBeGreaterThan(0);
    expect(rss.count).toBeGreaterThan(20);
    expect(rss.max).toBeLessThan(RSS_BOUND_MB);
  }, 240_000);
});
