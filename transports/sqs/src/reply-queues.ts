import { hostname } from 'node:os';
import { DeleteQueueCommand, GetQueueAttributesCommand, ListQueuesCommand, ListQueueTagsCommand, type SQSClient, TagQueueCommand } from '@aws-sdk/client-sqs';
import { InvalidOptionError } from '@nest-transports/shared';
import { createSqsClient, type SqsOption } from './sqs-api.js';

/** Tags on every reply queue a client creates: what it is, who made it, and when it was last known alive. */
export const ReplyQueueTag = {
  KIND: 'nest-transports',
  OWNER: 'nest-owner',
  LAST_USED: 'nest-last-used',
} as const;
const REPLY_QUEUE = 'reply-queue';

/** How often an open client refreshes its reply queue's `nest-last-used` tag. */
export const REPLY_QUEUE_HEARTBEAT_MS = 10 * 60_000;
/** The shortest idle time removeIdleReplyQueues() takes: two missed heartbeats. */
const MIN_IDLE_SECONDS = (2 * REPLY_QUEUE_HEARTBEAT_MS) / 1000;

/** AWS tag values: letters, digits, spaces and _ . : / = + - @, up to 256 characters. */
const tagValue = (value: string) => value.replace(/[^\p{L}\p{N}\s_.:/=+\-@]/gu, '_').slice(0, 256);

/** The tags of a new reply queue: this process as its owner, now as its last use. */
export function replyQueueTags(now = new Date()): Record<string, string> {
  return {
    [ReplyQueueTag.KIND]: REPLY_QUEUE,
    [ReplyQueueTag.OWNER]: tagValue(`${hostname()}/${process.pid}`),
    [ReplyQueueTag.LAST_USED]: now.toISOString(),
  };
}

/** Marks a reply queue as alive now (sqs:TagQueue). */
export async function touchReplyQueue(sqs: SQSClient, queueUrl: string, now = new Date()): Promise<void> {
  await sqs.send(new TagQueueCommand({ QueueUrl: queueUrl, Tags: { [ReplyQueueTag.LAST_USED]: now.toISOString() } }));
}

export interface RemoveIdleReplyQueuesOptions {
  /** The client or config to use (as the transports' `sqs` option). */
  sqs?: SqsOption;
  /** Only queues whose name starts with this (the clients' `replyQueuePrefix`). Default "nest-reply". */
  prefix?: string;
  /** Remove a reply queue not used for this long, in seconds (at least 1200: open clients mark theirs every 10 min). Default 3600. */
  idleSeconds?: number;
  /** List what would be removed, remove nothing. Default false. */
  dryRun?: boolean;
}

export interface IdleReplyQueue {
  url: string;
  owner?: string;
  /** When it was last known used (its `nest-last-used` tag, else its creation). */
  lastUsed: Date;
}

/**
 * Finds the reply queues that clients created and left behind (a process killed before `close()`):
 * queues named `prefix…`, tagged `nest-transports=reply-queue`, whose `nest-last-used` tag (refreshed
 * every 10 minutes by an open client) is older than `idleSeconds` — and deletes them unless `dryRun`.
 * Queues without that tag are never touched. Needs sqs:ListQueues, ListQueueTags, GetQueueAttributes
 * and DeleteQueue. Run it from a scheduled job, or at deploy time.
 */
export async function removeIdleReplyQueues(options: RemoveIdleReplyQueuesOptions = {}): Promise<IdleReplyQueue[]> {
  const prefix = options.prefix ?? 'nest-reply';
  const idleSeconds = options.idleSeconds ?? 3600;
  if (!Number.isFinite(idleSeconds) || idleSeconds < MIN_IDLE_SECONDS) {
    throw new InvalidOptionError(
      'removeIdleReplyQueues',
      'idleSeconds',
      `is ${JSON.stringify(options.idleSeconds)}`,
      `Use ${MIN_IDLE_SECONDS} or more: open clients mark their reply queue every ${REPLY_QUEUE_HEARTBEAT_MS / 60_000} minutes.`,
    );
  }
  const { client: sqs, owned } = createSqsClient(options.sqs);
  try {
    const cutoff = Date.now() - idleSeconds * 1000;
    const idle: IdleReplyQueue[] = [];
    for await (const url of listQueues(sqs, prefix)) {
      const found = await idleSince(sqs, url);
      if (!found || found.lastUsed.getTime() > cutoff) continue;
      if (!options.dryRun) await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch((err) => (isMissing(err) ? undefined : Promise.reject(err)));
      idle.push({ url, ...found });
    }
    return idle;
  } finally {
    if (owned) sqs.destroy();
  }
}

async function* listQueues(sqs: SQSClient, prefix: string): AsyncGenerator<string> {
  let NextToken: string | undefined;
  do {
    const out = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken }));
    yield* out.QueueUrls ?? [];
    NextToken = out.NextToken;
  } while (NextToken);
}

/** A reply queue's owner and last use, or undefined when the queue is not a reply queue (or is gone). */
async function idleSince(sqs: SQSClient, url: string): Promise<Omit<IdleReplyQueue, 'url'> | undefined> {
  const tags = (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url })).catch(ignoreMissing))?.Tags ?? {};
  if (tags[ReplyQueueTag.KIND] !== REPLY_QUEUE) return undefined;
  let lastUsed = new Date(tags[ReplyQueueTag.LAST_USED] ?? Number.NaN);
  if (Number.isNaN(lastUsed.getTime())) {
    // Created by an older client that did not mark its queue: its creation is its last known use.
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['CreatedTimestamp'] })).catch(ignoreMissing);
    const created = Number(attributes?.Attributes?.CreatedTimestamp);
    if (!Number.isFinite(created)) return undefined;
    lastUsed = new Date(created * 1000);
  }
  return { owner: tags[ReplyQueueTag.OWNER], lastUsed };
}

const isMissing = (err: unknown) => /QueueDoesNotExist|NonExistentQueue/.test((err as Error)?.name ?? '');
const ignoreMissing = (err: unknown) => (isMissing(err) ? undefined : Promise.reject(err));
