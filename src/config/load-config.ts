/**
 * Reads the config file (YAML or JSON), applies environment overrides, and validates the result
 * with the schema — and the listener's adapter config with that adapter's schema — before anything
 * opens a socket. Every problem is collected, each with its path, so one run shows them all.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { environmentOverrides, gatewayConfigSchema, type GatewayConfig } from '../../schemas/config.ts';
import { adapters as registeredAdapters } from '../../adapters/index.ts';
import type { AnyAdapter, DeviceBinding } from '../adapter-kit/define-adapter.ts';
import type { BackoffSettings, TransportSettings } from '../transports/stream/index.ts';
import { checkTlsFiles } from '../security/tls-files.ts';
import { kafkaTlsEnabled } from '../publishing/kafka-client-config.ts';

export interface ConfigProblem {
  /** Dotted path in the config, or the environment variable that caused it. */
  readonly path: string;
  readonly message: string;
}

/** A configured serial device with everything resolved: its adapter, validated adapter config, line settings. */
export interface ResolvedDevice {
  readonly id: string;
  readonly adapter: AnyAdapter;
  readonly adapterConfig: unknown;
  /** Serial settings merged over the adapter's serialDefaults; TCP keep-alive in ms. */
  readonly transport: TransportSettings;
  readonly binding: DeviceBinding;
  readonly staleAfterMs: number;
  readonly maxQueuedMessages: number;
  readonly reconnect: BackoffSettings;
}

export type ConfigResult =
  | {
      readonly ok: true;
      readonly config: GatewayConfig;
      readonly adapterConfig: unknown;
      readonly devices: readonly ResolvedDevice[];
    }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ResolveOptions {
  /** The adapters config may name; default: the registry (adapters/index.ts). Tests add test-only adapters. */
  readonly adapters?: readonly AnyAdapter[];
}

