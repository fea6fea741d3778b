import { defineAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { intellivueConfigSchema, type IntellivueConfig } from './config.ts';
import { createIntellivueFramer } from './framing.ts';
import { normalizeIntellivue } from './normalize.ts';
import { parseIntellivue, type IntellivueMessage } from './parse.ts';
import { createIntellivueSession } from './session.ts';
import { createIntellivueSimulator } from './simulator.ts';

export type { IntellivueConfig } from './config.ts';
export type { IntellivueMessage } from './parse.ts';

export default defineAdapter<IntellivueConfig, IntellivueMessage>({
  name: 'philips-intellivue',
  summary: 'Philips IntelliVue MP-series Data Export over the MIB/RS-232 port: association, extended numeric polls',
  transport: 'byte-stream',
  config: intellivueConfigSchema,
  parse: parseIntellivue,
  normalize: (message, context) => normalizeIntellivue(message, context),
  stream: {
    // MIB/RS-232 Data Export: 115200 baud, 8 data bits, no parity, 1 stop bit (VSCaptureMP Class3.cs).
    serialDefaults: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
    createFramer: (config) => createIntellivueFramer({ maxFrameBytes: config.maxFrameBytes }),
    createSession: (config) => createIntellivueSession(config),
    // The longest configurable poll interval is 10 s.
    expectedIntervalSeconds: 10,
    createSimulator: (options) => createIntellivueSimulator(options),
  },
});
