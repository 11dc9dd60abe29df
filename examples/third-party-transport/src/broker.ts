/** Something that takes deliveries from a queue: at most `capacity` at a time. */
export interface Consumer {
  capacity: number;
  /** Handles one message; resolves 'ack' (done) or 'nack' (deliver it again). */
  deliver(body: string, attempt: number): Promise<'ack' | 'nack'>;
}

interface Stored {
  body: string;
  bytes: number;
  attempts: number;
}

interface Subscription {
  consumer: Consumer;
  inFlight: number;
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

export class BrokerNotRunningError extends Error {
  override name = 'BrokerNotRunningError';
}

export interface BrokerOptions {
  /** Bytes a queue may hold before publishing to it fails. Default 64 MiB. */
  maxQueueBytes?: number;
  /** Deliveries of a message that keeps being nacked before it is dead-lettered. Default 5. */
  maxDeliveries?: number;
  /** Dead-lettered messages kept per broker (the oldest go first). Default 100. */
  maxDeadLetters?: number;
}

class MemoryQueue {
  private readonly ready: Stored[] = [];
  private readonly subscriptions: Subscription[] = [];
  private turn = 0;
  bytes = 0;

  constructor(
    readonly name: string,
    private readonly broker: MemoryBroker,
  ) {}

  push(message: Stored, front = false): void {
    if (front) this.ready.unshift(message);
    else this.ready.push(message);
    this.pump();
  }

  subscribe(consumer: Consumer): () => void {
    const subscription = { consumer, inFlight: 0 };
    this.subscriptions.push(subscription);
    this.pump();
    return () => {
      const i = this.subscriptions.indexOf(subscription);
      if (i >= 0) this.subscriptions.splice(i, 1);
    };
  }

  get depth(): number {
    return this.ready.length;
  }

  /** Hands ready messages to consumers with room, round-robin, in queue order. */
  private pump(): void {
    while (this.ready.length) {
      const subscription = this.nextWithRoom();
      if (!subscription) return;
      const message = this.ready.shift()!;
      subscription.inFlight++;
      message.attempts++;
      subscription.consumer.deliver(message.body, message.attempts).then(
        (outcome) => this.settle(subscription, message, outcome),
        () => this.settle(subscription, message, 'nack'),
      );
    }
  }

  private nextWithRoom(): Subscription | undefined {
    for (let i = 0; i < this.subscriptions.length; i++) {
      const candidate = this.subscriptions[(this.turn + i) % this.subscriptions.length];
      if (candidate.inFlight < candidate.consumer.capacity) {
        this.turn = (this.turn + i + 1) % this.subscriptions.length;
        return candidate;
      }
    }
    return undefined;
  }

  private settle(subscription: Subscription, message: Stored, outcome: 'ack' | 'nack'): void {
    subscription.inFlight--;
    if (outcome === 'nack' && message.attempts < this.broker.maxDeliveries) this.ready.unshift(message);
    else {
      this.bytes -= message.bytes;
      if (outcome === 'nack') this.broker.deadLetter(this.name, message.body);
    }
    this.pump();
  }
}

const brokers = new Map<string, MemoryBroker>();

/**
 * A message broker inside the process: named queues that keep messages until a consumer acks them,
 * hand each message to one consumer (round-robin), redeliver nacked ones (up to maxDeliveries, then
 * a dead-letter list), and refuse a publish that would take a queue over maxQueueBytes.
 */
export class MemoryBroker {
  readonly queues = new Map<string, MemoryQueue>();
  readonly deadLetters: Array<{ queue: string; body: string }> = [];
  readonly maxQueueBytes: number;
  readonly maxDeliveries: number;
  private readonly maxDeadLetters: number;

  private constructor(
    readonly name: string,
    options: BrokerOptions = {},
  ) {
    this.maxQueueBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
    this.maxDeliveries = options.maxDeliveries ?? 5;
    this.maxDeadLetters = options.maxDeadLetters ?? 100;
  }

  /** Starts the broker `name` (or returns the running one). */
  static start(name = 'default', options?: BrokerOptions): MemoryBroker {
    let broker = brokers.get(name);
    if (!broker) {
      broker = new MemoryBroker(name, options);
      brokers.set(name, broker);
    }
    return broker;
  }

  /** The running broker `name`; throws BrokerNotRunningError when there is none. */
  static get(name = 'default'): MemoryBroker {
    const broker = brokers.get(name);
    if (!broker) throw new BrokerNotRunningError(`no memory broker named "${name}" is running (MemoryBroker.start("${name}") starts one)`);
    return broker;
  }

  /** Stops the broker `name`: its queues and their messages are gone. */
  static stop(name = 'default'): void {
    brokers.get(name)?.queues.clear();
    brokers.delete(name);
  }

  /** The names of the running brokers. */
  static running(): string[] {
    return [...brokers.keys()];
  }

  private queue(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new MemoryQueue(name, this);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Stores `body` in `queue` (created on first use). */
  publish(queue: string, body: string): void {
    const bytes = Buffer.byteLength(body);
    const target = this.queue(queue);
    if (target.bytes + bytes > this.maxQueueBytes)
      throw new QueueFullError(`queue "${queue}" holds ${target.bytes} bytes; ${bytes} more would exceed maxQueueBytes (${this.maxQueueBytes})`);
    target.bytes += bytes;
    target.push({ body, bytes, attempts: 0 });
  }

  /** Publishes to `queue` only if it exists (replies to a client that is gone are dropped). */
  publishIfExists(queue: string, body: string): boolean {
    if (!this.queues.has(queue)) return false;
    this.publish(queue, body);
    return true;
  }

  /** Delivers the messages of `queue` to `consumer`; returns the unsubscribe function. */
  consume(queue: string, consumer: Consumer): () => void {
    return this.queue(queue).subscribe(consumer);
  }

  deleteQueue(queue: string): void {
    this.queues.delete(queue);
  }

  /** Keeps a message that was nacked maxDeliveries times (the oldest go first). */
  deadLetter(queue: string, body: string): void {
    this.deadLetters.push({ queue, body });
    if (this.deadLetters.length > this.maxDeadLetters) this.deadLetters.shift();
  }
}
