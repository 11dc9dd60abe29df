import { TransportError } from '@nest-transports/shared';
import { type RedisLink, replyError } from './connection.js';

/** A stream or group the transport needs is missing (and `createGroups` is off), or a key is not a stream. */
export class RedisStreamsResourceError extends TransportError {
  constructor(message: string) {
    super('RESOURCE_MISSING', message);
  }
}

/**
 * The group a server reads through: created (with its stream) when `create` is set, else checked,
 * the error naming the command that creates it.
 */
export async function ensureGroup(link: RedisLink, transport: string, stream: string, group: string, create: boolean, startId: string): Promise<void> {
  if (create) {
    try {
      await link.call('XGROUP', 'CREATE', stream, group, startId, 'MKSTREAM');
    } catch (err) {
      const text = replyError(err);
      if (/BUSYGROUP/.test(text)) return;
      if (/WRONGTYPE/.test(text)) throw notAStream(transport, stream);
      throw err;
    }
    return;
  }
  let groups: unknown[];
  try {
    groups = (await link.call('XINFO', 'GROUPS', stream)) as unknown[];
  } catch (err) {
    const text = replyError(err);
    if (/WRONGTYPE/.test(text)) throw notAStream(transport, stream);
    if (!/no such key/i.test(text)) throw err;
    groups = [];
  }
  const names = groups.map((info) => groupName(info));
  if (!names.includes(group)) {
    throw new RedisStreamsResourceError(
      `${transport}: group "${group}" of stream "${stream}" does not exist. Create it (XGROUP CREATE ${stream} ${group} ${startId} MKSTREAM), or set createGroups: true.`,
    );
  }
}

/** Deletes this consumer from its group when it holds no entries (a consumer name per process would pile up otherwise). */
export async function removeIdleConsumer(link: RedisLink, stream: string, group: string, consumer: string): Promise<void> {
  const pending = (await link.call('XPENDING', stream, group, '-', '+', '1', consumer)) as unknown[];
  if (pending.length === 0) await link.call('XGROUP', 'DELCONSUMER', stream, group, consumer);
}

/**
 * The group's backlog from `XINFO GROUPS`: `lag`, entries not yet delivered to the group (Redis ≥ 7;
 * absent before, and when Redis cannot tell after deletions or trimming), `pending`, delivered and not
 * acknowledged, and the number of consumers.
 */
export async function groupBacklog(
  link: RedisLink,
  transport: string,
  stream: string,
  group: string,
): Promise<{ lag?: number; pending: number; consumers: number }> {
  let groups: unknown[];
  try {
    groups = (await link.call('XINFO', 'GROUPS', stream)) as unknown[];
  } catch (err) {
    if (/no such key/i.test(replyError(err))) throw new RedisStreamsResourceError(`${transport}: stream "${stream}" does not exist`);
    throw err;
  }
  const info = groups.find((g) => groupName(g) === group);
  if (!info) throw new RedisStreamsResourceError(`${transport}: group "${group}" of stream "${stream}" does not exist`);
  const lag = field(info, 'lag');
  return {
    ...(lag !== undefined && lag !== null && { lag: Number(lag) }),
    pending: Number(field(info, 'pending')),
    consumers: Number(field(info, 'consumers')),
  };
}

function field(info: unknown, name: string): unknown {
  const flat = info as unknown[];
  for (let i = 0; i + 1 < flat.length; i += 2) if (String(flat[i]) === name) return flat[i + 1];
  return undefined;
}

function groupName(info: unknown): string | undefined {
  const name = field(info, 'name');
  return name === undefined ? undefined : String(name);
}

const notAStream = (transport: string, key: string) =>
  new RedisStreamsResourceError(`${transport}: key "${key}" holds something else than a stream. Use another stream name, or delete the key.`);
