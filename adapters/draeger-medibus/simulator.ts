/**
 * A simulated Evita-like ventilator speaking Medibus: answers ICC, current measured data code page 1
 * (0x24) with slowly varying, realistic values, device identification (0x52), date/time (0x28) and
 * NOP; echoes any other command with an empty response; and sends its own NOP every 10 s (divided
 * by `speed`), expecting the host's echo. Values follow a seeded random walk, so a run repeats.
 */
import type { DeviceSimulator, SimulatorOptions } from '../../src/adapter-kit/define-adapter.ts';
import { commands, encodeCommand, encodeResponse, ESC } from './checksum.ts';
import { codeHex } from './codes.ts';
import { MedibusFramer } from './framing.ts';
import { seededRandom } from '../../src/adapter-kit/simulation.ts';

interface Channel {
  readonly code: number;
  readonly base: number;
  /** How far the walk may stray from base. */
  readonly spread: number;
  readonly step: number;
  readonly decimals: number;
}

/** Adult volume-controlled ventilation, pressures in mbar, volumes in mL / L/min. */
const channels: readonly Channel[] = [
  { code: 0x78, base: 5, spread: 0, step: 0, decimals: 0 }, // PEEP (set, so constant)
  { code: 0x7d, base: 22, spread: 4, step: 0.5, decimals: 0 }, // PIP
  { code: 0x74, base: 18, spread: 3, step: 0.4, decimals: 0 }, // Pplat
  { code: 0x73, base: 10, spread: 2, step: 0.3, decimals: 0 }, // Pmean
  { code: 0x88, base: 480, spread: 40, step: 5, decimals: 0 }, // VT
  { code: 0xb8, base: 7.2, spread: 0.8, step: 0.1, decimals: 1 }, // MV
  { code: 0xd6, base: 15, spread: 2, step: 0.3, decimals: 0 }, // RR
  { code: 0xe6, base: 38, spread: 4, step: 0.5, decimals: 0 }, // etCO2 mmHg
  { code: 0xf0, base: 40, spread: 0, step: 0, decimals: 0 }, // FiO2 (set)
  { code: 0xeb, base: 97, spread: 2, step: 0.3, decimals: 0 }, // SpO2
  { code: 0xe1, base: 78, spread: 8, step: 1, decimals: 0 }, // pulse
];

const monthNames = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

export class MedibusSimulator implements DeviceSimulator {
  private readonly framer = new MedibusFramer(4096);
  private readonly next: () => number;
  private readonly values: number[];
  private io: { write(bytes: Buffer): void; now(): Date } | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Device id number for 0x52: 4 characters (simulated, not a real Dräger id). */
  private readonly deviceId: string;

  constructor(private readonly options: SimulatorOptions) {
    this.next = seededRandom(options.seed);
    this.values = channels.map((channel) => channel.base);
    this.deviceId = (options.serialNumber ?? '4711').slice(0, 4).padStart(4, '0');
  }

  start(io: { write(bytes: Buffer): void; now(): Date }): void {
    this.io = io;
    const nopMs = 10_000 / this.options.speed;
    this.timer = setInterval(() => this.io?.write(encodeCommand(commands.noOperation)), nopMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.io = undefined;
  }

  receive(bytes: Buffer): void {
    for (const event of this.framer.push(bytes)) {
      // Discards and the host's echoes of our own NOPs need no answer.
      if (event.kind !== 'frame' || event.bytes[0] !== ESC) continue;
      this.io?.write(this.answer(event.bytes[1]!));
    }
  }

  /** The current value text of each channel after one step of the walk. */
  measuredData(): string {
    return channels
      .map((channel, index) => {
        const drift = (this.next() - 0.5) * 2 * channel.step;
        const pull = (channel.base - this.values[index]!) * 0.1;
        const value = Math.min(channel.base + channel.spread, Math.max(channel.base - channel.spread, this.values[index]! + drift + pull));
        this.values[index] = value;
        return `${codeHex(channel.code)}${value.toFixed(channel.decimals).padStart(4, ' ')}`;
      })
      .join('');
  }

  private answer(command: number): Buffer {
    switch (command) {
      case commands.measuredDataCp1:
        return encodeResponse(command, this.measuredData());
      case commands.deviceIdentification:
        return encodeResponse(command, `${this.deviceId}'Evita4'${'04.03'.padEnd(11, ' ')}`);
      case commands.dateTime: {
        const now = this.io?.now() ?? new Date(0);
        const pad = (n: number) => String(n).padStart(2, '0');
        const text = `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} ${pad(now.getUTCDate())}-${monthNames[now.getUTCMonth()]}-${pad(now.getUTCFullYear() % 100)}`;
        return encodeResponse(command, text);
      }
      default:
        // ICC, NOP, STOP and anything else: the echo acknowledges it.
        return encodeResponse(command);
    }
  }
}
