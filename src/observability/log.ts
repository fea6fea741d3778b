/**
 * Structured logging: one JSON object per line on stdout. Entries carry an event name and, for
 * failures, the catalogue error code, so a log pipeline can count them. Callers never pass message
 * contents or patient data: only ids, sizes, codes and addresses.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, string | number | boolean | undefined | null>>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function createLogger(options: {
  level: LogLevel;
  write?: (line: string) => void;
  clock?: () => Date;
}): Logger {
  const threshold = levelRank[options.level];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const clock = options.clock ?? (() => new Date());
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (levelRank[level] < threshold) return;
    write(`${JSON.stringify({ time: clock().toISOString(), level, event, ...fields })}\n`);
  };
  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
