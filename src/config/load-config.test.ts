import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfig, resolveConfig } from './load-config.ts';

describe('resolveConfig', () => {
  it('gives every default from an empty config', () => {
    const result = resolveConfig({}, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.mllp.port).toBe(2575);
    expect(result.config.http.port).toBe(8080);
    expect(result.config.kafka.brokers).toBeUndefined();
    expect(result.config.kafka.topics).toEqual({
      observation: 'fhir.observation',
      device: 'fhir.device',
      deadLetter: 'gateway.deadletter',
      events: 'gateway.events',
    });
  });

  it('applies KAFKA_BROKERS, MLLP_PORT and HTTP_PORT over the file', () => {
    const result = resolveConfig(
      { mllp: { port: 3000 }, kafka: { brokers: ['a:1'] } },
      { KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.2:9093', MLLP_PORT: '6661', HTTP_PORT: '9000' },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.2:9093']);
    expect(result.config.mllp.port).toBe(6661);
    expect(result.config.http.port).toBe(9000);
  });

  it('lists every problem at once, each with its path', () => {
    const result = resolveConfig(
      { mllp: { port: 70000, maxFrameBytes: 10, bogus: true }, kafka: { brokers: ['no-port'] }, http: { port: 'x' } },
      { HTTP_PORT: 'eighty' },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path).sort();
    expect(paths).toEqual(['HTTP_PORT', 'http.port', 'kafka.brokers.0', 'mllp', 'mllp.maxFrameBytes', 'mllp.port'].sort());
    expect(formatProblems(result.problems)).toContain('6 problems');
  });

  it('rejects an unknown adapter and names the registered ones', () => {
    const result = resolveConfig({ mllp: { adapter: 'nope' } }, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([{ path: 'mllp.adapter', message: expect.stringContaining('hl7v2-pcd') }]);
  });

  it("validates the listener's adapter config with the adapter's own schema", () => {
    const result = resolveConfig({ mllp: { adapterConfig: { surelyNotAnOption: 1 } } }, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]?.path).toMatch(/^mllp\.adapterConfig/);
  });
});

describe('loadConfig', () => {
  it('reads YAML and reports a missing file as a problem, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vb-config-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, 'mllp:\n  port: 2600\nkafka:\n  topics:\n    observation: obs\n');
    const loaded = await loadConfig({ file, env: {} });
    expect(loaded.ok && loaded.config.mllp.port).toBe(2600);
    expect(loaded.ok && loaded.config.kafka.topics.observation).toBe('obs');

    const missing = await loadConfig({ file: join(dir, 'absent.yaml'), env: {} });
    expect(missing.ok).toBe(false);
  });
});
