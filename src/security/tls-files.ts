/**
 * PEM files named in the config (MLLP listener, Kafka client): checked when the config is loaded,
 * so a missing file, a key that is not a key or a certificate that does not match its key is
 * reported with its config path before anything opens — every problem at once, like the rest of the config.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { GatewayConfig } from '../../schemas/config.ts';
import type { MllpTlsOptions } from '../transports/mllp/server.ts';

export interface TlsFileProblem {
  readonly path: string;
  readonly message: string;
}

export type PemKind = 'certificate' | 'private key';

export interface PemFileRef {
  /** Dotted config path, e.g. mllp.tls.certFile. */
  readonly path: string;
  readonly file: string | undefined;
  readonly kind: PemKind;
}

/** Reads a PEM file named by the config; errors name the file only, never its content. */
export function readPemFile(file: string): Buffer {
  return readFileSync(file);
}

/**
 * Checks each file: readable, PEM of the expected kind. When a certificate and its key are both
 * good, also checks that they belong together. Returns every problem found.
 */
export function checkTlsFiles(files: readonly PemFileRef[], pairs: readonly (readonly [certPath: string, keyPath: string])[] = []): TlsFileProblem[] {
  const problems: TlsFileProblem[] = [];
  const good = new Map<string, Buffer>();
  for (const ref of files) {
    if (ref.file === undefined) continue;
    let content: Buffer;
    try {
      content = readFileSync(ref.file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'error'})`;
      problems.push({ path: ref.path, message: `${ref.file} ${why}` });
      continue;
    }
    const problem = pemProblem(content, ref.kind);
    if (problem !== undefined) {
      problems.push({ path: ref.path, message: `${ref.file}: ${problem}` });
      continue;
    }
    good.set(ref.path, content);
  }
  for (const [certPath, keyPath] of pairs) {
    const cert = good.get(certPath);
    const key = good.get(keyPath);
    if (cert === undefined || key === undefined) continue;
    try {
      createSecureContext({ cert, key });
    } catch {
      problems.push({ path: keyPath, message: `the private key does not belong to the certificate in ${certPath}` });
    }
  }
  return problems;
}

function pemProblem(content: Buffer, kind: PemKind): string | undefined {
  const text = content.toString('utf8');
  if (kind === 'certificate') {
    if (!text.includes('-----BEGIN CERTIFICATE-----')) return 'not a PEM certificate (expected -----BEGIN CERTIFICATE-----)';
    try {
      const first = new X509Certificate(content);
      if (Date.parse(first.validTo) < Date.now()) return `the certificate expired on ${first.validTo}`;
    } catch {
      return 'the PEM certificate cannot be parsed';
    }
    return undefined;
  }
  if (!/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text)) return 'not a PEM private key (expected -----BEGIN PRIVATE KEY-----)';
  if (text.includes('ENCRYPTED PRIVATE KEY')) return 'the private key is encrypted; give an unencrypted key (protect it with file permissions)';
  try {
    createPrivateKey(content);
  } catch {
    return 'the PEM private key cannot be parsed';
  }
  return undefined;
}

/** The listener's TLS settings with the PEM files read (they were checked when the config was loaded). */
export function mllpTlsOptions(config: NonNullable<GatewayConfig['mllp']['tls']>): MllpTlsOptions {
  return {
    cert: readPemFile(config.certFile),
    key: readPemFile(config.keyFile),
    ...(config.caFile !== undefined ? { ca: readPemFile(config.caFile) } : {}),
    requireClientCert: config.requireClientCert,
    minVersion: config.minVersion,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
  };
}
