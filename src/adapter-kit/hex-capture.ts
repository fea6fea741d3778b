/** Hex text (whitespace and `#` comments ignored) to bytes: the format of fixtures' `input.hex` and `vitalbridge replay --hex`. */
export function decodeHexCapture(text: string, name = 'input'): Buffer {
  const hex = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`${name}: not an even number of hex digits`);
  return Buffer.from(hex, 'hex');
}
