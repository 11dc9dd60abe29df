import type { Deserializer, Serializer } from '@nestjs/microservices';
import {
  BROKERED_SERVER_OPTION_KEYS,
  type BrokeredServerOptions,
  type CodecOption,
  type OptionValidator,
  validateBrokeredServerOptions,
  validateOptions,
} from '@nest-transports/shared';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/** Where the transport gets its Redis connections, and what both ends share. */
export interface RedisStreamsCommonOptions {
  /** Redis URL. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Passed to `new Redis(url, redisOptions)` of ioredis: password, `tls`, `db`, `retryStrategy`… */
  redisOptions?: RedisOptions;
  /**
   * An existing ioredis client (a `Redis`, or a `Cluster`): the transport opens its own connections
   * with `duplicate()` (blocking reads need a connection of their own) and never closes yours.
   */
  connection?: Redis | Cluster;
  /** Bound on connecting and on the start-up checks, in ms. Default 5000. */
  connectTimeout?: number;
  /** Reply streams are `${replyPrefix}<uuid>`; a server answers only to keys under it. Must match on both ends. Default `nest:reply:`. */
  replyPrefix?: string;
  /** Largest entry (body and fields) a client sends and a server replies with, in bytes. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Byte layer under the serializer: "json" (default), "msgpack" or your own codec. */
  codec?: CodecOption;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

/** The server options shared with every brokered transport (`maxConcurrency`, `closeTimeout`, `manualAck`, …) plus Redis Streams' own. */
export interface RedisStreamsServerOptions extends RedisStreamsCommonOptions, BrokeredServerOptions {
  /** The stream holding the events and requests this server handles (clients `emit`/`send` to it). Required. */
  stream: string;
  /**
   * The consumer group. Replicas of one service share one group (competing consumers: each entry
   * handled once); each service has its own group (fan-out). Default `nest`.
   */
  group?: string;
  /** This server's consumer name in the group. Default `<hostname>-<pid>-<random>`, unique per process. */
  consumer?: string;
  /**
   * Create the stream and the group when missing (at `listen()` and when they disappear later).
   * Default `true`; `false`: a missing stream or group fails `listen()` with the command that creates it.
   */
  createGroups?: boolean;
  /** Where a group the server creates starts: `"0"` (default: every entry the stream still holds) or `"$"` (only new ones). */
  startId?: string;
  /**
   * An entry delivered and not acknowledged for this long (ms) is taken over (`XAUTOCLAIM`) by a
   * consumer of the group: its consumer crashed or hangs. Held entries are renewed every third of
   * it. Also the longest retry delay. Default 30000.
   */
  claimIdle?: number;
  /** How often a server looks for entries to take over (`XAUTOCLAIM`), in ms. Default 1000. */
  claimInterval?: number;
  /** Deliveries before a failing entry goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** Stream dead entries are added to (original fields plus `nest-dead-letter-*`); `false`: none (retried for ever). Default `${stream}:dead-letter`. */
  deadLetterStream?: string | false;
  /** `MAXLEN ~` of the dead-letter stream. Default: untrimmed. */
  deadLetterMaxLen?: number;
  /** `"pattern"`: entries of one pattern are handled one after another, in stream order. Default `"none"` (concurrently). */
  ordering?: 'none' | 'pattern';
  /** Entries asked for per `XREADGROUP`. Default `maxConcurrency` (at most 256). */
  batchSize?: number;
  /** `MAXLEN ~` of the reply streams the server adds to (a client that stops reading cannot grow one further). Default 10000. */
  replyMaxLen?: number;
}

export interface RedisStreamsClientOptions extends RedisStreamsCommonOptions {
  /** The stream `emit()` and `send()` add entries to: a name, or a function of the pattern's route. Required. */
  stream: string | ((route: string) => string);
  /** Per-request timeout in ms; 0 (default) means none, as with Nest's built-ins (use rxjs `timeout()`). */
  requestTimeout?: number;
  /** Trim the stream on each `XADD` to about this many entries (`MAXLEN ~`). Default: untrimmed. */
  maxLen?: number;
  /** Trim the stream on each `XADD` to entries younger than this many ms (`MINID ~`). Default: untrimmed. */
  minIdAge?: number;
  /** The reply stream expires this long (ms) after the client stops renewing it (it died). Default 60000. */
  replyTtl?: number;
}

const MiB = 1024 * 1024;

/** The defaults, in one place (the README's options tables show the same). */
export const REDIS_STREAMS_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  connectTimeout: 5000,
  replyPrefix: 'nest:reply:',
  maxMessageBytes: MiB,
  group: 'nest',
  createGroups: true,
  startId: '0',
  claimIdle: 30_000,
  claimInterval: 1000,
  maxDeliveries: 5,
  deadLetterSuffix: ':dead-letter',
  ordering: 'none',
  maxConcurrency: 100,
  maxBatchSize: 256,
  replyMaxLen: 10_000,
  closeTimeout: 10_000,
  manualAck: false,
  onMalformed: 'retain',
  /** Growing delay before a failed entry is handed out again: 1, 2, 4… s, at most `claimIdle`. */
  retryDelaySeconds: (attempt: number) => Math.min(2 ** Math.max(0, attempt - 1), 60),
  requestTimeout: 0,
  replyTtl: 60_000,
} as const;

