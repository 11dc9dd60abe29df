/** Per-message Pub/Sub options, set through `PubSubRecordBuilder`. */
export interface PubSubRecordOptions {
  /** Message attributes (string pairs); they reach the server's `PubSubContext#getAttributes()`. */
  attributes?: Record<string, string>;
  /** Messages with the same key are delivered, and handled, in publish order (the subscription needs `enableMessageOrdering`). */
  orderingKey?: string;
}

/** Data plus Pub/Sub options, sent with `client.send(pattern, record)` / `emit`. */
export class PubSubRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    public options?: PubSubRecordOptions,
  ) {}
}

export class PubSubRecordBuilder<TData> {
  private options: PubSubRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setAttributes(attributes: Record<string, string>): this {
    this.options = { ...this.options, attributes: { ...attributes } };
    return this;
  }

  setOrderingKey(orderingKey: string): this {
    this.options = { ...this.options, orderingKey };
    return this;
  }

  setOptions(options: PubSubRecordOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  build(): PubSubRecord<TData> {
    return new PubSubRecord(this.data as TData, this.options);
  }
}

/** Splits a packet's data into the payload and the record options, if it is a record. */
export function unwrapRecord(data: unknown): { data: unknown; options?: PubSubRecordOptions } {
  return data instanceof PubSubRecord ? { data: data.data, options: data.options } : { data };
}
