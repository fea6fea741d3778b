/**
 * Medibus checksum and message encoding.
 *
 * Every Medibus message, command or response, ends with a checksum and CR: the checksum is the
 * 8-bit sum of all preceding bytes of the message (the SOH or ESC, the command code and the data),
 * sent as two upper-case ASCII hex digits (shared/reference/device-protocols.md section A). The
 * reference's examples are exact test vectors: ICC = `1B 51 36 43 0D` (0x1B + 0x51 = 0x6C -> "6C"),
 * current measured data = `1B 24 33 46 0D` (0x1B + 0x24 = 0x3F -> "3F").
 */

export const SOH = 0x01;
export const ESC = 0x1b;
export const CR = 0x0d;

/** Command codes this adapter sends, answers or understands (mdpnp/mdpnp devices/draeger command.map). */
export const commands = {
  /** The device's negative answer to a message it could not understand ("Corrupt"). */
  nak: 0x15,
  measuredDataCp1: 0x24,
  alarmsCp1: 0x27,
  dateTime: 0x28,
  deviceSettings: 0x29,
  noOperation: 0x30,
  timeChanged: 0x49,
  initializeCommunication: 0x51,
  deviceIdentification: 0x52,
  stopCommunication: 0x55,
} as const;

/** The 8-bit sum of the bytes. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) & 0xff;
  return sum;
}

/** The checksum as the two upper-case ASCII hex digits Medibus sends. */
export function checksumDigits(bytes: Uint8Array): Buffer {
  return Buffer.from(checksum(bytes).toString(16).toUpperCase().padStart(2, '0'), 'latin1');
}

function encode(start: number, command: number, data: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from([start, command]), typeof data === 'string' ? Buffer.from(data, 'latin1') : data]);
  return Buffer.concat([body, checksumDigits(body), Buffer.from([CR])]);
}

/** A command: `ESC cmd [data] CS CS CR`. */
export function encodeCommand(command: number, data: Buffer | string = ''): Buffer {
  return encode(ESC, command, data);
}

/** A response (or the echo that acknowledges a command): `SOH cmd [data] CS CS CR`. */
export function encodeResponse(command: number, data: Buffer | string = ''): Buffer {
  return encode(SOH, command, data);
}

/** True when the frame's last three bytes are two hex digits equal to the sum of everything before them, then CR. */
export function hasValidChecksum(frame: Uint8Array): boolean {
  if (frame.length < 5 || frame[frame.length - 1] !== CR) return false;
  const digits = Buffer.from(frame.subarray(frame.length - 3, frame.length - 1)).toString('latin1');
  if (!/^[0-9A-Fa-f]{2}$/.test(digits)) return false;
  return Number.parseInt(digits, 16) === checksum(frame.subarray(0, frame.length - 3));
}
