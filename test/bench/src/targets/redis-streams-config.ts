import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Deletes the row's streams (and with them their groups): nothing of a run stays in Redis. */
export async function deleteKeys(url: string | undefined, keys: string[]): Promise<void> {
  const redis = new Redis(url ?? REDIS_URL, { lazyConnect: true });
  try {
    await redis.connect();
    await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
