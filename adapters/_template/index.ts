/**
 * The __name__ adapter: generated from adapters/_template by `npm run new:adapter`. It already works for
 * the template's example line protocol (`SN=A1234 SPO2=097 PR=072` + CR LF); make it speak yours.
 *
 * TODO, in this order (each file's header says what to change; adapters/README.md has the rules):
 * 1. `summary` below: one line, the devices and the messages or fields read. Paste the same text into
 *    this adapter's row in adapters/README.md (the conventions test compares them).
 * 2. `stream.serialDefaults` and `expectedIntervalSeconds`: from the device manual.
 * 3. config.ts, framing.ts, parse.ts, normalize.ts, simulator.ts.
 * 4. fixtures/: replace example-record with real captures, expectations checked by hand.
 * 5. README.md: every section, in particular "What was checked against what".
 * Request/response protocols also add `createSession` (see adapters/draeger-medibus/).
 */
import { defineAdapter } from '../../src/adapter-kit/define-adapter.ts';
import { __nameCamel__ConfigSchema, type __Name__Config } from './config.ts';
import { create__Name__Framer } from './framing.ts';
import { normalize__Name__Record } from './normalize.ts';
import { parse__Name__Record, type __Name__Record } from './parse.ts';
import { create__Name__Simulator } from './simulator.ts';

export type { __Name__Config } from './config.ts';
export type { __Name__Record } from './parse.ts';

export default defineAdapter<__Name__Config, __Name__Record>({
  // The folder name and registry name (kebab-case); config files name the adapter by it.
  name: 'template-line',
  // TODO(summary): one line, also the adapters/README.md table row's Summary cell.
  summary: 'TODO: which devices, which messages or fields (template line protocol: SN, SpO2, pulse rate)',
  transport: 'byte-stream',
  config: __nameCamel__ConfigSchema,
  parse: parse__Name__Record,
  normalize: (record, context) => normalize__Name__Record(record, context),
  stream: {
    // TODO(serial): the device manual's defaults; a site may override them in config.
    serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
    createFramer: (config) => create__Name__Framer(config.maxLineBytes),
    // TODO(serial): seconds between records from a healthy device; silence for 3x this marks it stale.
    expectedIntervalSeconds: 1,
    createSimulator: create__Name__Simulator,
  },
});
