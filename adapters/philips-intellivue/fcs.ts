/**
 * The IntelliVue serial frame check sequence: CRC-16/PPP as RFC 1662 (formerly RFC 1171) defines it
 * (polynomial x^16 + x^12 + x^5 + 1, processed reflected as 0x8408, initial value 0xFFFF, the result
 * one's-complemented) and sent least significant byte first.
 *
 * It covers every byte between BOF and the FCS itself, unescaped: in a Data Export frame the 4-byte
 * header (11 01 LEN) and the user data. Checked against the two vectors of mdpnp's
 * TestFCSOutputStream.java, which run over the bare bytes they frame: `3A 71` -> FCS 0x269B, sent
 * `9B 26`; `3A 91` -> FCS 0xC195, sent `95 C1`, and since C1 is EOF it goes on the line escaped as
 * `7D E1` (C1 XOR 20): `C0 3A 91 95 7D E1 C1`. (The escaped byte is the FCS's C1, not a 5D.)
 */

/** RFC 1662 appendix C.2 "good final FCS": the register after running over data plus its own FCS. */
export const goodFcsResidue = 0xf0b8;

const table = (() => {
  const entries = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let value = byte;
    for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? (value >>> 1) ^ 0x8408 : value >>> 1;
    entries[byte] = value;
  }
  return entries;
})();

/** The CRC register after `bytes`, from `initial` (0xFFFF), before the final complement. */
export function fcsRegister(bytes: Uint8Array, initial = 0xffff): number {
  let fcs = initial;
  for (const byte of bytes) fcs = (fcs >>> 8) ^ table[(fcs ^ byte) & 0xff]!;
  return fcs;
}

/** The FCS to send after `bytes`: the complemented register, a 16-bit number. */
export function fcs16(bytes: Uint8Array): number {
  return ~fcsRegister(bytes) & 0xffff;
}

/** The two FCS bytes as they go on the line: least significant first. */
export function fcsBytes(bytes: Uint8Array): Buffer {
  const value = fcs16(bytes);
  return Buffer.from([value & 0xff, value >>> 8]);
}

/** True when `bytesWithFcs` ends with the right FCS for what precedes it. */
export function hasGoodFcs(bytesWithFcs: Uint8Array): boolean {
  return bytesWithFcs.length >= 2 && fcsRegister(bytesWithFcs) === goodFcsResidue;
}
