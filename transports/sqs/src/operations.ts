import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ConnectionClosedError, TransportError } from '@nest-transports/shared';
import { Batcher, type EntryResult } from './batcher.js';
import type { Attributes } from './wire.js';

export interface OutgoingMessage {
  body: string;
  attributes: Attributes;
  /** Bytes as SQS counts them (body + attributes). */
  size: number;
  groupId?: string;
  deduplicationId?: string;
  delaySeconds?: number;
}

interface Handle {
  receiptHandle: string;
  seconds?: number;
}

export interface OperationSettings {
  sendWindowMs: number;
  settleWindowMs: number;
  retries: number;
  maxBatchBytes: number;
}

/** One entry of a batch call failed; `sqsCode` is SQS's error code for it (e.g. `InvalidParameterValue`). */
export class SqsBatchError extends TransportError {
  constructor(
    readonly operation: string,
    readonly sqsCode: string | undefined,
    message: string | undefined,
    readonly senderFault: boolean,
  ) {
    super('SQS_BATCH_ENTRY_FAILED', `SQS ${operation} failed for an entry: ${sqsCode ?? 'unknown'}${message ? ` (${message})` : ''}`);
  }
}

/**
 * The batched SQS calls, one batcher per queue and operation: SendMessageBatch,
 * DeleteMessageBatch and ChangeMessageVisibilityBatch of up to 10 entries each.
 */
export class SqsOperations {
  private readonly senders = new Map<string, Batcher<OutgoingMessage>>();
  private readonly deleters = new Map<string, Batcher<Handle>>();
  private readonly visibility = new Map<string, Batcher<Handle>>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly settings: OperationSettings,
  ) {}

  /** Set by close(): calls fail at once instead of reaching SQS (a handler that outlived its server's close). */
  private closedBy?: string;

  /** Makes every later call fail with ConnectionClosedError naming `transport`; open() undoes it. */
  close(transport: string): void {
    this.closedBy = transport;
  }

  open(): void {
    this.closedBy = undefined;
  }

  send(queueUrl: string, message: OutgoingMessage): Promise<void> {
    if (this.closedBy) return this.refused();
    return this.batcher(
      this.senders,
      queueUrl,
      () =>
        new Batcher<OutgoingMessage>((items) => this.sendBatch(queueUrl, items), {
          maxEntries: 10,
          maxWeight: this.settings.maxBatchBytes,
          weight: (m) => m.size,
          windowMs: this.settings.sendWindowMs,
          retries: this.settings.retries,
          // A FIFO queue keeps the order of calls only if the next starts after the last one landed,
          // and a retried entry goes before everything sent after it.
          maxInFlight: queueUrl.endsWith('.fifo') ? 1 : undefined,
          ordered: queueUrl.endsWith('.fifo'),
        }),
    ).add(message);
  }

  delete(queueUrl: string, receiptHandle: string): Promise<void> {
    if (this.closedBy) return this.refused();
    return this.batcher(this.deleters, queueUrl, () => this.settleBatcher((items) => this.deleteBatch(queueUrl, items))).add({ receiptHandle });
  }

  changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    if (this.closedBy) return this.refused();
    return this.batcher(this.visibility, queueUrl, () => this.settleBatcher((items) => this.visibilityBatch(queueUrl, items))).add({
      receiptHandle,
      seconds,
    });
  }

  private refused(): Promise<never> {
    return Promise.reject(new ConnectionClosedError(this.closedBy!, 'closed; the message comes back after its visibility timeout'));
  }

  async flush(): Promise<void> {
    const all = [...this.senders.values(), ...this.deleters.values(), ...this.visibility.values()];
    await Promise.all(all.map((b) => b.flush()));
  }

  private batcher<T>(map: Map<string, Batcher<T>>, queueUrl: string, create: () => Batcher<T>): Batcher<T> {
    let batcher = map.get(queueUrl);
    if (!batcher) map.set(queueUrl, (batcher = create()));
    return batcher;
  }

  private settleBatcher(call: (items: Handle[]) => Promise<EntryResult[]>): Batcher<Handle> {
    return new Batcher(call, { maxEntries: 10, windowMs: this.settings.settleWindowMs, retries: this.settings.retries });
  }

  private async sendBatch(queueUrl: string, items: OutgoingMessage[]): Promise<EntryResult[]> {
    const out = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: items.map(sendEntry),
      }),
    );
    return results('SendMessageBatch', items.length, out.Failed);
  }

  private async deleteBatch(queueUrl: string, items: Handle[]): Promise<EntryResult[]> {
    const out = await this.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: items.map((h, i) => ({ Id: String(i), ReceiptHandle: h.receiptHandle })) }),
    );
    return results('DeleteMessageBatch', items.length, out.Failed);
  }

  private async visibilityBatch(queueUrl: string, items: Handle[]): Promise<EntryResult[]> {
    const out = await this.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: items.map((h, i) => ({ Id: String(i), ReceiptHandle: h.receiptHandle, VisibilityTimeout: h.seconds })),
      }),
    );
    return results('ChangeMessageVisibilityBatch', items.length, out.Failed);
  }
}

/**
 * An entry with only the fields a message sets: the SDK serialises every key it is given, and a
 * reply or an event carries no attributes, group, deduplication id or delay.
 */
function sendEntry(m: OutgoingMessage, i: number): SendMessageBatchRequestEntry {
  const entry: SendMessageBatchRequestEntry = { Id: String(i), MessageBody: m.body };
  if (hasAny(m.attributes)) entry.MessageAttributes = m.attributes;
  if (m.groupId !== undefined) entry.MessageGroupId = m.groupId;
  if (m.deduplicationId !== undefined) entry.MessageDeduplicationId = m.deduplicationId;
  if (m.delaySeconds !== undefined) entry.DelaySeconds = m.delaySeconds;
  return entry;
}

function hasAny(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

const OK: EntryResult = Object.freeze({ ok: true });

function results(operation: string, count: number, failed: BatchResultErrorEntry[] = []): EntryResult[] {
  const out: EntryResult[] = new Array(count).fill(OK);
  for (const f of failed) {
    const error = new SqsBatchError(operation, f.Code, f.Message, Boolean(f.SenderFault));
    out[Number(f.Id)] = { ok: false, error, retryable: !f.SenderFault };
  }
  return out;
}
