import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type { BenchPayload, TargetModule } from '../types.js';
import { createQueue, sqsConfig } from './sqs-config.js';

/**
 * Baseline: what a hand-written SQS service does with the raw SDK. Sends are coalesced into
 * SendMessageBatch (everything queued in one tick, 10 per call); one long-poll loop receives 10
 * at a time and deletes with DeleteMessageBatch; replies go to a reply queue per client.
 * `batchedSends: false` sends one SendMessage per event (the auto-batching target's yardstick).
 */
export function rawSqsTarget(batchedSends: boolean): TargetModule {
  return {
    async startServer(env) {
      const sqs = new SQSClient(sqsConfig(env.url));
      const queueUrl = await createQueue(sqs, `${env.ns}-requests`);
      const sender = new BatchSender(sqs, true);
      const loop = pollLoop(sqs, queueUrl, (message) => {
        const packet = JSON.parse(message.Body!) as { pattern: string; data: BenchPayload; id?: string };
        if (packet.id === undefined) return env.onEvent(packet.data);
        const replyTo = message.MessageAttributes?.replyTo?.StringValue;
        if (replyTo) void sender.send(replyTo, JSON.stringify({ id: packet.id, response: packet.data, isDisposed: true }));
      });
      return {
        info: { queueUrl },
        close: async () => {
          await loop.stop();
          sqs.destroy();
        },
      };
    },
    async startClient(env) {
      const sqs = new SQSClient(sqsConfig(env.url));
      const queueUrl = env.info.queueUrl as string;
      const replyUrl = await createQueue(sqs, `${env.ns}-replies-${randomUUID().slice(0, 8)}`);
      const pending = new Map<string, (response: unknown) => void>();
      const loop = pollLoop(sqs, replyUrl, (message) => {
        const reply = JSON.parse(message.Body!) as { id: string; response: unknown };
        pending.get(reply.id)?.(reply.response);
        pending.delete(reply.id);
      });
      const sender = new BatchSender(sqs, batchedSends);
      let nextId = 0;
      const replyTo = { replyTo: { DataType: 'String', StringValue: replyUrl } };
      return {
        request: (data) => {
          const id = String(++nextId);
          return new Promise((resolve, reject) => {
            pending.set(id, resolve);
            sender.send(queueUrl, JSON.stringify({ pattern: 'echo', data, id }), replyTo).catch(reject);
          });
        },
        emit: (data) => sender.send(queueUrl, JSON.stringify({ pattern: 'tick', data })),
        close: async () => {
          await loop.stop();
          sqs.destroy();
        },
      };
    },
  };
}

type Attributes = SendMessageBatchRequestEntry['MessageAttributes'];

/** Coalesces sends queued in one tick into SendMessageBatch calls of up to 10 (or sends one by one). */
class BatchSender {
  private queued = new Map<string, Array<{ entry: SendMessageBatchRequestEntry; done: (err?: Error) => void }>>();
  private scheduled = false;
  private nextId = 0;

  constructor(
    private readonly sqs: SQSClient,
    private readonly batched: boolean,
  ) {}

  send(queueUrl: string, body: string, attributes?: Attributes): Promise<void> {
    if (!this.batched)
      return this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes })).then(() => undefined);
    return new Promise((resolve, reject) => {
      const entry = { Id: String(++this.nextId), MessageBody: body, MessageAttributes: attributes };
      let list = this.queued.get(queueUrl);
      if (!list) this.queued.set(queueUrl, (list = []));
      list.push({ entry, done: (err) => (err ? reject(err) : resolve()) });
      if (list.length >= 10) this.flushQueue(queueUrl);
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushAll());
      }
    });
  }

  private flushAll(): void {
    this.scheduled = false;
    for (const queueUrl of [...this.queued.keys()]) this.flushQueue(queueUrl);
  }

  private flushQueue(queueUrl: string): void {
    const list = this.queued.get(queueUrl);
    this.queued.delete(queueUrl);
    if (!list?.length) return;
    this.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: list.map((item) => item.entry) })).then(
      (out) => {
        const failed = new Set(out.Failed?.map((f) => f.Id));
        for (const item of list) item.done(failed.has(item.entry.Id) ? new Error(`SendMessageBatch failed for ${item.entry.Id}`) : undefined);
      },
      (err) => list.forEach((item) => item.done(err)),
    );
  }
}

/** One long-poll loop: ReceiveMessage(10) → handle each → DeleteMessageBatch (not awaited before the next receive). */
function pollLoop(sqs: SQSClient, queueUrl: string, handle: (message: Message) => void): { stop(): Promise<void> } {
  const abort = new AbortController();
  const deletes = new Set<Promise<unknown>>();
  const running = (async () => {
    while (!abort.signal.aborted) {
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20, MessageAttributeNames: ['All'] }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (abort.signal.aborted) break;
        throw err;
      }
      if (!messages.length) continue;
      for (const message of messages) handle(message);
      const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
      const deleting = sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })).catch(() => undefined);
      deletes.add(deleting);
      void deleting.then(() => deletes.delete(deleting));
    }
  })();
  return {
    async stop() {
      abort.abort();
      await running.catch(() => undefined);
      await Promise.all(deletes);
    },
  };
}
