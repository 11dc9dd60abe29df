import type { JsMsg } from '@nats-io/jetstream';
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import { BaseRpcContext } from '@nestjs/microservices';
import { type ManualSettlement, type PacketMetadata, TransportError } from '@nest-transports/shared';
import { headerRecord } from './wire.js';

/** Manual settlement, when the server runs with `manualAck: true`: `ack()`, `nack(delaySeconds?)`. */
export type JetStreamAckControl = ManualSettlement;

type JetStreamContextArgs = [message: JsMsg | Msg, pattern: string, metadata: PacketMetadata | undefined, control: JetStreamAckControl | undefined];

const isJsMsg = (message: JsMsg | Msg): message is JsMsg => typeof (message as JsMsg).ack === 'function' && 'seq' in message;

/** What `@Ctx()` gets from the JetStream transport: an event from the stream, or a request over core NATS. */
export class JetStreamContext extends BaseRpcContext<JetStreamContextArgs> {
  constructor(args: JetStreamContextArgs) {
    super(args);
  }

  /** The raw message: a `JsMsg` for an event (from the stream), a core NATS `Msg` for a request. */
  getMessage(): JsMsg | Msg {
    return this.args[0];
  }

  /** The subject the message was published on. */
  getSubject(): string {
    return this.args[0].subject;
  }

  /** The route the message was dispatched on. */
  getPattern(): string {
    return this.args[1];
  }

  /** The NATS headers (the transport's own `nest-*` ones included). */
  getHeaders(): MsgHdrs | undefined {
    return this.args[0].headers;
  }

  /** The NATS headers as string pairs (the first value of each). */
  getHeaderRecord(): Record<string, string> {
    return headerRecord(this.args[0].headers);
  }

  /** Nest packet metadata (`ClientProxy#setOnDispatchHook`), if the sender attached some. */
  getMetadata(): PacketMetadata | undefined {
    return this.args[2];
  }

  /** True for an event taken from the stream; false for a request (core NATS). */
  isStreamMessage(): boolean {
    return isJsMsg(this.args[0]);
  }

  /** The stream an event came from; undefined for a request. */
  getStream(): string | undefined {
    const message = this.args[0];
    return isJsMsg(message) ? message.info.stream : undefined;
  }

  /** The stream sequence of an event; undefined for a request. */
  getSequence(): number | undefined {
    const message = this.args[0];
    return isJsMsg(message) ? message.seq : undefined;
  }

  /** 1 on first delivery, counting up; always 1 for a request. */
  getDeliveryAttempt(): number {
    const message = this.args[0];
    return isJsMsg(message) ? message.info.deliveryCount : 1;
  }

  /** Acknowledges the event (only with `manualAck: true`). */
  ack(): Promise<void> {
    return this.control().ack();
  }

  /** Hands the event back for redelivery, at once or after `delaySeconds` (only with `manualAck: true`). */
  nack(delaySeconds?: number): Promise<void> {
    return this.control().nack(delaySeconds);
  }

  private control(): JetStreamAckControl {
    const control = this.args[3];
    if (!control) {
      throw new TransportError(
        'MANUAL_ACK_DISABLED',
        'JetStreamContext: ack()/nack() need the server option manualAck: true; otherwise the transport settles each message.',
      );
    }
    return control;
  }
}
