/**
 * MLLP over TLS and mutual TLS, over real TLS sockets into the real gateway and broker, with
 * certificates made at run time by `openssl` (test/support/certificates.ts): a CA, a server
 * certificate for 127.0.0.1, a client certificate from that CA and one from a CA the gateway does
 * not trust. What is checked: TLS messages are acknowledged and land on Kafka; plain TCP, a missing
 * client certificate and an untrusted one are refused before anything is acknowledged, and each
 * refusal is logged with mllp_tls_handshake_failed and a reason, and counted.
 */
import { readFileSync } from 'node:fs';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient, MllpClientError } from '../../src/transports/mllp/client.ts';
import { generateTestPki, type CertificateFiles, type TestPki } from '../support/certificates.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { runCli } from '../support/cli.ts';

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, env, 40_000);
const example = new URL('../../examples/philips-monitor.hl7', import.meta.url).pathname;

let pki: TestPki;
/** TLS, no client certificate asked for. */
let tlsGateway: TestGateway;
/** Mutual TLS: requireClientCert with the test CA. */
let mutualGateway: TestGateway;

beforeAll(async () => {
  pki = await generateTestPki();
  const serverTls = { certFile: pki.server.certFile, keyFile: pki.server.keyFile };
  tlsGateway = await startTestGateway({ brokers: kafkaBrokers(), config: { mllp: { tls: { ...serverTls, handshakeTimeoutMs: 1_000 } } } });
  mutualGateway = await startTestGateway({
    brokers: kafkaBrokers(),
    config: { mllp: { tls: { ...serverTls, caFile: pki.ca.certFile, requireClientCert: true } } },
  });
});

afterAll(async () => {
  await tlsGateway?.stop();
  await mutualGateway?.stop();
  if (pki !== undefined) await rm(pki.dir, { recursive: true, force: true });
});

const trustTestCa = (): ConnectionOptions => ({ ca: [readFileSync(pki.ca.certFile)] });
const withClientCert = (files: CertificateFiles): ConnectionOptions => ({
  ...trustTestCa(),
  cert: readFileSync(files.certFile),
  key: readFileSync(files.keyFile),
});

/** One message on a fresh connection: the ACK code, or why there was none (connect or send failure). */
async function attempt(port: number, controlId: string, tls: ConnectionOptions | undefined): Promise<{ ack?: string; failure?: string }> {
  const client = new MllpClient();
  try {
    await client.connect('127.0.0.1', port, { timeoutMs: 10_000, ...(tls !== undefined ? { tls } : {}) });
    const reply = await client.send(pcd01Message({ controlId }), { timeoutMs: 20_000 });
    return { ack: readAcknowledgement(reply)?.code ?? '(not an ACK)' };
  } catch (error) {
    return { failure: error instanceof MllpClientError ? `${error.reason}: ${error.message}` : String(error) };
  } finally {
    await client.close();
  }
}

type LogEntry = Record<string, unknown>;
const entries = (gw: TestGateway): LogEntry[] => gw.logLines.map((line) => JSON.parse(line) as LogEntry);
const handshakeFailures = (gw: TestGateway) => entries(gw).filter((entry) => entry.event === 'tls_handshake_failed');

