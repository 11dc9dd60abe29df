import { randomUUID } from 'node:crypto';
import { PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import type { BenchPayload, TargetModule } from '../types.js';
import { emulatorConfig } from './pubsub.js';

/**
 * Baseline: raw `@google-cloud/pubsub` against the same emulator. Requests and events go to one
 * topic; the server's subscription (flow control 100, as the transport's default) acks after
 * handling and publishes replies to the reply topic named in the request's attributes; each
 * client has its own reply topic and subscription.
 */
export const target: TargetModule = {
  async startServer(env) {
    const pubsub = new PubSub(emulatorConfig(env.url));
    const [topic] = await pubsub.createTopic(`${env.ns}-requests`);
    const [subscription] = await topic.createSubscription(`${env.ns}-sub`);
    subscription.setOptions({ flowControl: { maxMessages: 100 } });
    const replyTopics = new Map<string, Topic>();
    subscription.on('message', (message: Message) => {
      const packet = JSON.parse(message.data.toString()) as { pattern: string; data: BenchPayload; id?: string };
      if (packet.id === undefined) {
        env.onEvent(packet.data);
        return message.ack();
      }
      const replyTo = message.attributes.replyTo;
      let replyTopic = replyTopics.get(replyTo);
      if (!replyTopic) replyTopics.set(replyTo, (replyTopic = pubsub.topic(replyTo)));
      const data = Buffer.from(JSON.stringify({ id: packet.id, response: packet.data, isDisposed: true }));
      replyTopic.publishMessage({ data, attributes: { id: packet.id } }).then(
        () => message.ack(),
        () => message.nack(),
      );
    });
    subscription.on('error', () => undefined);
    return {
      close: async () => {
        await subscription.close();
        await Promise.allSettled([...replyTopics.values()].map((t) => t.flush()));
        await subscription.delete().catch(() => undefined);
        await topic.delete().catch(() => undefined);
        await pubsub.close();
      },
    };
  },
  async startClient(env) {
    const pubsub = new PubSub(emulatorConfig(env.url));
    const topic = pubsub.topic(`${env.ns}-requests`);
    const replyName = `${env.ns}-replies-${randomUUID().slice(0, 8)}`;
    const [replyTopic] = await pubsub.createTopic(replyName);
    const [replies]: [Subscription, unknown] = await replyTopic.createSubscription(`${replyName}-sub`);
    const pending = new Map<string, (response: unknown) => void>();
    replies.on('message', (message: Message) => {
      message.ack();
      const reply = JSON.parse(message.data.toString()) as { id: string; response: unknown };
      pending.get(reply.id)?.(reply.response);
      pending.delete(reply.id);
    });
    replies.on('error', () => undefined);
    let nextId = 0;
    return {
      request: (data) => {
        const id = String(++nextId);
        return new Promise((resolve, reject) => {
          pending.set(id, resolve);
          topic.publishMessage({ data: Buffer.from(JSON.stringify({ pattern: 'echo', data, id })), attributes: { id, replyTo: replyName } }).catch(reject);
        });
      },
      emit: (data) => topic.publishMessage({ data: Buffer.from(JSON.stringify({ pattern: 'tick', data })) }),
      close: async () => {
        await replies.close();
        await replies.delete().catch(() => undefined);
        await replyTopic.delete().catch(() => undefined);
        await pubsub.close();
      },
    };
  },
};
