import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CreateQueueCommand, DeleteQueueCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { ReadPacket, WritePacket } from '@nestjs/microservices';
import {
  BrokeredClient,
  HandlerSlots,
  InvalidOptionError,
  PayloadTooLargeError,
  PullLoop,
  resolveCodec,
  TransportError,
  type TraceFields,
  TransportStatus,
  uniqueName,
  WireAttributes as Attr,
  type Codec,
} from '@nest-transports/shared';
import { checkFifoId, groupIdOf } from './fifo-ids.js';
import { SqsOperations } from './operations.js';
import { REPLY_QUEUE_HEARTBEAT_MS, replyQueueTags, touchReplyQueue } from './reply-queues.js';
import { resolveClientOptions, type ResolvedClientOptions, type SqsClientOptions } from './options.js';
import { queueReceiver } from './poller.js';
import { SqsRecord, type SqsRecordOptions } from './record.js';
import { createSqsClient, explain, queueBacklog, resolveQueue, type QueueInfo } from './sqs-api.js';
import { addTraceAttributes, attributesSize, decodeBody, encodeBody, patternAttribute, readAttr, str, userAttributes, type Attributes } from './wire.js';

/** Where an `SqsRecord`'s options ride along the packet (symbol keys never reach the wire). */
const RECORD_OPTIONS = Symbol('sqsRecordOptions');
type WithRecord = ReadPacket & { [RECORD_OPTIONS]?: SqsRecordOptions };
/** Replies received and not yet handed to their callers, at most. */
const REPLY_SLOTS = 100;

export type SqsClientEvents = {
  /** Reading the reply queue failed; the client retries with backoff. */
  error: (err: unknown) => void;
};

interface Connection {
  sqs: SQSClient;
  owned: boolean;
  ops: SqsOperations;
  target: QueueInfo;
  reply?: Promise<ReplyChannel>;
}

interface FifoIds {
  groupId?: string;
  deduplicationId?: string;
}

interface ReplyChannel {
  url: string;
  created: boolean;
  loop: PullLoop<Message>;
  /** Refreshes the created queue's `nest-last-used` tag, so that removeIdleReplyQueues() spares it. */
  heartbeat?: NodeJS.Timeout;
}

/**
 * Nest `ClientProxy` for SQS: `emit()` sends events (batched into SendMessageBatch), `send()`
 * sends requests whose replies come back on a reply queue only this client reads.
 */
export class SqsClient extends BrokeredClient {
  private readonly options: ResolvedClientOptions;
  private readonly codec: Codec;
  private readonly emitter = new EventEmitter();
  private connection?: Connection;
  private connecting?: Promise<Connection>;
  private warnedTraceRoom = false;

  constructor(options: SqsClientOptions) {
    const resolved = resolveClientOptions(options);
    super({ transport: 'SqsClient', requestTimeout: resolved.requestTimeout, maxMessageBytes: resolved.maxMessageBytes });
    this.options = resolved;
    this.codec = resolveCodec('SqsClient', resolved.codec);
    this.initializeSerializer(resolved);
    this.initializeDeserializer(resolved);
    this.emitter.on('error', () => undefined);
  }

  /** Checks the target queue (a clear error when it is missing or not allowed); cached. */
  async connect(): Promise<void> {
    await this.ready();
  }

  private ready(): Promise<Connection> {
    this.connecting ??= this.open().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    const connection = this.connection ?? (await connecting?.catch(() => undefined));
    this.connection = undefined;
    if (!connection) return;
    const reply = await connection.reply?.catch(() => undefined);
    clearInterval(reply?.heartbeat);
    await reply?.loop.stop();
    await connection.ops.flush().catch((err) => this.logger.error(`Flushing on close failed: ${(err as Error).message}`));
    this.failPending('the client was closed before the reply arrived');
    if (reply?.created) {
      await connection.sqs.send(new DeleteQueueCommand({ QueueUrl: reply.url })).catch((err) => {
        this.logger.warn(`Could not delete reply queue ${reply.url}: ${(err as Error).message}`);
      });
    }
    if (connection.owned) connection.sqs.destroy();
    this._status$.next(TransportStatus.DISCONNECTED);
  }

  override on<K extends keyof SqsClientEvents>(event: K, callback: SqsClientEvents[K]): void {
    this.emitter.on(event, callback);
  }

  /** The `SQSClient` in use (after `connect()`). */
  unwrap<T = SQSClient>(): T {
    if (!this.connection) throw new TransportError('NOT_CONNECTED', 'SqsClient: not connected. Call connect() (or send/emit) first.');
    return this.connection.sqs as T;
  }

  /** The reply queue's URL once the first request created it. */
  async getReplyQueueUrl(): Promise<string | undefined> {
    return (await this.connection?.reply)?.url;
  }

  protected override publish(partial: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    return super.publish(withRecordOptions(partial), callback);
  }

