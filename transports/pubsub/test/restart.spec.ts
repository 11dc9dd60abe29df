import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { filter, firstValueFrom } from 'rxjs';
import { findPubSubEmulator } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import type { PubSubClient, PubSubServer, PubSubServerOptions } from '../src/index.js';
import { client, startApp, within } from './helpers.js';
import { RestartableEmulator } from './restart-helper.js';

@Controller()
class EchoController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }
}

const suite = findPubSubEmulator() ? describe : describe.skip;

const INTAKES: Array<Pick<PubSubServerOptions, 'intake' | 'waitTimeSeconds'>> = [{}, { intake: 'pull', waitTimeSeconds: 2 }];

suite.each(INTAKES)('PubSub recovery after an emulator restart (intake %o)', (intake) => {
  let emulator: RestartableEmulator;
  let app: INestMicroservice;
  let server: PubSubServer;
  let proxy: PubSubClient;

  beforeAll(async () => {
    emulator = await RestartableEmulator.start();
    const topic = uniqueName('restart-t');
    ({ app, server } = await startApp(emulator.url, [EchoController], { ...intake, topic, subscription: uniqueName('restart-s'), autoCreate: true }));
    proxy = client(emulator.url, { topic, autoCreate: true, requestTimeout: 5000 });
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await app?.close();
    await emulator?.down();
  });

  it('reopens the subscription (recreating it with autoCreate) and serves the same client again', async () => {
    await expect(firstValueFrom(proxy.send('echo', 'before'))).resolves.toBe('before');
    const reconnecting = firstValueFrom(server.status.pipe(filter((s) => s === 'reconnecting')));
    const clientLost = firstValueFrom(proxy.status.pipe(filter((s) => s === 'disconnected')));
    await emulator.down();
    await emulator.up(); // a fresh emulator: every topic and subscription is gone
    await within(reconnecting, 30_000, 'the server to notice');
    await within(firstValueFrom(server.status.pipe(filter((s) => s === 'connected'))), 30_000, 'the server to reconnect');
    await within(clientLost, 30_000, 'the client to notice its reply subscription is gone');
    await expect(firstValueFrom(proxy.send('echo', 'after'))).resolves.toBe('after');
  }, 90_000);
});
