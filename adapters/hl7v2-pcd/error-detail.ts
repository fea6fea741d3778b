/**
 * Error details end up in logs, NAKs and dead-letter records, so they may quote a message's content
 * only where that content is a short code from a closed vocabulary: anything else might be (or, in a
 * garbled message, contain) a patient identifier. Details name the field instead ("PID-3", "OBX-6").
 */
export function quotedCode(text: string, pattern: RegExp): string {
  return pattern.test(text) ? `"${text}"` : 'a value that is not a code';
}

/** One to three upper-case letters or digits: HL7 message codes, trigger events, table 0085/0103 codes. */
export const hl7Code = /^[A-Z0-9]{1,3}$/;
/** An HL7 version id such as 2.5.1. */
export const versionCode = /^\d{1,2}(\.\d{1,2}){1,2}$/;
