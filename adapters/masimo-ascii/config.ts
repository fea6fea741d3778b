/** The masimo-ascii adapter's settings. */
import { z } from 'zod';
import { isTimeZone } from '../../src/fhir/index.ts';

export const masimoAsciiConfigSchema = z
  .strictObject({
    timeZone: z
      .string()
      .refine(isTimeZone, 'an IANA time zone name, e.g. Europe/Berlin')
      .default('UTC')
      .describe(
        "IANA time zone of the device's clock. Records carry a date and time without an offset; the offset in force in this zone at that wall-clock time is used.",
      ),
    maxLineBytes: z
      .number()
      .int()
      .min(64)
      .max(4096)
      .default(512)
      .describe(
        'Longest line accepted, in bytes without CR LF (a Radical-7 record is about 130). Longer lines are discarded as stream_frame_too_large; this bounds the framer memory.',
      ),
  })
  .describe('Masimo ASCII 1 serial adapter settings.');

export type MasimoAsciiConfig = z.infer<typeof masimoAsciiConfigSchema>;
