import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Controller, Module, ServiceUnavailableException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type CustomTransportStrategy, EventPattern, Payload } from '@nestjs/microservices';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { freePort, resolveBackend, sqsClientConfig, stopAllBackends, within } from '@nest-transports/backends';
import { JetStreamClient, JetStreamServer } from '@nest-transports/jetstream';
import { PubSubClient, PubSubServer } from '@nest-transports/pubsub';
import { RedisStreamsClient, RedisStreamsServer } from '@nest-transports/redis-streams';
import { type HealthIndicatorResult, uniqueName } from '@nest-transports/shared';
import { SqsClient, SqsServer } from '@nest-transports/sqs';
import { WsClient, WsServer } from '@nest-transports/ws';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { pubsubTopic } from '../tracing/backends.js';

const [sqsBackend, pubsubBackend, natsBackend, redisBackend] = await Promise.all([
  resolveBackend('sqs'),
  resolveBackend('pubsub'),
  resolveBackend('nats'),
  resolveBackend('redis'),
]);
afterAll(stopAllBackends);

@Controller()
class Quiet {
  @EventPattern('noted')
  noted(@Payload() _data: unknown) {}
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

/** An event handler that holds every event until `release()`, and says when it got one. */
function heldEvents() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let got!: () => void;
  const first = new Promise<void>((resolve) => (got = resolve));
  @Controller()
  class Held {
    @EventPattern('held')
    async held(@Payload() _data: unknown) {
      got();
      await released;
    }
  }
  return { controller: Held, first, release };
}

async function listen(strategy: CustomTransportStrategy & { close(): unknown }, controller: new () => unknown = Quiet) {
  @Module({ controllers: [controller] })
  class ServiceModule {}
  const app = await NestFactory.createMicroservice(ServiceModule, { strategy, logger: false });
  closers.push(() => app.close());
  await app.listen();
  return app;
}

/** `@nestjs/terminus` itself runs the indicators, as in an app's /health endpoint. */
async function terminus(...indicators: Array<() => Promise<HealthIndicatorResult>>) {
  @Module({ imports: [TerminusModule.forRoot({ logger: false })] })
  class HealthModule {}
  const context = await NestFactory.createApplicationContext(HealthModule, { logger: false });
  try {
    return await context.get(HealthCheckService).check(indicators);
  } catch (err) {
    if (err instanceof ServiceUnavailableException) return err.getResponse() as { status: string; error: Record<string, { status: string; message?: string }> };
    throw err;
  } finally {
    await context.close();
  }
}

const statusOf = (result: HealthIndicatorResult) => Object.values(result)[0].status;

