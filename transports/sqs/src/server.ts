import { EventEmitter } from 'node:events';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { resolveCodec, TransportStatus, type Codec, RouteMemo } from '@nest-transports/shared';
import type { SqsSettlement } from './context.js';
import { queueUrlFromArn, toSqsMessage, type SqsBatchResponse, type SqsLambdaEvent } from './lambda.js';
import { SqsMessageHandler, type SqsOutcome } from './message-handler.js';
import { SqsOperations } from './operations.js';
import { resolveServerOptions, type ResolvedServerOptions, type SqsServerOptions } from './options.js';
import { QueuePoller } from './poller.js';
import { Slots } from './slots.js';
import { checkConnectionPool, createSqsClient, explain, resolveQueue, type QueueInfo } from './sqs-api.js';
import { VisibilityKeeper } from './visibility.js';

/** Identifies the SQS transport (hybrid apps: `@MessagePattern('x', SQS_TRANSPORT)`). */
export const SQS_TRANSPORT = Symbol('SQS_TRANSPORT');

export type SqsServerEvents = {
  /** A receive, delete or visibility call failed; the server keeps going (with backoff). */
  error: (err: unknown) => void;
};

/**
 * Nest microservice strategy that consumes SQS queues: long polling, bounded concurrency,
 * delete after success only (at-least-once), visibility extension, FIFO group order, and
 * request-reply through the reply queue each client names.
 */
export class SqsServer extends Server<SqsServerEvents, TransportStatus> implements CustomTransportStrategy {
  private readonly routes = new RouteMemo(
    (pattern) => super.getRouteFromPattern(pattern),
    (route) => this.messageHandlers.has(route),
  );
  override transportId = SQS_TRANSPORT;
  override readonly propagatesEventHandlerErrors = true;

  private readonly options: ResolvedServerOptions;
  private readonly codec: Codec;
  private readonly sqs: SQSClient;
  private readonly ownsClient: boolean;
  private readonly ops: SqsOperations;
  private readonly slots: Slots;
  private readonly keeper: VisibilityKeeper;
  private readonly emitter = new EventEmitter();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopKeeping = new Map<string, () => void>();
  private readonly messageHandler: SqsMessageHandler;
  private pollers: QueuePoller[] = [];
  private queues: QueueInfo[] = [];
  private closing?: Promise<void>;

  constructor(options: SqsServerOptions) {
    super();
    this.options = resolveServerOptions(options);
    this.codec = resolveCodec('SqsServer', this.options.codec);
    ({ client: this.sqs, owned: this.ownsClient } = createSqsClient(this.options.sqs, this.options.pollers * this.options.queues.length));
    this.initializeSerializer(this.options);
    this.initializeDeserializer(this.options);
    this.ops = new SqsOperations(this.sqs, {
      sendWindowMs: 0,
      settleWindowMs: this.options.batchWindowMs,
      retries: 3,
      maxBatchBytes: this.options.maxMessageBytes,
    });
    this.slots = new Slots(this.options.maxConcurrency);
    this.keeper = new VisibilityKeeper(this.ops, this.logger, this.options.maxVisibilitySeconds);
    this.emitter.on('error', () => undefined); // an 'error' nobody listens to must not throw
    this.messageHandler = this.createMessageHandler();
  }

