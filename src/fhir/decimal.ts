/**
 * Device values arrive as decimal text and leave as JSON numbers. The text is converted exactly once,
 * with Number(), and never computed with: `37.10` becomes 37.1 (the nearest double, which JSON prints
 * as 37.1), never 37.099999. Trailing zeros, which IHE PCD uses to show precision, cannot survive a
 * JSON number; see the adapter READMEs.
 */

/** Optional sign, digits with at most one decimal point, no exponent: HL7 NM and what serial devices print. */
const decimalPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** The number a decimal text denotes, or undefined when the text is not a plain decimal (or too large for a double). */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  if (!decimalPattern.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
