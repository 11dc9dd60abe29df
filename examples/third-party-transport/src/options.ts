import type { Deserializer, Serializer } from '@nestjs/microservices';

export interface MemoryServerOptions {
  /** The broker to use (MemoryBroker.start(name) starts it). Default "default". */
  broker?: string;
  /** The queue requests and events are read from. Default "nest". */
  queue?: string;
  /** Messages handled at the same time. Default 32. */
  prefetch?: number;
  /** How long close() waits for handlers in flight, in ms. Default 10000. */
  closeTimeout?: number;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

export interface MemoryClientOptions {
  /** The broker to use. Default "default". */
  broker?: string;
  /** The queue requests and events are sent to. Default "nest". */
  queue?: string;
  /** The largest encoded message, in bytes. Default 1 MiB. */
  maxMessageBytes?: number;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

export const SERVER_DEFAULTS = { broker: 'default', queue: 'nest', prefetch: 32, closeTimeout: 10_000 };
export const CLIENT_DEFAULTS = { broker: 'default', queue: 'nest', maxMessageBytes: 1024 * 1024 };

/** Throws a TypeError naming the option and the fix when `value` is not a positive integer. */
export function positiveInteger(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) <= 0) throw new TypeError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return value as number;
}

export function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || !value) throw new TypeError(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}