  protected override getRouteFromPattern(pattern: string): string {
    return this.routes.route(pattern);
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      this.queues = await Promise.all(this.options.queues.map((q) => resolveQueue(this.sqs, 'SqsServer', q)));
      checkConnectionPool(this.sqs, 'SqsServer', this.queues[0].url, this.options.pollers, this.queues.length);
    } catch (err) {
      this._status$.next(TransportStatus.DISCONNECTED);
      return callback(err);
    }
    for (const queue of this.queues) {
      for (let i = 0; i < this.options.pollers; i++) this.startPoller(queue);
    }
    this._status$.next(TransportStatus.CONNECTED);
    callback();
  }

  /** Stops polling, lets in-flight handlers finish, then flushes deletes and replies. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  on<K extends keyof SqsServerEvents>(event: K, callback: SqsServerEvents[K]): void {
    this.emitter.on(event, callback);
  }

  /** The `SQSClient` the server uses. */
  unwrap<T = SQSClient>(): T {
    return this.sqs as T;
  }

  /** The queues being consumed, as resolved at `listen()`. */
  getQueues(): readonly QueueInfo[] {
    return this.queues;
  }

  /** The processing half, for hosts other than the poll loop (a Lambda SQS trigger). */
  getMessageHandler(): SqsMessageHandler {
    return this.messageHandler;
  }

  /**
   * Serves an AWS Lambda SQS trigger with the same processing as the poll loop: call it after
   * `app.init()` (no `listen()`), with `ReportBatchItemFailures` enabled on the event source.
   * Lambda deletes the records not reported; a FIFO batch stops at its first failure.
   */
  async handleLambdaEvent(event: SqsLambdaEvent): Promise<SqsBatchResponse> {
    const failures: string[] = [];
    const records = event.Records ?? [];
    const fifo = records.some((r) => r.eventSourceARN?.endsWith('.fifo'));
    const run = async (record: SqsLambdaEvent['Records'][number]): Promise<boolean> => {
      const outcome = await this.messageHandler
        .handle(toSqsMessage(record), queueUrlFromArn(record.eventSourceARN))
        .catch((error): SqsOutcome => ({ action: 'nack', error }));
      if (outcome.action === 'malformed') return this.options.onMalformed === 'delete';
      return outcome.action === 'ack';
    };
    if (fifo) {
      for (let i = 0; i < records.length; i++) {
        if (!(await run(records[i]))) {
          failures.push(...records.slice(i).map((r) => r.messageId));
          break;
        }
      }
    } else {
      for (let i = 0; i < records.length; i += this.options.maxConcurrency) {
        const chunk = records.slice(i, i + this.options.maxConcurrency);
        const ok = await Promise.all(chunk.map(run));
        chunk.forEach((r, j) => ok[j] || failures.push(r.messageId));
      }
    }
    await this.ops.flush(); // replies are out before Lambda freezes the process
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  }

  private createMessageHandler(): SqsMessageHandler {
    return new SqsMessageHandler({
      server: this as unknown as Server,
      logger: this.logger,
      route: (pattern) => this.getRouteFromPattern(typeof pattern === 'string' ? pattern : this.getPatternAsString(pattern)),
      codec: this.codec,
      serializer: this.serializer,
      deserializer: this.deserializer,
      maxMessageBytes: this.options.maxMessageBytes,
      defaultPattern: this.options.defaultPattern,
      sendReply: (queueUrl, message) => this.ops.send(queueUrl, message),
      settlement: this.options.manualAck ? (message, queueUrl) => this.manualSettlement(message, queueUrl) : undefined,
    });
  }

  private startPoller(queue: QueueInfo): void {
    const poller = new QueuePoller(
      this.sqs,
      queue.url,
      { batchSize: this.options.batchSize, waitTimeSeconds: this.options.waitTimeSeconds, visibilityTimeout: this.options.visibilityTimeout },
      this.slots,
      {
        messages: (messages) => this.dispatch(queue, messages),
        error: (err) => void this.reportPollError(queue, err),
        healthy: () => this._status$.next(TransportStatus.CONNECTED),
      },
    );
    this.pollers.push(poller);
    poller.start();
  }

  private async reportPollError(queue: QueueInfo, err: unknown): Promise<void> {
    const error = await explain(this.sqs, 'SqsServer', queue.url, err);
    this._status$.next(TransportStatus.RECONNECTING);
    this.logger.error(`Receiving from ${queue.url} failed, retrying: ${error.message}`);
    this.emitter.emit('error', error);
  }

  /** Runs a received batch: messages of one FIFO group one after another, everything else side by side. */
  private dispatch(queue: QueueInfo, messages: Message[]): void {
    const groups = new Map<string, Message[]>();
    for (const message of messages) {
      const key = queue.fifo ? (message.Attributes?.MessageGroupId ?? '') : message.MessageId!;
      const group = groups.get(key);
      if (group) group.push(message);
      else groups.set(key, [message]);
    }
    for (const group of groups.values()) {
      const run = this.runGroup(queue, group).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
  }

  private async runGroup(queue: QueueInfo, messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i++) {
      const outcome = await this.consume(queue, messages[i]);
      if (queue.fifo && outcome.action !== 'ack' && !this.options.manualAck) {
        // Later messages of the group must not overtake the failed one: they come back with it.
        const rest = messages.slice(i + 1);
        for (const message of rest) this.retryLater(queue, message);
        this.slots.release(rest.length);
        return;
      }
    }
  }

  private async consume(queue: QueueInfo, message: Message): Promise<SqsOutcome> {
    const handle = message.ReceiptHandle!;
    const visibility = this.options.visibilityTimeout ?? queue.visibilityTimeout;
    const stop = this.options.extendVisibility ? this.keeper.keep(queue.url, handle, visibility) : () => undefined;
    this.stopKeeping.set(handle, stop);
    let outcome: SqsOutcome;
    try {
      outcome = await this.messageHandler.handle(message, queue.url);
    } catch (error) {
      outcome = { action: 'nack', error };
    } finally {
      stop();
      this.stopKeeping.delete(handle);
      this.slots.release(1);
    }
    this.settle(queue, message, outcome);
    return outcome;
  }

  private settle(queue: QueueInfo, message: Message, outcome: SqsOutcome): void {
    if (outcome.action === 'malformed') {
      const keep = this.options.onMalformed === 'retain';
      this.logger.error(
        `Message ${message.MessageId} on ${queue.url} is malformed (${(outcome.error as Error)?.message}); ` +
          (keep ? 'it is left for redelivery and the dead-letter queue.' : 'it is deleted (onMalformed: "delete").'),
      );
      return keep ? this.retryLater(queue, message) : this.delete(queue, message);
    }
    if (this.options.manualAck) return;
    if (outcome.action === 'ack') this.delete(queue, message);
    else this.retryLater(queue, message);
  }

  private delete(queue: QueueInfo, message: Message): void {
    this.ops.delete(queue.url, message.ReceiptHandle!).catch((err) => this.settleFailed('delete', message, err));
  }

  private retryLater(queue: QueueInfo, message: Message, seconds = this.retryDelay(message)): void {
    if (seconds === undefined) return;
    this.ops.changeVisibility(queue.url, message.ReceiptHandle!, seconds).catch((err) => this.settleFailed('release', message, err));
  }

  private retryDelay(message: Message): number | undefined {
    const delay = this.options.retryDelaySeconds;
    if (typeof delay !== 'function') return delay;
    const seconds = delay(Number(message.Attributes?.ApproximateReceiveCount ?? 1));
    return Math.max(0, Math.min(43_200, Math.round(seconds)));
  }

  private settleFailed(what: string, message: Message, err: unknown): void {
    this.logger.error(`Could not ${what} message ${message.MessageId}: ${(err as Error)?.message ?? err}`);
    this.emitter.emit('error', err);
  }

  private manualSettlement(message: Message, queueUrl: string): SqsSettlement {
    const queue = this.queues.find((q) => q.url === queueUrl) ?? { url: queueUrl, fifo: false, visibilityTimeout: 30 };
    const handle = message.ReceiptHandle!;
    return {
      ack: () => {
        this.stopKeeping.get(handle)?.();
        return this.ops.delete(queue.url, handle);
      },
      nack: async (delaySeconds) => {
        this.stopKeeping.get(handle)?.();
        const seconds = delaySeconds ?? this.retryDelay(message);
        if (seconds !== undefined) await this.ops.changeVisibility(queue.url, handle, seconds);
      },
    };
  }

  private async shutdown(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
    this.pollers = [];
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.ops.flush();
    if (this.ownsClient) this.sqs.destroy();
    this._status$.next(TransportStatus.DISCONNECTED);
  }
}
