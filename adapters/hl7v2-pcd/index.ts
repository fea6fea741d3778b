import { defineAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { hl7v2PcdConfigSchema, type Hl7v2PcdConfig } from './config.ts';
import { normalizePcd01 } from './normalize.ts';
import { parsePcd01, type Pcd01Message } from './parse.ts';

export type { Hl7v2PcdConfig } from './config.ts';
export type { Pcd01Message } from './parse.ts';
export type { Pcd01Normalized, SkippedObservation } from './normalize.ts';

export default defineAdapter<Hl7v2PcdConfig, Pcd01Message>({
  name: 'hl7v2-pcd',
  summary: 'IHE PCD-01 ORU^R01 (HL7 v2.3-2.6) from patient monitors, pumps and gateways',
  transport: 'mllp',
  config: hl7v2PcdConfigSchema,
  parse: parsePcd01,
  normalize: (message, context) => normalizePcd01(message, context),
});
