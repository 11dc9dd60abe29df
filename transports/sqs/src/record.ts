import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { checkFifoId } from './fifo-ids.js';

/** A message attribute: a string, a number, bytes, or the SDK's own shape. */
export type SqsAttributeInput = string | number | Uint8Array | MessageAttributeValue;

export interface SqsRecordOptions {
  /** FIFO queues: the group whose order is kept (1–128 ASCII letters, digits, punctuation). Default: the client's `messageGroupId` (from the pattern). */
  messageGroupId?: string;
  /** FIFO queues: messages with the same id within 5 minutes are delivered once. Default: a unique id. */
  deduplicationId?: string;
  /** Standard queues: delay before the message becomes visible, 0–900 s. */
  delaySeconds?: number;
  /** Attributes the handler reads with `SqsContext#getMessageAttributes()`. Names starting with "nest-" are reserved. */
  messageAttributes?: Record<string, SqsAttributeInput>;
}

/** Data plus per-message SQS options; pass it as the data of `send()` or `emit()`. */
export class SqsRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    public options?: SqsRecordOptions,
  ) {}
}

export class SqsRecordBuilder<TData> {
  private options: SqsRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setOptions(options: SqsRecordOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  /** FIFO queues: checked here against SQS's rule (`InvalidOptionError` naming `messageGroupId`). */
  setMessageGroupId(messageGroupId: string): this {
    return this.setOptions({ messageGroupId: checkFifoId('SqsRecordBuilder', 'messageGroupId', messageGroupId) });
  }

  /** FIFO queues: checked here against SQS's rule (`InvalidOptionError` naming `deduplicationId`). */
  setDeduplicationId(deduplicationId: string): this {
    return this.setOptions({ deduplicationId: checkFifoId('SqsRecordBuilder', 'deduplicationId', deduplicationId) });
  }

  setDelaySeconds(delaySeconds: number): this {
    return this.setOptions({ delaySeconds });
  }

  setMessageAttributes(messageAttributes: Record<string, SqsAttributeInput>): this {
    return this.setOptions({ messageAttributes: { ...this.options.messageAttributes, ...messageAttributes } });
  }

  build(): SqsRecord<TData> {
    return new SqsRecord(this.data as TData, { ...this.options });
  }
}
