/**
 * Kafka over mutual TLS with SASL (SASL_SSL, ssl.client.auth=required), against a real broker of its
 * own whose client listener presents a certificate from a CA the test makes with `openssl`
 * (test/support/certificates.ts). The gateway verifies the broker's certificate against
 * kafka.ssl.caFile, presents its own (kafka.ssl.certFile/keyFile) and authenticates with
 * SCRAM-SHA-512; a gateway that does not trust that CA, or has no client certificate, refuses to
 * start with kafka_tls_failed.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/catalogue.ts';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { generateTestPki, type TestPki } from '../support/certificates.ts';
import { startTestGateway, startTestGatewayExpectingFailure, type TestGateway } from '../support/gateway-harness.ts';
import { readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

const users = {
  broker: { username: 'broker-admin', password: 'broker-admin-secret-1' },
  gateway: { username: 'vitalbridge', password: 'gateway-tls-secret-2' },
};

let pki: TestPki;
let broker: LocalKafka;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  pki = await generateTestPki();
  broker = await startLocalKafka({
    sasl: { users: [users.broker, users.gateway] },
    tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile, requireClientCert: true },
  });
});

afterAll(async () => {
  for (const gw of gateways) await gw.stop();
  await broker?.stop();
  if (pki !== undefined) await rm(pki.dir, { recursive: true, force: true });
});

describe('Kafka over SASL_SSL (real broker, TLS listener with a test CA)', () => {
  it('with kafka.ssl (CA, client certificate and key) and SCRAM-SHA-512 the gateway publishes, ACKs CA, and the records read back over SASL_SSL', async () => {
    expect(broker.securityProtocol).toBe('SASL_SSL');
    const security = {
      ssl: { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile, rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512' as const, ...users.gateway },
    };
    const gw = await startTestGateway({ brokers: broker.brokers, config: { kafka: security } });
    gateways.push(gw);
    const client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
    try {
      const ack = readAcknowledgement(await client.send(pcd01Message({ controlId: 'SASL-SSL-1' }), { timeoutMs: 20_000 }));
      expect(ack?.code).toBe('CA');
    } finally {
      await client.close();
    }
    const records = await readAll(broker.brokers, gw.topics.observation, {
      expected: 3,
      timeoutMs: 20_000,
      where: (record) => record.headers['source-message-id'] === 'SASL-SSL-1',
      security,
    });
    expect(records).toHaveLength(3);
    expect(gw.logLines.join('')).not.toContain(users.gateway.password);
  }, 90_000);

  it.each([
    ['does not trust the broker certificate (system CAs only)', () => ({ enabled: true })],
    ['presents no client certificate', () => ({ caFile: pki.ca.certFile })],
  ])('a gateway that %s refuses to start with kafka_tls_failed, before MLLP listens', async (_case, ssl) => {
    const { failure, logLines, kafkaStartFailed } = await startTestGatewayExpectingFailure({
      brokers: broker.brokers,
      config: {
        kafka: {
          ssl: ssl(),
          sasl: { mechanism: 'scram-sha-512', ...users.gateway },
          connectTimeoutMs: 5_000,
        },
      },
    });
    expect(isGatewayError(failure) && failure.code).toBe('kafka_tls_failed');
    expect(kafkaStartFailed).toMatchObject({ level: 'error', code: 'kafka_tls_failed', protocol: 'SASL_SSL' });
    expect(logLines.some((line) => line.includes('"event":"mllp_listening"'))).toBe(false);
  }, 90_000);
});
