interface Stream {
  next: number;
  held: Map<number, unknown>;
}

/**
 * Puts the replies of each request back in the order the server sent them (standard SQS
 * queues may reorder, and redeliver): a reply ahead of its turn waits, a repeat is dropped.
 */
export class ReplySequencer {
  private readonly streams = new Map<string, Stream>();

  get size(): number {
    return this.streams.size;
  }

  /** Returns the replies now deliverable, in order. `seq` undefined: deliver as is. */
  accept(id: string, seq: number | undefined, reply: unknown): unknown[] {
    if (seq === undefined || !Number.isInteger(seq)) return [reply];
    let stream = this.streams.get(id);
    if (!stream) this.streams.set(id, (stream = { next: 0, held: new Map() }));
    if (seq < stream.next || stream.held.has(seq)) return [];
    stream.held.set(seq, reply);
    const ready: unknown[] = [];
    while (stream.held.has(stream.next)) {
      ready.push(stream.held.get(stream.next));
      stream.held.delete(stream.next++);
    }
    return ready;
  }

  /** Forgets a request (answered, timed out or unsubscribed). */
  forget(id: string): void {
    this.streams.delete(id);
  }
}
