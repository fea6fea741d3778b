import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeKafkaSecurity, kafkaClientConfig, platformaticClientOptions } from './kafka-client-config.ts';

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

  it('is how every @platformatic/kafka client in src/ is built too (the same TLS and SASL settings, a second output)', () => {
    const files = sourceFiles(join(root, 'src'));
    const users = files.filter((file) => /new (Producer|Admin|Consumer)\(/.test(readFileSync(file, 'utf8')) && readFileSync(file, 'utf8').includes("from '@platformatic/kafka'"));
    expect(users.map((file) => relative(root, file))).toContain('src/publishing/platformatic-publisher.ts');
    for (const file of users) {
      const text = readFileSync(file, 'utf8');
      expect(text, relative(root, file)).toMatch(/platformaticClientOptions\(/);
      // Every construction starts from those options.
      for (const match of text.matchAll(/new (?:Producer|Admin|Consumer)\(\{\s*(\S+)/g)) expect(match[1], relative(root, file)).toBe('...connection,');
    }
  });

  it('maps SASL mechanisms and TLS files to @platformatic/kafka options from the same settings', () => {
    const sasl = { mechanism: 'scram-sha-256', username: 'gw', password: 'pw' } as const;
    const options = platformaticClientOptions({ brokers: ['b:9093'], clientId: 'c', connectTimeoutMs: 1234, security: { sasl, ssl: { enabled: true, rejectUnauthorized: false } } });
    expect(options).toEqual({
      clientId: 'c',
      bootstrapBrokers: ['b:9093'],
      connectTimeout: 1234,
      tls: { rejectUnauthorized: false },
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'gw', password: 'pw' },
    });
    expect(platformaticClientOptions({ brokers: ['b:9092'], clientId: 'c', security: { sasl: { ...sasl, mechanism: 'plain' } } })).toEqual({
      clientId: 'c',
      bootstrapBrokers: ['b:9092'],
      sasl: { mechanism: 'PLAIN', username: 'gw', password: 'pw' },
    });
    expect(platformaticClientOptions({ brokers: ['b:9092'], clientId: 'c', security: { ssl: { rejectUnauthorized: true } } }).tls).toBeUndefined();
  });

  it('describes the connection for logs without the user name or password', () => {
    const summary = describeKafkaSecurity({ sasl: { mechanism: 'plain', username: 'gw-user', password: 'gw-pass' }, ssl: { enabled: true, rejectUnauthorized: true } });
    expect(summary).toEqual({ protocol: 'SASL_SSL', saslMechanism: 'plain' });
    expect(JSON.stringify(summary)).not.toMatch(/gw-user|gw-pass/);
  });
});