const COMMON_KEYS = ['url', 'redisOptions', 'connection', 'connectTimeout', 'replyPrefix', 'maxMessageBytes', 'codec', 'serializer', 'deserializer'] as const;
const SERVER_KEYS = [
  ...COMMON_KEYS,
  ...BROKERED_SERVER_OPTION_KEYS,
  'stream',
  'group',
  'consumer',
  'createGroups',
  'startId',
  'claimIdle',
  'claimInterval',
  'maxDeliveries',
  'deadLetterStream',
  'deadLetterMaxLen',
  'ordering',
  'batchSize',
  'replyMaxLen',
] as const;
const CLIENT_KEYS = [...COMMON_KEYS, 'stream', 'requestTimeout', 'maxLen', 'minIdAge', 'replyTtl'] as const;

/** Key, group and consumer names: printable, no whitespace. */
const NAME = /^[^\s]{1,512}$/;
/** A stream id Redis accepts as a group's start: `$`, `0`, or `<ms>-<seq>`. */
const START_ID = /^(\$|\d+(-\d+)?)$/;

function validateCommon(transport: string, options: RedisStreamsCommonOptions): OptionValidator<RedisStreamsCommonOptions> {
  const v = validateOptions(transport, options)
    .url('url', ['redis', 'rediss'])
    .integer('connectTimeout', { min: 1 })
    .string('replyPrefix', { pattern: NAME })
    .integer('maxMessageBytes', { min: 1, max: 512 * MiB });
  v.check(
    options.connection === undefined || typeof (options.connection as Redis).duplicate === 'function',
    'connection',
    'is not an ioredis client',
    'Pass an ioredis Redis or Cluster instance, or use url/redisOptions instead.',
  );
  v.check(
    options.redisOptions === undefined || (typeof options.redisOptions === 'object' && options.redisOptions !== null),
    'redisOptions',
    `is ${JSON.stringify(options.redisOptions)}`,
    'Pass an object of ioredis options, e.g. { password: "…", db: 0 }.',
  );
  return v;
}

export function validateServerOptions(options: RedisStreamsServerOptions): void {
  const transport = 'RedisStreamsServer';
  const v = validateCommon(transport, options).known(SERVER_KEYS);
  validateBrokeredServerOptions(transport, options);
  v.check(
    typeof options.stream === 'string' && NAME.test(options.stream),
    'stream',
    options.stream === undefined ? 'is missing' : `is ${JSON.stringify(options.stream)}`,
    'Name the stream this service reads, e.g. { stream: "orders" } (clients send to the same stream).',
  );
  const s = validateOptions(transport, options)
    .string('group', { pattern: NAME })
    .string('consumer', { pattern: NAME })
    .boolean('createGroups')
    .string('startId', { pattern: START_ID })
    .integer('claimIdle', { min: 100, max: 24 * 3600_000 })
    .integer('claimInterval', { min: 10, max: 3600_000 })
    .integer('maxDeliveries', { min: 1, max: 1_000_000 })
    .integer('deadLetterMaxLen', { min: 1 })
    .oneOf('ordering', ['none', 'pattern'] as const)
    .integer('batchSize', { min: 1, max: 10_000 })
    .integer('replyMaxLen', { min: 1 });
  const dead = options.deadLetterStream;
  s.check(
    dead === undefined || dead === false || (typeof dead === 'string' && NAME.test(dead) && dead !== options.stream),
    'deadLetterStream',
    dead === options.stream ? 'is the stream itself' : `is ${JSON.stringify(dead)}`,
    'Name another stream (default "<stream>:dead-letter"), or false to keep failing entries in the group for ever.',
  );
  s.check(
    options.deadLetterMaxLen === undefined || dead !== false,
    'deadLetterMaxLen',
    'is set while deadLetterStream is false',
    'Remove deadLetterMaxLen, or give a dead-letter stream.',
  );
}

export function validateClientOptions(options: RedisStreamsClientOptions): void {
  const transport = 'RedisStreamsClient';
  const v = validateCommon(transport, options).known(CLIENT_KEYS);
  v.check(
    typeof options.stream === 'function' || (typeof options.stream === 'string' && NAME.test(options.stream)),
    'stream',
    options.stream === undefined ? 'is missing' : `is ${JSON.stringify(options.stream)}`,
    'Name the stream the servers read, e.g. { stream: "orders" }, or give a function (route) => stream.',
  );
  validateOptions(transport, options)
    .integer('requestTimeout', { min: 0 })
    .integer('maxLen', { min: 1 })
    .integer('minIdAge', { min: 1 })
    .integer('replyTtl', { min: 1000 })
    .check(
      options.maxLen === undefined || options.minIdAge === undefined,
      'minIdAge',
      'is set together with maxLen',
      'Trim by count (maxLen) or by age (minIdAge), not both.',
    );
}
