/**
 * The __name__ adapter's settings: validated with the rest of the gateway config before anything opens.
 * TODO(config): add what your device needs (time zone of its clock, a poll interval, a model switch...);
 * every field `.describe()`d, with a default where one is sensible. List each in README.md "Configuration".
 */
import { z } from 'zod';

export const __nameCamel__ConfigSchema = z
  .strictObject({
    maxLineBytes: z
      .number()
      .int()
      .min(16)
      .max(4096)
      .default(256)
      .describe('Longest line accepted, in bytes without its line end. Longer lines are discarded as stream_frame_too_large; this bounds the framer memory.'),
  })
  .describe('__name__ serial adapter settings.');

export type __Name__Config = z.infer<typeof __nameCamel__ConfigSchema>;
