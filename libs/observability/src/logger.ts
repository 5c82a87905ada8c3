import type { LoggerService } from '@nestjs/common';
import { currentTraceId } from './tracing';
import { currentRequestId } from './request-context';

const LEVELS = { debug: 10, verbose: 10, info: 20, log: 20, warn: 30, error: 40, fatal: 50 } as const;
type Level = keyof typeof LEVELS;

/**
 * Structured JSON logs, one object per line, carrying request_id and trace_id when there is one.
 * Implements Nest's LoggerService so framework logs come out the same way.
 */
export class JsonLogger implements LoggerService {
  private readonly threshold: number;

  constructor(
    private readonly service: string,
    level: string = process.env.LOG_LEVEL ?? 'info',
    private readonly out: (line: string) => void = (line) => process.stdout.write(line),
  ) {
    this.threshold = LEVELS[(level as Level) in LEVELS ? (level as Level) : 'info'];
  }

  private write(level: Level, message: unknown, rest: unknown[]): void {
    if (LEVELS[level] < this.threshold) return;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: level === 'log' ? 'info' : level === 'verbose' ? 'debug' : level,
      service: this.service,
    };
    // Nest passes (message, context) or (message, stack, context) for errors.
    const args = [...rest];
    const ctx = typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    if (ctx) entry.context = ctx;
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(entry, message);
    } else {
      entry.msg = String(message);
    }
    if (level === 'error' && typeof args[0] === 'string') entry.stack = args[0];
    const requestId = currentRequestId();
    if (requestId) entry.request_id = requestId;
    const traceId = currentTraceId();
    if (traceId) entry.trace_id = traceId;
    this.out(`${JSON.stringify(entry)}\n`);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
}
