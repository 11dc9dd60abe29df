/** Per-message JetStream options, set through `JetStreamRecordBuilder`. */
export interface JetStreamRecordOptions {
  /** NATS headers (string pairs); they reach the server's `JetStreamContext#getHeaders()`. `nest-*` names are the transport's own. */
  headers?: Record<string, string>;
  /** Events: the `Nats-Msg-Id` the stream de-duplicates on within its duplicate window (publish again safely after a timeout). */
  messageId?: string;
  /** Events: the subject to publish this one on, instead of the client's `subject` option. */
  subject?: string;
}

/** Data plus JetStream options, sent with `client.send(pattern, record)` / `emit`. */
export class JetStreamRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    public options?: JetStreamRecordOptions,
  ) {}
}

export class JetStreamRecordBuilder<TData> {
  private options: JetStreamRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setHeaders(headers: Record<string, string>): this {
    this.options = { ...this.options, headers: { ...headers } };
    return this;
  }

  setMessageId(messageId: string): this {
    this.options = { ...this.options, messageId };
    return this;
  }

  setSubject(subject: string): this {
    this.options = { ...this.options, subject };
    return this;
  }

  setOptions(options: JetStreamRecordOptions): this {
    this.options = { ...this.options, ...options };
    return this;
  }

  build(): JetStreamRecord<TData> {
    return new JetStreamRecord(this.data as TData, this.options);
  }
}

/** Splits a packet's data into the payload and the record options, if it is a record. */
export function unwrapRecord(data: unknown): { data: unknown; options?: JetStreamRecordOptions } {
  return data instanceof JetStreamRecord ? { data: data.data, options: data.options } : { data };
}
