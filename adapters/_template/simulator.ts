/**
 * A simulated __name__ device: one record per second (divided by `speed`), SpO2 and pulse rate drifting
 * slowly around plausible adult values. Seeded, so a run repeats. Used by `vitalbridge simulate` and the
 * end-to-end tests over a pty.
 *
 * TODO(simulator): write exactly what the real device writes (format, rate, line end), from the same
 * source as parse.ts. A request/response device also answers in `receive` (see draeger-medibus).
 */
import type { DeviceSimulator, SimulatorOptions } from '../../src/adapter-kit/define-adapter.ts';
import { drift, seededRandom } from '../../src/adapter-kit/simulation.ts';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** One record as the device prints it, with its line end. */
export function format__Name__Record(fields: { readonly serialNumber: string; readonly spo2: number; readonly pulseRate: number }): string {
  return `SN=${fields.serialNumber} SPO2=${pad(fields.spo2, 3)} PR=${pad(fields.pulseRate, 3)}\r\n`;
}

export function create__Name__Simulator(options: SimulatorOptions): DeviceSimulator {
  const random = seededRandom(options.seed);
  const serialNumber = options.serialNumber ?? `SIM${pad(Math.floor(random() * 1e6), 6)}`;
  const spo2 = drift(random, 97, 0.4, 88, 100);
  const pulseRate = drift(random, 72, 1.5, 45, 140);
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    start(io) {
      const emit = () => io.write(Buffer.from(format__Name__Record({ serialNumber, spo2: Math.round(spo2()), pulseRate: Math.round(pulseRate()) }), 'latin1'));
      timer = setInterval(emit, 1000 / options.speed);
    },
    receive() {
      // TODO(simulator): this example device only talks; answer requests here if yours is polled.
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
