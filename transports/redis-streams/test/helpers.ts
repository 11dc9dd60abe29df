import { type INestMicroservice, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { resolveBackend, scaled } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import { Redis } from 'ioredis';
import { RedisStreamsClient, type RedisStreamsClientOptions, RedisStreamsServer, type RedisStreamsServerOptions } from '../src/index.js';

/** The Redis URL (REDIS_URL, or the local one), or why there is none. */
export async function redisBackend(): Promise<{ url?: string; reason?: string }> {
  const backend = await resolveBackend('redis');
  return backend.available ? { url: backend.url } : { reason: backend.reason };
}

/** A stream, its dead-letter stream and a reply prefix unique to one test file. */
export function names(prefix = 'rs') {
  const stream = `test:${uniqueName(prefix)}`;
  return { stream, deadLetter: `${stream}:dead-letter`, replyPrefix: `${stream}:reply:` };
}

/** Raw access to Redis for a test file; `close()` deletes every key under the prefixes it was given. */
export class Fixture {
  private constructor(
    readonly redis: Redis,
    private readonly prefixes: string[],
  ) {}

  static async open(url: string, ...prefixes: string[]): Promise<Fixture> {
    const redis = new Redis(url, { lazyConnect: true });
    await redis.connect();
    return new Fixture(redis, prefixes);
  }

  /** Entries of a stream, fields as text. */
  async entries(stream: string): Promise<Array<{ id: string; fields: Record<string, string> }>> {
    const raw = (await this.redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
    return raw.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      return { id, fields };
    });
  }

  /** Entries of a stream once there are at least `n`, or fails after `ms`. */
  async waitEntries(stream: string, n: number, bound = 10_000) {
    const ms = scaled(bound);
    const deadline = Date.now() + ms;
    for (;;) {
      const got = await this.entries(stream);
      if (got.length >= n) return got;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${n} entries in ${stream} (have ${got.length})`);
      await this.redis.call('XREAD', 'BLOCK', '200', 'STREAMS', stream, got.at(-1)?.id ?? '0-0').catch(() => undefined);
    }
  }

  /** Entries delivered and not acknowledged in a group. */
  async pending(stream: string, group: string): Promise<number> {
    const [count] = (await this.redis.xpending(stream, group)) as [number];
    return Number(count);
  }

  /** The group's pending count once it is 0 (acks are asynchronous), or the last count after `ms`. */
  async settled(stream: string, group: string, ms = 5000): Promise<number> {
    const deadline = Date.now() + scaled(ms);
    let count = await this.pending(stream, group);
    while (count > 0 && Date.now() < deadline) {
      await this.redis.call('XREAD', 'BLOCK', '50', 'STREAMS', `${stream}:none`, '$');
      count = await this.pending(stream, group);
    }
    return count;
  }

  async keys(pattern: string): Promise<string[]> {
    return this.redis.keys(pattern);
  }

  async close(): Promise<void> {
    for (const prefix of this.prefixes) {
      const keys = await this.redis.keys(`${prefix}*`);
      if (keys.length) await this.redis.del(...keys);
    }
    await this.redis.quit();
  }
}

/** Starts a Nest microservice with the given controllers on a RedisStreamsServer. */
export async function startApp(
  url: string,
  controllers: Type[],
  options: RedisStreamsServerOptions,
): Promise<{ app: INestMicroservice; server: RedisStreamsServer }> {
  @Module({ controllers })
  class AppModule {}
  const server = new RedisStreamsServer({ url, ...options });
  const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
  await app.listen();
  return { app, server };
}

export function client(url: string, options: RedisStreamsClientOptions): RedisStreamsClient {
  return new RedisStreamsClient({ url, ...options });
}

export { Seen } from '@nest-transports/backends';
