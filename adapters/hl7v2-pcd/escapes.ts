/**
 * HL7 v2 escape sequences (v2.6 chapter 2.7), decoded by us rather than by the hl7v2 library, which
 * gets several of them wrong (1.8.0): `\H\` and `\N\` come back as the letters H and N, `\.br\` stays
 * as it is, a field that is only `\Xhh\` becomes a Buffer, and an escape character other than `\`
 * declared in MSH-2 is ignored.
 *
 * So before the library sees the message, every escape sequence (and every stray escape character)
 * is swapped for a single private-use character that means nothing to the library; after the library
 * has split segments, fields, repetitions and components, each value is restored with the sequences
 * decoded. The library never sees an escape character, so it cannot decode one.
 */
import { GatewayError } from '../../src/errors/catalogue.ts';

export interface Delimiters {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subComponent: string;
}

export type MessageCharset = 'utf8' | 'latin1';

/** Supplementary Private Use Area-A: one code point per masked sequence, never meaningful in a message. */
const firstToken = 0xf0000;
const lastToken = 0xffffd;
const tokenPattern = /[\u{F0000}-\u{FFFFD}]/gu;
const anyToken = /[\u{F0000}-\u{FFFFD}]/u;

const regexLiteral = (text: string): string => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

function decodeHex(hex: string, charset: MessageCharset): string {
  const bytes = Buffer.from(hex, 'hex');
  if (charset === 'latin1') return bytes.toString('latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new GatewayError('undecodable_bytes', 'A \\X..\\ escape sequence holds bytes that are not UTF-8.', { cause });
  }
}

/** The text one escape sequence stands for; `body` is what stands between the two escape characters. */
export function decodeEscapeSequence(body: string, delimiters: Delimiters, charset: MessageCharset): string {
  switch (body) {
    case 'F':
      return delimiters.field;
    case 'S':
      return delimiters.component;
    case 'T':
      return delimiters.subComponent;
    case 'R':
      return delimiters.repetition;
    case 'E':
      return delimiters.escape;
    case 'H': // start highlighting
    case 'N': // normal text: published text is plain, so both simply end
      return '';
    default:
      break;
  }
  const hex = /^X((?:[0-9A-Fa-f]{2})+)$/.exec(body);
  if (hex !== null) return decodeHex(hex[1]!, charset);
  const formatting = /^\.(br|sp|sk|in|ti|fi|nf|ce)([+-]?\d*)$/.exec(body);
  if (formatting !== null) {
    const count = Math.max(1, Number.parseInt(formatting[2] || '1', 10) || 1);
    if (formatting[1] === 'br') return '\n';
    if (formatting[1] === 'sp') return '\n'.repeat(count);
    if (formatting[1] === 'sk') return ' '.repeat(count);
    return ''; // indentation, fill and centring have no meaning in plain text
  }
  // \Zxx\ (locally defined), \Cxxyy\ and \Mxxyyzz\ (character-set switches) and anything unknown:
  // kept exactly as sent, so nothing is silently lost.
  return `${delimiters.escape}${body}${delimiters.escape}`;
}

export interface MaskedMessage {
  /** The message with every escape sequence replaced by one private-use character. */
  readonly text: string;
  /** Puts the decoded sequences back into a value read from the masked text; undefined when nothing was masked. */
  readonly restore: ((value: string) => string) | undefined;
}

/** Escape-sequence patterns by escape character, compiled once each rather than per message (replace() resets lastIndex, so sharing is safe). */
const sequencePatterns = new Map<string, RegExp>();
function sequencePatternFor(escapeCharacter: string): RegExp {
  let pattern = sequencePatterns.get(escapeCharacter);
  if (pattern === undefined) {
    const escape = regexLiteral(escapeCharacter);
    pattern = new RegExp(`${escape}([A-Za-z0-9.+\\-]+)${escape}|${escape}`, 'g');
    sequencePatterns.set(escapeCharacter, pattern);
  }
  return pattern;
}

/**
 * Masks every escape sequence from `start` on (the caller starts after MSH-2, which declares the
 * escape character and must reach the library unchanged). A sequence is the escape character, one or
 * more of [A-Za-z0-9.+-], and the escape character again; any other escape character is literal.
 */
export function maskEscapes(text: string, start: number, delimiters: Delimiters, charset: MessageCharset): MaskedMessage {
  if (anyToken.test(text)) {
    throw new GatewayError('hl7_unparseable', 'The message contains Unicode private-use characters U+F0000..U+FFFFD.');
  }
  // Most messages hold no escape character after MSH-2: nothing to mask, nothing to restore.
  if (text.indexOf(delimiters.escape, start) < 0) return { text, restore: undefined };
  const sequence = sequencePatternFor(delimiters.escape);
  const replacements: string[] = [];
  const masked = text.slice(start).replace(sequence, (match: string, body: string | undefined) => {
    if (firstToken + replacements.length > lastToken) {
      throw new GatewayError('hl7_unparseable', 'The message holds more escape sequences than can be decoded.');
    }
    replacements.push(body === undefined ? match : decodeEscapeSequence(body, delimiters, charset));
    return String.fromCodePoint(firstToken + replacements.length - 1);
  });
  return {
    text: text.slice(0, start) + masked,
    restore: (value) =>
      replacements.length === 0 ? value : value.replace(tokenPattern, (token) => replacements[token.codePointAt(0)! - firstToken]!),
  };
}
