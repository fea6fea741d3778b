import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeKafkaSecurity, kafkaClientConfig } from './kafka-client-config.ts';

const root = new URL('../..', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('kafkaClientConfig', () => {
  it('is how every Kafka client in src/ is built, so TLS and SASL settings reach all of them', () => {
    const files = sourceFiles(join(root, 'src'));
    const constructions = files.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/new Kafka\(\s*([A-Za-z]*)/g)].map((match) => ({ file: relative(root, file), argument: match[1] })),
    );
    // publisher, tail, FHIR sink consumer, local broker probe
    expect(constructions.length).toBeGreaterThanOrEqual(4);
    expect(constructions.filter(({ argument }) => argument !== 'kafkaClientConfig')).toEqual([]);
  });

  it('maps SASL mechanisms and TLS files to kafkajs options; no TLS unless enabled or a file is named', () => {
    const sasl = { mechanism: 'scram-sha-512', username: 'gw', password: 'pw' } as const;
    const config = kafkaClientConfig({ brokers: ['b:9093'], clientId: 'c', connectTimeoutMs: 1234, security: { sasl, ssl: { enabled: true, rejectUnauthorized: false } } });
    expect(config).toMatchObject({ brokers: ['b:9093'], clientId: 'c', connectionTimeout: 1234, sasl, ssl: { rejectUnauthorized: false } });
    expect(kafkaClientConfig({ brokers: ['b:9092'], clientId: 'c', security: { ssl: { rejectUnauthorized: true } } }).ssl).toBeUndefined();
  });

  it('describes the connection for logs without the user name or password', () => {
    const summary = describeKafkaSecurity({ sasl: { mechanism: 'plain', username: 'gw-user', password: 'gw-pass' }, ssl: { enabled: true, rejectUnauthorized: true } });
    expect(summary).toEqual({ protocol: 'SASL_SSL', saslMechanism: 'plain' });
    expect(JSON.stringify(summary)).not.toMatch(/gw-user|gw-pass/);
  });
});
