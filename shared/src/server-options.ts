import type { Deserializer, Serializer } from '@nestjs/microservices';
import { type Codec, type CodecOption, resolveCodec } from './codec.js';
import { validateOptions } from './validate.js';

/** Seconds before a failed message is handed out again: a number, or a function of its delivery attempt (1, 2…). */
export type RetryDelayOption = number | ((attempt: number) => number);

/**
 * Options every brokered server (`SqsServer`, `PubSubServer`, …) takes, under the same names.
 * The defaults are each transport's, documented with it.
 */
export interface BrokeredServerOptions {
  /** Messages handled at once, over everything the server consumes (the one concurrency limit). */
  maxConcurrency?: number;
  /** How long `close()` waits for the handlers in flight (and their replies and acks), in ms. */
  closeTimeout?: number;
  /** Handlers settle their message with `ctx.ack()` / `ctx.nack()` instead of by their outcome. */
  manualAck?: boolean;
  /** Pattern of messages that are not Nest packets (other producers). */
  defaultPattern?: string;
  /**
   * A message that claims to be a Nest packet but does not decode: `"retain"` (left for
   * redelivery, so the backend's dead-letter path takes it) or `"discard"` (logged and acknowledged).
   */
  onMalformed?: 'retain' | 'discard';
  /** When a handler fails: seconds until the message is handed out again (or a function of the attempt, for backoff). */
  retryDelaySeconds?: RetryDelayOption;
  /** Byte layer under the serializer: "json" (default), "msgpack" or your own `Codec`. */
  codec?: CodecOption;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

export const BROKERED_SERVER_OPTION_KEYS = [
  'maxConcurrency',
  'closeTimeout',
  'manualAck',
  'defaultPattern',
  'onMalformed',
  'retryDelaySeconds',
  'codec',
  'serializer',
  'deserializer',
] as const;

/** Longest delay a broker accepts for a retry (SQS's visibility limit, 12 h). */
export const MAX_RETRY_DELAY_SECONDS = 43_200;

/** Checks the shared options (an `InvalidOptionError` names the option and the fix). */
export function validateBrokeredServerOptions(transport: string, options: BrokeredServerOptions): void {
  const v = validateOptions(transport, options)
    .integer('maxConcurrency', { min: 1, max: 10_000 })
    .integer('closeTimeout', { min: 0 })
    .boolean('manualAck')
    .string('defaultPattern')
    .oneOf('onMalformed', ['retain', 'discard'] as const);
  const retry = options.retryDelaySeconds;
  v.check(
    retry === undefined || typeof retry === 'function' || (Number.isInteger(retry) && retry >= 0 && retry <= MAX_RETRY_DELAY_SECONDS),
    'retryDelaySeconds',
    `is ${JSON.stringify(retry)}`,
    `Use a whole number of seconds from 0 to ${MAX_RETRY_DELAY_SECONDS}, or a function (attempt) => seconds.`,
  );
}

/** The delay the option gives for a delivery attempt, in whole seconds within the broker's range; undefined when unset. */
export function retryDelayFor(option: RetryDelayOption | undefined, attempt: number): number | undefined {
  if (option === undefined) return undefined;
  const seconds = typeof option === 'function' ? option(attempt) : option;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.max(0, Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(seconds)));
}

/** A transport's defaults for the shared server options. */
export interface BrokeredServerDefaults {
  maxConcurrency: number;
  closeTimeout: number;
  manualAck: boolean;
  onMalformed: 'retain' | 'discard';
  retryDelaySeconds?: RetryDelayOption;
}

/** The shared server options as given, with the transport's defaults filled in and the codec resolved. */
export function withServerDefaults<O extends BrokeredServerOptions>(transport: string, options: O, defaults: BrokeredServerDefaults) {
  return {
    ...options,
    transport,
    codec: resolveCodec(transport, options.codec) as Codec,
    maxConcurrency: options.maxConcurrency ?? defaults.maxConcurrency,
    closeTimeout: options.closeTimeout ?? defaults.closeTimeout,
    manualAck: options.manualAck ?? defaults.manualAck,
    onMalformed: options.onMalformed ?? defaults.onMalformed,
    retryDelaySeconds: options.retryDelaySeconds ?? defaults.retryDelaySeconds,
  };
}
