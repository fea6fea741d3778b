/**
 * What the fault tests share: their set-up and tear-down (useFaultRig), two serial devices from real
 * simulator processes (one on a socat pty pair, one on TCP like a terminal server), waits on what
 * they publish, and the final check that reads the observation topic to its end and diffs it
 * against both ledgers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckedLedger, formatReport, readTopicToEnd, type LedgerReport } from './acked-ledger.ts';
import { afterAll, beforeAll, expect } from 'vitest';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';
import { freePort } from '../../src/transports/free-port.ts';
import { createChildGateway, type ChildGateway, type ChildGatewayOptions } from './child-gateway.ts';
import { kafkaBrokers } from './kafka.ts';
import { formatSerialReport, serialLedger, type SerialDeviceReport } from './serial-ledger.ts';
import { startSimulator, type SimulatorProcess } from './simulator-process.ts';
import { waitFor } from './wait-for.ts';

/** Resources one test PCD-01 message makes on the observation topic: SpO2, pulse rate, one NIBP panel. */
export const OBSERVATIONS_PER_MESSAGE = 3;

export interface SerialRig {
  readonly simulators: readonly SimulatorProcess[];
  /** For the gateway config's `devices`. */
  readonly devices: readonly Record<string, unknown>[];
  readonly deviceIds: readonly string[];
  stop(): Promise<void>;
}

export async function startSerialRig(workDir: string): Promise<SerialRig> {
  const ptyLink = join(workDir, 'masimo');
  const tcpPort = await freePort();
  const simulators = await Promise.all([
    startSimulator('masimo-ascii', { pty: ptyLink }, { speed: 5, seed: 11 }),
    startSimulator('nonin-oem3', { tcpPort }, { speed: 1, seed: 12 }),
  ]);
  const reconnect = { initialDelayMs: 100, maxDelayMs: 1_000 };
  const devices = [
    { id: 'fault-masimo', adapter: 'masimo-ascii', transport: { kind: 'serial', path: ptyLink }, reconnect },
    { id: 'fault-nonin', adapter: 'nonin-oem3', transport: { kind: 'tcp-client', host: '127.0.0.1', port: tcpPort }, reconnect },
  ];
  return {
    simulators,
    devices,
    deviceIds: devices.map((device) => device.id),
    async stop() {
      await Promise.all(simulators.map((simulator) => simulator.kill()));
    },
  };
}

/** What a fault test runs against, from its beforeAll on. */
export interface FaultRig {
  /** A fresh directory for this test file (the pty link, the spool), removed after it. */
  readonly workDir: string;
  readonly serial: SerialRig;
  readonly gateway: ChildGateway;
  /** The test's own broker (ownBroker), which it may stop, freeze or kill. */
  readonly broker: LocalKafka;
  /** The gateway's brokers: the test's own, else the suite's shared one. */
  readonly brokers: readonly string[];
}

/**
 * Registers the beforeAll and afterAll of a fault test: the two serial simulators, a broker of the
 * test's own if it will stop it (ownBroker), and a child gateway with debug logs on `gateway(...)`'s
 * config; afterwards everything is stopped (a frozen broker resumed first) and the work dir removed.
 */
