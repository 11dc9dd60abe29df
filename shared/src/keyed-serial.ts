/**
 * Runs tasks one at a time per key, in submission order, and tasks of different keys
 * concurrently: ordered delivery (Pub/Sub ordering keys, SQS FIFO message groups) only
 * means ordered processing when a key's next handler waits for the previous one.
 */
export class KeyedSerialRunner {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Keys with work queued or running. */
  get activeKeys(): number {
    return this.tails.size;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