  protected override dispatchEvent<T = unknown>(partial: ReadPacket): Promise<T> {
    return super.dispatchEvent(withRecordOptions(partial));
  }

  protected encode(serialized: unknown): string {
    return encodeBody(this.codec, serialized);
  }

  /** Health details: the queue's backlog, and the reply queue (once a request made one) still there. */
  protected override async healthDetails(signal: AbortSignal): Promise<Record<string, unknown>> {
    const connection = await this.ready();
    const backlog = await queueBacklog(connection.sqs, 'SqsClient', connection.target.url, signal);
    const reply = await connection.reply?.catch(() => undefined);
    if (reply) await queueBacklog(connection.sqs, 'SqsClient', reply.url, signal);
    return { queue: connection.target.url, backlog: backlog.visible, replyQueue: reply?.url ?? null };
  }

  protected override traceTarget(): { system: string; destination: string } {
    return { system: 'aws_sqs', destination: queueName(this.connection?.target.url ?? this.options.queue) };
  }

  protected async publishRequest(packet: ReadPacket & { id: string }, body: string, trace?: TraceFields): Promise<void> {
    const connection = await this.ready();
    const pattern = String(packet.pattern);
    const record = (packet as WithRecord)[RECORD_OPTIONS];
    const user = { ...userAttributes('SqsClient', record?.messageAttributes, 3), [Attr.PATTERN]: patternAttribute(pattern) };
    const bodyBytes = Buffer.byteLength(body);
    // Checked before the reply queue exists, so a bad request creates nothing.
    const fifo = this.prepareSend(connection, pattern, bodyBytes + attributesSize(user), record, packet.id);
    const reply = await (connection.reply ??= this.openReplyChannel(connection).catch((err) => {
      connection.reply = undefined;
      throw err;
    }));
    const attributes = { ...user, [Attr.ID]: str(packet.id), [Attr.REPLY_TO]: str(reply.url) };
    this.addTrace(attributes, body, trace);
    await this.sendMessage(connection, body, bodyBytes, attributes, record, fifo);
  }

  protected async publishEvent(packet: ReadPacket, body: string, trace?: TraceFields): Promise<void> {
    const connection = await this.ready();
    const pattern = String(packet.pattern);
    const record = (packet as WithRecord)[RECORD_OPTIONS];
    const attributes = { ...userAttributes('SqsClient', record?.messageAttributes, 1), [Attr.PATTERN]: patternAttribute(pattern) };
    const bodyBytes = Buffer.byteLength(body);
    const fifo = this.prepareSend(connection, pattern, bodyBytes + attributesSize(attributes), record);
    this.addTrace(attributes, body, trace);
    await this.sendMessage(connection, body, bodyBytes, attributes, record, fifo);
  }

  private addTrace(attributes: Attributes, body: string, trace: TraceFields | undefined): void {
    const skipped = addTraceAttributes(attributes, body, trace, this.options.maxMessageBytes);
    if (skipped.length > 0 && !this.warnedTraceRoom) {
      this.warnedTraceRoom = true;
      this.logger.warn(
        `Sent a message without its trace attribute(s) ${skipped.join(', ')}: no room within SQS's 10 message attributes or maxMessageBytes (logged once)`,
      );
    }
  }

  private async open(): Promise<Connection> {
    const { client: sqs, owned } = createSqsClient(this.options.sqs, 1);
    try {
      const target = await resolveQueue(sqs, 'SqsClient', this.options.queue);
      const ops = new SqsOperations(sqs, {
        sendWindowMs: this.options.batchWindowMs,
        settleWindowMs: 10,
        retries: this.options.sendRetries,
        maxBatchBytes: this.options.maxMessageBytes,
      });
      this.connection = { sqs, owned, ops, target };
      this._status$.next(TransportStatus.CONNECTED);
      return this.connection;
    } catch (err) {
      if (owned) sqs.destroy();
      this._status$.next(TransportStatus.DISCONNECTED);
      throw err;
    }
  }

  /**
   * Checks what can be checked before any call — size (attributes included), FIFO rules, group and
   * deduplication ids — and returns the FIFO ids (none for a standard queue).
   */
  private prepareSend(connection: Connection, pattern: string, size: number, record?: SqsRecordOptions, id?: string): FifoIds {
    if (size > this.options.maxMessageBytes) throw new PayloadTooLargeError('SqsClient', size, this.options.maxMessageBytes);
    if (!connection.target.fifo) return {};
    if (record?.delaySeconds !== undefined) {
      throw new InvalidOptionError(
        'SqsClient',
        'delaySeconds',
        `is set for a message to FIFO queue ${connection.target.url} (pattern "${pattern}")`,
        'FIFO queues take no per-message delay: set DelaySeconds on the queue instead.',
      );
    }
    return { groupId: this.groupOf(pattern, record), deduplicationId: this.deduplicationOf(record, id) };
  }

