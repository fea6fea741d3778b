import { defineAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { noninOem3ConfigSchema, type NoninOem3Config } from './config.ts';
import { createNoninFramer } from './framing.ts';
import { normalizeNoninReading } from './normalize.ts';
import { parseNoninFrame, type NoninReading } from './parse.ts';
import { createNoninSimulator } from './simulator.ts';

export type { NoninOem3Config } from './config.ts';
export type { NoninReading } from './parse.ts';

export default defineAdapter<NoninOem3Config, NoninReading>({
  name: 'nonin-oem3',
  summary: 'Nonin OEM III / Xpod pulse oximetry modules, serial data formats 2, 7 and 8 (pulse rate, SpO2, status flags)',
  transport: 'byte-stream',
  config: noninOem3ConfigSchema,
  parse: parseNoninFrame,
  normalize: (reading, context) => normalizeNoninReading(reading, context),
  stream: {
    // 9600 8N1 (OpenICE DemoNoninPulseOx.java).
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
    createFramer: (config) => createNoninFramer(config.dataFormat),
    // DF2/DF7 send a packet every 1/3 s, DF8 a frame every second: 1 s covers all three.
    expectedIntervalSeconds: 1,
    createSimulator: createNoninSimulator,
  },
});
