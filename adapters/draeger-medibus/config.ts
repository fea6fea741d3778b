/** The draeger-medibus adapter's settings. */
import { z } from 'zod';

export const medibusConfigSchema = z
  .strictObject({
    pollIntervalSeconds: z
      .number()
      .positive()
      .max(3600)
      .default(5)
      .describe('Seconds between requests for current measured data (0x24, code page 1).'),
    responseTimeoutSeconds: z
      .number()
      .positive()
      .max(60)
      .default(3)
      .describe('Seconds to wait for the answer to a command before sending it again.'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe('How many times an unanswered command is sent again before the session gives up (device_no_response) and the line is reopened.'),
    keepAliveSeconds: z
      .number()
      .positive()
      .max(60)
      .default(3)
      .describe('Send a NOP (0x30) when the gateway has sent nothing for this long, so the device keeps the link open between polls.'),
    requestDeviceIdentification: z
      .boolean()
      .default(true)
      .describe('Ask the device for its identification (0x52) after initialising communication; its answer is published as the Device.'),
    maxFrameBytes: z
      .number()
      .int()
      .min(64)
      .max(65536)
      .default(4096)
      .describe('Longest Medibus message accepted; longer ones are discarded (stream_frame_too_large).'),
  })
  .describe('Dräger Medibus (ASCII) adapter settings.');

export type MedibusConfig = z.infer<typeof medibusConfigSchema>;