  /** The message's FIFO group: the record's, the option's, or one derived from the pattern (always valid). */
  private groupOf(pattern: string, record?: SqsRecordOptions): string {
    if (record?.messageGroupId !== undefined) return checkFifoId('SqsClient', 'messageGroupId', record.messageGroupId, ' (SqsRecord)');
    const option = this.options.messageGroupId;
    if (typeof option === 'function') return checkFifoId('SqsClient', 'messageGroupId', option(pattern), ` (returned for pattern ${JSON.stringify(pattern)})`);
    return option ?? groupIdOf(pattern);
  }

  private deduplicationOf(record: SqsRecordOptions | undefined, id?: string): string {
    if (record?.deduplicationId !== undefined) return checkFifoId('SqsClient', 'deduplicationId', record.deduplicationId, ' (SqsRecord)');
    return id ?? randomUUID();
  }

  private async sendMessage(
    connection: Connection,
    body: string,
    bodyBytes: number,
    attributes: Attributes,
    record: SqsRecordOptions | undefined,
    fifo: FifoIds,
  ): Promise<void> {
    const size = bodyBytes + attributesSize(attributes);
    if (size > this.options.maxMessageBytes) throw new PayloadTooLargeError('SqsClient', size, this.options.maxMessageBytes);
    await connection.ops.send(connection.target.url, { body, attributes, size, delaySeconds: record?.delaySeconds, ...fifo }).catch(async (err) => {
      throw await explain(connection.sqs, 'SqsClient', connection.target.url, err);
    });
  }

  private async openReplyChannel(connection: Connection): Promise<ReplyChannel> {
    let url: string;
    let created = false;
    if (this.options.replyQueue) {
      url = (await resolveQueue(connection.sqs, 'SqsClient', this.options.replyQueue)).url;
    } else {
      const name = uniqueName(this.options.replyQueuePrefix);
      try {
        const out = await connection.sqs.send(
          new CreateQueueCommand({ QueueName: name, Attributes: { MessageRetentionPeriod: '600' }, tags: replyQueueTags() }),
        );
        url = out.QueueUrl!;
        created = true;
      } catch (err) {
        throw await explain(connection.sqs, 'SqsClient', name, err);
      }
    }
    // Replies are read in a moment: room for several receives keeps every receive asking for 10
    // (with room for just one, each receive asked for what the previous one left free).
    const slots = new HandlerSlots(REPLY_SLOTS);
    const loop = new PullLoop<Message>({
      slots,
      batchSize: 10,
      receive: queueReceiver(connection.sqs, url, { waitTimeSeconds: 20, messageAttributeNames: [Attr.ID, Attr.SEQ], systemAttributeNames: [] }),
      onMessages: (messages) => void this.onReplies(connection, url, messages, slots),
      onError: (err) => void this.onReplyError(connection, url, err),
      onHealthy: () => this._status$.next(TransportStatus.CONNECTED),
    });
    loop.start();
    return { url, created, loop, heartbeat: created ? this.heartbeat(connection, url) : undefined };
  }

  private heartbeat(connection: Connection, url: string): NodeJS.Timeout {
    let warned = false;
    const timer = setInterval(() => {
      touchReplyQueue(connection.sqs, url).catch((err) => {
        if (!warned) this.logger.warn(`Could not mark reply queue ${url} as in use (sqs:TagQueue): ${(err as Error).message}`);
        warned = true;
      });
    }, REPLY_QUEUE_HEARTBEAT_MS);
    timer.unref();
    return timer;
  }

  private async onReplies(connection: Connection, url: string, messages: Message[], slots: HandlerSlots): Promise<void> {
    for (const message of messages) {
      try {
        const decoded = decodeBody(this.codec, message.Body ?? '');
        await this.acceptReply(decoded, readAttr(message.MessageAttributes, Attr.ID), readAttr(message.MessageAttributes, Attr.SEQ));
      } catch (err) {
        this.logger.warn(`Dropped an unreadable reply: ${(err as Error).message}`);
      } finally {
        slots.release(1);
      }
      connection.ops.delete(url, message.ReceiptHandle!).catch((err) => this.logger.warn(`Could not delete a reply: ${(err as Error).message}`));
    }
  }

  private async onReplyError(connection: Connection, url: string, err: unknown): Promise<void> {
    const error = await explain(connection.sqs, 'SqsClient', url, err);
    this._status$.next(TransportStatus.RECONNECTING);
    this.logger.error(`Reading replies from ${url} failed, retrying: ${error.message}`);
    this.emitter.emit('error', error);
  }
}

/** The queue's name, from its URL (or the option as given). */
function queueName(queue: string): string {
  return queue.slice(queue.lastIndexOf('/') + 1) || queue;
}

function withRecordOptions(partial: ReadPacket): ReadPacket {
  if (!(partial.data instanceof SqsRecord)) return partial;
  const record = partial.data;
  return { ...partial, data: record.data, [RECORD_OPTIONS]: record.options ?? {} } as WithRecord;
}
