/**
 * A throw-away PKI for TLS tests, made at run time with the `openssl` CLI: a CA, a server
 * certificate for 127.0.0.1 (IP SAN), a client certificate from that CA, and a client certificate
 * from another CA the server does not trust. The server certificate may also act as a client
 * (a Kafka broker's own inter-broker and probe connections, under mutual TLS). Keys are EC P-256, certificates valid for two days.
 * Without openssl the test fails with a clear message (never skips).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: CertificateFiles;
  readonly server: CertificateFiles;
  /** Signed by `ca`, CN "test-monitor-01". */
  readonly client: CertificateFiles;
  /** A CA the server does not trust, and a client certificate it signed (CN "rogue-sender"). */
  readonly otherCa: CertificateFiles;
  readonly rogueClient: CertificateFiles;
}

export async function generateTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'vitalbridge-pki-'));
  const ca = await selfSignedCa(dir, 'ca', 'Vitalbridge Test CA');
  const otherCa = await selfSignedCa(dir, 'other-ca', 'Some Other CA');
  const server = await issue(dir, 'server', '127.0.0.1', ca, ['subjectAltName=IP:127.0.0.1', 'extendedKeyUsage=serverAuth,clientAuth']);
  const client = await issue(dir, 'client', 'test-monitor-01', ca, ['extendedKeyUsage=clientAuth']);
  const rogueClient = await issue(dir, 'rogue-client', 'rogue-sender', otherCa, ['extendedKeyUsage=clientAuth']);
  return { dir, ca, server, client, otherCa, rogueClient };
}

async function selfSignedCa(dir: string, name: string, commonName: string): Promise<CertificateFiles> {
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', files.keyFile, '-out', files.certFile, '-days', '2', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return files;
}

async function issue(dir: string, name: string, commonName: string, issuer: CertificateFiles, extensions: string[]): Promise<CertificateFiles> {
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', ...extensions].join('\n')}\n`);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.keyFile, '-out', csr, '-subj', `/CN=${commonName}`]);
  await openssl([
    'x509', '-req', '-in', csr, '-CA', issuer.certFile, '-CAkey', issuer.keyFile,
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-out', files.certFile, '-extfile', extFile,
  ]);
  return files;
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new Error(
          missing
            ? 'the TLS tests need the `openssl` command to make their certificates (apt-get install openssl)'
            : `openssl ${args.slice(0, 2).join(' ')} failed: ${stderr.trim() || error.message}`,
        ),
      );
    });
  });
}
