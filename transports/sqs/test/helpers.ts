import { afterAll, describe, it } from '@jest/globals';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { Module, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { elasticMqRegion, resolveBackend, sqsClientConfig, scaled, stopAllBackends } from '@nest-transports/backends';
import { deferred, uniqueName } from '@nest-transports/shared';
import { SqsClient, SqsServer, type SqsClientOptions, type SqsServerOptions } from '../src/index.js';

/** The SQS backends every test of this package runs on: lenient fauxqs, and strict ElasticMQ. */
export type SqsBackendName = 'sqs' | 'elasticmq';
const BACKENDS: Array<{ name: SqsBackendName; region: () => string | undefined }> = [
  { name: 'sqs', region: () => undefined }, // fauxqs, or SQS_ENDPOINT
  { name: 'elasticmq', region: elasticMqRegion }, // ElasticMQ with strict limits, or ELASTICMQ_ENDPOINT
];
const resolved = await Promise.all(BACKENDS.map((b) => resolveBackend(b.name)));
afterAll(stopAllBackends);

/**
 * Declares `body` once per SQS backend: `describe('<title> [sqs]')` and `describe('<title> [elasticmq]')`,
 * each with its own test bed, stopped after the block (`bed.closeAll()` in an `afterEach` closes what a
 * test made and deletes its queues). An unavailable backend's block
 * is skipped with the reason (under CI=true resolving it has already failed where the machine offers it).
 * Against real AWS: SQS_ENDPOINT, AWS_REGION and credentials in the environment.
 */
export function describeSqs(title: string, body: (bed: SqsTestBed) => void): void {
  BACKENDS.forEach((backend, i) => {
    const found = resolved[i];
    if (!found.available) {
      describe.skip(`${title} [${backend.name}: skipped, ${found.reason}]`, () => it('is skipped', () => undefined));
      return;
    }
    describe(`${title} [${backend.name}]`, () => {
      const bed = new SqsTestBed(backend.name, sqsClientConfig(found.url, backend.region()));
      afterAll(() => bed.stop());
      body(bed);
    });
  });
}

/** One SQS endpoint for a describe block: its config, the apps, clients and queues its tests made. */
export class SqsTestBed {
  readonly sqs: SQSClient;
  private readonly closers: Array<() => Promise<unknown>> = [];
  private readonly queues: string[] = [];

  constructor(
    readonly backend: SqsBackendName,
    readonly config: SQSClientConfig & { region: string },
  ) {
    this.sqs = new SQSClient(config);
  }

  /** True on ElasticMQ: it checks what AWS checks (fauxqs accepts more). */
  get strict(): boolean {
    return this.backend === 'elasticmq';
  }

  /** A fresh queue (deleted by closeAll()); its URL. */
  async queue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
    const fifo = attributes.FifoQueue === 'true';
    return this.queueNamed(uniqueName(prefix) + (fifo ? '.fifo' : ''), attributes);
  }

  async queueNamed(name: string, attributes: Record<string, string> = {}, tags?: Record<string, string>): Promise<string> {
    const out = await this.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes, tags }));
    this.queues.push(out.QueueUrl!);
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
    this.closers.push(() => app.close());
    await app.listen();
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

  /** Closes every app and client made here (in reverse), then deletes the queues made here. */
  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
    await Promise.all(this.queues.splice(0).map((QueueUrl) => this.sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined)));
  }

  async stop(): Promise<void> {
    await this.closeAll();
    this.sqs.destroy();
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

  wait(count: number, bound = 10_000): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    const ms = scaled(bound);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${count} items, got ${this.items.length}`)), ms);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(this.items)) });
    });
  }
}

/** Polls `check` until it returns true; for broker state no event announces. */
export async function eventually(check: () => Promise<boolean> | boolean, bound = 10_000, everyMs = 100): Promise<void> {
  const ms = scaled(bound);
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { deferred };
