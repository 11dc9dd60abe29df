import { randomUUID } from 'node:crypto';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { MemoryBroker } from './broker';
import { CLIENT_DEFAULTS, type MemoryClientOptions, nonEmptyString, positiveInteger } from './options';
import { MemoryRecord } from './record';
import { decode, encode } from './wire';

export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
}

/** The client: `ClientsModule.register([{ name: 'ORDERS', customClass: MemoryClient, options: { queue } }])`. */
export class MemoryClient extends ClientProxy {
  private readonly options: Required<Omit<MemoryClientOptions, 'serializer' | 'deserializer'>>;
  private broker: MemoryBroker | null = null;
  private replyQueue: string | null = null;
  private stopReplies: (() => void) | null = null;
  private connecting: Promise<MemoryBroker> | null = null;

  constructor(options: MemoryClientOptions = {}) {
    super();
    const merged = { ...CLIENT_DEFAULTS, ...options };
    this.options = {
      broker: nonEmptyString('broker', merged.broker),
      queue: nonEmptyString('queue', merged.queue),
      maxMessageBytes: positiveInteger('maxMessageBytes', merged.maxMessageBytes),
    };
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
  }

  /** Finds the broker and opens this client's reply queue; cached until close(). */
  connect(): Promise<MemoryBroker> {
    if (this.connecting) return this.connecting;
    this.connecting = Promise.resolve().then(() => {
      const broker = MemoryBroker.get(this.options.broker);
      this.replyQueue = `${this.options.queue}.reply.${randomUUID()}`;
      this.stopReplies = broker.consume(this.replyQueue, { capacity: Number.POSITIVE_INFINITY, deliver: (body) => this.onReply(body) });
      this.broker = broker;
      this._status$.next('connected');
      return broker;
    });
    this.connecting.catch(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.stopReplies?.();
    if (this.replyQueue) this.broker?.deleteQueue(this.replyQueue);
    this.broker = this.replyQueue = this.stopReplies = this.connecting = null;
    this._status$.next('disconnected');
  }

  unwrap<T>(): T {
    if (!this.broker) throw new Error('MemoryClient is not connected');
    return this.broker as T;
  }

  /** An in-process broker has no connection events to listen to. */
  override on(): void {}

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const id = randomUUID();
    this.routingMap.set(id, callback);
    this.connect()
      .then((broker) => broker.publish(this.options.queue, this.encode({ ...packet, id }, this.replyQueue ?? undefined)))
      .catch((err) => {
        this.routingMap.delete(id);
        callback({ err, isDisposed: true });
      });
    return () => this.routingMap.delete(id);
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const broker = await this.connect();
    broker.publish(this.options.queue, this.encode(packet));
    return undefined as T;
  }

  private encode(packet: ReadPacket & { id?: string }, replyTo?: string): string {
    const record = packet.data instanceof MemoryRecord ? packet.data : undefined;
    const serialized = this.serializer.serialize(record ? { ...packet, data: record.data } : packet);
    const body = encode({ packet: serialized, replyTo, headers: record?.headers });
    const bytes = Buffer.byteLength(body);
    if (bytes > this.options.maxMessageBytes)
      throw new PayloadTooLargeError(`the message is ${bytes} bytes, over the limit of ${this.options.maxMessageBytes} bytes (maxMessageBytes)`);
    return body;
  }

  private async onReply(body: string): Promise<'ack'> {
    const reply = (await this.deserializer.deserialize(decode(body).packet)) as WritePacket & { id: string };
    const callback = this.routingMap.get(reply.id);
    if (!callback) return 'ack'; // the caller unsubscribed: the late reply is dropped
    if (reply.isDisposed || reply.err) this.routingMap.delete(reply.id);
    callback(reply);
    return 'ack';
  }
}
