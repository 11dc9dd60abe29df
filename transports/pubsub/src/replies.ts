import type { PublishOptions, PubSub, Topic } from '@google-cloud/pubsub';

const MAX_CACHED_TOPICS = 256;

/**
 * Publishes the server's replies to the clients' reply topics. Topic objects carry the
 * publisher's batching queue, so they are kept (a bounded number of them) rather than
 * made per reply.
 */
export class ReplyPublisher {
  private readonly topics = new Map<string, Topic>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly options?: PublishOptions,
  ) {}

  async publish(topicName: string, data: Buffer, attributes: Record<string, string>): Promise<void> {
    await this.topic(topicName).publishMessage({ data, attributes });
  }

  /** Sends whatever the publishers still batch. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.topics.values()].map((topic) => topic.flush()));
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      if (this.topics.size >= MAX_CACHED_TOPICS) {
        const [oldest, evicted] = this.topics.entries().next().value as [string, Topic];
        this.topics.delete(oldest);
        void evicted.flush().catch(() => undefined);
      }
      topic = this.pubsub.topic(name, this.options);
      this.topics.set(name, topic);
    }
    return topic;
  }
}
