import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import { readMessageHeader } from '../../hl7/header.ts';
import { readAcknowledgement, splitHl7Messages } from '../../hl7/read-ack.ts';
import { MllpClient } from '../../transports/mllp/client.ts';
import { hostPortOption, integerOption, stringOption, UsageError, type CommandSpec, type ParsedArgs } from '../args.ts';

const positiveCodes = new Set(['AA', 'CA']);

export const sendCommand: CommandSpec = {
  name: 'send',
  summary: 'Send HL7 v2 messages from files over MLLP and print each acknowledgement.',
  usage: 'vitalbridge send <file.hl7...> --to host:port [--timeout ms] [--tls [--ca file] [--cert file --key file]]',
  help: `Options:
  --to <host:port>   The MLLP receiver, e.g. 127.0.0.1:2575 (required).
  --timeout <ms>     How long to wait for each ACK (default 30000).
  --tls              MLLP over TLS; the receiver's certificate must verify against the system CAs
                     or --ca, and name the --to host (DNS name or IP address).
  --ca <file>        PEM CA certificate(s) to verify the receiver with (implies --tls).
  --cert <file>      PEM client certificate, for a receiver that requires mutual TLS (implies --tls; with --key).
  --key <file>       PEM private key of --cert (unencrypted).
  -h, --help         Show this help.

A file may hold several messages, each starting with MSH; segments may end with CR, LF
or CRLF (they are sent with CR, as HL7 requires). Messages are sent one at a time on one
connection, in order. Exit status: 0 when every message got AA/CA, 1 otherwise.

Examples:
  vitalbridge send examples/philips-monitor.hl7 --to 127.0.0.1:2575
  vitalbridge send examples/philips-monitor.hl7 --to gateway.icu:2575 --ca ca.pem --cert monitor.pem --key monitor.key`,
  options: {
    to: { type: 'string' },
    timeout: { type: 'string' },
    tls: { type: 'boolean' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
  allowPositionals: true,
  async run(args) {
    const to = stringOption(args, 'to');
    if (to === undefined) throw new UsageError('--to host:port is required');
    if (args.positionals.length === 0) throw new UsageError('name at least one file to send');
    const target = hostPortOption(to, '--to');
    const timeoutMs = integerOption(args, 'timeout', 30_000);

    const tls = await tlsOptions(args);

    const client = new MllpClient();
    await client.connect(target.host, target.port, { timeoutMs, ...(tls !== undefined ? { tls } : {}) });
    let failures = 0;
    try {
      for (const file of args.positionals) {
        const messages = splitHl7Messages(await readFile(file, 'utf8'));
        for (const message of messages) {
          const controlId = readMessageHeader(message)?.controlId ?? '(no MSH-10)';
          const started = performance.now();
          const reply = await client.send(message, { timeoutMs });
          const elapsed = (performance.now() - started).toFixed(1);
          const ack = readAcknowledgement(reply);
          if (ack === undefined) {
            failures += 1;
            process.stdout.write(`${file} ${controlId}: reply is not an HL7 ACK (${reply.length} bytes)\n`);
            continue;
          }
          if (!positiveCodes.has(ack.code)) failures += 1;
          process.stdout.write(`${file} ${controlId}: ${ack.code} (ACK ${ack.controlId}, ${elapsed} ms)\n`);
          for (const error of ack.errors) {
            process.stdout.write(`  ERR ${error.hl7Code} ${error.applicationCode} at ${error.location || '-'}: ${error.text}\n`);
          }
        }
      }
    } finally {
      await client.close();
    }
    return failures === 0 ? 0 : 1;
  },
};

/** --tls, --ca, --cert, --key as node:tls options; undefined for plain TCP. */
async function tlsOptions(args: ParsedArgs): Promise<ConnectionOptions | undefined> {
  const [ca, cert, key] = [stringOption(args, 'ca'), stringOption(args, 'cert'), stringOption(args, 'key')];
  if (args.values.tls !== true && ca === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
  const read = async (file: string, flag: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new UsageError(`${flag} ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return {
    ...(ca !== undefined ? { ca: [await read(ca, '--ca')] } : {}),
    ...(cert !== undefined ? { cert: await read(cert, '--cert') } : {}),
    ...(key !== undefined ? { key: await read(key, '--key') } : {}),
  };
}
