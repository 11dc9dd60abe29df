import { deferred } from '@nest-transports/shared';
import { PubSub, type CreateSubscriptionOptions } from '@google-cloud/pubsub';
import { Module, type INestMicroservice, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { resolveBackend, stopAllBackends, within } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import { PubSubClient, type PubSubClientOptions, PubSubServer, type PubSubServerOptions } from '../src/index.js';

export const PROJECT = 'nest-transports-test';

/** The emulator's address (PUBSUB_EMULATOR_HOST, or one started for this test file), or why there is none. */
export async function emulator(): Promise<{ url?: string; reason?: string }> {
  const backend = await resolveBackend('pubsub');
  return backend.available ? { url: backend.url } : { reason: backend.reason };
}

export const stopEmulator = () => stopAllBackends();

export const clientConfig = (url: string) => ({ projectId: PROJECT, apiEndpoint: url, emulatorMode: true });

/** Admin and raw-publishing access to the emulator for a test file. */
export class Fixture {
  readonly pubsub: PubSub;

  constructor(readonly url: string) {
    this.pubsub = new PubSub(clientConfig(url));
  }

  /** A fresh topic and a subscription on it. */
  async topicWithSubscription(settings: CreateSubscriptionOptions = {}) {
    const topic = uniqueName('t');
    const subscription = uniqueName('s');
    await this.pubsub.createTopic(topic);
    await this.pubsub.createSubscription(topic, subscription, settings);
    return { topic, subscription };
  }

  /** Publishes a raw message, as a non-Nest producer would. */
  async publishRaw(topic: string, data: Buffer | string, attributes: Record<string, string> = {}) {
    return this.pubsub.topic(topic).publishMessage({ data: Buffer.from(data), attributes });
  }

  /** Resolves with the first `n` messages a subscription receives (acked), bounded. */
  async receive(subscription: string, n = 1, ms = 10_000) {
    const sub = this.pubsub.subscription(subscription);
    const got: Array<{ data: Buffer; attributes: Record<string, string> }> = [];
    try {
      return await within(
        new Promise<typeof got>((resolve, reject) => {
          sub.on('message', (m) => {
            m.ack();
            got.push({ data: m.data, attributes: m.attributes });
            if (got.length === n) resolve(got);
          });
          sub.on('error', reject);
        }),
        ms,
        `${n} message(s) on ${subscription}`,
      );
    } finally {
      await sub.close();
    }
  }

  async receiveOne(subscription: string, ms = 10_000) {
    return (await this.receive(subscription, 1, ms))[0];
  }

  async exists(kind: 'topic' | 'subscription', name: string): Promise<boolean> {
    const [found] = await (kind === 'topic' ? this.pubsub.topic(name) : this.pubsub.subscription(name)).exists();
    return found;
  }

  close() {
    return this.pubsub.close();
  }
}

/** Starts a Nest microservice with the given controllers on a PubSubServer. */
export async function startApp(
  url: string,
  controllers: Type[],
  options: PubSubServerOptions,
  logger: LoggerService | false = false,
): Promise<{ app: INestMicroservice; server: PubSubServer }> {
  @Module({ controllers })
  class AppModule {}
  const server = new PubSubServer({ clientConfig: clientConfig(url), ...options });
  const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger });
  await app.listen();
  return { app, server };
}

export function client(url: string, options: Partial<PubSubClientOptions> & Pick<PubSubClientOptions, 'topic'>) {
  return new PubSubClient({ clientConfig: clientConfig(url), ...options });
}

/** Collects values pushed by handlers; `next(n)` waits (bounded) until n have arrived. */
export class Collector<T = unknown> {
  readonly items: T[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => (this.items.length >= w.n ? (w.resolve(), false) : true));
  };

  async count(n: number, ms = 10_000, what = `${n} items`): Promise<T[]> {
    if (this.items.length < n) await within(new Promise<void>((resolve) => this.waiters.push({ n, resolve })), ms, what);
    return this.items;
  }

  clear(): void {
    this.items.length = 0;
  }
}

export { within, deferred };

/** A Nest logger that keeps what it is given, for tests that read the log. */
export class LogLines implements LoggerService {
  readonly lines: Array<{ level: string; text: string }> = [];
  private waiters: Array<{ pattern: RegExp; resolve: (text: string) => void }> = [];
  log = (text: unknown) => this.add('log', text);
  error = (text: unknown) => this.add('error', text);
  warn = (text: unknown) => this.add('warn', text);
  debug = () => undefined;
  verbose = () => undefined;

  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l.text)).map((l) => l.text);
  }

  /** The first line matching `pattern`, logged already or within `ms`. */
  waitFor(pattern: RegExp, ms = 10_000): Promise<string> {
    const found = this.matching(pattern)[0];
    if (found !== undefined) return Promise.resolve(found);
    return within(new Promise<string>((resolve) => this.waiters.push({ pattern, resolve })), ms, `a log line matching ${pattern}`);
  }

  private add(level: string, text: unknown): void {
    const line = { level, text: String(text) };
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => (w.pattern.test(line.text) ? (w.resolve(line.text), false) : true));
  }
}
