/** One HL7 message on a fresh MLLP connection, as a sending system would: the ACK code it got back. */
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';

/** Connects to 127.0.0.1:port, sends `message`, closes; resolves with MSA-1 (CA, CE, ...) or undefined if the reply is no ACK. */
export async function sendForAck(port: number, message: string, timeoutMs = 30_000): Promise<string | undefined> {
  const client = new MllpClient();
  try {
    await client.connect('127.0.0.1', port, { timeoutMs: 10_000 });
    return readAcknowledgement(await client.send(message, { timeoutMs }))?.code;
  } finally {
    await client.close();
  }
}
