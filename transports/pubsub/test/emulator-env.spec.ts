import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { PubSubClient, PubSubServer } from '../src/index.js';
import { scaled } from '@nest-transports/backends';
import { emulator, Fixture, PROJECT, stopEmulator } from './helpers.js';

@Controller()
class EchoController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

const backend = await emulator();
const suite = backend.url ? describe : describe.skip;

// The emulator as Google documents it: PUBSUB_EMULATOR_HOST in the environment and a projectId,
// nothing else in clientConfig (the way the fresh apps of test/packages configure it).
suite('PubSub against PUBSUB_EMULATOR_HOST alone', () => {
  const saved = process.env.PUBSUB_EMULATOR_HOST;
  let fixture: Fixture;
  let app: INestMicroservice | undefined;
  let proxy: PubSubClient | undefined;

  beforeAll(() => {
    process.env.PUBSUB_EMULATOR_HOST = backend.url!.replace(/^https?:\/\//, '');
    fixture = new Fixture(backend.url!);
  });

  afterAll(async () => {
    await proxy?.close();
    await app?.close();
    await fixture?.close();
    if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = saved;
    await stopEmulator();
  });

  it('serves and sends with clientConfig { projectId } only', async () => {
    const { topic, subscription } = await fixture.topicWithSubscription();
    app = await NestFactory.createMicroservice(EchoModule, {
      strategy: new PubSubServer({ clientConfig: { projectId: PROJECT }, subscription }),
      logger: false,
    });
    await app.listen();
    proxy = new PubSubClient({ clientConfig: { projectId: PROJECT }, topic });
    await expect(firstValueFrom(proxy.send('echo', { n: 1 }).pipe(timeout(scaled(20_000))))).resolves.toEqual({ n: 1 });
  }, 60_000);
});
