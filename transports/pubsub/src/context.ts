import { BaseRpcContext } from '@nestjs/microservices';
import { type ManualSettlement, type PacketMetadata, TransportError } from '@nest-transports/shared';

/** What the transport needs of a message, from streaming pull (`Message`) or a push request. */
export interface PubSubInboundMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
  /** Set by Pub/Sub only when the subscription has a dead-letter policy; else 0. */
  deliveryAttempt?: number;
  publishTime?: Date;
}

/** Manual settlement, when the server runs with `manualAck: true`: `ack()`, `nack(delaySeconds?)`. */
export type PubSubAckControl = ManualSettlement;

type PubSubContextArgs<M> = [message: M, subscription: string, pattern: string, metadata: PacketMetadata | undefined, control: PubSubAckControl | undefined];

/** What `@Ctx()` gets from the Pub/Sub transport. */
export class PubSubContext<M extends PubSubInboundMessage = PubSubInboundMessage> extends BaseRpcContext<PubSubContextArgs<M>> {
  constructor(args: PubSubContextArgs<M>) {
    super(args);
  }

  /** The raw message: a `Message` from @google-cloud/pubsub under streaming pull, a `PulledMessage` with `intake: "pull"`. */
  getMessage(): M {
    return this.args[0];
  }

  /** Full name of the subscription the message came from. */
  getSubscription(): string {
    return this.args[1];
  }

  /** The route the message was dispatched on. */
  getPattern(): string {
    return this.args[2];
  }

  getAttributes(): Record<string, string> {
    return this.args[0].attributes ?? {};
  }

  /** 1 on first delivery, counting up; 0 when the subscription has no dead-letter policy (Pub/Sub only counts then). */
  getDeliveryAttempt(): number {
    return this.args[0].deliveryAttempt ?? 0;
  }

  getOrderingKey(): string | undefined {
    return this.args[0].orderingKey || undefined;
  }

  /** Nest packet metadata (`ClientProxy#setOnDispatchHook`), if the sender attached some. */
  getMetadata(): PacketMetadata | undefined {
    return this.args[3];
  }

  /** Acknowledges the message (only with `manualAck: true`); awaits the result on exactly-once subscriptions. */
  ack(): Promise<void> {
    return this.control().ack();
  }

  /** Nacks the message for redelivery, at once or after `delaySeconds` (only with `manualAck: true`). */
  nack(delaySeconds?: number): Promise<void> {
    return this.control().nack(delaySeconds);
  }

  private control(): PubSubAckControl {
    const control = this.args[4];
    if (!control) {
      throw new TransportError(
        'MANUAL_ACK_DISABLED',
        'PubSubContext: ack()/nack() need the server option manualAck: true; otherwise the transport settles each message.',
      );
    }
    return control;
  }
}
