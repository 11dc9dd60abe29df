import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { BaseRpcContext } from '@nestjs/microservices';
import { type ManualSettlement, type PacketMetadata, TransportError } from '@nest-transports/shared';
import { withoutReserved } from './wire.js';

/**
 * Settles a message by hand (`manualAck: true`): `ack()` deletes it; `nack(delaySeconds?)` leaves
 * it for redelivery, visible again after `delaySeconds` (default: the server's
 * `retryDelaySeconds`, else its visibility timeout).
 */
export type SqsSettlement = ManualSettlement;

type SqsContextArgs = [message: Message, queueUrl: string, pattern: string, metadata: PacketMetadata | undefined, settlement: SqsSettlement | undefined];

export class SqsContext extends BaseRpcContext<SqsContextArgs> {
  constructor(args: SqsContextArgs) {
    super(args);
  }

  /**
   * The message as `ReceiveMessage` returned it: body, receipt handle, message attributes, and the
   * system attributes `ApproximateReceiveCount` (and `MessageGroupId` on FIFO queues) plus those
   * named in the server option `systemAttributes` (`['All']` for every one).
   */
  getMessage(): Message {
    return this.args[0];
  }

  getQueueUrl(): string {
    return this.args[1];
  }

  /** The pattern the message was routed by (the default pattern for non-Nest messages). */
  getPattern(): string {
    return this.args[2];
  }

  /** Message attributes set by the producer (`SqsRecord`), without the transport's own `nest-*` ones. */
  getMessageAttributes(): Record<string, MessageAttributeValue> {
    return withoutReserved(this.args[0].MessageAttributes);
  }

  /** A message attribute's value: a string (String/Number types) or bytes (Binary). */
  getMessageAttribute(name: string): string | Uint8Array | undefined {
    const value = this.getMessageAttributes()[name];
    return value?.StringValue ?? value?.BinaryValue;
  }

  /** How many times SQS has delivered this message, this time included. */
  getReceiveCount(): number {
    return Number(this.args[0].Attributes?.ApproximateReceiveCount ?? 1);
  }

  /** FIFO queues: the message's group. */
  getMessageGroupId(): string | undefined {
    return this.args[0].Attributes?.MessageGroupId;
  }

  /** Packet metadata set by the client (Nest 12 `setOnDispatchHook`). */
  getMetadata(): PacketMetadata | undefined {
    return this.args[3];
  }

  /** Deletes the message now. Only with the server option `manualAck: true`. */
  ack(): Promise<void> {
    return this.settlement().ack();
  }

  /** Leaves the message for redelivery. Only with the server option `manualAck: true`. */
  nack(delaySeconds?: number): Promise<void> {
    return this.settlement().nack(delaySeconds);
  }

  private settlement(): SqsSettlement {
    const settlement = this.args[4];
    if (!settlement) {
      throw new TransportError(
        'MANUAL_ACK_DISABLED',
        'SqsContext: ack()/nack() need the server option manualAck: true; without it a message is deleted when its handler succeeds.',
      );
    }
    return settlement;
  }
}
