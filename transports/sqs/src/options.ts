import type { Deserializer, Serializer } from '@nestjs/microservices';
import { validateOptions, type CodecOption } from '@nest-transports/shared';
import { FIFO_ID } from './fifo-ids.js';
import type { SqsOption } from './sqs-api.js';

/** SQS's default message size limit (256 KiB); a queue can be raised to 1 MiB. */
export const SQS_DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;

interface CommonOptions {
  /**
   * An `SQSClient` to use as is (any copy or version of `@aws-sdk/client-sqs`: anything with its
   * `send(command, options)`), or the `SQSClientConfig` to create one (region, credentials, endpoint).
   */
  sqs?: SqsOption;
  /** Body encoding: "json" (default) or "msgpack" (carried base64), or a `Codec`. */
  codec?: CodecOption;
  /** Largest message (body + attributes) in bytes. Default 262144 (256 KiB); at most 1048576. */
  maxMessageBytes?: number;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

export interface SqsServerOptions extends CommonOptions {
  /** Queues to consume: URLs (kept exactly as AWS returns them) or names (resolved with GetQueueUrl). */
  queues: string[];
  /** Concurrent long-poll loops per queue. Default 1. */
  pollers?: number;
  /** Messages per ReceiveMessage, 1–10. Default 10. */
  batchSize?: number;
  /** Long-poll wait, 0–20 s. Default 20. */
  waitTimeSeconds?: number;
  /** Handlers in flight at most, over all queues; a poller receives only what it can start. Default 20. */
  maxConcurrency?: number;
  /** Visibility timeout (s) asked for on receive; default: the queue's own. */
  visibilityTimeout?: number;
  /** Keep a message invisible while its handler runs, by extending its visibility. Default true. */
  extendVisibility?: boolean;
  /** Longest a message is kept invisible by extensions, in seconds (SQS caps at 43200). Default 43200. */
  maxVisibilitySeconds?: number;
  /**
   * When a handler fails: seconds before the message is visible again (a number, or a function of
   * its receive count for backoff). Default: unset, the rest of its visibility timeout applies.
   */
  retryDelaySeconds?: number | ((receiveCount: number) => number);
  /** Handlers settle messages with `ctx.ack()` / `ctx.nack()` instead of by their outcome. Default false. */
  manualAck?: boolean;
  /** Pattern for messages whose body is not a Nest packet (other producers). Default: unset (malformed). */
  defaultPattern?: string;
  /** What to do with a body that cannot be decoded: "retain" (redelivered, then redriven to the DLQ) or "delete". Default "retain". */
  onMalformed?: 'retain' | 'delete';
  /** Window (ms) in which deletes and visibility changes are coalesced into batch calls. Default 10. */
  batchWindowMs?: number;
}

export interface SqsClientOptions extends CommonOptions {
  /** The queue requests and events go to: a URL or a name. */
  queue: string;
  /** A reply queue (URL or name) this client alone reads. Default: one is created at the first `send()` and removed on `close()`. */
  replyQueue?: string;
  /** Prefix of the created reply queue's name. Default "nest-reply". */
  replyQueuePrefix?: string;
  /** Per-request timeout in ms; 0 = none (use rxjs `timeout()`). Default 0. */
  requestTimeout?: number;
  /** Window (ms) in which sends are coalesced into SendMessageBatch calls; 0 = what is sent in the same tick. Default 0. */
  batchWindowMs?: number;
  /** Retries of the entries of a batch that failed for a retryable reason. Default 3. */
  sendRetries?: number;
  /**
   * FIFO queues: the group of a message without `SqsRecord.messageGroupId`, a string or `(pattern) => id`.
   * Default: the pattern when it is a valid group id, else a stable id derived from it (see README).
   */
  messageGroupId?: string | ((pattern: string) => string);
}

export type ResolvedServerOptions = Required<
  Omit<SqsServerOptions, 'sqs' | 'serializer' | 'deserializer' | 'visibilityTimeout' | 'retryDelaySeconds' | 'defaultPattern' | 'codec'>
> &
  SqsServerOptions;

export type ResolvedClientOptions = Required<Omit<SqsClientOptions, 'sqs' | 'serializer' | 'deserializer' | 'replyQueue' | 'messageGroupId' | 'codec'>> &
  SqsClientOptions;

const COMMON_KEYS = ['sqs', 'codec', 'maxMessageBytes', 'serializer', 'deserializer'];
const SERVER_KEYS = [
  ...COMMON_KEYS,
  'queues',
  'pollers',
  'batchSize',
  'waitTimeSeconds',
  'maxConcurrency',
  'visibilityTimeout',
  'extendVisibility',
  'maxVisibilitySeconds',
  'retryDelaySeconds',
  'manualAck',
  'defaultPattern',
  'onMalformed',
  'batchWindowMs',
];
const CLIENT_KEYS = [...COMMON_KEYS, 'queue', 'replyQueue', 'replyQueuePrefix', 'requestTimeout', 'batchWindowMs', 'sendRetries', 'messageGroupId'];

/** A queue URL, or a queue name: up to 80 characters (".fifo" included) of letters, digits, "-" and "_". */
const QUEUE = /^(?:https?:\/\/\S+|(?=.{1,80}$)[A-Za-z0-9_-]+(?:\.fifo)?)$/;

export function resolveServerOptions(options: SqsServerOptions): ResolvedServerOptions {
  const v = validateOptions('SqsServer', options ?? ({} as SqsServerOptions)).known(SERVER_KEYS);
  const queues = options?.queues;
  v.check(
    Array.isArray(queues) && queues.length > 0 && queues.every((q) => typeof q === 'string' && QUEUE.test(q)),
    'queues',
    `is ${JSON.stringify(queues)}`,
    'Pass a non-empty array of queue URLs (as AWS returns them) or queue names.',
  )
    .integer('pollers', { min: 1, max: 100 })
    .integer('batchSize', { min: 1, max: 10 })
    .integer('waitTimeSeconds', { min: 0, max: 20 })
    .integer('maxConcurrency', { min: 1, max: 10_000 })
    .integer('visibilityTimeout', { min: 0, max: 43_200 })
    .boolean('extendVisibility')
    .integer('maxVisibilitySeconds', { min: 1, max: 43_200 })
    .boolean('manualAck')
    .string('defaultPattern')
    .oneOf('onMalformed', ['retain', 'delete'] as const)
    .integer('batchWindowMs', { min: 0, max: 10_000 })
    .integer('maxMessageBytes', { min: 1024, max: SQS_MAX_MESSAGE_BYTES });
  const retry = options.retryDelaySeconds;
  v.check(
    retry === undefined || typeof retry === 'function' || (Number.isInteger(retry) && retry >= 0 && retry <= 43_200),
    'retryDelaySeconds',
    `is ${JSON.stringify(retry)}`,
    'Use a whole number of seconds from 0 to 43200, or a function (receiveCount) => seconds.',
  );
  return {
    pollers: 1,
    batchSize: 10,
    waitTimeSeconds: 20,
    maxConcurrency: 20,
    extendVisibility: true,
    maxVisibilitySeconds: 43_200,
    manualAck: false,
    onMalformed: 'retain',
    batchWindowMs: 10,
    maxMessageBytes: SQS_DEFAULT_MAX_MESSAGE_BYTES,
    ...stripUndefined(options),
  };
}

export function resolveClientOptions(options: SqsClientOptions): ResolvedClientOptions {
  const v = validateOptions('SqsClient', options ?? ({} as SqsClientOptions)).known(CLIENT_KEYS);
  v.check(
    typeof options?.queue === 'string' && QUEUE.test(options.queue),
    'queue',
    `is ${JSON.stringify(options?.queue)}`,
    'Pass the URL (as AWS returns it) or the name of the queue the server consumes.',
  )
    .check(
      options.replyQueue === undefined || (typeof options.replyQueue === 'string' && QUEUE.test(options.replyQueue)),
      'replyQueue',
      `is ${JSON.stringify(options.replyQueue)}`,
      'Pass a queue URL or name, or leave it unset to have a reply queue created per client.',
    )
    .string('replyQueuePrefix', { pattern: /^[A-Za-z0-9_-]{1,40}$/ })
    .integer('requestTimeout', { min: 0 })
    .integer('batchWindowMs', { min: 0, max: 10_000 })
    .integer('sendRetries', { min: 0, max: 20 })
    .integer('maxMessageBytes', { min: 1024, max: SQS_MAX_MESSAGE_BYTES });
  const group = options.messageGroupId;
  v.check(
    group === undefined || typeof group === 'function' || (typeof group === 'string' && FIFO_ID.test(group)),
    'messageGroupId',
    `is ${JSON.stringify(group)}`,
    'Use 1–128 ASCII letters, digits and punctuation marks (no spaces), or a function (pattern) => group id.',
  );
  return {
    replyQueuePrefix: 'nest-reply',
    requestTimeout: 0,
    batchWindowMs: 0,
    sendRetries: 3,
    maxMessageBytes: SQS_DEFAULT_MAX_MESSAGE_BYTES,
    ...stripUndefined(options),
  };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
