import { Logger, type LoggerService } from '@nestjs/common';
import { isError } from './util.js';

const MAX_ENTRIES = 50;
const MAX_CHARS = 300;

/** Keeps Nest's errors and warnings of a scenario (printing nothing), to say in a failure what Nest reported. */
class CapturingLogger implements LoggerService {
  entries: string[] = [];

  private keep(level: string, message: unknown, params: unknown[]): void {
    const context = typeof params.at(-1) === 'string' ? `[${params.at(-1)}] ` : '';
    const text = `${level} ${context}${isError(message) ? message.message : String(message)}`;
    this.entries.push(text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text);
    if (this.entries.length > MAX_ENTRIES) this.entries.shift();
  }

  log(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown, ...params: unknown[]): void {
    this.keep('ERROR', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.keep('WARN', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.keep('FATAL', message, params);
  }
}

/** The logger the suite's apps use (`logger` of createMicroservice / createApplicationContext). */
export const nestLogger = new CapturingLogger();

/** Captures what Nest logs while a scenario runs; restores Nest's previous logger afterwards. */
export class NestLogCapture {
  private previous: unknown;

  start(): void {
    this.previous = (Logger as unknown as { staticInstanceRef?: unknown }).staticInstanceRef;
    nestLogger.entries = [];
    Logger.overrideLogger(nestLogger);
  }

  stop(): void {
    (Logger as unknown as { staticInstanceRef?: unknown }).staticInstanceRef = this.previous;
  }

  errors(): string[] {
    return nestLogger.entries.filter((e) => !e.startsWith('WARN'));
  }

  lastError(): string | undefined {
    return this.errors().at(-1);
  }
}
