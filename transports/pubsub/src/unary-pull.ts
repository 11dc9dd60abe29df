import type { PubSub, protos, v1 } from '@google-cloud/pubsub';
import { deferred } from '@nest-transports/shared';
import type { PubSubInboundMessage } from './context.js';
import { GrpcStatus, grpcCode } from './errors.js';

/** A message taken by a unary pull (`intake: 'pull'`): what `PubSubContext.getMessage()` returns then. */
export interface PulledMessage extends PubSubInboundMessage {
  /** The id that acknowledges this delivery of the message. */
  ackId: string;
  deliveryAttempt: number;
  publishTime?: Date;
}

/** Ack ids per acknowledge / modifyAckDeadline call (Pub/Sub's request size limit allows 2,500 comfortably). */
const MAX_IDS_PER_CALL = 2_500;

interface Batch {
  subscription: string;
  /** Undefined for an acknowledge, else the new ack deadline. */
  seconds?: number;
  ackIds: string[];
  done: ReturnType<typeof deferred<void>>;
  timer: NodeJS.Timeout;
}

/**
 * Unary pull, acknowledge and modifyAckDeadline on one `PubSub` client's SubscriberClient: a pull
 * asks for exactly as many messages as the caller can start, so servers sharing a subscription
 * share its backlog (the emulator gives a streaming pull a whole burst, whatever its flow control).
 * Acks and deadline changes of a short window go out in one call per subscription.
 */
export class UnaryPull {
  private readonly batches = new Map<string, Batch>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly windowMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Up to `max` messages; waits at most `waitMs` for the first one (Pub/Sub answers an empty pull
   * just before its deadline, so no message is handed to a pull nobody reads any more).
   */
  async pull(subscription: string, max: number, waitMs: number): Promise<PulledMessage[]> {
    const client = await this.client();
    try {
      const [response] = await client.pull({ subscription, maxMessages: max }, { timeout: waitMs, retry: null });
      return (response.receivedMessages ?? []).map(toPulledMessage);
    } catch (err) {
      if (grpcCode(err) === GrpcStatus.DEADLINE_EXCEEDED) return [];
      throw err;
    }
  }

  ack(subscription: string, ackId: string): Promise<void> {
    return this.add(subscription, undefined, [ackId]);
  }

  /** Pub/Sub redelivers the messages `seconds` from now, unless acked first (0: at once). */
  modifyAckDeadline(subscription: string, ackIds: string[], seconds: number): Promise<void> {
    return this.add(subscription, seconds, ackIds);
  }

  /** Sends what the window still holds. */
  async flush(): Promise<void> {
    await Promise.all([...this.batches.values()].map((batch) => this.send(batch)));
  }

  private add(subscription: string, seconds: number | undefined, ackIds: string[]): Promise<void> {
    const key = `${seconds ?? 'ack'} ${subscription}`;
    let batch = this.batches.get(key);
    if (!batch) {
      batch = { subscription, seconds, ackIds: [], done: deferred<void>(), timer: setTimeout(() => void this.send(batch!), this.windowMs) };
      this.batches.set(key, batch);
    }
    batch.ackIds.push(...ackIds);
    const { promise } = batch.done;
    if (batch.ackIds.length >= MAX_IDS_PER_CALL) void this.send(batch);
    return promise;
  }

  /** Sends one batch; its callers get the outcome (this never rejects). */
  private async send(batch: Batch): Promise<void> {
    const key = `${batch.seconds ?? 'ack'} ${batch.subscription}`;
    if (this.batches.get(key) !== batch) return;
    this.batches.delete(key);
    clearTimeout(batch.timer);
    try {
      const client = await this.client();
      const { subscription, seconds } = batch;
      const options = { timeout: this.timeoutMs };
      for (let i = 0; i < batch.ackIds.length; i += MAX_IDS_PER_CALL) {
        const ackIds = batch.ackIds.slice(i, i + MAX_IDS_PER_CALL);
        if (seconds === undefined) await client.acknowledge({ subscription, ackIds }, options);
        else await client.modifyAckDeadline({ subscription, ackIds, ackDeadlineSeconds: seconds }, options);
      }
      batch.done.resolve();
    } catch (err) {
      batch.done.reject(err);
    }
  }

  private client(): Promise<v1.SubscriberClient> {
    return this.pubsub.getClientAsync_({ client: 'SubscriberClient' }) as unknown as Promise<v1.SubscriberClient>;
  }
}

function toPulledMessage(received: protos.google.pubsub.v1.IReceivedMessage): PulledMessage {
  const message = received.message ?? {};
  const seconds = Number(message.publishTime?.seconds ?? 0);
  return {
    ackId: received.ackId ?? '',
    id: message.messageId ?? '',
    data: Buffer.from(message.data ?? []),
    attributes: message.attributes ?? {},
    orderingKey: message.orderingKey || undefined,
    deliveryAttempt: received.deliveryAttempt ?? 0,
    publishTime: seconds ? new Date(seconds * 1000 + Math.round((message.publishTime?.nanos ?? 0) / 1e6)) : undefined,
  };
}
