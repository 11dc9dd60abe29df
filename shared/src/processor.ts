import type { LoggerService } from '@nestjs/common';
import type { ReadPacket, Server, WritePacket } from '@nestjs/microservices';
import { runEventHandler, toObservable } from './handlers.js';
import { messageOf } from './errors.js';
import { NO_MESSAGE_HANDLER } from './packets.js';
import { replyWithStream } from './reply-stream.js';

/** What a brokered transport should do with the message it took from its backend. */
export type ProcessingOutcome = { action: 'ack'; reason: 'handled' | 'replied' | 'no-handler' } | { action: 'nack'; error: unknown };

export interface InboundPacket extends ReadPacket {
  id?: string;
}

export interface ProcessorHooks {
  logger: LoggerService;
  /** Route string of a packet's pattern (the server's `getRouteFromPattern`/normalisation). */
  route(pattern: unknown): string;
}

/**
 * The processing half of a brokered transport, kept apart from its intake (a poll loop, a
 * streaming pull, a Lambda batch, a push endpoint): decode is done, this routes the
 * packet to its handlers, replies, and says whether the message may be acknowledged.
 *
 * - request: every value of the handler's stream is replied through `reply`; the message
 *   is acked once the replies are published (a handler error is a reply too: the caller
 *   has its answer). A failed publish is a nack, so the request comes back.
 * - event: acked only when every handler for the pattern succeeded; a failure is a nack.
 * - no handler: a request is answered with Nest's "no matching message handler" error; an
 *   event is logged and acked, since no redelivery could ever find a handler.
 */
export class MessageProcessor {
  constructor(
    private readonly server: Server,
    private readonly hooks: ProcessorHooks,
  ) {}

  async process(packet: InboundPacket, context: unknown, reply?: (packet: WritePacket & { id: string }) => Promise<void>): Promise<ProcessingOutcome> {
    const route = this.hooks.route(packet.pattern);
    const handler = this.server.getHandlerByPattern(route);
    const isRequest = typeof packet.id === 'string' && reply !== undefined;

    if (!isRequest) {
      if (!handler) {
        this.hooks.logger.error(`There is no matching event handler defined in the remote service. Event pattern: ${route}`);
        return { action: 'ack', reason: 'no-handler' };
      }
      try {
        await runEventHandler(this.server, handler, packet.data, context);
        return { action: 'ack', reason: 'handled' };
      } catch (error) {
        this.hooks.logger.error(`Event handler for "${route}" failed; the message is left for redelivery`, describe(error));
        return { action: 'nack', error };
      }
    }

    const id = packet.id!;
    try {
      if (!handler) {
        await reply({ id, status: 'error', err: NO_MESSAGE_HANDLER, isDisposed: true });
        return { action: 'ack', reason: 'no-handler' };
      }
      const stream$ = toObservable(await handler(packet.data, context));
      await replyWithStream(stream$, (p) => reply({ ...p, id }));
      return { action: 'ack', reason: 'replied' };
    } catch (error) {
      this.hooks.logger.error(`Could not reply to "${route}"; the request is left for redelivery`, describe(error));
      return { action: 'nack', error };
    }
  }
}

const describe = (err: unknown) => messageOf(err) ?? JSON.stringify(err);
