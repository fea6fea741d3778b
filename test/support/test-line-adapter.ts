/**
 * A tiny test-only byte-stream adapter ("test-line") that exercises the serial engine (transport,
 * framer, session, runner) without depending on any vendor adapter. Not registered in
 * adapters/index.ts: tests pass it to resolveConfig / the harness, and the CLI loads it with
 * `--adapter-module test/support/test-line-adapter.ts`.
 *
 * Protocol: ASCII lines ending in LF.
 *   device -> gateway   `V|<serial>|<spo2>|<pulse>\n`   a reading (SpO2 %, pulse rate /min)
 *   device -> gateway   `A|OK\n`                        answer to HELLO (no data)
 *   gateway -> device   `HELLO\n` on open, `POLL\n` every tick (config `poll: true` only)
 * Anything else between lines is discarded (stream_out_of_sync); a line over 64 bytes is discarded
 * (stream_frame_too_large); a value that is not a whole number is a parse error (dead letter).
 */
import { z } from 'zod';
import { defineAdapter, type DeviceSession, type DeviceSimulator, type StreamFramer, type StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import { buildDevice, buildObservations, deviceKey, deviceResourceId, type DeviceIdentity, type Reading } from '../../src/fhir/index.ts';

const configSchema = z.strictObject({
  poll: z.boolean().default(false).describe('Request/response mode: the gateway sends HELLO on open and POLL every tick.'),
});
type Config = z.infer<typeof configSchema>;

interface Parsed {
  readonly serial: string;
  readonly spo2: string;
  readonly pulse: string;
}

const maxLine = 64;

export function createLineFramer(): StreamFramer {
  let buffer = Buffer.alloc(0);
  let overflowing = false;
  return {
    push(chunk) {
      const events: StreamFramerEvent[] = [];
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf(0x0a);
        if (end < 0) {
          if (buffer.length > maxLine) {
            events.push({ kind: 'discarded', bytes: buffer, code: 'stream_frame_too_large' });
            buffer = Buffer.alloc(0);
            overflowing = true;
          }
          return events;
        }
        const line = buffer.subarray(0, end + 1);
        buffer = buffer.subarray(end + 1);
        if (overflowing) {
          overflowing = false;
          events.push({ kind: 'discarded', bytes: line, code: 'stream_frame_too_large' });
        } else if (line.length > maxLine + 1) {
          events.push({ kind: 'discarded', bytes: line, code: 'stream_frame_too_large' });
        } else {
          const start = Math.max(line.lastIndexOf('V|'), line.lastIndexOf('A|'));
          if (start < 0) events.push({ kind: 'discarded', bytes: line, code: 'stream_out_of_sync' });
          else {
            if (start > 0) events.push({ kind: 'discarded', bytes: line.subarray(0, start), code: 'stream_out_of_sync' });
            events.push({ kind: 'frame', bytes: Buffer.from(line.subarray(start)) });
          }
        }
      }
    },
  };
}

function parse(frame: Buffer): Parsed {
  const fields = frame.toString('latin1').trimEnd().split('|');
  if (fields[0] !== 'V' || fields.length !== 4) throw new GatewayError('stream_out_of_sync', 'not a V| line');
  const [, serial = '', spo2 = '', pulse = ''] = fields;
  if (!/^\d{1,3}$/.test(spo2) || !/^\d{1,3}$/.test(pulse)) throw new GatewayError('device_value_out_of_range', 'a value is not a whole number');
  return { serial, spo2, pulse };
}

function createSession(poll: boolean): DeviceSession {
  return {
    tickMs: poll ? 200 : 60_000,
    onOpen: () => ({ send: poll ? [Buffer.from('HELLO\n')] : [] }),
    onFrame: (frame) => ({ send: [], data: frame[0] === 0x56 /* V */ }),
    onTick: () => ({ send: poll ? [Buffer.from('POLL\n')] : [] }),
  };
}

function createSimulator(options: { speed: number; seed: number; serialNumber?: string }): DeviceSimulator {
  let timer: NodeJS.Timeout | undefined;
  let io: { write(bytes: Buffer): void; now(): Date } | undefined;
  let n = options.seed;
  let polled = false;
  const serial = options.serialNumber ?? `SIM${options.seed}`;
  const line = () => {
    n += 1;
    return Buffer.from(`V|${serial}|${95 + (n % 4)}|${70 + (n % 7)}\n`);
  };
  return {
    start(handle) {
      io = handle;
      timer = setInterval(() => {
        if (!polled) io?.write(line());
      }, Math.max(5, 1000 / options.speed));
    },
    receive(bytes) {
      const text = bytes.toString('latin1');
      if (text.includes('HELLO')) io?.write(Buffer.from('A|OK\n'));
      if (text.includes('POLL')) {
        polled = true;
        io?.write(line());
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}

export const testLineAdapter = defineAdapter<Config, Parsed>({
  name: 'test-line',
  summary: 'Test-only ASCII line protocol (SpO2 and pulse) for the serial engine tests',
  transport: 'byte-stream',
  config: configSchema,
  parse,
  normalize(parsed, context) {
    const identity: DeviceIdentity = { kind: 'serial', serialNumber: parsed.serial, modelNumber: 'TL-1', manufacturer: 'Vitalbridge test' };
    const key = deviceKey(identity);
    const id = deviceResourceId(key, undefined);
    const patient = context.binding?.patient;
    const subject: Reading['subject'] =
      patient === undefined
        ? { kind: 'device', deviceId: id }
        : { kind: 'patient', identifier: { ...(patient.system !== undefined ? { system: patient.system } : {}), value: patient.identifier } };
    const time = context.receivedAt.toISOString().replace('Z', '+00:00');
    const common = { source: { key, deviceId: id }, subject, time, status: 'final' as const };
    const readings: Reading[] = [
      { ...common, metric: { mdcCode: 150456 }, value: { decimal: parsed.spo2 }, unit: { ucum: '%' } },
      { ...common, metric: { mdcCode: 149530 }, value: { decimal: parsed.pulse }, unit: { ucum: '/min' } },
    ];
    const observations = buildObservations(readings, { bloodPressure: 'panel' });
    const device = buildDevice({ key, id, identity, ...(context.binding?.location !== undefined ? { location: context.binding.location } : {}) });
    return { sourceMessageId: undefined, resources: [device, ...observations.resources], unmappedCodes: observations.unmappedCodes };
  },
  stream: {
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
    expectedIntervalSeconds: 1,
    createFramer: () => createLineFramer(),
    createSession: (config) => createSession(config.poll),
    createSimulator,
  },
});

export default testLineAdapter;