describe('health indicators', () => {
  it('ws: server and client up; a client pointed at nothing is down within its bound', async () => {
    const port = await freePort();
    const server = new WsServer({ host: '127.0.0.1', port });
    const app = await listen(server);
    const client = new WsClient({ url: `ws://127.0.0.1:${port}` });
    closers.push(() => client.close());
    await client.connect();
    const report = await terminus(
      () => server.health({ key: 'ws-server' }),
      () => client.health({ key: 'ws-client' }),
    );
    expect(report).toMatchObject({ status: 'ok', info: { 'ws-server': { status: 'up', connections: 1 }, 'ws-client': { status: 'up' } } });
    await app.close();
    expect(statusOf(await server.health())).toBe('down');
    const nowhere = new WsClient({ url: `ws://127.0.0.1:${await freePort()}`, reconnect: { enabled: false } });
    closers.push(() => nowhere.close());
    const down = await within(nowhere.health({ timeoutMs: 2000 }), 10_000, 'the health of an unreachable ws client');
    expect(down.ws).toMatchObject({ status: 'down', message: expect.any(String) });
  });

  (sqsBackend.available ? describe : describe.skip)('sqs', () => {
    const config = sqsClientConfig(sqsBackend.available ? sqsBackend.url : '');

    it('reports the backlog; down once closed, when the queue is gone, and when SQS does not answer', async () => {
      const sqs = new SQSClient(config);
      closers.push(async () => sqs.destroy());
      const queue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('health') }))).QueueUrl!;
      closers.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: queue })));
      const client = new SqsClient({ sqs: config, queue });
      closers.push(() => client.close());
      for (let i = 0; i < 3; i++) await lastValueFrom(client.emit('noted', i));
      expect(await client.health()).toEqual({ sqs: { status: 'up', queue, backlog: 3, replyQueue: null, pending: 0 } });

      const server = new SqsServer({ sqs: config, queues: [queue], waitTimeSeconds: 1 });
      const app = await listen(server);
      const report = await terminus(
        () => server.health({ key: 'orders' }),
        () => client.health(),
      );
      expect(report).toMatchObject({ status: 'ok', info: { orders: { status: 'up', inFlight: expect.any(Number) }, sqs: { status: 'up' } } });
      await app.close();
      expect((await server.health()).sqs).toMatchObject({ status: 'down', message: 'SqsServer is disconnected' });

      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue }));
      const gone = await terminus(() => client.health());
      expect(gone).toMatchObject({ status: 'error', error: { sqs: { status: 'down', message: expect.stringMatching(/does not exist|not found/i) } } });

      const unreachable = new SqsClient({ sqs: { ...config, endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 }, queue });
      closers.push(() => unreachable.close());
      const down = await within(unreachable.health({ timeoutMs: 2000 }), 10_000, 'the health of an unreachable SQS');
      expect(down.sqs.status).toBe('down');
    });
  });

  (pubsubBackend.available ? describe : describe.skip)('pubsub', () => {
    it('up with the subscriptions and the reply subscription; down when the subscription is deleted', async () => {
      const { clientConfig, pubsub, topic, subscription, remove } = await pubsubTopic(pubsubBackend.available ? pubsubBackend.url : '');
      closers.push(remove);
      const server = new PubSubServer({ clientConfig, subscription });
      await listen(server);
      const client = new PubSubClient({ clientConfig, topic });
      closers.push(() => client.close());
      const report = await terminus(
        () => server.health({ key: 'server' }),
        () => client.health({ key: 'client' }),
      );
      expect(report).toMatchObject({
        status: 'ok',
        info: { server: { status: 'up' }, client: { status: 'up', topic, replySubscription: expect.any(String) } },
      });
      await pubsub.subscription(subscription).delete();
      expect((await server.health()).pubsub).toMatchObject({ status: 'down', message: expect.stringContaining(subscription) });
    });
  });

  (natsBackend.available ? describe : describe.skip)('jetstream', () => {
    it("reports the consumer's backlog; a client pointed at nothing is down within its bound", async () => {
      const servers = natsBackend.available ? natsBackend.url : '';
      const id = uniqueName('health').replace(/[^A-Za-z0-9-]/g, '');
      const nc = await connect({ servers });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: id.toUpperCase(), subjects: [`${id}.>`] });
      await jsm.consumers.add(id.toUpperCase(), { durable_name: 'svc', ack_policy: AckPolicy.Explicit });
      closers.push(async () => {
        await jsm.streams.delete(id.toUpperCase());
        await nc.close();
      });
      const client = new JetStreamClient({ servers, subject: (route) => `${id}.${route}` });
      closers.push(() => client.close());
      for (let i = 0; i < 2; i++) await lastValueFrom(client.emit('noted', i));
      const server = new JetStreamServer({ servers, stream: id.toUpperCase(), consumer: 'svc' });
      expect(statusOf(await server.health())).toBe('down'); // not listening yet
      await listen(server);
      const report = await terminus(
        () => server.health(),
        () => client.health({ key: 'client' }),
      );
      expect(report).toMatchObject({ status: 'ok', info: { jetstream: { status: 'up', consumer: `${id.toUpperCase()}/svc` }, client: { status: 'up' } } });
      const nowhere = new JetStreamClient({ servers: `nats://127.0.0.1:${await freePort()}`, connectTimeout: 1000 });
      closers.push(() => nowhere.close());
      const down = await within(nowhere.health({ timeoutMs: 3000 }), 10_000, 'the health of an unreachable NATS');
      expect(down.jetstream.status).toBe('down');
    });
  });

  (redisBackend.available ? describe : describe.skip)('redis-streams', () => {
    it("reports the group's lag and pending entries (XINFO GROUPS); down when the group is gone and once closed", async () => {
      const url = redisBackend.available ? redisBackend.url : '';
      const stream = uniqueName('health');
      const redis = new Redis(url);
      closers.push(async () => {
        await redis.del(stream, `${stream}:dead-letter`);
        redis.disconnect();
      });
      await redis.xgroup('CREATE', stream, 'svc', '0', 'MKSTREAM');
      const client = new RedisStreamsClient({ url, stream });
      closers.push(() => client.close());
      for (let i = 0; i < 3; i++) await lastValueFrom(client.emit('held', i));
      // createGroups off: the server must not create the group again once the test deletes it.
      const server = new RedisStreamsServer({ url, stream, group: 'svc', maxConcurrency: 1, createGroups: false });
      expect(statusOf(await server.health())).toBe('down'); // not listening yet
      const held = heldEvents();
      const app = await listen(server, held.controller);
      await within(held.first, 10_000, 'the first event at its handler');
      // One entry held by the only handler slot (pending), the other two not yet read by the group (lag).
      const report = await terminus(
        () => server.health({ key: 'redis-streams' }),
        () => client.health({ key: 'client' }),
      );
      expect(report).toMatchObject({
        status: 'ok',
        info: { 'redis-streams': { status: 'up', group: `${stream}/svc`, backlog: 2, unacked: 1, consumers: 1, inFlight: 1 }, client: { status: 'up' } },
      });
      await redis.xgroup('DESTROY', stream, 'svc');
      expect((await server.health()).redisstreams).toMatchObject({ status: 'down', message: expect.stringContaining('group "svc"') });
      held.release();
      await app.close();
      expect(statusOf(await server.health())).toBe('down');
    });
  });
});
