import type { PacketMetadata } from '@nest-transports/shared';

export interface WsRecordOptions {
  /** String pairs delivered to the handler as `WsContext#getMetadata()`. */
  metadata?: PacketMetadata;
  /** Timeout of this request in ms, overriding the client's `requestTimeout`. */
  timeout?: number;
}

/** Data plus per-message options, as `RmqRecord` is for RabbitMQ: `client.send('p', new WsRecord(data, { metadata }))`. */
export class WsRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    public options: WsRecordOptions = {},
  ) {}
}

export class WsRecordBuilder<TData> {
  private options: WsRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setMetadata(metadata: PacketMetadata): this {
    this.options = { ...this.options, metadata: { ...this.options.metadata, ...metadata } };
    return this;
  }

  setTimeout(ms: number): this {
    this.options = { ...this.options, timeout: ms };
    return this;
  }

  build(): WsRecord<TData> {
    return new WsRecord(this.data as TData, this.options);
  }
}
