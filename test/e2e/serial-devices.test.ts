/**
 * Serial devices end to end over real parts: every registered byte-stream adapter's simulator
 * (`vitalbridge simulate`, a real process) on a socat pty pair read by the gateway's serial
 * transport, plus one simulator listening like a terminal server read by the tcp-client transport;
 * the real gateway, the real Kafka broker, and a consumer reading back Observations and device events.
 * Adapters that land later are covered automatically; with none registered, a test-only adapter
 * (test/support/test-line-adapter.ts) exercises the engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapters } from '../../adapters/index.ts';
import type { AnyAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import type { FhirResource, Observation } from '../../schemas/fhir.ts';
import { assertValidFhirR4 } from '../support/fhir-validator.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll, type KafkaRecord } from '../support/kafka.ts';
import { assertSocatInstalled } from '../support/socat.ts';
import { testLineAdapter } from '../support/test-line-adapter.ts';
import { freePort } from '../../src/transports/free-port.ts';

const registered = adapters.filter((adapter) => adapter.transport === 'byte-stream');
const deviceAdapters: readonly AnyAdapter[] = registered.length > 0 ? registered : [testLineAdapter];
const bin = new URL('../../bin/vitalbridge.js', import.meta.url).pathname;
const testAdapterModule = new URL('../support/test-line-adapter.ts', import.meta.url).pathname;
const speed = 5;
const dir = mkdtempSync(join(tmpdir(), 'vb-serial-e2e-'));

interface Simulator {
  readonly child: ChildProcess;
  output(): string;
  signal(signal: NodeJS.Signals): void;
}
const simulators = new Set<Simulator>();

/** Starts `vitalbridge simulate` in its own process group (so socat goes with it) and waits until it serves. */
async function simulate(adapter: AnyAdapter, mode: string[]): Promise<Simulator> {
  const extra = adapter === testLineAdapter ? ['--adapter-module', testAdapterModule] : [];
  const child = spawn(process.execPath, [bin, 'simulate', adapter.name, ...mode, '--speed', String(speed), '--seed', '7', ...extra], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const simulator: Simulator = {
    child,
    output: () => output,
    signal: (signal) => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, signal);
    },
  };
  simulators.add(simulator);
  const deadline = Date.now() + 30_000;
  while (!/^(gateway side:|simulating .* on tcp)/m.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`simulate ${adapter.name} ${mode.join(' ')} did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return simulator;
}

async function kill(simulator: Simulator): Promise<void> {
  const exited = new Promise<void>((resolve) => (simulator.child.exitCode !== null ? resolve() : simulator.child.once('exit', () => resolve())));
  simulator.signal('SIGKILL');
  await exited;
  simulators.delete(simulator);
}


let gw: TestGateway;
const ptyLink = (adapter: AnyAdapter) => join(dir, adapter.name);
const ptySimulators = new Map<string, Simulator>();
let tcpSimulator: Simulator;
let tcpPort: number;
const tcpAdapter = deviceAdapters[0] as AnyAdapter;
const tcpDeviceId = `ts-${tcpAdapter.name}`;
const ptyDeviceId = (adapter: AnyAdapter) => `pty-${adapter.name}`;

beforeAll(async () => {
  assertSocatInstalled();
  tcpPort = await freePort();
  const started = await Promise.all([
    ...deviceAdapters.map(async (adapter) => [adapter.name, await simulate(adapter, ['--pty', '--link', ptyLink(adapter)])] as const),
  ]);
  for (const [name, simulator] of started) ptySimulators.set(name, simulator);
  tcpSimulator = await simulate(tcpAdapter, ['--tcp', String(tcpPort)]);

  const reconnect = { initialDelayMs: 100, maxDelayMs: 1_000 };
  gw = await startTestGateway({
    brokers: kafkaBrokers(),
    extraAdapters: [testLineAdapter],
    logLevel: 'info',
    config: {
      devices: [
        ...deviceAdapters.map((adapter, index) => ({
          id: ptyDeviceId(adapter),
          adapter: adapter.name,
          transport: { kind: 'serial', path: ptyLink(adapter) },
          patient: { identifier: `MRN-E2E-${index}`, system: 'urn:oid:1.2.3.4' },
          location: `ICU bed ${index + 1}`,
          reconnect,
        })),
        {
          id: tcpDeviceId,
          adapter: tcpAdapter.name,
          transport: { kind: 'tcp-client', host: '127.0.0.1', port: tcpPort },
          patient: { identifier: 'MRN-E2E-TS' },
          staleAfterSeconds: 3,
          reconnect,
        },
      ],
    },
  });
}, 120_000);

afterAll(async () => {
  for (const simulator of simulators) simulator.signal('SIGKILL');
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const eventsOf = (deviceId: string, types: string[], after = 0) => (record: KafkaRecord) => {
  if (record.key !== deviceId) return false;
  const event = JSON.parse(record.value) as { type: string; at: string };
  return types.includes(event.type) && Date.parse(event.at) >= after;
};

async function observationsFrom(deviceKeyFilter: (record: KafkaRecord) => boolean, expected: number, timeoutMs = 30_000) {
  const records = await readAll(gw.brokers, gw.topics.observation, { expected, timeoutMs, where: deviceKeyFilter });
  return records.map((record) => ({ record, resource: JSON.parse(record.value) as Observation }));
}

/** Observations of one configured device: its patient binding is in the subject. */
const ofPatient = (identifier: string, after = 0) => (record: KafkaRecord) => {
  const resource = JSON.parse(record.value) as Observation;
  return resource.subject?.identifier?.value === identifier && Date.parse(resource.effectiveDateTime ?? '') >= after - 1000;
};

describe(`serial devices end to end (${deviceAdapters.map((a) => a.name).join(', ')})`, () => {
  it.each(deviceAdapters.map((adapter, index) => [adapter.name, index] as const))(
    '%s over a socat pty pair: valid FHIR Observations on the observation topic, with the contract headers',
    async (name, index) => {
      const observations = await observationsFrom(ofPatient(`MRN-E2E-${index}`), 3);
      expect(observations.length, `observations from ${name}`).toBeGreaterThanOrEqual(3);
      for (const { record, resource } of observations.slice(0, 3)) {
        expect(record.headers['source-adapter']).toBe(name);
        expect(record.headers['content-type']).toBe('application/fhir+json; fhirVersion=4.0');
        expect(resource.resourceType).toBe('Observation');
        expect(() => validateResource(resource as FhirResource)).not.toThrow();
        await assertValidFhirR4(resource);
      }
      const connected = await readAll(gw.brokers, gw.topics.events, { expected: 1, timeoutMs: 10_000, where: eventsOf(ptyDeviceId(deviceAdapters[index] as AnyAdapter), ['device.connected']) });
      expect(connected).toHaveLength(1);
      expect(connected[0]?.headers['content-type']).toBe('application/vnd.vitalbridge.event+json');
      expect(JSON.parse(connected[0]?.value ?? '{}')).toMatchObject({ type: 'device.connected', adapter: name, deviceId: ptyDeviceId(deviceAdapters[index] as AnyAdapter) });
    },
    60_000,
  );

  it(`${tcpAdapter.name} through a terminal server (tcp-client): Observations arrive`, async () => {
    const observations = await observationsFrom(ofPatient('MRN-E2E-TS'), 2);
    expect(observations.length).toBeGreaterThanOrEqual(2);
    for (const { resource } of observations.slice(0, 2)) await assertValidFhirR4(resource);
  }, 60_000);

  it('a killed pty simulator turns the device disconnected; restarted, it reconnects, recovers, and data flows again', async () => {
    const adapter = deviceAdapters[0] as AnyAdapter;
    const deviceId = ptyDeviceId(adapter);
    const killedAt = Date.now();
    await kill(ptySimulators.get(adapter.name) as Simulator);
    const down = await readAll(gw.brokers, gw.topics.events, { expected: 1, timeoutMs: 20_000, where: eventsOf(deviceId, ['device.disconnected', 'device.stale'], killedAt) });
    expect(down.map((r) => JSON.parse(r.value).type)).toEqual([expect.stringMatching(/device\.(disconnected|stale)/)]);
    expect(gw.gateway.deviceStates().find((d) => d.deviceId === deviceId)?.state).toMatch(/disconnected|stale/);

    const restartedAt = Date.now();
    ptySimulators.set(adapter.name, await simulate(adapter, ['--pty', '--link', ptyLink(adapter)]));
    const recovered = await readAll(gw.brokers, gw.topics.events, { expected: 1, timeoutMs: 30_000, where: eventsOf(deviceId, ['device.recovered'], restartedAt) });
    expect(recovered).toHaveLength(1);
    const fresh = await observationsFrom(ofPatient('MRN-E2E-0', Date.parse(JSON.parse(recovered[0]?.value ?? '{}').at)), 1);
    expect(fresh.length).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('a frozen terminal-server simulator turns the device stale; resumed, it recovers', async () => {
    const frozenAt = Date.now();
    tcpSimulator.signal('SIGSTOP');
    try {
      const down = await readAll(gw.brokers, gw.topics.events, { expected: 1, timeoutMs: 30_000, where: eventsOf(tcpDeviceId, ['device.stale', 'device.disconnected'], frozenAt) });
      expect(down).toHaveLength(1);
    } finally {
      tcpSimulator.signal('SIGCONT');
    }
    const resumedAt = Date.now();
    const recovered = await readAll(gw.brokers, gw.topics.events, { expected: 1, timeoutMs: 30_000, where: eventsOf(tcpDeviceId, ['device.recovered'], resumedAt - 500) });
    expect(recovered).toHaveLength(1);
    expect(gw.gateway.deviceStates().find((d) => d.deviceId === tcpDeviceId)).toMatchObject({ state: 'recovered', transport: `tcp-client:127.0.0.1:${tcpPort}` });
  }, 90_000);

  it('logs no patient identifiers', () => {
    const log = gw.logLines.join('');
    expect(log).toContain('device_connected');
    expect(log).not.toContain('MRN-E2E');
  });
});
