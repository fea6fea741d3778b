import { defineAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { medibusConfigSchema, type MedibusConfig } from './config.ts';
import { MedibusFramer } from './framing.ts';
import { normalizeMedibus } from './normalize.ts';
import { parseMedibus, type MedibusMessage } from './parse.ts';
import { MedibusSession } from './session.ts';
import { MedibusSimulator } from './simulator.ts';

export type { MedibusConfig } from './config.ts';
export type { MedibusMessage } from './parse.ts';
export type { MedibusNormalized, WithheldValue } from './normalize.ts';

export default defineAdapter<MedibusConfig, MedibusMessage>({
  name: 'draeger-medibus',
  summary: 'Dräger Medibus (ASCII) from Evita, V500 and Apollo ventilators and anaesthesia machines: current measured data, code page 1',
  transport: 'byte-stream',
  config: medibusConfigSchema,
  parse: parseMedibus,
  normalize: (message, context) => normalizeMedibus(message, context),
  stream: {
    // Evita 4 (and VSCaptureDrgVent's default): 19200 baud, 8 data bits, even parity, 1 stop bit.
    // Apollo uses 9600 8E1 and V500 19200/38400 8N1: set serial.* in the line's config (README).
    serialDefaults: { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1, rtscts: false },
    createFramer: (config) => new MedibusFramer(config.maxFrameBytes),
    createSession: (config) => new MedibusSession(config),
    expectedIntervalSeconds: 5,
    createSimulator: (options) => new MedibusSimulator(options),
  },
});
