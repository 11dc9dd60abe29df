/**
 * Runs tasks one at a time per key, in submission order, and tasks of different keys
 * concurrently: ordered delivery (Pub/Sub ordering keys, SQS FIFO message groups, a JetStream
 * subject) only means ordered processing when a key's next handler waits for the previous one.
 *
 * `interrupt(key)` marks the tasks queued for a key so far: they still run in turn, told that
 * they were interrupted (a broker redelivers a failed message together with the later ones of
 * its key, so those must not be handled before it).
 */
export class KeyedSerialRunner {
  private readonly keys = new Map<string, { tail: Promise<unknown>; generation: number }>();

  /** Keys with work queued or running. */
  get activeKeys(): number {
    return this.keys.size;
  }

  run<T>(key: string, task: (interrupted: boolean) => Promise<T>): Promise<T> {
    let state = this.keys.get(key);
    if (!state) {
      state = { tail: Promise.resolve(), generation: 0 };
      this.keys.set(key, state);
    }
    const current = state;
    const generation = current.generation;
    const start = () => task(current.generation !== generation);
    const result = current.tail.then(start, start);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    current.tail = tail;
    void tail.then(() => {
      if (current.tail === tail && this.keys.get(key) === current) this.keys.delete(key);
    });
    return result;
  }

  /** The tasks queued for `key` until now run with `interrupted = true`; later ones normally. */
  interrupt(key: string): void {
    const state = this.keys.get(key);
    if (state) state.generation++;
  }
}
