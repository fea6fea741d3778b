import { formatProblems, loadConfig } from '../../config/load-config.ts';
import { stringOption, UsageError, type CommandSpec } from '../args.ts';

export const checkConfigCommand: CommandSpec = {
  name: 'check-config',
  summary: 'Validate a config file (with the environment applied) and print the effective config.',
  usage: 'vitalbridge check-config --config gateway.yaml',
  help: `Options:
  --config <file>   YAML or JSON config to validate.
  -h, --help        Show this help.

Exit status: 0 valid (the effective config is printed as JSON, tokens and
the Kafka SASL password redacted), 2 invalid (every problem listed).`,
  options: { config: { type: 'string', short: 'c' } },
  allowPositionals: false,
  async run(args) {
    const file = stringOption(args, 'config');
    if (file === undefined) throw new UsageError('--config <file> is required');
    const loaded = await loadConfig({ file, env: process.env });
    if (!loaded.ok) {
      process.stderr.write(`${formatProblems(loaded.problems)}\n`);
      return 2;
    }
    const devices = loaded.devices.map((device) => ({
      ...loaded.config.devices.find((configured) => configured.id === device.id),
      adapterConfig: device.adapterConfig,
      transport: device.transport,
      staleAfterSeconds: device.staleAfterMs / 1000,
    }));
    // Secrets are shown as set or not, never printed: this output ends up in tickets and chat.
    const http = {
      ...loaded.config.http,
      token: loaded.config.http.token === undefined ? undefined : '(set, redacted)',
      adminToken: loaded.config.http.adminToken === undefined ? undefined : '(set, redacted)',
    };
    const sasl = loaded.config.kafka.sasl;
    const kafka = { ...loaded.config.kafka, sasl: sasl === undefined ? undefined : { ...sasl, password: '(set, redacted)' } };
    process.stdout.write(
      `${JSON.stringify({ ...loaded.config, http, kafka, mllp: { ...loaded.config.mllp, adapterConfig: loaded.adapterConfig }, devices }, null, 2)}\n`,
    );
    return 0;
  },
};
