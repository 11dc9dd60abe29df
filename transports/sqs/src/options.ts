import type { Deserializer, Serializer } from '@nestjs/microservices';
import {
  BROKERED_SERVER_OPTION_KEYS,
  type BrokeredServerOptions,
  type CodecOption,
  validateBrokeredServerOptions,
  validateOptions,
} from '@nest-transports/shared';
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

/** The server options shared with every brokered transport (`maxConcurrency`, `closeTimeout`, `manualAck`, …) plus SQS's own. */
export interface SqsServerOptions extends CommonOptions, BrokeredServerOptions {
  /** Queues to consume: URLs (kept exactly as AWS returns them) or names (resolved with GetQueueUrl). */
  queues: string[];
  /** Concurrent long-poll loops per queue. Default 1. */
  pollers?: number;
  /** Messages per ReceiveMessage, 1–10. Default 10. */
  batchSize?: number;
  /** Long-poll wait, 0–20 s. Default 20. */
  waitTimeSeconds?: number;
  /** Visibility timeout (s) asked for on receive; default: the queue's own. */
  visibilityTimeout?: number;
  /** Keep a received message invisible until it is settled, by extending its visibility. Default true. */
  extendVisibility?: boolean;
  /** Longest a message is kept invisible by extensions, in seconds (SQS caps at 43200). Default 43200. */
  maxVisibilitySeconds?: number;
  /** Window (ms) in which deletes and visibility changes are coalesced into batch calls. Default 10. */
  batchWindowMs?: number;
  /**
   * System attributes to receive beyond those the server reads (`ApproximateReceiveCount`, and
   * `MessageGroupId` on FIFO queues), for `SqsContext#getMessage()`: e.g. `['SentTimestamp']`, or
   * `['All']`. Default none: each one costs parsing on every message.
   */
  systemAttributes?: SqsSystemAttributeName[];
}

/** The system attributes `ReceiveMessage` can return (`MessageSystemAttributeNames`). */
export const SQS_SYSTEM_ATTRIBUTES = [
  'All',
  'AWSTraceHeader',
  'ApproximateFirstReceiveTimestamp',
  'ApproximateReceiveCount',
  'DeadLetterQueueSourceArn',
  'MessageDeduplicationId',
  'MessageGroupId',
  'SenderId',
  'SentTimestamp',
  'SequenceNumber',
] as const;

export type SqsSystemAttributeName = (typeof SQS_SYSTEM_ATTRIBUTES)[number];

export interface SqsClientOptions extends CommonOptions {
  /** The queue requests and events go to: a URL or a name. */
  queue: string;
  /** A reply queue (URL or name) this client alone reads. Default: one is created at the first `send()` and removed on `close()`. */
  replyQueue?: string;
  /** Prefix of the created reply queue's name. Default "nest-reply". */
  replyQueuePrefix?: string;
  /**
   * Per-request timeout in ms (`RequestTimeoutError`); 0 = none. Default 60000: a request whose reply
   * can never come (its server crashed after the handler ran, the reply was refused) must not wait forever.
   */
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

/** The server's defaults, in one place (the options table of the README shows the same). */
export const SQS_SERVER_DEFAULTS = {
  pollers: 1,
  batchSize: 10,
  waitTimeSeconds: 20,
  maxConcurrency: 20,
  closeTimeout: 30_000,
  extendVisibility: true,
  maxVisibilitySeconds: 43_200,
  manualAck: false,
  onMalformed: 'retain',
  batchWindowMs: 10,
  maxMessageBytes: SQS_DEFAULT_MAX_MESSAGE_BYTES,
} as const satisfies Partial<SqsServerOptions>;

export const SQS_CLIENT_DEFAULTS = {
  replyQueuePrefix: 'nest-reply',
  requestTimeout: 60_000,
  batchWindowMs: 0,
  sendRetries: 3,
  maxMessageBytes: SQS_DEFAULT_MAX_MESSAGE_BYTES,
} as const satisfies Partial<SqsClientOptions>;

export type ResolvedServerOptions = SqsServerOptions & { -readonly [K in keyof typeof SQS_SERVER_DEFAULTS]: NonNullable<SqsServerOptions[K]> };

export type ResolvedClientOptions = SqsClientOptions & { -readonly [K in keyof typeof SQS_CLIENT_DEFAULTS]: NonNullable<SqsClientOptions[K]> };

const COMMON_KEYS = ['sqs', 'codec', 'maxMessageBytes', 'serializer', 'deserializer'];
const SERVER_KEYS = [
  ...COMMON_KEYS,
  ...BROKERED_SERVER_OPTION_KEYS,
  'queues',
  'pollers',
  'batchSize',
  'waitTimeSeconds',
  'visibilityTimeout',
  'extendVisibility',
  'maxVisibilitySeconds',
  'batchWindowMs',
  'systemAttributes',
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
    .integer('visibilityTimeout', { min: 0, max: 43_200 })
    .boolean('extendVisibility')
    .integer('maxVisibilitySeconds', { min: 1, max: 43_200 })
    .integer('batchWindowMs', { min: 0, max: 10_000 })
    .integer('maxMessageBytes', { min: 1024, max: SQS_MAX_MESSAGE_BYTES });
  const system = options.systemAttributes;
  v.check(
    system === undefined || (Array.isArray(system) && system.every((name) => (SQS_SYSTEM_ATTRIBUTES as readonly unknown[]).includes(name))),
    'systemAttributes',
    `is ${JSON.stringify(system)}`,
    `Pass an array of system attribute names: ${SQS_SYSTEM_ATTRIBUTES.join(', ')}.`,
  );
  validateBrokeredServerOptions('SqsServer', options);
  return { ...SQS_SERVER_DEFAULTS, ...stripUndefined(options) };
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
    // Replies carry no message group, so a FIFO queue refuses them; and the server would take its own replies.
    .check(
      typeof options.replyQueue !== 'string' || !options.replyQueue.endsWith('.fifo'),
      'replyQueue',
      `is ${JSON.stringify(options.replyQueue)}, a FIFO queue, which refuses replies (they carry no message group)`,
      'Use a standard queue that this client alone reads, or leave it unset to have one created per client.',
    )
    .check(
      typeof options.replyQueue !== 'string' || options.replyQueue !== options.queue,
      'replyQueue',
      'is the queue requests go to: the server would receive its own replies',
      'Use a standard queue that this client alone reads, or leave it unset to have one created per client.',
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
  return { ...SQS_CLIENT_DEFAULTS, ...stripUndefined(options) };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
