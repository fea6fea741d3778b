/**
 * A Nonin OEM III packet (DF2/DF7, 125 bytes) or frame (DF8, 4 bytes) into values and status flags.
 *
 * DF2/DF7 DATA byte by frame (1-based), after the pufferfish-software test vector and
 * uk.ac.ox.ibme NoninPacket (README.md): 1 HR MSB, 2 HR LSB, 3 SpO2, 4 firmware revision, 6-7 3 Hz
 * timer, 8 STAT2, 9 SpO2-D, 10 SpO2 fast, 11 SpO2 beat-to-beat, 14-15 E-HR, 16 E-SpO2, 17 E-SpO2-D,
 * 20-21 HR-D, 22-23 E-HR-D; the others reserved. HR is 9 bits: MSB frame bits 1..0 = HR bits 8..7,
 * LSB frame bits 6..0 = HR bits 6..0. SpO2 is bits 6..0. HR 511 and SpO2 127 mean "no value".
 *
 * Status byte (DF2/DF7): bit 7 always 1, 6 SNSD sensor disconnect, 5 ARTF artifact, 4 OOT out of track,
 * 3 SNSA sensor alarm, 2 RPRF red perfusion, 1 GPRF green perfusion (2 and 1 together: yellow), 0 SYNC.
 */
import { GatewayError } from '../../src/errors/catalogue.ts';
import { checksumOf, df8FrameBytes, df8FrameOk, frameBytes, frameShapeOk, framesPerPacket, packetBytes, statusOf } from './framing.ts';

export const missingHeartRate = 511;
export const missingSpO2 = 127;

export type Perfusion = 'green' | 'yellow' | 'red';

export interface NoninStatus {
  /** SNSD: the sensor is not connected, or inoperable. */
  readonly sensorDisconnected: boolean;
  /** ARTF: a detected pulse beat did not match the current pulse interval. */
  readonly artifact: boolean;
  /** OOT: an absence of consecutive good pulse signals. */
  readonly outOfTrack: boolean;
  /** SNSA: the sensor is providing unusable data. */
  readonly sensorAlarm: boolean;
  /** Pulse amplitude quality, from the latest frame that shows one (only present during a pulse). */
  readonly perfusion: Perfusion | undefined;
}

export interface NoninReading {
  readonly format: 2 | 7 | 8;
  /** 4-beat average pulse rate, formatted for recording (511 = no value). */
  readonly heartRate: number;
  /** 4-beat average SpO2, formatted for recording (127 = no value). */
  readonly spo2: number;
  /** Flags of the packet: set when any of its frames sets them. */
  readonly status: NoninStatus;
  /** DF2/DF7 only. */
  readonly packet?: {
    readonly firmwareRevision: number;
    readonly spo2Display: number;
    readonly spo2Fast: number;
    readonly spo2BeatToBeat: number;
    readonly extendedHeartRate: number;
    readonly extendedSpo2: number;
    readonly extendedSpo2Display: number;
    readonly heartRateDisplay: number;
    readonly extendedHeartRateDisplay: number;
    /** 25 pleth samples (8-bit in DF2, 16-bit in DF7). Not published. */
    readonly pleth: readonly number[];
  };
  /** DF8 only: STATUS2. */
  readonly status2?: { readonly spotCheck: boolean; readonly batteryCritical: boolean; readonly batteryLow: boolean };
}

const heartRateOf = (msb: number, lsb: number): number => ((msb & 0x03) << 7) | (lsb & 0x7f);

function perfusionOf(red: boolean, green: boolean): Perfusion | undefined {
  if (red && green) return 'yellow';
  if (red) return 'red';
  if (green) return 'green';
  return undefined;
}

function parsePacket(frame: Buffer): NoninReading {
  const format: 2 | 7 = frame[0] === 0x01 ? 2 : 7;
  const frames = Array.from({ length: framesPerPacket }, (_, i) => frame.subarray(i * frameBytes, (i + 1) * frameBytes));
  frames.forEach((f, i) => {
    if (!frameShapeOk(format, f) || ((statusOf(format, f) & 0x01) !== 0) !== (i === 0)) {
      throw new GatewayError('device_message_malformed', `Frame ${i + 1} of the packet is not a data format ${format} frame.`);
    }
    if (checksumOf(f) !== f[4]) throw new GatewayError('stream_checksum_mismatch', `Frame ${i + 1} of the packet fails its checksum.`);
  });
  const data = (n: number) => frames[n - 1]![3]!;
  const statuses = frames.map((f) => statusOf(format, f));
  const any = (mask: number) => statuses.some((s) => (s & mask) !== 0);
  const lastPerfusion = [...statuses].reverse().find((s) => (s & 0x06) !== 0);
  return {
    format,
    heartRate: heartRateOf(data(1), data(2)),
    spo2: data(3) & 0x7f,
    status: {
      sensorDisconnected: any(0x40),
      artifact: any(0x20),
      outOfTrack: any(0x10),
      sensorAlarm: any(0x08),
      perfusion: lastPerfusion === undefined ? undefined : perfusionOf((lastPerfusion & 0x04) !== 0, (lastPerfusion & 0x02) !== 0),
    },
    packet: {
      firmwareRevision: data(4),
      spo2Display: data(9) & 0x7f,
      spo2Fast: data(10) & 0x7f,
      spo2BeatToBeat: data(11) & 0x7f,
      extendedHeartRate: heartRateOf(data(14), data(15)),
      extendedSpo2: data(16) & 0x7f,
      extendedSpo2Display: data(17) & 0x7f,
      heartRateDisplay: heartRateOf(data(20), data(21)),
      extendedHeartRateDisplay: heartRateOf(data(22), data(23)),
      pleth: frames.map((f) => (format === 2 ? f[2]! : (f[1]! << 8) | f[2]!)),
    },
  };
}

/**
 * DF8 (bits after drphrozen/javautilityclasses NoninAndroid Format8.java, a Nonin 9560 reader; see
 * README): STATUS1 bit 6 SNSD, 5 OOT, 4 low perfusion (red), 3 marginal perfusion (yellow), 2 ARTF,
 * 1..0 HR bits 8..7; STATUS2 bit 3 sensor alarm, 2 spot-check mode, 1 battery critical, 0 battery low.
 */
function parseDf8(frame: Buffer): NoninReading {
  const [status1, hrLsb, spo2, status2] = [frame[0]!, frame[1]!, frame[2]!, frame[3]!];
  return {
    format: 8,
    heartRate: heartRateOf(status1, hrLsb),
    spo2: spo2 & 0x7f,
    status: {
      sensorDisconnected: (status1 & 0x40) !== 0,
      outOfTrack: (status1 & 0x20) !== 0,
      artifact: (status1 & 0x04) !== 0,
      sensorAlarm: (status2 & 0x08) !== 0,
      perfusion: (status1 & 0x10) !== 0 ? 'red' : (status1 & 0x08) !== 0 ? 'yellow' : undefined,
    },
    status2: { spotCheck: (status2 & 0x04) !== 0, batteryCritical: (status2 & 0x02) !== 0, batteryLow: (status2 & 0x01) !== 0 },
  };
}

export function parseNoninFrame(frame: Buffer): NoninReading {
  if (frame.length === packetBytes) return parsePacket(frame);
  if (frame.length === df8FrameBytes && df8FrameOk(frame)) return parseDf8(frame);
  throw new GatewayError('device_message_malformed', 'Not a Nonin OEM III packet (125 bytes) or data format 8 frame (4 bytes).');
}
