import { redact } from './redact.ts';

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LogLevel;

export interface LogRecord {
  readonly ts: string;
  readonly level: LogLevel;
  readonly sub: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export type LogSink = (record: LogRecord) => void;

export interface Logger {
  /** Records below this level are dropped (so a caller can skip building them). */
  readonly level: LogLevel;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger for a subsystem: records carry `sub` so they can be filtered. */
  child(subsystem: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  sink?: LogSink;
  subsystem?: string;
  clock?: () => Date;
}

/** One JSON object per line on stdout: easy for journald, MQTT forwarding and `jq`. */
export const stdoutSink: LogSink = (record) => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LogLevel[options.level ?? 'info'];
  const sink = options.sink ?? stdoutSink;
  const clock = options.clock ?? (() => new Date());
  const sub = options.subsystem ?? 'postern';

  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LogLevel[level] < threshold) return;
    const extra = fields === undefined ? {} : (redact(fields) as Record<string, unknown>);
    sink({ ...extra, ts: clock().toISOString(), level, sub, msg });
  };

  return {
    level: options.level ?? 'info',
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (subsystem) => createLogger({ ...options, subsystem }),
  };
}

/** Collects records in memory: for tests that assert what was (and was not) logged. */
export function memorySink(): { sink: LogSink; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { sink: (r) => records.push(r), records };
}
