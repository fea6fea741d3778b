import { readFile } from 'node:fs/promises';
import type { DeviceBinding } from '../../adapter-kit/define-adapter.ts';
import { decodeHexCapture } from '../../adapter-kit/hex-capture.ts';
import { byteStreamAdapterNames, loadAdapter } from '../../adapter-kit/load-adapter.ts';
import { GatewayError } from '../../errors/catalogue.ts';
import { validateResource } from '../../validation/validate-resource.ts';
import { stringOption, UsageError, type CommandSpec } from '../args.ts';

export const replayCommand: CommandSpec = {
  name: 'replay',
  summary: 'Run a raw byte capture through an adapter (framer, parse, normalize, validate) and print the FHIR and every error.',
  usage: 'vitalbridge replay <capture-file> --adapter <name> [--hex] [--adapter-config file.json] [--device-id id] [--received-at iso]',
  help: `Options:
  --adapter <name>          The byte-stream adapter (required).
  --hex                     The file is hex text (whitespace and # comments ignored), like fixtures' input.hex.
  --adapter-config <file>   The adapter's settings as JSON (default {}: the adapter's defaults).
  --device-id <id>          The configured device id the frames are bound to (default replay-device).
  --received-at <iso>       The receive time passed to normalize (default: now).
  --adapter-module <file>   Load the adapter from a module instead of the registry (one being written).
  -h, --help                Show this help.

Prints each resource as pretty JSON on stdout, and on stderr one line per discarded byte run
(discarded <n> bytes: <code>) and per failed frame (frame <i>: <code>: <message>), then a summary.
Exit status: 0 when every frame became valid FHIR, 1 when a frame failed (parse, normalize or
validation); discarded bytes (noise between frames, resynchronisation) are reported but are not failures.
Byte-stream adapters: ${byteStreamAdapterNames().join(', ') || '(none registered yet)'}.

Examples:
  vitalbridge replay adapters/masimo-ascii/fixtures/normal/input.txt --adapter masimo-ascii
  vitalbridge replay capture.hex --hex --adapter nonin-oem3 | jq .resourceType`,
  options: {
    adapter: { type: 'string' },
    hex: { type: 'boolean' },
    'adapter-config': { type: 'string' },
    'device-id': { type: 'string' },
    'received-at': { type: 'string' },
    'adapter-module': { type: 'string' },
  },
  allowPositionals: true,
  async run(args) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0) throw new UsageError('name one capture file');
    const name = stringOption(args, 'adapter');
    if (name === undefined) throw new UsageError('--adapter <name> is required');
    const adapter = await loadAdapter(name, stringOption(args, 'adapter-module'));
    const stream = adapter.stream;
    if (stream === undefined) throw new UsageError(`"${adapter.name}" is not a byte-stream adapter; for HL7 files use vitalbridge send`);
    const receivedAtText = stringOption(args, 'received-at');
    const receivedAt = receivedAtText === undefined ? new Date() : new Date(receivedAtText);
    if (Number.isNaN(receivedAt.getTime())) throw new UsageError(`--received-at expects an ISO 8601 time, got "${receivedAtText}"`);
    const configFile = stringOption(args, 'adapter-config');
    const configParsed = adapter.config.safeParse(configFile === undefined ? {} : JSON.parse(await readFile(configFile, 'utf8')));
    if (!configParsed.success) {
      throw new Error(`adapter config invalid: ${configParsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const config = configParsed.data;
    const binding: DeviceBinding = { deviceId: stringOption(args, 'device-id') ?? 'replay-device' };
    const bytes = args.values.hex === true ? decodeHexCapture(await readFile(file, 'utf8'), file) : await readFile(file);

    const session = stream.createSession?.(config);
    const events = stream.createFramer(config).push(bytes);
    let frames = 0;
    let dataFrames = 0;
    let failures = 0;
    let discards = 0;
    let resources = 0;
    for (const event of events) {
      if (event.kind === 'discarded') {
        discards += 1;
        process.stderr.write(`discarded ${event.bytes.length} bytes: ${event.code}${event.detail ? ` (${event.detail})` : ''}\n`);
        continue;
      }
      frames += 1;
      try {
        if (session !== undefined && !session.onFrame(event.bytes, receivedAt).data) continue;
        dataFrames += 1;
        const normalized = adapter.normalize(adapter.parse(event.bytes), { config, receivedAt, binding });
        for (const item of normalized.resources) {
          validateResource(item.resource);
          resources += 1;
          process.stdout.write(`${JSON.stringify(item.resource, null, 2)}\n`);
        }
      } catch (error) {
        failures += 1;
        const code = error instanceof GatewayError ? error.code : 'adapter_failure';
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`frame ${frames}: ${code}: ${message}\n`);
      }
    }
    process.stderr.write(
      `${bytes.length} bytes, ${frames} frames (${dataFrames} with data), ${resources} resources, ${failures} failed frames, ${discards} discards\n`,
    );
    return failures === 0 ? 0 : 1;
  },
};
