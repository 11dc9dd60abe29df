/** Per-message Redis Streams options, set through `RedisStreamsRecordBuilder`. */
export interface RedisStreamsRecordOptions {
  /** Extra fields of the entry (string pairs); they reach the server's `RedisStreamsContext#getFields()`. `nest-*` and `body` are the transport's own. */
  fields?: Record<string, string>;
  /** The stream to add this entry to, instead of the client's `stream` option. */
  stream?: string;
}

/** Data plus Redis Streams options, sent with `client.send(pattern, record)` / `emit`. */
export class RedisStreamsRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    public options?: RedisStreamsRecordOptions,
  ) {}
}

export class RedisStreamsRecordBuilder<TData> {
  private options: RedisStreamsRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setFields(fields: Record<string, string>): this {
    this.options = { ...this.options, fields: { ...fields } };
    return this;
  }

  setStream(stream: string): this {
    this.options = { ...this.options, stream };
    return this;
  }

  setOptions(options: RedisStreamsRecordOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  build(): RedisStreamsRecord<TData> {
    return new RedisStreamsRecord(this.data as TData, this.options);
  }
}
