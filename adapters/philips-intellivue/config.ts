/** The philips-intellivue adapter's settings. */
import { z } from 'zod';
import { isTimeZone } from '../../src/fhir/index.ts';
import { defaultMaxFrameBytes } from './framing.ts';

export const intellivueConfigSchema = z
  .strictObject({
    pollIntervalSeconds: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(2)
      .describe('Seconds between Extended Poll Data Requests for numerics (the monitor updates numerics about once a second).'),
    replyTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(5)
      .describe('Seconds to wait for the association response, the MDS Create Event and each poll result before the session is reset (device_no_response).'),
    keepAliveSeconds: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(8)
      .describe('The longest silence from the gateway while associated: when no request went out for this long, a small MDS poll is sent so the monitor keeps the association.'),
    timeZone: z
      .string()
      .refine(isTimeZone, 'an IANA time zone name, e.g. Europe/Berlin')
      .default('UTC')
      .describe("IANA time zone of the monitor's clock: IntelliVue absolute time stamps are wall-clock times without an offset."),
    bloodPressure: z
      .enum(['panel', 'separate'])
      .default('panel')
      .describe("'panel': NIBP/ABP systolic, diastolic and mean as one Observation with components (FHIR R4 vital signs); 'separate': one Observation each."),
    maxFrameBytes: z
      .number()
      .int()
      .min(64)
      .max(65541)
      .default(defaultMaxFrameBytes)
      .describe('Largest frame (header + data + FCS, unescaped) the framer accepts; longer ones are discarded (stream_frame_too_large).'),
  })
  .describe('Philips IntelliVue Data Export (MIB/RS-232) adapter settings.');

export type IntellivueConfig = z.infer<typeof intellivueConfigSchema>;
