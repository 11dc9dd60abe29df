import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BenchPayload, TargetModule } from '../types.js';
import { deleteKeys, REDIS_URL } from './redis-streams-config.js';

type Packet = { pattern: string; data: BenchPayload; id?: string };
type Entries = Array<[string, Array<[string, string[]]>]> | null;

const field = (flat: string[], name: string) => flat[flat.indexOf(name) + 1];
const open = (url: string | undefined, pipelining: boolean) => new Redis(url ?? REDIS_URL, { enableAutoPipelining: pipelining });

/**
 * Baseline: raw `ioredis` stream loops doing what the transport does, with Nest's JSON packet
 * shape. Events and requests: `XADD` to the row's stream; the server reads it through a consumer
 * group (`XREADGROUP COUNT 100 BLOCK`, on a connection of its own), handles each entry, answers a
 * request with an `XADD` to the client's reply stream (`MAXLEN ~`) and `XACK`s it; commands are
 * auto-pipelined. The client reads its reply stream with `XREAD BLOCK` on a connection of its own.
 */
export const target: TargetModule = {
  async startServer(env) {
    const stream = `raw:${env.ns}`;
    const commands = open(env.url, true);
    const reader = open(env.url, false);
    await commands.xgroup('CREATE', stream, 'svc', '0', 'MKSTREAM');
    let running = true;
    const loop = (async () => {
      while (running) {
        const got = (await reader.xreadgroup('GROUP', 'svc', 'c1', 'COUNT', 100, 'BLOCK', 500, 'STREAMS', stream, '>').catch(() => null)) as Entries;
        for (const [, entries] of got ?? []) {
          for (const [id, flat] of entries) {
            const packet = JSON.parse(field(flat, 'body')) as Packet;
            if (packet.id === undefined) env.onEvent(packet.data);
            else {
              const body = JSON.stringify({ id: packet.id, response: packet.data, isDisposed: true });
              void commands.xadd(field(flat, 'nest-reply-to'), 'NOMKSTREAM', 'MAXLEN', '~', 10000, '*', 'nest-id', packet.id, 'body', body);
            }
            void commands.xack(stream, 'svc', id);
          }
        }
      }
    })();
    return {
      close: async () => {
        running = false;
        await loop;
        reader.disconnect();
        await commands.quit();
        await deleteKeys(env.url, [stream]);
      },
    };
  },
  async startClient(env) {
    const stream = `raw:${env.ns}`;
    const replies = `raw:reply:${randomUUID()}`;
    const commands = open(env.url, true);
    const reader = open(env.url, false);
    await commands.xadd(replies, 'MAXLEN', '0', '*', 'body', '');
    const waiting = new Map<string, (value: unknown) => void>();
    let running = true;
    let nextId = 0;
    const loop = (async () => {
      let last = '0-0';
      while (running) {
        const got = (await reader.xread('COUNT', 256, 'BLOCK', 500, 'STREAMS', replies, last).catch(() => null)) as Entries;
        for (const [, entries] of got ?? []) {
          for (const [id, flat] of entries) {
            last = id;
            const reply = field(flat, 'nest-id');
            if (reply !== undefined) waiting.get(reply)?.((JSON.parse(field(flat, 'body')) as { response: unknown }).response);
            waiting.delete(reply);
          }
        }
      }
    })();
    return {
      request: (data) =>
        new Promise((resolve, reject) => {
          const id = String(++nextId);
          waiting.set(id, resolve);
          const body = JSON.stringify({ pattern: 'echo', data, id });
          commands.xadd(stream, '*', 'nest-pattern', 'echo', 'nest-id', id, 'nest-reply-to', replies, 'body', body).catch(reject);
        }),
      emit: (data) => commands.xadd(stream, '*', 'nest-pattern', 'tick', 'body', JSON.stringify({ pattern: 'tick', data })),
      close: async () => {
        running = false;
        reader.disconnect();
        await loop;
        await commands.del(replies);
        await commands.quit();
      },
    };
  },
};