export function useFaultRig(options: {
  readonly name: string;
  readonly ownBroker?: boolean;
  readonly gateway: (serial: SerialRig, workDir: string) => Pick<ChildGatewayOptions, 'config' | 'tmpfs'>;
}): FaultRig {
  const workDir = mkdtempSync(join(tmpdir(), `vb-faults-${options.name}-`));
  let serial: SerialRig | undefined;
  let gateway: ChildGateway | undefined;
  let broker: LocalKafka | undefined;
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the fault rig has no ${what} (before beforeAll, or it failed)`);
    return value;
  };

  beforeAll(async () => {
    [broker, serial] = await Promise.all([options.ownBroker === true ? startLocalKafka({ heapMb: 384 }) : undefined, startSerialRig(workDir)]);
    gateway = await createChildGateway({
      brokers: broker?.brokers ?? kafkaBrokers(),
      name: options.name,
      logLevel: 'debug',
      ...options.gateway(serial, workDir),
    });
    await gateway.start();
  }, 180_000);

  afterAll(async () => {
    broker?.resume();
    await serial?.stop();
    await gateway?.dispose();
    await broker?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  return {
    workDir,
    get serial() {
      return started(serial, 'serial devices');
    },
    get gateway() {
      return started(gateway, 'gateway');
    },
    get broker() {
      if (options.ownBroker !== true) throw new Error('this fault rig runs on the suite\'s shared broker (ownBroker: false)');
      return started(broker, 'broker');
    },
    get brokers() {
      return broker?.brokers ?? kafkaBrokers();
    },
  };
}

/** Every configured device has received data frames (the serial path is flowing). */
export async function waitForSerialData(gateway: ChildGateway, deviceIds: readonly string[], minimumFrames: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `${minimumFrames} frames from each of ${deviceIds.join(', ')}`,
    async () => {
      const devices = await gateway.devices();
      return deviceIds.every((id) => (devices.find((device) => device.id === id)?.framesReceived ?? 0) >= minimumFrames);
    },
    timeoutMs,
  );
}

/** When senders get their positive ACK: after Kafka (`ack: kafka`) or after the local spool (`ack: spool`). */
export type AckMode = 'kafka' | 'spool';

/** The config section for a mode; the spool in `spoolDir` (kept across restarts). */
export function deliveryConfig(mode: AckMode, spoolDir: string): Record<string, unknown> {
  return mode === 'spool' ? { delivery: { ack: 'spool', spool: { dir: spoolDir, segmentBytes: 1024 * 1024 } } } : {};
}

/** Spool records not yet acknowledged by Kafka (0 without a spool). */
export async function spoolPending(gateway: ChildGateway): Promise<number> {
  return (await gateway.readiness()).spool?.pendingRecords ?? 0;
}

/** Waits until the serial devices' queues and the spool (if any) are empty: everything taken is in Kafka. */
export async function waitUntilDelivered(gateway: ChildGateway, deviceIds: readonly string[], timeoutMs: number) {
  return waitFor(
    'the serial queues and the spool to drain to Kafka',
    async () => {
      const devices = (await gateway.devices()).filter((device) => deviceIds.includes(device.id));
      return devices.every((device) => device.pendingMessages === 0) && (await spoolPending(gateway)) === 0 ? devices : undefined;
    },
    timeoutMs,
  );
}

export interface FinalCheck {
  readonly mllp: LedgerReport;
  readonly serial: readonly SerialDeviceReport[];
  readonly text: string;
}

/** Reads the observation topic to its end and diffs it against the MLLP ledger and the serial ledger. */
export async function finalCheck(label: string, gateway: ChildGateway, brokers: readonly string[], ledger: AckedLedger, deviceIds: readonly string[]): Promise<FinalCheck> {
  const records = await readTopicToEnd(brokers, gateway.topics.observation, 60_000);
  const mllp = ledger.diff(records, { resourcesPerMessage: OBSERVATIONS_PER_MESSAGE });
  const serial = serialLedger(gateway, records, deviceIds);
  const text = `${formatReport(label, mllp)}\n${formatSerialReport(serial)}`;
  console.log(text);
  return { mllp, serial, text };
}

/**
 * The promise every fault test checks: no positively acknowledged MLLP message and no accepted
 * serial frame is missing from Kafka, and every duplicate is identical (same key, same value).
 */
export function expectNothingAcknowledgedLost(check: FinalCheck): void {
  expect(check.mllp.missing).toEqual([]);
  for (const duplicate of check.mllp.duplicates) expect(duplicate, duplicate.resourceId).toMatchObject({ identicalKey: true, identicalValue: true });
  for (const device of check.serial) {
    expect(device.accepted, device.device).toBeGreaterThan(5);
    expect(device.acceptedMissing, device.device).toEqual([]);
    expect(device.publishedMissing, device.device).toEqual([]);
    expect(device.differingDuplicates, device.device).toBe(0);
  }
}
