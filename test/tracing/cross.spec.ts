import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Controller, Inject, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ClientProxy, type CustomTransportStrategy, MessagePattern, Payload } from '@nestjs/microservices';
import { freePort, resolveBackend, sqsClientConfig, stopAllBackends } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import { PubSubClient, PubSubServer } from '@nest-transports/pubsub';
import { SqsClient, SqsRecord, SqsServer } from '@nest-transports/sqs';
import { WsClient, WsServer } from '@nest-transports/ws';
import { lastValueFrom } from 'rxjs';
import { pubsubTopic } from './backends.js';
import { activeTraceId, byName, describeSpans, inRootSpan, SpanKind, TestSdk, traceOf } from './sdk.js';

const [sqsBackend, pubsubBackend] = await Promise.all([resolveBackend('sqs'), resolveBackend('pubsub')]);
const reason = !sqsBackend.available ? sqsBackend.reason : !pubsubBackend.available ? pubsubBackend.reason : undefined;
const suite = reason ? describe.skip : describe;
if (reason) console.warn(`tracing across transports: skipped (${reason})`);

const SQS_NEXT = Symbol('sqs');
const PUBSUB_NEXT = Symbol('pubsub');
const seen: Record<string, string | undefined> = {};

/** A service that handles `pattern` by asking the next one (over the client behind `token`). */
function relay(pattern: string, next: string, token: symbol, via: string): Type {
  @Controller()
  class RelayController {
    constructor(@Inject(token) private readonly client: ClientProxy) {}
    @MessagePattern(pattern)
    async relay(@Payload() data: string) {
      seen[pattern] = activeTraceId();
      return lastValueFrom(this.client.send(next, `${data} > ${via}`));
    }
  }
  return RelayController;
}

@Controller()
class BackController {
  @MessagePattern('back')
  back(@Payload() data: string) {
    seen.back = activeTraceId();
    return `${data} > pubsub`;
  }
}

suite('tracing across transports (ws → sqs → pubsub)', () => {
  const sdk = new TestSdk();
  const closers: Array<() => Promise<unknown>> = [];
  const sqsConfig = sqsClientConfig(sqsBackend.available ? sqsBackend.url : '');
  let sqs: SQSClient;
  let queue: string;
  let pubsub: Awaited<ReturnType<typeof pubsubTopic>>;

  beforeAll(async () => {
    await sdk.register();
    sqs = new SQSClient(sqsConfig);
    queue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('trace-x') }))).QueueUrl!;
    pubsub = await pubsubTopic(pubsubBackend.available ? pubsubBackend.url : '');
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    sdk.reset();
  });
  afterAll(async () => {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queue })).catch(() => undefined);
    await pubsub.remove();
    sqs.destroy();
    await sdk.unregister();
    await stopAllBackends();
  });

  async function service(controller: Type, strategy: CustomTransportStrategy, providers: Array<{ provide: symbol; useValue: ClientProxy }> = []) {
    @Module({ controllers: [controller], providers })
    class ServiceModule {}
    const app = await NestFactory.createMicroservice(ServiceModule, { strategy, logger: false });
    closers.push(() => app.close());
    for (const { useValue } of providers) closers.push(() => useValue.close());
    await app.listen();
  }

  it('one trace id through three services over three transports', async () => {
    const port = await freePort();
    const { clientConfig, topic, subscription } = pubsub;
    await service(BackController, new PubSubServer({ clientConfig, subscription }));
    await service(relay('middle', 'back', PUBSUB_NEXT, 'sqs'), new SqsServer({ sqs: sqsConfig, queues: [queue], waitTimeSeconds: 1 }), [
      { provide: PUBSUB_NEXT, useValue: new PubSubClient({ clientConfig, topic }) },
    ]);
    await service(relay('front', 'middle', SQS_NEXT, 'ws'), new WsServer({ host: '127.0.0.1', port }), [
      { provide: SQS_NEXT, useValue: new SqsClient({ sqs: sqsConfig, queue }) },
    ]);
    const caller = new WsClient({ url: `ws://127.0.0.1:${port}` });
    closers.push(() => caller.close());

    const { result, root } = await inRootSpan('edge', () => lastValueFrom(caller.send('front', 'request')));
    expect(result).toBe('request > ws > sqs > pubsub');
    const traceId = root.spanContext().traceId;
    expect(seen).toEqual({ front: traceId, middle: traceId, back: traceId });
    const spans = await sdk.until(
      (s) => s.filter((x) => x.kind === SpanKind.SERVER).length === 3 && s.filter((x) => x.kind === SpanKind.CLIENT).length === 3,
      'three hops',
    );
    expect(new Set(spans.map(traceOf))).toEqual(new Set([traceId]));
    expect(spans.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.attributes['messaging.system'])).toEqual(
      expect.arrayContaining(['websocket', 'aws_sqs', 'gcp_pubsub']),
    );
  });

  it('SQS: trace attributes only where the 10-attribute limit leaves room; the message is never refused for them', async () => {
    const client = new SqsClient({ sqs: sqsConfig, queue });
    closers.push(() => client.close());
    const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, `v${i}`]));
    await inRootSpan('edge', async () => {
      await lastValueFrom(client.emit('full', new SqsRecord(1, { messageAttributes: attrs(9) }))); // 9 + nest-pattern = 10
      await lastValueFrom(client.emit('room', new SqsRecord(2, { messageAttributes: attrs(7) }))); // 7 + 1 + traceparent (+ nothing else to carry)
    });
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] }));
    const messages = got.Messages ?? [];
    const more =
      messages.length < 2
        ? ((await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] })))
            .Messages ?? [])
        : [];
    const byPattern = new Map([...messages, ...more].map((m) => [m.MessageAttributes?.['nest-pattern']?.StringValue, m.MessageAttributes ?? {}]));
    expect(Object.keys(byPattern.get('full')!)).toHaveLength(10);
    expect(byPattern.get('full')!.traceparent).toBeUndefined();
    expect(byPattern.get('room')!.traceparent?.StringValue).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(describeSpans(byName(sdk.spans, `send ${queue.slice(queue.lastIndexOf('/') + 1)}`))).toContain('PRODUCER');
  });
});
