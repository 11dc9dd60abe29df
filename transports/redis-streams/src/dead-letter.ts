import type { RedisLink } from './connection.js';
import { RedisStreamsFields, type StreamEntry } from './wire.js';

export interface DeadLetterSettings {
  /** The dead-letter stream. */
  stream: string;
  group: string;
  maxLen?: number;
}

/**
 * Moves an entry to the dead-letter stream: its original fields and body, plus `nest-dead-letter-*`
 * fields saying why, from which stream, group and entry, after how many deliveries. The add comes
 * before the `XACK` (two keys, so no transaction in a cluster): a crash in between leaves the entry
 * to be dead-lettered again, never lost.
 */
export async function deadLetter(link: RedisLink, settings: DeadLetterSettings, entry: StreamEntry, reason: string): Promise<void> {
  const args: Array<string | Buffer> = [settings.stream];
  if (settings.maxLen !== undefined) args.push('MAXLEN', '~', String(settings.maxLen));
  args.push('*');
  for (const [key, value] of Object.entries(entry.fields)) {
    if (!key.startsWith('nest-dead-letter-')) args.push(key, value);
  }
  args.push(
    RedisStreamsFields.DEAD_LETTER_REASON,
    oneLine(reason),
    RedisStreamsFields.DEAD_LETTER_STREAM,
    entry.stream,
    RedisStreamsFields.DEAD_LETTER_GROUP,
    settings.group,
    RedisStreamsFields.DEAD_LETTER_ID,
    entry.id,
    RedisStreamsFields.DEAD_LETTER_DELIVERIES,
    String(entry.attempt),
  );
  if (entry.body !== undefined) args.push(RedisStreamsFields.BODY, entry.body);
  await link.call('XADD', ...args);
  await link.call('XACK', entry.stream, settings.group, entry.id);
}

/** Long reasons are cut; line breaks flattened. */
function oneLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > 1000 ? `${flat.slice(0, 1000)}…` : flat;
}
