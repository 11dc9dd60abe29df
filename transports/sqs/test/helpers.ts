import { deferred } from '@nest-transports/shared';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { Module, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { resolveBackend, stopAllBackends } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import { SqsClient, SqsServer, type SqsClientOptions, type SqsServerOptions } from '../src/index.js';

/** One SQS endpoint per test file: SQS_ENDPOINT or fauxqs in-process. */
export class SqsTestBed {
  readonly sqs: SQSClient;
  private readonly closers: Array<() => Promise<unknown>> = [];

  private constructor(readonly config: SQSClientConfig) {
    this.sqs = new SQSClient(config);
  }

  static async start(): Promise<SqsTestBed> {
    const backend = await resolveBackend('sqs');
    if (!backend.available) throw new Error(`SQS backend unavailable: ${backend.reason}`);
    return new SqsTestBed({
      endpoint: backend.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  async queue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
    const fifo = attributes.FifoQueue === 'true';
    const name = uniqueName(prefix) + (fifo ? '.fifo' : '');
    const out = await this.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return out.QueueUrl!;
  }

  /** A queue whose failed messages go to a fresh dead-letter queue after `maxReceiveCount` receives. */
  async queueWithDlq(prefix: string, maxReceiveCount: number, attributes: Record<string, string> = {}) {
    const dlq = await this.queue(`${prefix}-dlq`);
    const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }));
    const url = await this.queue(prefix, {
      ...attributes,
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: String(maxReceiveCount) }),
    });
    return { url, dlq };
  }

  async app(controller: Type, options: SqsServerOptions): Promise<{ app: INestMicroservice; server: SqsServer }> {
    const server = new SqsServer({ sqs: this.config, waitTimeSeconds: 1, ...options });
    const app = await NestFactory.createMicroservice(moduleFor(controller), { strategy: server, logger: false });
    await app.listen();
    this.closers.push(() => app.close());
    return { app, server };
  }

  client(options: SqsClientOptions): SqsClient {
    const client = new SqsClient({ sqs: this.config, ...options });
    this.closers.push(() => client.close());
    return client;
  }

  /** An SQSClient that counts the commands it sends, by name. */
  countingClient(): { sqs: SQSClient; calls: Record<string, number> } {
    const sqs = new SQSClient(this.config);
    const calls: Record<string, number> = {};
    sqs.middlewareStack.add(
      (next, context) => (args) => {
        const name = context.commandName!.replace(/Command$/, '');
        calls[name] = (calls[name] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize' },
    );
    this.closers.push(async () => sqs.destroy());
    return { sqs, calls };
  }

  async send(queueUrl: string, body: string, extra: Partial<ConstructorParameters<typeof SendMessageCommand>[0]> = {}) {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, ...extra }));
  }

  /** Receives what is visible now (short poll, up to `waitSeconds`). */
  async receive(queueUrl: string, waitSeconds = 1): Promise<Message[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, MessageAttributeNames: ['All'] }),
    );
    return out.Messages ?? [];
  }

  async counts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return { visible: Number(Attributes.ApproximateNumberOfMessages), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
  }

  /** Closes every app and client made here (in reverse), then the backend. */
  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.closeAll();
    this.sqs.destroy();
    await stopAllBackends();
  }
}

function moduleFor(controller: Type): Type {
  @Module({ controllers: [controller] })
  class TestModule {}
  return TestModule;
}

/** Resolves when `count` values were pushed; rejects after `ms`. */
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => (this.items.length >= w.count ? (w.resolve(), false) : true));
  }

  wait(count: number, ms = 10_000): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${count} items, got ${this.items.length}`)), ms);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(this.items)) });
    });
  }
}

/** Polls `check` until it returns true; for broker state no event announces. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { deferred };
