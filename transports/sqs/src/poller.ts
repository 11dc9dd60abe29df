import { ReceiveMessageCommand, type Message, type MessageSystemAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { backoffDelay } from '@nest-transports/shared';
import type { Slots } from './slots.js';

export interface PollerSettings {
  batchSize: number;
  waitTimeSeconds: number;
  visibilityTimeout?: number;
  /** Message attributes to receive (names or `prefix.*`). Default: all. */
  messageAttributeNames?: string[];
  /** System attributes to receive; empty: none. Default: all. */
  systemAttributeNames?: MessageSystemAttributeName[];
}

export interface PollerEvents {
  /** Messages received; each holds one slot until the consumer releases it. */
  messages(messages: Message[]): void;
  error(err: unknown): void;
  /** A receive succeeded (after errors: the queue answers again). */
  healthy(): void;
}

/**
 * The intake half of the server: one long-poll loop over one queue. It receives only as
 * many messages as there are free handler slots, and backs off on errors.
 */
export class QueuePoller {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private readonly systemAttributes: MessageSystemAttributeName[] | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly settings: PollerSettings,
    private readonly slots: Slots,
    private readonly events: PollerEvents,
  ) {
    const names = settings.systemAttributeNames ?? ['All'];
    this.systemAttributes = names.length > 0 ? names : undefined;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops receiving: an open long poll is aborted (its messages, if any, reappear after their visibility timeout). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const taken = await this.slots.acquireUpTo(this.settings.batchSize, signal);
      if (taken === 0) break;
      let messages: Message[];
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: taken,
            WaitTimeSeconds: this.settings.waitTimeSeconds,
            VisibilityTimeout: this.settings.visibilityTimeout,
            MessageAttributeNames: this.settings.messageAttributeNames ?? ['All'],
            MessageSystemAttributeNames: this.systemAttributes,
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        this.slots.release(taken);
        if (signal.aborted) break;
        this.events.error(err);
        await sleep(backoffDelay(failures++, { initialDelay: 100, maxDelay: 10_000 }), signal);
        continue;
      }
      if (failures > 0) this.events.healthy();
      failures = 0;
      this.slots.release(taken - messages.length);
      if (messages.length > 0) this.events.messages(messages);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
