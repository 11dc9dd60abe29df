import { RESERVED_ATTRIBUTE_PREFIX, WireAttributes } from '@nest-transports/shared';

/**
 * The wire: an entry's `body` field holds the packet (Nest's `{ pattern, data, id? }`, through the
 * serializer and codec); the transport's own fields carry the route (`nest-pattern`), a request's
 * correlation id and reply stream (`nest-id`, `nest-reply-to`), and a reply's position
 * (`nest-id`, `nest-seq`). Other fields are the sender's (`RedisStreamsRecord` fields).
 */
export const RedisStreamsFields = {
  ...WireAttributes,
  BODY: 'body',
  /** On a dead-lettered entry: why, from which stream, group and entry id, after how many deliveries. */
  DEAD_LETTER_REASON: 'nest-dead-letter-reason',
  DEAD_LETTER_STREAM: 'nest-dead-letter-stream',
  DEAD_LETTER_GROUP: 'nest-dead-letter-group',
  DEAD_LETTER_ID: 'nest-dead-letter-id',
  DEAD_LETTER_DELIVERIES: 'nest-dead-letter-deliveries',
} as const;

/** An entry as read from a stream. */
export interface StreamEntry {
  stream: string;
  id: string;
  /** Every field but the body, as text. */
  fields: Record<string, string>;
  /** The `body` field's bytes; undefined when the entry has none. */
  body?: Buffer;
  /** 1 on first delivery, counting up. */
  attempt: number;
}

type RawEntry = [id: Buffer, fields: Buffer[] | null];

/** Entries of an `XREADGROUP`/`XREAD`/`XAUTOCLAIM` reply (buffers); an entry trimmed away has `null` fields and is skipped. */
export function parseEntries(stream: string, raw: RawEntry[] | null | undefined, attempt = 1): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [id, flat] of raw ?? []) {
    if (!flat) continue;
    const fields: Record<string, string> = {};
    let body: Buffer | undefined;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toString('utf8');
      if (name === RedisStreamsFields.BODY) body = flat[i + 1];
      else fields[name] = flat[i + 1].toString('utf8');
    }
    out.push({ stream, id: id.toString('utf8'), fields, body, attempt });
  }
  return out;
}

/** The entries of an `XREADGROUP`/`XREAD` reply of one stream. */
export function entriesOfRead(stream: string, reply: unknown): StreamEntry[] {
  const streams = reply as Array<[Buffer, RawEntry[]]> | null;
  return streams?.length ? parseEntries(stream, streams[0][1]) : [];
}

/** Field/value arguments of an `XADD`: the sender's fields (never the reserved `nest-*` ones), the transport's, then the body. */
export function fieldArgs(
  user: Readonly<Record<string, string>> | undefined,
  own: Readonly<Record<string, string>>,
  body: string | Buffer,
): Array<string | Buffer> {
  const args: Array<string | Buffer> = [];
  if (user) {
    for (const [key, value] of Object.entries(user)) {
      if (!key.toLowerCase().startsWith(RESERVED_ATTRIBUTE_PREFIX) && key !== RedisStreamsFields.BODY) args.push(key, String(value));
    }
  }
  for (const [key, value] of Object.entries(own)) args.push(key, value);
  args.push(RedisStreamsFields.BODY, body);
  return args;
}

/** Bytes of the field names and values of an `XADD`. */
export function entrySize(args: ReadonlyArray<string | Buffer>): number {
  let size = 0;
  for (const arg of args) size += typeof arg === 'string' ? Buffer.byteLength(arg) : arg.byteLength;
  return size;
}

/** The trimming arguments of an `XADD` (approximate: Redis trims whole macro nodes, cheaply). */
export function trimArgs(trim: { maxLen?: number; minIdAge?: number }, now = Date.now()): string[] {
  if (trim.maxLen !== undefined) return ['MAXLEN', '~', String(trim.maxLen)];
  if (trim.minIdAge !== undefined) return ['MINID', '~', String(Math.max(0, now - trim.minIdAge))];
  return [];
}

/** The body as the codec reads it: text for a text codec, bytes for a binary one. */
export const bodyForCodec = (binary: boolean, body: Buffer): string | Buffer => (binary ? body : body.toString('utf8'));