/** Waits (bounded) for the gateway to log one more handshake failure than `before`, and returns it. */
async function nextHandshakeFailure(gw: TestGateway, before: number): Promise<LogEntry> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const failure = handshakeFailures(gw)[before];
    if (failure !== undefined) return failure;
    if (Date.now() > deadline) throw new Error(`no tls_handshake_failed logged within 10 s; log:\n${gw.logLines.slice(-10).join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An accepted message's records are readable once its ACK came; a refused one's are looked for for 3 s. */
async function observationsOf(gw: TestGateway, controlId: string, timeoutMs = 15_000) {
  return readAll(gw.brokers, gw.topics.observation, {
    expected: 3,
    timeoutMs,
    where: (record) => record.headers['source-message-id'] === controlId,
  });
}

async function metricValue(gw: TestGateway, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}
const handshakeFailureMetric = /vitalbridge_errors_total\{stage="receive",code="mllp_tls_handshake_failed"\} (\d+)/;

describe('MLLP over TLS', () => {
  it('a TLS sender that verifies the gateway certificate gets CA, and the message lands on Kafka', async () => {
    const result = await attempt(tlsGateway.gateway.mllp.port, 'TLS-ACCEPT-1', trustTestCa());
    expect(result).toEqual({ ack: 'CA' });
    expect(await observationsOf(tlsGateway, 'TLS-ACCEPT-1')).toHaveLength(3);
    const opened = entries(tlsGateway).find((entry) => entry.event === 'connection_opened');
    expect(opened?.tlsProtocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('a plain TCP sender on the TLS port gets no ACK; the gateway logs why, counts it, and keeps serving', async () => {
    const before = handshakeFailures(tlsGateway).length;
    const result = await attempt(tlsGateway.gateway.mllp.port, 'TLS-PLAIN-1', undefined);
    expect(result.ack).toBeUndefined();
    expect(result.failure).toMatch(/^connection_closed/);
    const failure = await nextHandshakeFailure(tlsGateway, before);
    expect(failure).toMatchObject({ level: 'warn', code: 'mllp_tls_handshake_failed', reason: expect.stringContaining('does not speak TLS') });
    expect(await metricValue(tlsGateway, handshakeFailureMetric)).toBeGreaterThanOrEqual(1);
    expect(await observationsOf(tlsGateway, 'TLS-PLAIN-1', 3_000)).toHaveLength(0);
    expect((await attempt(tlsGateway.gateway.mllp.port, 'TLS-ACCEPT-2', trustTestCa())).ack).toBe('CA');
  }, 60_000);

  it('a connection that never starts its handshake is closed after mllp.tls.handshakeTimeoutMs, logged and counted', async () => {
    const before = handshakeFailures(tlsGateway).length;
    const countBefore = await metricValue(tlsGateway, handshakeFailureMetric);
    const socket = connect({ host: '127.0.0.1', port: tlsGateway.gateway.mllp.port });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const failure = await nextHandshakeFailure(tlsGateway, before);
    expect(failure).toMatchObject({ code: 'mllp_tls_handshake_failed', reason: expect.stringContaining('handshakeTimeoutMs') });
    await closed; // bounded by the test timeout; the gateway closed it, we never did
    expect(await metricValue(tlsGateway, handshakeFailureMetric)).toBe(countBefore + 1);
  }, 30_000);

  it('a sender that does not trust the gateway certificate refuses to connect (client-side verification)', async () => {
    const result = await attempt(tlsGateway.gateway.mllp.port, 'TLS-UNTRUSTED-SERVER', { ca: [readFileSync(pki.otherCa.certFile)] });
    expect(result.ack).toBeUndefined();
    expect(result.failure).toMatch(/^connect_failed/);
  });
});

describe('MLLP over mutual TLS (requireClientCert)', () => {
  it('a sender with a certificate from the configured CA gets CA, the message lands on Kafka, and the log names the certificate', async () => {
    const result = await attempt(mutualGateway.gateway.mllp.port, 'MTLS-ACCEPT-1', withClientCert(pki.client));
    expect(result).toEqual({ ack: 'CA' });
    expect(await observationsOf(mutualGateway, 'MTLS-ACCEPT-1')).toHaveLength(3);
    expect(entries(mutualGateway).find((entry) => entry.event === 'connection_opened')).toMatchObject({ clientCertificate: 'test-monitor-01' });
  });

  it.each([
    ['no client certificate', () => trustTestCa(), 'MTLS-NOCERT-1', 'presented no client certificate'],
    ['a client certificate from another CA', () => withClientCert(pki.rogueClient), 'MTLS-ROGUE-1', 'not signed by the configured CA'],
  ])('a sender with %s is refused before anything is acknowledged, and the log says why', async (_case, tls, controlId, reason) => {
    const before = handshakeFailures(mutualGateway).length;
    const countBefore = await metricValue(mutualGateway, handshakeFailureMetric);
    const result = await attempt(mutualGateway.gateway.mllp.port, controlId, tls());
    expect(result.ack).toBeUndefined();
    expect(result.failure).toMatch(/^(connect_failed|connection_closed)/);
    const failure = await nextHandshakeFailure(mutualGateway, before);
    expect(failure).toMatchObject({ level: 'warn', code: 'mllp_tls_handshake_failed', reason: expect.stringContaining(reason) });
    expect(await metricValue(mutualGateway, handshakeFailureMetric)).toBe(countBefore + 1);
    expect(await observationsOf(mutualGateway, controlId, 3_000)).toHaveLength(0);
    const acks = await (await fetch(`http://127.0.0.1:${mutualGateway.gateway.http.port}/metrics`)).text();
    expect(acks).toMatch(/vitalbridge_acks_total\{code="CA"\} 1\n/); // only MTLS-ACCEPT-1's
  }, 60_000);

  it('vitalbridge send --ca --cert --key gets CA; without --cert it exits 1 with no ACK printed', async () => {
    const to = `127.0.0.1:${mutualGateway.gateway.mllp.port}`;
    const good = await run(['send', example, '--to', to, '--ca', pki.ca.certFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile]);
    expect(good.stdout).toContain('EXAMPLE-0001: CA');
    expect(good.code).toBe(0);
    const refused = await run(['send', example, '--to', to, '--tls', '--ca', pki.ca.certFile, '--timeout', '10000']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).not.toMatch(/: (CA|AA)/);
    expect(refused.stderr).toMatch(/connection|closed|certificate/i);
  }, 60_000);
});

