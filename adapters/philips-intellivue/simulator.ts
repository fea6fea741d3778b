/**
 * A simulated IntelliVue monitor on the MIB/RS-232 port: accepts the AARQ, sends its MDS Create Event
 * Report, and answers each Extended Poll Data Request for numerics with slowly varying HR, SpO2, RR,
 * temperature and an NIBP compound (seeded, so runs repeat). It answers synchronously when a request
 * arrives; `speed` scales how fast the values drift with the simulated time (io.now()).
 */
import type { DeviceSimulator, SimulatorOptions } from '../../src/adapter-kit/define-adapter.ts';
import { createIntellivueFramer, encodeFrame } from './framing.ts';
import { associationAccept, extendedPollResult, keepAliveAnswer, mdsCreateEvent, releaseResponse, type SimNumeric } from './messages.ts';
import { parseIntellivue } from './parse.ts';
import { NOM_ACT_POLL_MDIB_DATA_EXT } from './protocol.ts';
import { seededRandom } from '../../src/adapter-kit/simulation.ts';

export function createIntellivueSimulator(options: SimulatorOptions): DeviceSimulator {
  const rand = seededRandom(options.seed);
  const phase = Array.from({ length: 6 }, () => rand() * Math.PI * 2);
  const framer = createIntellivueFramer();
  let io: { write(bytes: Buffer): void; now(): Date } | undefined;
  let startedAt = 0;
  let associated = false;
  let invoke = 0;

  const write = (userData: Buffer) => io?.write(encodeFrame(userData));
  /** Slow sine drift: period of minutes of simulated time. */
  const drift = (index: number, amplitude: number): number => {
    const elapsedSeconds = (((io?.now().getTime() ?? 0) - startedAt) / 1000) * options.speed;
    return Math.round(amplitude * Math.sin(elapsedSeconds / 60 + phase[index]!));
  };

  function numerics(): SimNumeric[] {
    const sys = 120 + drift(3, 6);
    const dia = 80 + drift(4, 4);
    return [
      { handle: 0x0101, values: [{ physioId: 16770, unitCode: 2720, mantissa: 72 + drift(0, 5), exponent: 0 }] },
      { handle: 0x0102, values: [{ physioId: 19384, unitCode: 544, mantissa: 97 + drift(1, 1), exponent: 0 }] },
      { handle: 0x0103, values: [{ physioId: 20490, unitCode: 2784, mantissa: 16 + drift(2, 2), exponent: 0 }] },
      { handle: 0x0104, values: [{ physioId: 19272, unitCode: 6048, mantissa: 370 + drift(5, 3), exponent: -1 }] },
      {
        handle: 0x0105,
        compound: true,
        values: [
          { physioId: 18949, unitCode: 3872, mantissa: sys, exponent: 0 },
          { physioId: 18950, unitCode: 3872, mantissa: dia, exponent: 0 },
          { physioId: 18951, unitCode: 3872, mantissa: Math.round((sys + 2 * dia) / 3), exponent: 0 },
        ],
      },
    ];
  }

  function handle(frame: Buffer): void {
    let message;
    try {
      message = parseIntellivue(frame);
    } catch {
      return;
    }
    const now = io?.now() ?? new Date(0);
    const relative = Math.floor(((now.getTime() - startedAt) * 8) & 0xffffffff) >>> 0; // RelativeTime: 1/8 ms
    switch (message.kind) {
      case 'association-request':
        write(associationAccept);
        invoke = (invoke + 1) & 0xffff;
        write(mdsCreateEvent(invoke, relative, { manufacturer: 'Philips', model: 'MP70', serialNumber: options.serialNumber ?? 'DE12345678' }));
        break;
      case 'event-report-result':
        associated = true;
        break;
      case 'poll-request':
        if (!associated) break;
        if (message.actionType === NOM_ACT_POLL_MDIB_DATA_EXT) write(extendedPollResult(message.invokeId, message.pollNumber, relative, now, numerics()));
        else write(keepAliveAnswer(message.invokeId, message.pollNumber, relative, now));
        break;
      case 'release-request':
        associated = false;
        write(releaseResponse);
        break;
      default:
        break;
    }
  }

  return {
    start(connection) {
      io = connection;
      startedAt = connection.now().getTime();
    },
    receive(bytes) {
      for (const event of framer.push(bytes)) if (event.kind === 'frame') handle(event.bytes);
    },
    stop() {
      io = undefined;
      associated = false;
    },
  };
}
