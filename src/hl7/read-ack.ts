/**
 * Reads an HL7 acknowledgement (MSA and ERR segments) into a plain object: used by the `send`
 * command to print what the receiver said, and by tests to assert it.
 */
export interface ReadAcknowledgement {
  readonly code: string;
  readonly ackedControlId: string;
  readonly controlId: string;
  readonly messageType: string;
  readonly errors: readonly { location: string; hl7Code: string; severity: string; applicationCode: string; text: string }[];
  readonly segments: readonly string[][];
}

export function readAcknowledgement(payload: Buffer | string): ReadAcknowledgement | undefined {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (!text.startsWith('MSH') || text.length < 8) return undefined;
  const separator = text[3] as string;
  const component = text[4] ?? '^';
  const segments = text
    .split(/\r\n|\r|\n/)
    .filter((line) => line.length > 0)
    .map((line) => line.split(separator));
  const msh = segments[0] as string[];
  const msa = segments.find((fields) => fields[0] === 'MSA');
  if (msa === undefined) return undefined;
  const escapes: Record<string, string> = { F: separator, S: component, R: text[5] ?? '~', E: text[6] ?? '\\', T: text[7] ?? '&' };
  const unescape = (value: string) =>
    value.replace(/\\(X[0-9A-Fa-f]+|[FSTRE])\\/g, (_, code: string) =>
      code.startsWith('X') ? Buffer.from(code.slice(1), 'hex').toString('latin1') : (escapes[code] ?? ''),
    );
  return {
    code: msa[1] ?? '',
    ackedControlId: msa[2] ?? '',
    // MSH-1 is the separator itself, so MSH-n is at index n-1 of the split line.
    controlId: msh[9] ?? '',
    messageType: msh[8] ?? '',
    errors: segments
      .filter((fields) => fields[0] === 'ERR')
      .map((fields) => ({
        location: fields[2] ?? '',
        hl7Code: (fields[3] ?? '').split(component)[0] ?? '',
        severity: fields[4] ?? '',
        applicationCode: (fields[5] ?? '').split(component)[0] ?? '',
        text: unescape(fields[8] ?? ''),
      })),
    segments,
  };
}

/** Splits a file holding one or more HL7 messages (any line ending) into messages with CR segment ends. */
export function splitHl7Messages(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/).filter((line) => line.trim().length > 0);
  const messages: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('MSH') || messages.length === 0) messages.push([]);
    (messages[messages.length - 1] as string[]).push(line);
  }
  return messages.map((segments) => `${segments.join('\r')}\r`);
}
