/** The nonin-oem3 adapter's settings. */
import { z } from 'zod';

export const dataFormats = [2, 7, 8] as const;
export type DataFormat = (typeof dataFormats)[number];

export const noninOem3ConfigSchema = z
  .strictObject({
    dataFormat: z
      .union([z.literal(2), z.literal(7), z.literal(8)])
      .default(2)
      .describe(
        'The OEM III serial data format the module is set to: 2 = 25-frame packets with 8-bit pleth (75 frames/s), 7 = the same with 16-bit pleth, 8 = 4 bytes once a second (no pleth). The module keeps the format selected with 02 70 02 02 <format> 03.',
      ),
  })
  .describe('Nonin OEM III serial adapter settings.');

export type NoninOem3Config = z.infer<typeof noninOem3ConfigSchema>;
