import type { LoggerService } from '@nestjs/common';
import type { ConsumerDeserializer, ConsumerSerializer, ReadPacket, Server, WritePacket } from '@nestjs/microservices';
import {
  type Codec,
  describeError,
  hasPattern,
  MalformedPacketError,
  MessageProcessor,
  type ProcessingOutcome,
  sanitizeMetadata,
} from '@nest-transports/shared';
import { PUBSUB_MAX_MESSAGE_BYTES, PubSubAttributes } from './constants.js';
import { type PubSubAckControl, PubSubContext, type PubSubInboundMessage } from './context.js';
import { GrpcStatus, grpcCode } from './errors.js';
import type { ReplyPublisher } from './replies.js';

/** Where a message came from, and how to route one without a pattern. */
export interface PubSubSource {
  /** Full subscription name. */
  subscription: string;
  defaultPattern: string;
}

export type PubSubOutcome = ProcessingOutcome | { action: 'ack' | 'nack'; reason: 'malformed'; error: unknown };

export interface PubSubProcessingDeps {
  server: Server;
  logger: LoggerService;
  codec: Codec;
  serializer: () => ConsumerSerializer;
  deserializer: () => ConsumerDeserializer;
  route: (pattern: unknown) => string;
  replies: ReplyPublisher;
  malformedMessages: 'ack' | 'nack';
}

/**
 * The processing half of the Pub/Sub server, apart from the intake (streaming pull, or a
 * push endpoint): decodes a message, routes it to its handlers, publishes the replies of a
 * request, and says whether the message may be acked.
 */
export class PubSubProcessing {
  private readonly processor: MessageProcessor;

  constructor(private readonly deps: PubSubProcessingDeps) {
    this.processor = new MessageProcessor(deps.server, { logger: deps.logger, route: (pattern) => String(pattern) });
  }

  async process<M extends PubSubInboundMessage>(message: M, source: PubSubSource, control?: PubSubAckControl): Promise<PubSubOutcome> {
    let packet: ReadPacket & { id?: unknown; metadata?: unknown };
    try {
      packet = await this.decode(message, source);
    } catch (error) {
      const action = this.deps.malformedMessages;
      this.deps.logger.error(
        `Malformed message ${message.id} on ${source.subscription} (${describeError(error).message}); ` +
          (action === 'nack' ? 'nacked: the dead-letter policy of the subscription takes it' : 'acked and dropped'),
      );
      return { action, reason: 'malformed', error };
    }
    const route = this.deps.route(packet.pattern);
    const context = new PubSubContext<M>([message, source.subscription, route, sanitizeMetadata(packet.metadata), control]);
    const replyTo = message.attributes?.[PubSubAttributes.REPLY_TO];
    const id = typeof packet.id === 'string' ? packet.id : undefined;
    const reply = replyTo && id ? this.replier(replyTo, id) : undefined;
    return this.processor.process({ pattern: route, data: packet.data, id }, context, reply);
  }

  private async decode(message: PubSubInboundMessage, source: PubSubSource): Promise<ReadPacket & { id?: unknown; metadata?: unknown }> {
    const attributes = message.attributes ?? {};
    const fromNest = PubSubAttributes.PATTERN in attributes || PubSubAttributes.ID in attributes;
    let value: unknown;
    try {
      value = this.deps.codec.decode(message.data);
    } catch (err) {
      if (fromNest) throw err;
      value = message.data; // a non-Nest publisher's body in another format: the handler gets the bytes
    }
    const packet: unknown = await this.deps.deserializer().deserialize(value, { channel: source.defaultPattern });
    if (!packet || typeof packet !== 'object') throw new MalformedPacketError('the deserializer returned no packet');
    return hasPattern(packet) ? packet : { data: undefined, ...(packet as object), pattern: source.defaultPattern };
  }

  private replier(replyTo: string, id: string) {
    let seq = 0;
    return async (packet: WritePacket & { id: string }) => {
      let body = this.encode(packet);
      if (body.byteLength > PUBSUB_MAX_MESSAGE_BYTES) {
        body = this.encode({
          id,
          err: { status: 'error', message: `The reply is ${body.byteLength} bytes, over Pub/Sub's limit of ${PUBSUB_MAX_MESSAGE_BYTES}.` },
          isDisposed: true,
        });
      }
      try {
        await this.deps.replies.publish(replyTo, body, { [PubSubAttributes.ID]: id, [PubSubAttributes.SEQ]: String(seq++) });
      } catch (err) {
        if (grpcCode(err) !== GrpcStatus.NOT_FOUND) throw err;
        // The client closed and deleted its reply topic: nobody waits for this reply.
        this.deps.logger.warn?.(`Reply to ${replyTo} dropped: the topic no longer exists (its client has closed)`);
      }
    };
  }

  private encode(packet: WritePacket & { id: string }): Buffer {
    const encoded = this.deps.codec.encode(this.deps.serializer().serialize(packet));
    return typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
  }
}
