/** A payload with headers: `client.send(pattern, new MemoryRecordBuilder(data).setHeaders({ ... }).build())`. */
export class MemoryRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    readonly headers: Record<string, string> = {},
  ) {}
}

export class MemoryRecordBuilder<TData = unknown> {
  private headers: Record<string, string> = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setHeaders(headers: Record<string, string>): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }

  build(): MemoryRecord<TData> {
    return new MemoryRecord(this.data as TData, this.headers);
  }
}
