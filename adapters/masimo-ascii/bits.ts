/**
 * ALARM and EXC bit meanings, as listed in mdpnp/mdpnp:other/pox_rad/src/poxrad_discrete.h
 * (alarmmessage / exceptionmessage; read, not copied). Masimo's own operator manuals were not
 * available to check them against; README.md says which bits the adapter acts on.
 */

/** ALARM bits that say a value crossed its alarm limit, by the field they belong to. */
export const alarmLimitBits = {
  SPO2: { high: 0x0001, low: 0x0002 },
  BPM: { high: 0x0004, low: 0x0008 },
  SPCO: { high: 0x0100, low: 0x0200 },
  SPMET: { high: 0x0400, low: 0x0800 },
} as const;

/** Every EXC bit the source names, for the parsed record and for logs. */
export const exceptionNames: Readonly<Record<number, string>> = {
  0x000001: 'no-sensor',
  0x000002: 'defective-sensor',
  0x000004: 'low-perfusion',
  0x000008: 'pulse-search',
  0x000010: 'interference',
  0x000020: 'sensor-off',
  0x000040: 'ambient-light',
  0x000080: 'unrecognized-sensor',
  0x000100: 'incompatible-sensor',
  0x000400: 'low-signal-iq',
  0x000800: 'masimo-set',
  0x001000: 'no-cable',
  0x002000: 'cable-life-expired',
  0x004000: 'incompatible-cable',
  0x008000: 'unrecognized-cable',
  0x010000: 'defective-cable',
  0x020000: 'sensor-calibrating',
  0x040000: 'sensor-life-expired',
  0x080000: 'emitter-temp-out-of-range',
  0x100000: 'sensor-current-limit-exceeded',
  0x200000: 'spco-low-confidence',
  0x400000: 'spmet-low-confidence',
};

/**
 * EXC bits under which the oximeter cannot be measuring the patient: no sensor or cable, or one that is
 * off the patient, defective, unrecognised, incompatible or expired. With any of them set, a number on
 * the line is not a measurement.
 */
export const sensorFaultMask =
  0x000001 | 0x000002 | 0x000020 | 0x000080 | 0x000100 | 0x001000 | 0x002000 | 0x004000 | 0x008000 | 0x010000 | 0x040000;

/** The names of the EXC bits set, in bit order; unnamed (reserved) bits as `bit-<n>`. */
export function exceptionList(exceptions: number | undefined): string[] {
  if (exceptions === undefined) return [];
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit += 1) {
    const mask = 2 ** bit;
    if (Math.floor(exceptions / mask) % 2 === 1) names.push(exceptionNames[mask] ?? `bit-${bit}`);
  }
  return names;
}
