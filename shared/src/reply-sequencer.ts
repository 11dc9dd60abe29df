/**
 * Puts numbered replies back in order. Brokers without ordering (SQS standard queues,
 * Pub/Sub without ordering keys) may deliver a streamed response's replies out of order, or
 * twice; the server numbers them (0, 1, 2…) per request and the client releases each reply
 * only when every earlier one has been released, dropping repeats. A key's state goes away
 * with its final reply, or with `forget()`.
 */
export class ReplySequencer<T> {
  private readonly streams = new Map<string, { next: number; held: Map<number, { item: T; final: boolean }> }>();

  /** Keys with replies held back, waiting for an earlier one. */
  get waiting(): number {
    return this.streams.size;
  }

  /** Returns the replies now deliverable, in order (possibly none). `seq` undefined: deliver as is. */
  accept(key: string, seq: number | undefined, item: T, final = false): T[] {
    if (seq === undefined || !Number.isInteger(seq)) return [item];
    let stream = this.streams.get(key);
    if (!stream) {
      if (seq === 0 && final) return [item];
      stream = { next: 0, held: new Map() };
      this.streams.set(key, stream);
    }
    if (seq < stream.next || stream.held.has(seq)) return []; // a duplicate delivery
    stream.held.set(seq, { item, final });
    const ready: T[] = [];
    for (let entry = stream.held.get(stream.next); entry; entry = stream.held.get(stream.next)) {
      stream.held.delete(stream.next++);
      ready.push(entry.item);
      if (entry.final) {
        this.streams.delete(key);
        break;
      }
    }
    return ready;
  }

  /** Forgets a key (answered, timed out, unsubscribed). */
  forget(key: string): void {
    this.streams.delete(key);
  }

  /** Drops the state of keys nobody waits for any more (timed out, unsubscribed). */
  retain(keep: (key: string) => boolean): void {
    for (const key of this.streams.keys()) if (!keep(key)) this.streams.delete(key);
  }
}