describe('mllp.tls configuration is checked before anything opens', () => {
  it('lists every problem with its path: missing file, not a key, a key of another certificate, requireClientCert without caFile', async () => {
    const notAKey = join(pki.dir, 'not-a-key.pem');
    await copyFile(pki.ca.certFile, notAKey);
    const result = resolveConfig(
      {
        mllp: { tls: { certFile: pki.server.certFile, keyFile: pki.client.keyFile, requireClientCert: true } },
        kafka: { brokers: ['kafka1:9093'], ssl: { caFile: join(pki.dir, 'missing.pem'), certFile: pki.client.certFile, keyFile: notAKey } },
      },
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.problems.map((problem) => [problem.path, problem.message]));
    expect(byPath['mllp.tls.caFile']).toContain('requireClientCert needs caFile');
    expect(byPath['mllp.tls.keyFile']).toContain('does not belong to the certificate');
    expect(byPath['kafka.ssl.caFile']).toContain('does not exist');
    expect(byPath['kafka.ssl.keyFile']).toContain('not a PEM private key');
    expect(result.problems).toHaveLength(4);
  });

  it('accepts good files, and takes Kafka TLS and SASL from the environment', async () => {
    const yamlish = { mllp: { tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile, requireClientCert: true } } };
    const result = resolveConfig(yamlish, {
      KAFKA_BROKERS: 'kafka1:9093',
      KAFKA_SSL_CA_FILE: pki.ca.certFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'gw',
      KAFKA_SASL_PASSWORD: 'pw-from-env',
    });
    expect(result.ok && result.config.mllp.tls?.minVersion).toBe('TLSv1.2');
    expect(result.ok && result.config.kafka.ssl).toEqual({ caFile: pki.ca.certFile, rejectUnauthorized: true });
    expect(result.ok && result.config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'gw', password: 'pw-from-env' });
  });

  it('refuses Kafka TLS or SASL settings without kafka.brokers (the built-in local broker is PLAINTEXT)', () => {
    const result = resolveConfig({ kafka: { sasl: { mechanism: 'plain', username: 'gw', password: 'pw' } } }, {});
    expect(result.ok ? [] : result.problems.map((problem) => problem.path)).toEqual(['kafka.brokers']);
  });

  it('check-config redacts the Kafka SASL password', async () => {
    const file = join(pki.dir, 'gateway.yaml');
    await writeFile(file, 'kafka:\n  brokers: [kafka1:9093]\n  sasl: { mechanism: scram-sha-256, username: gw, password: file-secret-pw }\n');
    const result = await run(['check-config', '--config', file], { KAFKA_SASL_PASSWORD: 'env-secret-pw' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).kafka.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'gw', password: '(set, redacted)' });
    expect(result.stdout).not.toMatch(/file-secret-pw|env-secret-pw/);
  });
});

