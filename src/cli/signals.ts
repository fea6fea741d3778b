import type { Logger } from '../observability/log.ts';

/** Resolves on the first SIGINT or SIGTERM: long-running commands then shut down gracefully. A second signal kills at once. */
export function shutdownSignal(log?: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      log?.info('signal_received', { signal });
      resolve(signal);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}
