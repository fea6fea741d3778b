/**
 * A simulated Radical-7: one ASCII 1 record per second (divided by `speed`), with SpO2, pulse rate,
 * PI, SpCO, SpMet and PVI drifting slowly around plausible adult values. Seeded, so a run repeats.
 * The record's date and time is `now()` printed in UTC (configure the adapter's timeZone as UTC).
 */
import type { DeviceSimulator, SimulatorOptions } from '../../src/adapter-kit/define-adapter.ts';
import { drift, seededRandom } from '../../src/adapter-kit/simulation.ts';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

export function formatMasimoRecord(fields: {
  readonly time: Date;
  readonly serialNumber: string;
  readonly spo2: number;
  readonly bpm: number;
  readonly pi: number;
  readonly spco: number;
  readonly spmet: number;
  readonly pvi: number;
}): string {
  const t = fields.time;
  const date = `${pad(t.getUTCMonth() + 1, 2)}/${pad(t.getUTCDate(), 2)}/${pad(t.getUTCFullYear() % 100, 2)}`;
  const clock = `${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`;
  return (
    `${date} ${clock} SN=${fields.serialNumber} SPO2=${pad(fields.spo2, 3)}% BPM=${pad(fields.bpm, 3)} ` +
    `PI=${fields.pi.toFixed(2).padStart(5, '0')}% SPCO=${fields.spco.toFixed(1).padStart(4, '0')}% ` +
    `SPMET=${fields.spmet.toFixed(1).padStart(4, '0')}% DESAT=-- PIDELTA=+-- PVI=${pad(fields.pvi, 3)} ALARM=0000 EXC=000800\r\n`
  );
}

export function createMasimoSimulator(options: SimulatorOptions): DeviceSimulator {
  const random = seededRandom(options.seed);
  const serialNumber = options.serialNumber ?? pad(Math.floor(random() * 1e10), 10);
  const spo2 = drift(random, 97, 0.4, 88, 100);
  const bpm = drift(random, 72, 1.5, 45, 140);
  const pi = drift(random, 3.5, 0.2, 0.3, 15);
  const spco = drift(random, 1.0, 0.1, 0, 5);
  const spmet = drift(random, 0.8, 0.05, 0, 3);
  const pvi = drift(random, 14, 1, 5, 40);
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    start(io) {
      const emit = () =>
        io.write(
          Buffer.from(
            formatMasimoRecord({
              time: io.now(),
              serialNumber,
              spo2: Math.round(spo2()),
              bpm: Math.round(bpm()),
              pi: pi(),
              spco: spco(),
              spmet: spmet(),
              pvi: Math.round(pvi()),
            }),
            'latin1',
          ),
        );
      timer = setInterval(emit, 1000 / options.speed);
    },
    receive() {
      // ASCII 1 is output only: the device ignores what it receives.
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
