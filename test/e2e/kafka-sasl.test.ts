/**
 * Kafka with SASL, against a real broker of its own whose client listener is SASL_PLAINTEXT
 * (SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN; SCRAM users bootstrapped when the storage is formatted).
 * The gateway's producer and admin, the test reader and `vitalbridge tail` all connect through
 * kafkaClientConfig(), configured from the kafka.sasl section or the KAFKA_SASL_* environment.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/catalogue.ts';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startTestGateway, startTestGatewayExpectingFailure, type TestGateway } from '../support/gateway-harness.ts';
import { readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { freePort } from '../../src/transports/free-port.ts';
import { runCli } from '../support/cli.ts';

const users = {
  broker: { username: 'broker-admin', password: 'broker-admin-secret-1' },
  gateway: { username: 'vitalbridge', password: 'gateway-right-secret-2' },
};
const WRONG_PASSWORD = 'gateway-wrong-secret-3';
/** The CLI with no KAFKA_BROKERS from the outer environment: each test names its broker. */
const run = (args: string[], env: Record<string, string>) => runCli(args, { KAFKA_BROKERS: '', ...env }, 40_000);

let broker: LocalKafka;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  broker = await startLocalKafka({ sasl: { users: [users.broker, users.gateway] } });
});

afterAll(async () => {
  for (const gw of gateways) await gw.stop();
  await broker?.stop();
});

async function sendOne(port: number, controlId: string): Promise<string> {
  const client = new MllpClient();
  await client.connect('127.0.0.1', port, { timeoutMs: 5_000 });
  try {
    const ack = readAcknowledgement(await client.send(pcd01Message({ controlId }), { timeoutMs: 20_000 }));
    return ack?.code ?? '(not an ACK)';
  } finally {
    await client.close();
  }
}

describe('Kafka over SASL (real broker, SASL_PLAINTEXT listener)', () => {
  it('the local broker was started with a SASL_PLAINTEXT client listener (the wrong-password tests below show it is enforced)', () => {
    expect(broker.securityProtocol).toBe('SASL_PLAINTEXT');
  });

  it.each(['scram-sha-256', 'scram-sha-512', 'plain'] as const)(
    'with the right %s credentials the gateway publishes, ACKs CA, and the records read back over SASL',
    async (mechanism) => {
      const sasl = { mechanism, ...users.gateway };
      const gw = await startTestGateway({ brokers: broker.brokers, config: { kafka: { sasl } } });
      gateways.push(gw);
      const controlId = `SASL-${mechanism}`;
      expect(await sendOne(gw.gateway.mllp.port, controlId)).toBe('CA');
      const records = await readAll(broker.brokers, gw.topics.observation, {
        expected: 3,
        timeoutMs: 20_000,
        where: (record) => record.headers['source-message-id'] === controlId,
        security: { sasl },
      });
      expect(records).toHaveLength(3);
      expect(gw.logLines.join('')).not.toContain(users.gateway.password);
    },
    60_000,
  );

  it('with a wrong password the gateway refuses to start with kafka_auth_failed, never listens, logs no secret', async () => {
    const mllpPort = await freePort();
    const { failure, logLines, kafkaStartFailed } = await startTestGatewayExpectingFailure({
      brokers: broker.brokers,
      config: { mllp: { port: mllpPort }, kafka: { sasl: { mechanism: 'scram-sha-256', username: users.gateway.username, password: WRONG_PASSWORD } } },
    });
    expect(isGatewayError(failure) && failure.code).toBe('kafka_auth_failed');
    expect(kafkaStartFailed).toMatchObject({ level: 'error', code: 'kafka_auth_failed', protocol: 'SASL_PLAINTEXT', saslMechanism: 'scram-sha-256' });
    expect(logLines.join('')).not.toContain(WRONG_PASSWORD);
    // Kafka is opened before the MLLP listener, so no sender could have been acknowledged.
    await expect(canConnect(mllpPort)).resolves.toBe(false);
  }, 60_000);

  it('vitalbridge start with a wrong KAFKA_SASL_PASSWORD exits 1 naming kafka_auth_failed, and never listens on MLLP', async () => {
    const [mllpPort, httpPort] = [await freePort(), await freePort()];
    const result = await run(['start'], {
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: users.gateway.username,
      KAFKA_SASL_PASSWORD: WRONG_PASSWORD,
      MLLP_HOST: '127.0.0.1',
      MLLP_PORT: String(mllpPort),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^vitalbridge start: kafka_auth_failed: Kafka refused the SASL credentials/m);
    expect(result.stdout).toContain('"event":"kafka_start_failed"');
    expect(result.stdout).not.toContain('"event":"mllp_listening"');
    expect(result.stdout + result.stderr).not.toContain(WRONG_PASSWORD);
  }, 60_000);

  it('vitalbridge tail reads the topic with credentials from KAFKA_SASL_* and fails with them wrong', async () => {
    const gw = gateways[0];
    if (gw === undefined) throw new Error('the publishing test above must run first');
    const env = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: users.gateway.username };
    const args = ['tail', '--topic', gw.topics.observation, '--brokers', broker.brokers.join(','), '--max', '1', '--idle-exit', '10'];
    const good = await run(args, { ...env, KAFKA_SASL_PASSWORD: users.gateway.password });
    expect(good.stdout).toContain('source-message-id=SASL-scram-sha-256');
    expect(good.code).toBe(0);
    const bad = await run(args, { ...env, KAFKA_SASL_PASSWORD: WRONG_PASSWORD });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/SASL|authentication/i);
    expect(bad.stderr + bad.stdout).not.toContain(WRONG_PASSWORD);
  }, 90_000);
});


function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

