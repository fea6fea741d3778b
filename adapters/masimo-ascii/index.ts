import { defineAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { masimoAsciiConfigSchema, type MasimoAsciiConfig } from './config.ts';
import { createMasimoFramer } from './framing.ts';
import { normalizeMasimoRecord } from './normalize.ts';
import { parseMasimoRecord, type MasimoRecord } from './parse.ts';
import { createMasimoSimulator } from './simulator.ts';

export type { MasimoAsciiConfig } from './config.ts';
export type { MasimoRecord } from './parse.ts';

export default defineAdapter<MasimoAsciiConfig, MasimoRecord>({
  name: 'masimo-ascii',
  summary: 'Masimo Radical-7 / Rad-8 / Rad-97 "ASCII 1" serial output (SpO2, pulse rate, PI, SpCO, SpMet, PVI, alarm and exception bits)',
  transport: 'byte-stream',
  config: masimoAsciiConfigSchema,
  parse: parseMasimoRecord,
  normalize: (record, context) => normalizeMasimoRecord(record, context),
  stream: {
    // 9600 8N1, no flow control (OpenICE DemoRadical7.java; remkolems/masimo-datacapture).
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
    createFramer: (config) => createMasimoFramer(config.maxLineBytes),
    expectedIntervalSeconds: 1,
    createSimulator: createMasimoSimulator,
  },
});
