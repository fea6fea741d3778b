/**
 * The `vitalbridge` command line: `vitalbridge <command> [options]`, `--help` on each.
 */
import { commandHelp, parseCommandArgs, UsageError, type CommandSpec } from './args.ts';
import { isGatewayError } from '../errors/catalogue.ts';
import { startCommand } from './commands/start.ts';
import { sendCommand } from './commands/send.ts';
import { tailCommand } from './commands/tail.ts';
import { kafkaLocalCommand } from './commands/kafka-local.ts';
import { checkConfigCommand } from './commands/check-config.ts';
import { simulateCommand } from './commands/simulate.ts';
import { replayCommand } from './commands/replay.ts';

const commands: readonly CommandSpec[] = [
  startCommand,
  sendCommand,
  tailCommand,
  simulateCommand,
  replayCommand,
  checkConfigCommand,
  kafkaLocalCommand,
  (await import('./commands/fhir-sink.ts')).fhirSinkCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `vitalbridge: medical device data gateway (HL7 v2 / device protocols -> FHIR R4 -> Kafka)

Usage: vitalbridge <command> [options]

Commands:
${lines.join('\n')}

Run "vitalbridge <command> --help" for a command's options.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`vitalbridge: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed === 'help') {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    return await command.run(parsed);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`vitalbridge ${command.name}: ${error.message}\n\n${commandHelp(command)}`);
      return 2;
    }
    // A catalogued failure leads with its code (docs/errors.md), e.g. kafka_auth_failed.
    const code = isGatewayError(error) ? `${error.code}: ` : '';
    process.stderr.write(`vitalbridge ${command.name}: ${code}${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
