import type { EventEmitter } from 'node:events';
import { BackendUnreachableError, TransportStatus, within } from '@nest-transports/shared';
import { type Cluster, Redis } from 'ioredis';
import { REDIS_STREAMS_DEFAULTS, type RedisStreamsCommonOptions } from './options.js';

/** A connection of the transport's own (opened from `url`, or a `duplicate()` of the given client). */
export type RedisLink = Redis | Cluster;

/**
 * Opens a connection and waits until it is ready, within `connectTimeout`: an unreachable Redis is
 * a `BackendUnreachableError`. Reconnecting after an outage is ioredis's own (its `retryStrategy`).
 */
export async function openLink(transport: string, options: RedisStreamsCommonOptions, name: string): Promise<RedisLink> {
  const timeout = options.connectTimeout ?? REDIS_STREAMS_DEFAULTS.connectTimeout;
  const url = options.url ?? REDIS_STREAMS_DEFAULTS.url;
  const link: RedisLink = options.connection
    ? (options.connection as Redis).duplicate({ lazyConnect: true, connectionName: name } as never)
    : new Redis(url, { connectTimeout: timeout, ...options.redisOptions, lazyConnect: true, connectionName: name });
  link.on('error', () => undefined); // reported through followStatus; an unheard 'error' must not throw
  try {
    await within(link.connect(), timeout, `a connection to ${options.connection ? 'the given Redis' : url}`);
    return link;
  } catch (err) {
    link.disconnect();
    throw new BackendUnreachableError(transport, `Redis at ${options.connection ? 'the given connection' : url}`, err);
  }
}

/**
 * Reports the connection's state as Nest's Redis transporter does (`ready` → connected, `close`
 * → disconnected, `reconnecting`), and passes each ioredis event to `events` under its name.
 */
export function followStatus(link: RedisLink, report: (status: TransportStatus) => void, events: EventEmitter): void {
  link.on('ready', () => {
    report(TransportStatus.CONNECTED);
    events.emit('ready');
  });
  link.on('close', () => {
    report(TransportStatus.DISCONNECTED);
    events.emit('close');
  });
  link.on('reconnecting', (delay: number) => {
    report(TransportStatus.RECONNECTING);
    events.emit('reconnecting', delay);
  });
  link.on('error', (err: unknown) => events.emit('error', err));
}

/** Quits gracefully (what was sent is answered) within `ms`, else drops the connection. */
export async function closeLink(link: RedisLink | undefined, ms: number): Promise<void> {
  if (!link || link.status === 'end') return;
  if (link.status !== 'ready') return link.disconnect();
  await within(link.quit(), ms, 'QUIT').catch(() => link.disconnect());
}

/** Redis's error text, for matching replies such as NOGROUP / BUSYGROUP. */
export const replyError = (err: unknown) => String((err as { message?: unknown } | null)?.message ?? err);

/**
 * A command with its reply as buffers. Through the command's own method (`xreadgroupBuffer`…):
 * ioredis's `callBuffer` loses the command name under auto-pipelining.
 */
export function callBuffer(link: RedisLink, command: string, ...args: Array<string | Buffer | number>): Promise<unknown> {
  const method = (link as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[`${command.toLowerCase()}Buffer`];
  return method.apply(link, args);
}
