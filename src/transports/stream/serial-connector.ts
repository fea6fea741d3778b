/**
 * Serial port connector (serialport 13, prebuilt N-API binding). Opens the configured path with the
 * configured line settings; never calls SerialPort.list() (it needs udevadm and crashes without it).
 */
import { SerialPort } from 'serialport';
import type { SerialSettings } from '../../adapter-kit/define-adapter.ts';
import type { Connector, Link } from './byte-stream-transport.ts';

export interface SerialTransportSettings extends SerialSettings {
  readonly kind: 'serial';
  readonly path: string;
}

export function serialConnector(settings: SerialTransportSettings): Connector {
  const description = `serial:${settings.path}`;
  return {
    kind: 'serial',
    description,
    passive: false,
    async connect() {
      const port = new SerialPort({
        path: settings.path,
        baudRate: settings.baudRate,
        dataBits: settings.dataBits,
        parity: settings.parity,
        stopBits: settings.stopBits,
        rtscts: settings.rtscts,
        autoOpen: false,
      });
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
      let finish: (reason: string) => void = () => {};
      const ended = new Promise<string>((resolve) => {
        finish = resolve;
      });
      let reason: string | undefined;
      port.on('error', (error: Error) => {
        reason ??= error.message;
        if (port.isOpen) port.close(() => undefined);
        else finish(reason);
      });
      port.on('close', (error?: Error & { disconnected?: boolean }) => {
        reason ??= error?.message ?? 'port closed';
        finish(reason);
      });
      const link: Link = {
        peer: settings.path,
        write: (bytes) => {
          port.write(bytes, (error) => {
            if (error) reason ??= `write failed: ${error.message}`;
          });
        },
        destroy: () => {
          if (port.isOpen) port.close(() => finish(reason ?? 'closed by the gateway'));
          else finish(reason ?? 'closed by the gateway');
        },
        onData: (listener) => port.on('data', listener),
        ended,
      };
      return link;
    },
    async shutdown() {},
  };
}