export async function loadConfig(options: { file?: string; env: Environment } & ResolveOptions): Promise<ConfigResult> {
  let raw: unknown = {};
  if (options.file !== undefined) {
    try {
      const text = await readFile(options.file, 'utf8');
      raw = (options.file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {};
    } catch (error) {
      return { ok: false, problems: [{ path: options.file, message: `cannot read config file: ${describe(error)}` }] };
    }
  }
  return resolveConfig(raw, options.env, options);
}

/** Pure: raw config object + environment -> validated config or every problem found. */
export function resolveConfig(raw: unknown, env: Environment, options: ResolveOptions = {}): ConfigResult {
  const known = options.adapters ?? registeredAdapters;
  const findAdapter = (name: string) => known.find((adapter) => adapter.name === name);
  const adapterNames = (transport: AnyAdapter['transport']) =>
    known.filter((adapter) => adapter.transport === transport).map((adapter) => adapter.name).join(', ') || '(none yet)';
  const problems: ConfigProblem[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '(root)', message: 'the config file must hold a mapping/object' }] };
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  for (const override of environmentOverrides) {
    const text = env[override.variable];
    if (text === undefined || text.trim() === '') continue;
    const value = parseOverride(override.kind, text.trim());
    if (value === undefined) {
      problems.push({ path: override.variable, message: `expected ${override.kind}, e.g. ${override.example}; got "${text}"` });
      continue;
    }
    setPath(merged, override.path, value);
  }

  const parsed = gatewayConfigSchema.safeParse(merged);
  if (!parsed.success) problems.push(...zodProblems(parsed.error));

  if (parsed.success) {
    const spool = parsed.data.delivery.spool;
    if (spool.segmentBytes > spool.maxBytes / 2) {
      problems.push({ path: 'delivery.spool.segmentBytes', message: 'must be at most half of delivery.spool.maxBytes, so a new segment fits while an old one drains' });
    }
    if (spool.retryMaxDelayMs < spool.retryInitialDelayMs) {
      problems.push({ path: 'delivery.spool.retryMaxDelayMs', message: 'must be at least delivery.spool.retryInitialDelayMs' });
    }
  }

  let adapterConfig: unknown;
  if (parsed.success) {
    const adapter = findAdapter(parsed.data.mllp.adapter);
    if (adapter === undefined) {
      problems.push({
        path: 'mllp.adapter',
        message: `unknown adapter "${parsed.data.mllp.adapter}"; registered MLLP adapters: ${adapterNames('mllp')}`,
      });
    } else if (adapter.transport !== 'mllp') {
      problems.push({
        path: 'mllp.adapter',
        message: `"${adapter.name}" is a byte-stream adapter: configure it under devices[], not on the MLLP listener`,
      });
    } else {
      const adapterParsed = adapter.config.safeParse(parsed.data.mllp.adapterConfig);
      if (adapterParsed.success) adapterConfig = adapterParsed.data;
      else problems.push(...zodProblems(adapterParsed.error, 'mllp.adapterConfig'));
    }
  }

  if (parsed.success) problems.push(...tlsProblems(parsed.data));

  const devices: ResolvedDevice[] = [];
  if (parsed.success) {
    const seen = { ids: new Map<string, number>(), endpoints: new Map<string, number>() };
    parsed.data.devices.forEach((device, index) => {
      const path = `devices.${index}`;
      const firstId = seen.ids.get(device.id);
      if (firstId !== undefined) problems.push({ path: `${path}.id`, message: `"${device.id}" is already the id of devices.${firstId}` });
      else seen.ids.set(device.id, index);
      const endpoint =
        device.transport.kind === 'serial'
          ? `serial ${device.transport.path}`
          : device.transport.kind === 'tcp-server' && device.transport.port !== 0
            ? `tcp-server port ${device.transport.port}`
            : undefined;
      if (endpoint !== undefined) {
        const first = seen.endpoints.get(endpoint);
        if (first !== undefined) problems.push({ path: `${path}.transport`, message: `${endpoint} is already used by devices.${first} (one device per port)` });
        else seen.endpoints.set(endpoint, index);
      }

      const adapter = findAdapter(device.adapter);
      if (adapter === undefined) {
        problems.push({ path: `${path}.adapter`, message: `unknown adapter "${device.adapter}"; registered byte-stream adapters: ${adapterNames('byte-stream')}` });
        return;
      }
      if (adapter.stream === undefined) {
        problems.push({
          path: `${path}.adapter`,
          message: `"${adapter.name}" is an MLLP adapter (HL7 v2 over TCP): configure it under mllp.adapter, not as a device; byte-stream adapters: ${adapterNames('byte-stream')}`,
        });
        return;
      }
      const adapterParsed = adapter.config.safeParse(device.adapterConfig);
      if (!adapterParsed.success) {
        problems.push(...zodProblems(adapterParsed.error, `${path}.adapterConfig`));
        return;
      }
      const stream = adapter.stream;
      const transport: TransportSettings =
        device.transport.kind === 'serial'
          ? {
              kind: 'serial',
              path: device.transport.path,
              baudRate: device.transport.baudRate ?? stream.serialDefaults.baudRate,
              dataBits: device.transport.dataBits ?? stream.serialDefaults.dataBits,
              parity: device.transport.parity ?? stream.serialDefaults.parity,
              stopBits: device.transport.stopBits ?? stream.serialDefaults.stopBits,
              rtscts: device.transport.rtscts ?? stream.serialDefaults.rtscts,
            }
          : device.transport.kind === 'tcp-client'
            ? {
                kind: 'tcp-client',
                host: device.transport.host,
                port: device.transport.port,
                keepAliveMs: device.transport.keepAliveSeconds * 1000,
                connectTimeoutMs: device.transport.connectTimeoutMs,
              }
            : { kind: 'tcp-server', host: device.transport.host, port: device.transport.port, keepAliveMs: device.transport.keepAliveSeconds * 1000 };
      if (device.reconnect.maxDelayMs < device.reconnect.initialDelayMs) {
        problems.push({ path: `${path}.reconnect.maxDelayMs`, message: 'must be at least reconnect.initialDelayMs' });
      }
      devices.push({
        id: device.id,
        adapter,
        adapterConfig: adapterParsed.data,
        transport,
        binding: {
          deviceId: device.id,
          ...(device.patient !== undefined ? { patient: device.patient } : {}),
          ...(device.location !== undefined ? { location: device.location } : {}),
        },
        staleAfterMs: Math.round((device.staleAfterSeconds ?? 3 * stream.expectedIntervalSeconds) * 1000),
        maxQueuedMessages: device.maxQueuedMessages,
        reconnect: device.reconnect,
      });
    });
  }

  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: parsed.data, adapterConfig, devices };
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
  return `configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

function zodProblems(error: z.ZodError, prefix?: string): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== undefined && part !== '').join('.');
    return { path: path === '' ? '(root)' : path, message: issue.message };
  });
}

/** The certificate and key files of mllp.tls and kafka.ssl: present, PEM, and each key matching its certificate. */
function tlsProblems(config: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const tls = config.mllp.tls;
  if (tls !== undefined) {
    if (tls.requireClientCert && tls.caFile === undefined) {
      problems.push({ path: 'mllp.tls.caFile', message: 'requireClientCert needs caFile: the CA client certificates must be signed by' });
    }
    problems.push(
      ...checkTlsFiles(
        [
          { path: 'mllp.tls.certFile', file: tls.certFile, kind: 'certificate' },
          { path: 'mllp.tls.keyFile', file: tls.keyFile, kind: 'private key' },
          { path: 'mllp.tls.caFile', file: tls.caFile, kind: 'certificate' },
        ],
        [['mllp.tls.certFile', 'mllp.tls.keyFile']],
      ),
    );
  }
  const ssl = config.kafka.ssl;
  if (config.kafka.brokers === undefined && (kafkaTlsEnabled(ssl) || config.kafka.sasl !== undefined)) {
    // The built-in local broker is PLAINTEXT on loopback: TLS or SASL settings would only make it unreachable.
    problems.push({ path: 'kafka.brokers', message: 'kafka.ssl and kafka.sasl apply to configured brokers; set kafka.brokers (or KAFKA_BROKERS)' });
  }
  if ((ssl.certFile === undefined) !== (ssl.keyFile === undefined)) {
    problems.push({ path: ssl.certFile === undefined ? 'kafka.ssl.certFile' : 'kafka.ssl.keyFile', message: 'certFile and keyFile go together (mutual TLS to the brokers)' });
  }
  problems.push(
    ...checkTlsFiles(
      [
        { path: 'kafka.ssl.caFile', file: ssl.caFile, kind: 'certificate' },
        { path: 'kafka.ssl.certFile', file: ssl.certFile, kind: 'certificate' },
        { path: 'kafka.ssl.keyFile', file: ssl.keyFile, kind: 'private key' },
      ],
      [['kafka.ssl.certFile', 'kafka.ssl.keyFile']],
    ),
  );
  return problems;
}

function parseOverride(kind: 'list' | 'string' | 'integer' | 'boolean', text: string): unknown {
  switch (kind) {
    case 'boolean':
      return /^(true|1|yes)$/i.test(text) ? true : /^(false|0|no)$/i.test(text) ? false : undefined;
    case 'list':
      return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'integer':
      return /^\d+$/.test(text) ? Number(text) : undefined;
    case 'string':
      return text;
    default:
      return kind satisfies never;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
