/**
 * Reads the config file (YAML or JSON), applies environment overrides, and validates the result
 * with the schema — and the listener's adapter config with that adapter's schema — before anything
 * opens a socket. Every problem is collected, each with its path, so one run shows them all.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { environmentOverrides, gatewayConfigSchema, type GatewayConfig } from '../../schemas/config.ts';
import { findAdapter, adapterNames } from '../../adapters/index.ts';

export interface ConfigProblem {
  /** Dotted path in the config, or the environment variable that caused it. */
  readonly path: string;
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: GatewayConfig; readonly adapterConfig: unknown }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export type Environment = Readonly<Record<string, string | undefined>>;

export async function loadConfig(options: { file?: string; env: Environment }): Promise<ConfigResult> {
  let raw: unknown = {};
  if (options.file !== undefined) {
    try {
      const text = await readFile(options.file, 'utf8');
      raw = (options.file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {};
    } catch (error) {
      return { ok: false, problems: [{ path: options.file, message: `cannot read config file: ${describe(error)}` }] };
    }
  }
  return resolveConfig(raw, options.env);
}

/** Pure: raw config object + environment -> validated config or every problem found. */
export function resolveConfig(raw: unknown, env: Environment): ConfigResult {
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

  let adapterConfig: unknown;
  if (parsed.success) {
    const adapter = findAdapter(parsed.data.mllp.adapter);
    if (adapter === undefined) {
      problems.push({
        path: 'mllp.adapter',
        message: `unknown adapter "${parsed.data.mllp.adapter}"; registered: ${adapterNames().join(', ')}`,
      });
    } else {
      const adapterParsed = adapter.config.safeParse(parsed.data.mllp.adapterConfig);
      if (adapterParsed.success) adapterConfig = adapterParsed.data;
      else problems.push(...zodProblems(adapterParsed.error, 'mllp.adapterConfig'));
    }
  }

  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: parsed.data, adapterConfig };
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

function parseOverride(kind: 'list' | 'string' | 'integer', text: string): unknown {
  switch (kind) {
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
