import type { Message } from '@aws-sdk/client-sqs';
import type { LoggerService } from '@nestjs/common';
import type { ConsumerDeserializer, ConsumerSerializer, Server, WritePacket } from '@nestjs/microservices';
import {
  hasPattern,
  MalformedPacketError,
  MessageProcessor,
  sanitizeMetadata,
  type Codec,
  type InboundPacket,
  type ProcessingOutcome,
} from '@nest-transports/shared';
import { SqsContext, type SqsSettlement } from './context.js';
import type { OutgoingMessage } from './operations.js';
import { Attr, decodeBody, encodeBody, messageSize, readAttr, str, type Attributes } from './wire.js';

/** What to do with a message: Nest's processing outcome, or "malformed" when its body is no packet. */
export type SqsOutcome = ProcessingOutcome | { action: 'malformed'; error: unknown };

export interface SqsMessageHandlerDeps {
  server: Server;
  logger: LoggerService;
  /** The server's route for a pattern (object patterns normalised). */
  route(pattern: unknown): string;
  codec: Codec;
  serializer: ConsumerSerializer;
  deserializer: ConsumerDeserializer;
  maxMessageBytes: number;
  defaultPattern?: string;
  sendReply(queueUrl: string, message: OutgoingMessage): Promise<void>;
  /** With manual acknowledgement: the ack/nack a handler's context offers. */
  settlement?(message: Message, queueUrl: string): SqsSettlement;
}

/**
 * The processing half of the SQS transport, free of any intake: given one SQS message it
 * decodes the packet, runs the handlers, sends replies, and says whether the message may
 * be deleted. The server's poll loop uses it, and so can a Lambda SQS trigger.
 */
export class SqsMessageHandler {
  private readonly processor: MessageProcessor;

  constructor(private readonly deps: SqsMessageHandlerDeps) {
    this.processor = new MessageProcessor(deps.server, { logger: deps.logger, route: deps.route });
  }

  async handle(message: Message, queueUrl: string): Promise<SqsOutcome> {
    let packet: InboundPacket & { metadata?: unknown };
    try {
      packet = await this.decode(message);
    } catch (error) {
      return { action: 'malformed', error };
    }
    const route = this.deps.route(packet.pattern);
    const settlement = this.deps.settlement?.(message, queueUrl);
    const context = new SqsContext([message, queueUrl, route, sanitizeMetadata(packet.metadata), settlement]);
    const replyTo = readAttr(message.MessageAttributes, Attr.REPLY_TO);
    const reply = replyTo && typeof packet.id === 'string' ? this.replier(replyTo, packet.id) : undefined;
    return this.processor.process(packet, context, reply);
  }

  private async decode(message: Message): Promise<InboundPacket & { metadata?: unknown }> {
    const body = message.Body ?? '';
    const fallback = this.deps.defaultPattern;
    let decoded: unknown;
    try {
      decoded = decodeBody(this.deps.codec, body);
    } catch (err) {
      if (fallback === undefined) throw err;
      return { pattern: fallback, data: body };
    }
    const packet = (await this.deps.deserializer.deserialize(decoded, { channel: fallback })) as InboundPacket;
    if (!hasPattern(packet)) {
      throw new MalformedPacketError('the body is not a Nest packet (set the server option defaultPattern to route messages from other producers)');
    }
    if (packet.id !== undefined && typeof packet.id !== 'string') throw new MalformedPacketError('the packet id is not a string');
    return packet;
  }

  /**
   * Replies of one request, numbered so the client restores their order (standard queues may
   * reorder). A reply that is both the first and the last (a plain or Promise result) needs no
   * order: it goes without attributes, the id being in the body, which spares SQS and both ends
   * the attribute work on the most common reply.
   */
  private replier(replyTo: string, id: string) {
    let seq = 0;
    return async (packet: WritePacket & { id: string }): Promise<void> => {
      const only = seq === 0 && Boolean(packet.isDisposed);
      const attributes: Attributes = only ? {} : { [Attr.ID]: str(id), [Attr.SEQ]: { DataType: 'Number', StringValue: String(seq) } };
      seq++;
      let body = encodeBody(this.deps.codec, this.deps.serializer.serialize(packet));
      let size = messageSize(body, attributes);
      if (size > this.deps.maxMessageBytes) {
        const err = { status: 'error', message: `The reply is ${size} bytes, over the limit of ${this.deps.maxMessageBytes} bytes.` };
        this.deps.logger.error(`SqsServer: ${err.message} The caller gets an error instead.`);
        body = encodeBody(this.deps.codec, this.deps.serializer.serialize({ id, err, isDisposed: true }));
        size = messageSize(body, attributes);
      }
      try {
        await this.deps.sendReply(replyTo, { body, attributes, size });
      } catch (err) {
        // The caller is gone (its client closed and removed its reply queue): retrying could never deliver.
        if (!isMissingQueue(err)) throw err;
        this.deps.logger.warn?.(`SqsServer: reply queue ${replyTo} no longer exists; the reply to ${id} is dropped.`);
      }
    };
  }
}

const isMissingQueue = (err: unknown) => /QueueDoesNotExist|NonExistentQueue/.test((err as Error)?.name ?? '');
