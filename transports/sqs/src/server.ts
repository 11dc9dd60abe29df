import type { Message, MessageSystemAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import {
  BrokeredServer,
  type Inbound,
  type ManualSettlement,
  type OutgoingReply,
  type PacketMetadata,
  PullLoop,
  sleep,
  within,
  type ReleaseReason,
  resolveCodec,
  TransportStatus,
  WireAttributes,
} from '@nest-transports/shared';
import { SqsContext } from './context.js';
import { queueUrlFromArn, toSqsMessage, type SqsBatchResponse, type SqsLambdaEvent } from './lambda.js';
import { SqsOperations } from './operations.js';
import { resolveServerOptions, type ResolvedServerOptions, type SqsServerOptions } from './options.js';
import { queueReceiver } from './poller.js';
import { checkConnectionPool, createSqsClient, explain, isMissingQueue, queueBacklog, resolveQueue, type QueueInfo } from './sqs-api.js';
import { VisibilityKeeper } from './visibility.js';
import { type Attributes, bodyForCodec, encodeBody, messageSize, str, stringAttributes } from './wire.js';

/** Waits before resending a reply to a queue SQS does not know (yet): about 6 s in all. */
const NEW_QUEUE_RETRY_MS = [250, 500, 1000, 2000, 2250];

/** Identifies the SQS transport (hybrid apps: `@MessagePattern('x', SQS_TRANSPORT)`). */
export const SQS_TRANSPORT = Symbol('SQS_TRANSPORT');

export type SqsServerEvents = {
  /** A receive, delete, visibility change or reply failed; the server keeps going (with backoff). */
  error: (err: unknown, queueUrl?: string) => void;
};

/**
 * Nest microservice strategy that consumes SQS queues, on the shared brokered server: this
 * file is the SQS intake (long polls, a Lambda SQS trigger), the settle calls (delete, change
 * visibility) and the queue checks. Delete after success only (at-least-once), visibility
 * kept until settled, FIFO group order, request-reply through the reply queue each client names.
 */
export class SqsServer extends BrokeredServer<Message, SqsServerEvents> {
  override transportId = SQS_TRANSPORT;

  private readonly options: ResolvedServerOptions;
  private readonly sqs: SQSClient;
  private readonly ownsClient: boolean;
  private readonly ops: SqsOperations;
  private readonly keeper: VisibilityKeeper;
  private loops: PullLoop<Message>[] = [];
  private queues: QueueInfo[] = [];

  constructor(options: SqsServerOptions) {
    const resolved = resolveServerOptions(options);
    super({
      ...resolved,
      transport: 'SqsServer',
      messagingSystem: 'aws_sqs',
      codec: resolveCodec('SqsServer', resolved.codec),
      maxReplyBytes: resolved.maxMessageBytes,
    });
    this.options = resolved;
    ({ client: this.sqs, owned: this.ownsClient } = createSqsClient(resolved.sqs, resolved.pollers * resolved.queues.length));
    this.ops = new SqsOperations(this.sqs, { sendWindowMs: 0, settleWindowMs: resolved.batchWindowMs, retries: 3, maxBatchBytes: resolved.maxMessageBytes });
    this.keeper = new VisibilityKeeper(this.ops, this.logger, resolved.maxVisibilitySeconds);
  }

  /** The `SQSClient` the server uses. */
  unwrap<T = SQSClient>(): T {
    return this.sqs as T;
  }

  /** The queues being consumed, as resolved at `listen()`. */
  getQueues(): readonly QueueInfo[] {
    return this.queues;
  }

  /**
   * Serves an AWS Lambda SQS trigger with the same processing as the poll loop: call it after
   * `app.init()` (no `listen()`), with `ReportBatchItemFailures` enabled on the event source.
   * Lambda deletes the records not reported; a FIFO batch stops at its first failure.
   */
  async handleLambdaEvent(event: SqsLambdaEvent): Promise<SqsBatchResponse> {
    const records = event.Records ?? [];
    const failures: string[] = [];
    const done = async (record: SqsLambdaEvent['Records'][number]) => {
      const queue = this.queueOf(queueUrlFromArn(record.eventSourceARN));
      return (await this.process(this.inbound(toSqsMessage(record), queue))).action === 'ack';
    };
    if (records.some((r) => r.eventSourceARN?.endsWith('.fifo'))) {
      for (let i = 0; i < records.length; i++) {
        if (!(await done(records[i]))) {
          failures.push(...records.slice(i).map((r) => r.messageId));
          break;
        }
      }
    } else {
      const ok = await Promise.all(records.map(done)); // maxConcurrency at once
      records.forEach((r, i) => ok[i] || failures.push(r.messageId));
    }
    await this.ops.flush(); // replies are out before Lambda freezes the process
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  }

  /** Health details: each queue's backlog (visible, in flight, delayed), asked of SQS. */
  protected override async healthDetails(signal: AbortSignal): Promise<Record<string, unknown>> {
    const backlogs = await Promise.all(this.queues.map((q) => queueBacklog(this.sqs, 'SqsServer', q.url, signal)));
    return { queues: Object.fromEntries(this.queues.map((q, i) => [q.url, backlogs[i]])), backlog: backlogs.reduce((sum, b) => sum + b.visible, 0) };
  }

  // ---- intake ----

  protected async startIntake(): Promise<void> {
    this.ops.open();
    this.queues = await Promise.all(this.options.queues.map((q) => resolveQueue(this.sqs, 'SqsServer', q)));
    checkConnectionPool(this.sqs, 'SqsServer', this.queues[0].url, this.options.pollers, this.queues.length);
    for (const queue of this.queues) {
      for (let i = 0; i < this.options.pollers; i++) this.startLoop(queue);
    }
  }

  /**
   * Stops polling without aborting the open long polls: SQS hands the messages of an aborted poll to
   * nobody, and they stay invisible for their visibility timeout. What the last polls receive is
   * handed back at once (the server is closing). Waits at most until `closeTimeout`, then aborts.
   */
  protected async stopIntake(): Promise<void> {
    const loops = this.loops;
    this.loops = [];
    const finished = Promise.all(loops.map((loop) => loop.stop({ abort: false })));
    const inTime = await within(finished, this.options.closeTimeout, 'the last long polls').then(
      () => true,
      () => false,
    );
    if (!inTime) await Promise.all(loops.map((loop) => loop.stop()));
  }

  private startLoop(queue: QueueInfo): void {
    const { waitTimeSeconds, visibilityTimeout } = this.options;
    const loop = new PullLoop<Message>({
      slots: this.slots,
      batchSize: this.options.batchSize,
      receive: queueReceiver(this.sqs, queue.url, { waitTimeSeconds, visibilityTimeout, systemAttributeNames: this.systemAttributes(queue) }),
      onMessages: (messages) => {
        for (const message of messages) this.accept(this.inbound(message, queue), { holdsSlot: true });
      },
      onError: (err) => void this.reportPollError(queue, err),
      onHealthy: () => this._status$.next(TransportStatus.CONNECTED),
    });
    this.loops.push(loop);
    loop.start();
  }

  /** What `inbound()` reads, and what the user asked for: not 'All' by default (each costs parsing on every message). */
  private systemAttributes(queue: QueueInfo): MessageSystemAttributeName[] {
    const names = new Set<string>(['ApproximateReceiveCount', ...(queue.fifo ? ['MessageGroupId'] : []), ...(this.options.systemAttributes ?? [])]);
    return names.has('All') ? ['All'] : ([...names] as MessageSystemAttributeName[]);
  }

  private async reportPollError(queue: QueueInfo, err: unknown): Promise<void> {
    const error = await explain(this.sqs, 'SqsServer', queue.url, err);
    this._status$.next(TransportStatus.RECONNECTING);
    this.logger.error(`Receiving from ${queue.url} failed, retrying: ${error.message}`);
    this.emitError(error, queue.url);
  }

  private inbound(message: Message, queue: QueueInfo): Inbound<Message> {
    return {
      message,
      messageId: message.MessageId ?? '?',
      source: queue.url,
      body: bodyForCodec(this.settings.codec, message.Body ?? ''),
      attributes: stringAttributes(message.MessageAttributes),
      key: queue.fifo ? (message.Attributes?.MessageGroupId ?? '') : undefined,
      attempt: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
      defaultPattern: this.options.defaultPattern,
    };
  }

  protected override traceSource(inbound: Inbound<Message>): string {
    return inbound.source.slice(inbound.source.lastIndexOf('/') + 1);
  }

  private queueOf(url: string): QueueInfo {
    return this.queues.find((q) => q.url === url) ?? { url, fifo: url.endsWith('.fifo'), visibilityTimeout: 30 };
  }

  protected createContext(inbound: Inbound<Message>, route: string, metadata: PacketMetadata | undefined, settlement?: ManualSettlement): SqsContext {
    return new SqsContext([inbound.message, inbound.source, route, metadata, settlement]);
  }

  // ---- settle ----

  /** Every received message stays invisible until it is settled, waiting or running. */
  protected override lease(inbound: Inbound<Message>): (() => void) | undefined {
    if (!this.options.extendVisibility) return undefined;
    const visibility = this.options.visibilityTimeout ?? this.queueOf(inbound.source).visibilityTimeout;
    return this.keeper.keep(inbound.source, inbound.message.ReceiptHandle!, visibility);
  }

  protected ack(inbound: Inbound<Message>): Promise<void> {
    return this.ops.delete(inbound.source, inbound.message.ReceiptHandle!);
  }

  /** Visible again after `delaySeconds`; without one, when its visibility timeout runs out. */
  protected async retry(inbound: Inbound<Message>, delaySeconds: number | undefined): Promise<void> {
    if (delaySeconds !== undefined) await this.ops.changeVisibility(inbound.source, inbound.message.ReceiptHandle!, delaySeconds);
  }

  protected release(inbound: Inbound<Message>, reason: ReleaseReason): Promise<void> {
    // Behind a failed message of its FIFO group: it comes back with it, as late as it does.
    if (reason === 'order') return this.retry(inbound, this.retryDelay(inbound));
    return this.ops.changeVisibility(inbound.source, inbound.message.ReceiptHandle!, 0);
  }

  protected override describeRetry(_inbound: Inbound<Message>, delaySeconds: number | undefined): string {
    return delaySeconds === undefined
      ? 'it is visible again when its visibility timeout runs out'
      : `it is visible again in ${delaySeconds} s (retryDelaySeconds)`;
  }

  // ---- replies ----

  protected override encode(value: unknown): string {
    return encodeBody(this.settings.codec, value);
  }

  protected override replySize(reply: OutgoingReply): number {
    return messageSize(reply.body as string, replyAttributes(reply));
  }

  /**
   * Sends a reply. A reply queue that does not exist may be one created a moment ago that SQS does
   * not serve yet ("wait at least one second after the queue is created"): the send is retried for
   * about 6 s before the reply is dropped as one whose caller is gone (its client closed).
   */
  protected async sendReply(_inbound: Inbound<Message>, replyTo: string, reply: OutgoingReply): Promise<void> {
    const attributes = replyAttributes(reply);
    const message = { body: reply.body as string, attributes, size: reply.size ?? messageSize(reply.body as string, attributes) };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.ops.send(replyTo, message);
      } catch (err) {
        if (!isMissingQueue(err)) throw err;
        if (attempt >= NEW_QUEUE_RETRY_MS.length) break;
        await sleep(NEW_QUEUE_RETRY_MS[attempt]);
      }
    }
    this.logs.log('warn', `gone:${replyTo}`, () => `SqsServer: reply queue ${replyTo} does not exist; the reply to ${reply.id} is dropped.`);
  }

  protected override flush(): Promise<void> {
    return this.ops.flush();
  }

  /** After close (or a failed listen): nothing more reaches SQS, not even from a handler that outlived closeTimeout. */
  protected override async releaseResources(): Promise<void> {
    this.keeper.stopAll();
    this.ops.close('SqsServer');
    if (this.ownsClient) this.sqs.destroy();
  }
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * Replies of a request are numbered so the client restores their order (standard queues may
 * reorder). A reply that is both the first and the last (a plain or Promise result) needs no
 * order: it goes without attributes, the id being in the body.
 */
function replyAttributes(reply: OutgoingReply): Attributes {
  if (reply.seq === 0 && reply.final) return NO_ATTRIBUTES;
  return { [WireAttributes.ID]: str(reply.id), [WireAttributes.SEQ]: { DataType: 'Number', StringValue: String(reply.seq) } };
}
