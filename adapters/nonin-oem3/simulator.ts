/**
 * A simulated Nonin OEM III module. Starts in data format 2 and writes one 25-frame packet every
 * 1/3 s (DF2, DF7) or one 4-byte frame every second (DF8), divided by `speed`. Pulse rate and SpO2
 * drift slowly (seeded); the pleth is a pulse-shaped wave at the pulse rate. It answers the
 * format-select command 02 70 02 02 <format> 03 with ACK 06 (formats 2, 7, 8) or NAK 15 (others)
 * and switches format at the next packet.
 */
import type { DeviceSimulator, SimulatorOptions } from '../../src/adapter-kit/define-adapter.ts';
import { checksumOf, framesPerPacket } from './framing.ts';
import type { DataFormat } from './config.ts';
import { seededRandom } from '../../src/adapter-kit/simulation.ts';

const ACK = 0x06;
const NAK = 0x15;
export const firmwareRevision = 48;

/** The DATA byte of frame `index` (0-based) for the given values (layout: parse.ts). */
function dataByte(index: number, heartRate: number, spo2: number): number {
  const msb = (heartRate >> 7) & 0x03;
  const lsb = heartRate & 0x7f;
  switch (index) {
    case 0:
    case 13:
    case 19:
    case 21:
      return msb;
    case 1:
    case 14:
    case 20:
    case 22:
      return lsb;
    case 2:
    case 8:
    case 9:
    case 10:
    case 15:
    case 16:
      return spo2;
    case 3:
      return firmwareRevision;
    default:
      return 0;
  }
}

/** One packet in DF2 or DF7: status 0x80 | green perfusion, SYNC on frame 1. */
export function encodePacket(format: 2 | 7, heartRate: number, spo2: number, pleth: (frame: number) => number, status = 0x82): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < framesPerPacket; i += 1) {
    const frameStatus = status | 0x80 | (i === 0 ? 0x01 : 0x00);
    const data = dataByte(i, heartRate, spo2);
    const sample = pleth(i);
    const frame = format === 2 ? [0x01, frameStatus, sample & 0xff, data] : [frameStatus, (sample >> 8) & 0xff, sample & 0xff, data];
    bytes.push(...frame, checksumOf(frame));
  }
  return Buffer.from(bytes);
}

export function encodeDf8(heartRate: number, spo2: number, status1 = 0x00, status2 = 0x00): Buffer {
  return Buffer.from([0x80 | (status1 & 0x7c) | ((heartRate >> 7) & 0x03), heartRate & 0x7f, spo2 & 0x7f, status2 & 0x7f]);
}

export function createNoninSimulator(options: SimulatorOptions): DeviceSimulator {
  const random = seededRandom(options.seed);
  let heartRate = 72;
  let spo2 = 97;
  let format: DataFormat = 2;
  let received: number[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let tick = 0;
  let phase = 0;
  let write: (bytes: Buffer) => void = () => {};

  const step = () => {
    heartRate = Math.min(140, Math.max(45, heartRate + (random() * 2 - 1) * 0.3 + (72 - heartRate) * 0.01));
    spo2 = Math.min(100, Math.max(88, spo2 + (random() * 2 - 1) * 0.1 + (97 - spo2) * 0.01));
  };

  return {
    start(io) {
      write = io.write;
      timer = setInterval(() => {
        tick += 1;
        step();
        const hr = Math.round(heartRate);
        const sat = Math.round(spo2);
        if (format === 8) {
          if (tick % 3 === 0) write(encodeDf8(hr, sat));
          return;
        }
        // 75 samples a second; one pulse every 60/hr seconds.
        const pleth = (frame: number) => {
          const t = (phase + frame) / 75;
          const cycle = (t * hr) / 60 - Math.floor((t * hr) / 60);
          const wave = Math.exp(-(((cycle - 0.2) / 0.12) ** 2)) + 0.4 * Math.exp(-(((cycle - 0.5) / 0.1) ** 2));
          return format === 2 ? Math.round(20 + wave * 200) : Math.round(4000 + wave * 50000);
        };
        write(encodePacket(format, hr, sat, pleth));
        phase += framesPerPacket;
      }, 1000 / 3 / options.speed);
    },
    receive(bytes) {
      for (const byte of bytes) {
        received.push(byte);
        if (received.length > 6) received.shift();
        if (received.length === 6 && received[0] === 0x02 && received[1] === 0x70 && received[2] === 0x02 && received[3] === 0x02 && received[5] === 0x03) {
          const requested = received[4]!;
          if (requested === 2 || requested === 7 || requested === 8) {
            format = requested;
            write(Buffer.from([ACK]));
          } else {
            write(Buffer.from([NAK]));
          }
          received = [];
        }
      }
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
