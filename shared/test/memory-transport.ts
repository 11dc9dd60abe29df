import type { BaseRpcContext } from '@nestjs/microservices';
import { BaseRpcContext as Context } from '@nestjs/microservices';
import {
  BrokeredServer,
  type BrokeredServerSettings,
  deferred,
  type Inbound,
  type ManualSettlement,
  type OutgoingReply,
  type PacketMetadata,
  type ReleaseReason,
  JsonCodec,
  WireAttributes,
} from '../src/index.js';

/** A message of the in-memory broker the tests drive by hand. */
export interface MemoryMessage {
  id: string;
  body: string;
  attributes?: Record<string, string>;
  key?: string;
  attempt?: number;
  defaultPattern?: string;
}

export type Settled =
  | { id: string; how: 'ack' }
  | { id: string; how: 'retry'; delaySeconds?: number }
  | { id: string; how: 'release'; reason: ReleaseReason }
  | { id: string; how: 'dead-letter' };

export class MemoryContext extends Context<[MemoryMessage, string, PacketMetadata | undefined, ManualSettlement | undefined]> {
  getSettlement() {
    return this.args[3];
  }
}

/**
 * The smallest broker transport: an intake the test feeds (`deliver`), settle calls that record
 * what happened, and replies kept per destination. What a JetStream or Redis Streams transport
 * writes, without the broker.
 */
export class MemoryServer extends BrokeredServer<MemoryMessage> {
  readonly settled: Settled[] = [];
  readonly replies: Array<OutgoingReply & { to: string; decoded: unknown }> = [];
  failReplies = false;
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(settings: Partial<BrokeredServerSettings> = {}) {
    super({
      transport: 'MemoryServer',
      codec: new JsonCodec(),
      maxConcurrency: 10,
      closeTimeout: 5_000,
      manualAck: false,
      onMalformed: 'retain',
      maxReplyBytes: 10_000,
      ...settings,
    });
    // A transport that dead-letters itself (JetStream, Redis Streams) defines deadLetter().
    if (settings.maxDeliveries) {
      this.deadLetter = async (inbound: Inbound<MemoryMessage>) => this.record({ id: inbound.messageId, how: 'dead-letter' });
    }
  }

  deliver(message: MemoryMessage): void {
    this.accept({
      message,
      messageId: message.id,
      source: 'memory',
      body: message.body,
      attributes: message.attributes ?? {},
      key: message.key,
      attempt: message.attempt,
      defaultPattern: message.defaultPattern,
    });
  }

  /** An intake refusing a message it cannot hand on. */
  refuseNow(message: MemoryMessage, error: unknown): void {
    this.refuse({ message, messageId: message.id, source: 'memory', body: message.body, attributes: message.attributes ?? {} }, error);
  }

  /** Runs one message for a host that settles it itself. */
  processNow(message: MemoryMessage) {
    return this.process({ message, messageId: message.id, source: 'memory', body: message.body, attributes: message.attributes ?? {} });
  }

  /** Resolves once `count` messages are settled. */
  settledCount(count: number): Promise<Settled[]> {
    if (this.settled.length >= count) return Promise.resolve(this.settled);
    const done = deferred();
    this.waiters.push({ count, resolve: done.resolve });
    return done.promise.then(() => this.settled);
  }

  unwrap<T>(): T {
    return this as unknown as T;
  }

  protected async startIntake(): Promise<void> {}
  protected async stopIntake(): Promise<void> {}

  protected createContext(inbound: Inbound<MemoryMessage>, route: string, metadata: PacketMetadata | undefined, settlement?: ManualSettlement): BaseRpcContext {
    return new MemoryContext([inbound.message, route, metadata, settlement]);
  }

  protected async ack(inbound: Inbound<MemoryMessage>) {
    this.record({ id: inbound.messageId, how: 'ack' });
  }

  protected async retry(inbound: Inbound<MemoryMessage>, delaySeconds: number | undefined) {
    this.record({ id: inbound.messageId, how: 'retry', delaySeconds });
  }

  protected async release(inbound: Inbound<MemoryMessage>, reason: ReleaseReason) {
    this.record({ id: inbound.messageId, how: 'release', reason });
  }

  protected async sendReply(_inbound: Inbound<MemoryMessage>, to: string, reply: OutgoingReply) {
    if (this.failReplies) throw new Error('reply destination refused');
    this.replies.push({ ...reply, to, decoded: JSON.parse(String(reply.body)) });
  }

  private record(settled: Settled): void {
    this.settled.push(settled);
    for (const waiter of this.waiters.filter((w) => this.settled.length >= w.count)) waiter.resolve();
  }
}

export const event = (id: string, pattern: string, data: unknown, extra: Partial<MemoryMessage> = {}): MemoryMessage => ({
  id,
  body: JSON.stringify({ pattern, data }),
  attributes: { [WireAttributes.PATTERN]: pattern },
  ...extra,
});

export const request = (id: string, pattern: string, data: unknown, requestId: string | number = `r-${id}`): MemoryMessage => ({
  id,
  body: JSON.stringify({ pattern, data, id: requestId }),
  attributes: { [WireAttributes.PATTERN]: pattern, [WireAttributes.ID]: String(requestId), [WireAttributes.REPLY_TO]: 'replies' },
});
