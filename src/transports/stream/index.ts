/** Byte-stream transports for serial device protocols: the one interface and the factory config picks from. */
import type { BackoffSettings } from './backoff.ts';
import { ReconnectingTransport, type ByteStreamTransport } from './byte-stream-transport.ts';
import { serialConnector, type SerialTransportSettings } from './serial-connector.ts';
import { tcpClientConnector, tcpServerConnector, type TcpClientTransportSettings, type TcpServerTransportSettings } from './tcp-connectors.ts';

export type { ByteStreamTransport, ByteStreamTransportEvents, Connector, Link } from './byte-stream-transport.ts';
export { finishWithin, ReconnectingTransport, sleep } from './byte-stream-transport.ts';
export { backoffDelay, defaultBackoff, type BackoffSettings } from './backoff.ts';
export type { SerialTransportSettings } from './serial-connector.ts';
export type { TcpClientTransportSettings, TcpServerTransportSettings } from './tcp-connectors.ts';
export { serialConnector } from './serial-connector.ts';
export { tcpClientConnector, tcpServerConnector } from './tcp-connectors.ts';

export type TransportSettings = SerialTransportSettings | TcpClientTransportSettings | TcpServerTransportSettings;

export function createByteStreamTransport(settings: TransportSettings, options: { backoff?: BackoffSettings; random?: () => number } = {}): ByteStreamTransport {
  const connector =
    settings.kind === 'serial'
      ? serialConnector(settings)
      : settings.kind === 'tcp-client'
        ? tcpClientConnector(settings)
        : tcpServerConnector(settings);
  return new ReconnectingTransport(connector, options);
}
