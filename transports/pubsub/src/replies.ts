import type { PublishOptions, PubSub, Topic } from '@google-cloud/pubsub';
import { acceptedWithin, publisherOptions } from './publish-timeout.js';

const MAX_CACHED_TOPICS = 256;

/**
 * Publishes the server's replies to the clients' reply topics, each bounded by `publishTimeout`.
 * Topic objects carry the publisher's batching queue, so they are kept (a bounded number of
 * them) rather than made per reply.
 */
export class ReplyPublisher {
  private readonly topics = new Map<string, Topic>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly publishTimeout: number,
    private readonly options?: PublishOptions,
  ) {}

  async publish(topicName: string, data: Buffer, attributes: Record<string, string>): Promise<void> {
    const topic = this.topic(topicName);
    await acceptedWithin(topic.publishMessage({ data, attributes }), 'PubSubServer', this.pubsub, topic.name, this.publishTimeout);
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
      topic = this.pubsub.topic(name, publisherOptions(this.options, this.publishTimeout));
      this.topics.set(name, topic);
    }
    return topic;
  }
}
