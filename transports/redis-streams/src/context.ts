import { BaseRpcContext } from '@nestjs/microservices';
import { type ManualSettlement, type PacketMetadata, TransportError } from '@nest-transports/shared';
import { RedisStreamsFields, type StreamEntry } from './wire.js';

/** Manual settlement, when the server runs with `manualAck: true`: `ack()`, `nack(delaySeconds?)`. */
export type RedisStreamsAckControl = ManualSettlement;

type RedisStreamsContextArgs = [
  entry: StreamEntry,
  pattern: string,
  metadata: PacketMetadata | undefined,
  control: RedisStreamsAckControl | undefined,
  group: string,
];

/** What `@Ctx()` gets from the Redis Streams transport: the stream entry of an event or a request. */
export class RedisStreamsContext extends BaseRpcContext<RedisStreamsContextArgs> {
  constructor(args: RedisStreamsContextArgs) {
    super(args);
  }

  /** The entry: stream, id, fields (the body aside), delivery attempt. */
  getEntry(): StreamEntry {
    return this.args[0];
  }

  getStream(): string {
    return this.args[0].stream;
  }

  /** The entry id (`<ms>-<seq>`). */
  getId(): string {
    return this.args[0].id;
  }

  /** The consumer group the entry was read through. */
  getGroup(): string {
    return this.args[4];
  }

  /** The entry's fields but the body (the transport's own `nest-*` ones included). */
  getFields(): Record<string, string> {
    return this.args[0].fields;
  }

  /** The route the entry was dispatched on. */
  getPattern(): string {
    return this.args[1];
  }

  /** Nest packet metadata (`ClientProxy#setOnDispatchHook`), if the sender attached some. */
  getMetadata(): PacketMetadata | undefined {
    return this.args[2];
  }

  /** True for a request (it names a reply stream); false for an event. */
  isRequest(): boolean {
    return this.args[0].fields[RedisStreamsFields.ID] !== undefined;
  }

  /** 1 on first delivery, counting up (the group's delivery counter). */
  getDeliveryAttempt(): number {
    return this.args[0].attempt;
  }

  /** Acknowledges the entry (only with `manualAck: true`). */
  ack(): Promise<void> {
    return this.control().ack();
  }

  /** Hands the entry back for redelivery, at once or after `delaySeconds` (only with `manualAck: true`). */
  nack(delaySeconds?: number): Promise<void> {
    return this.control().nack(delaySeconds);
  }

  private control(): RedisStreamsAckControl {
    const control = this.args[3];
    if (!control) {
      throw new TransportError(
        'MANUAL_ACK_DISABLED',
        'RedisStreamsContext: ack()/nack() need the server option manualAck: true; otherwise the transport settles each entry.',
      );
    }
    return control;
  }
}
