/**
 * IEEE 11073-20601 / IntelliVue FLOAT-Type: 32 bits, a signed 8-bit exponent (high byte) and a signed
 * 24-bit mantissa (low three bytes), value = mantissa x 10^exponent. Decoded to exact decimal text built
 * from the digits of the mantissa, never through floating-point arithmetic, so 0x FF 00 03 CA (970 x 10^-1)
 * is "97.0" and never 97.00000000000001.
 *
 * Reserved mantissas (Data Export Interface Programming Guide "FLOAT-Type"; mdpnp Float.java):
 * NaN 0x7FFFFF, NRes (not at this resolution) 0x800000, +INF 0x7FFFFE, -INF 0x800002, reserved 0x800001.
 * The guide gives them with exponent 0 (0x007FFFFF ...); like mdpnp's decoder we treat the mantissa as
 * reserved whatever the exponent, since these mantissas never denote a number.
 */
import type { ReadingValue } from '../../src/fhir/index.ts';

export const floatSpecial = {
  nan: 0x7fffff,
  nres: 0x800000,
  positiveInfinity: 0x7ffffe,
  negativeInfinity: 0x800002,
  reserved: 0x800001,
} as const;

export interface FloatParts {
  /** -128..127 */
  readonly exponent: number;
  /** -8388608..8388607 */
  readonly mantissa: number;
}

export function floatParts(raw: number): FloatParts {
  const exponentByte = (raw >>> 24) & 0xff;
  const mantissaBits = raw & 0xffffff;
  return {
    exponent: exponentByte >= 0x80 ? exponentByte - 0x100 : exponentByte,
    mantissa: mantissaBits >= 0x800000 ? mantissaBits - 0x1000000 : mantissaBits,
  };
}

/** Decimal text of mantissa x 10^exponent, without an exponent part (what parseDecimal accepts). */
export function decimalText(mantissa: number, exponent: number): string {
  const negative = mantissa < 0;
  const digits = String(Math.abs(mantissa));
  let text: string;
  if (mantissa === 0) text = '0';
  else if (exponent >= 0) text = digits + '0'.repeat(exponent);
  else {
    const places = -exponent;
    const padded = digits.padStart(places + 1, '0');
    text = `${padded.slice(0, padded.length - places)}.${padded.slice(padded.length - places)}`;
  }
  return negative ? `-${text}` : text;
}

/** A FLOAT-Type (as the unsigned 32-bit word read big-endian) to a reading value. */
export function decodeFloatType(raw: number): ReadingValue {
  const mantissaBits = raw & 0xffffff;
  switch (mantissaBits) {
    case floatSpecial.nan:
      return { absent: 'not-a-number' };
    case floatSpecial.nres:
      // "Not at this resolution": a value exists but cannot be shown with this exponent.
      return { absent: 'unknown' };
    case floatSpecial.positiveInfinity:
      return { absent: 'positive-infinity' };
    case floatSpecial.negativeInfinity:
      return { absent: 'negative-infinity' };
    case floatSpecial.reserved:
      return { absent: 'error' };
    default: {
      const { mantissa, exponent } = floatParts(raw);
      return { decimal: decimalText(mantissa, exponent) };
    }
  }
}

/** Encodes mantissa and exponent (simulator, tests). */
export function encodeFloatType(mantissa: number, exponent: number): number {
  if (!Number.isInteger(mantissa) || mantissa < -0x800000 || mantissa > 0x7fffff) throw new RangeError('mantissa out of 24-bit range');
  if (!Number.isInteger(exponent) || exponent < -128 || exponent > 127) throw new RangeError('exponent out of 8-bit range');
  return (((exponent & 0xff) << 24) | (mantissa & 0xffffff)) >>> 0;
}
