import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { findPubSubEmulator, scaled } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import type { PubSubClient, PubSubServer } from '../src/index.js';
import { client, Collector, deferred, LogLines, startApp, within } from './helpers.js';
import { RestartableEmulator } from './restart-helper.js';

const seen = new Collector<number>();
const answering = new Collector<number>();
const answer = deferred();

@Controller()
class Handlers {
  @EventPattern('tick')
  tick(@Payload() n: number) {
    seen.push(n);
  }

  @MessagePattern('slow')
  async slow(@Payload() n: number) {
    answering.push(n);
    await answer.promise;
    return n;
  }
}

const suite = findPubSubEmulator() ? describe : describe.skip;

suite('PubSub while the emulator is down', () => {
  const logs = new LogLines();
  let emulator: RestartableEmulator;
  let app: INestMicroservice;
  let server: PubSubServer;
  let proxy: PubSubClient;
  let topicName: string;

  beforeAll(async () => {
    emulator = await RestartableEmulator.start();
    const topic = (topicName = uniqueName('outage-t'));
    ({ app, server } = await startApp(
      emulator.url,
      [Handlers],
      { topic, subscription: uniqueName('outage-s'), autoCreate: true, publishTimeout: 2_000 },
      logs,
    ));
    proxy = client(emulator.url, { topic, autoCreate: true, requestResponse: false, publishTimeout: 2_000 });
    await lastValueFrom(proxy.emit('tick', 1), { defaultValue: undefined });
    await seen.count(1, 15_000, 'the first event');
  }, 60_000);

  afterAll(async () => {
    answer.resolve();
    await proxy?.close();
    await app?.close();
    await emulator?.down();
  });

  it('says "reconnecting" (one log line), fails a publish after publishTimeout, and says "connected" once it is back', async () => {
    const reconnecting = firstValueFrom(server.status.pipe(filter((s) => s === 'reconnecting')));
    await emulator.down();
    // Before: status stayed "connected" all through the outage, and emit() failed only after the library's 45–60 s.
    await within(reconnecting, 30_000, 'the server to report the outage');
    const failed = await lastValueFrom(proxy.emit('tick', 2), { defaultValue: undefined }).then(
      () => undefined,
      (err: { code?: string; message?: string }) => err,
    );
    expect(failed).toMatchObject({ code: 'PUBLISH_TIMEOUT', message: expect.stringMatching(/within 2000 ms \(publishTimeout\)/) });
    await emulator.up(); // a fresh emulator: autoCreate recreates the subscription
    await within(firstValueFrom(server.status.pipe(filter((s) => s === 'connected'))), 60_000, 'the server to report it is back');
    expect(logs.matching(/Pub\/Sub cannot be reached/)).toHaveLength(1);
  }, 120_000);

  it("gives up a reply Pub/Sub does not accept after the server's publishTimeout, and says so", async () => {
    const requester = client(emulator.url, { topic: topicName, publishTimeout: 2_000 });
    try {
      const reply = firstValueFrom(requester.send('slow', 7)).catch((err: unknown) => err);
      await answering.count(1, 15_000, 'the request to reach its handler');
      await emulator.down();
      const since = Date.now();
      answer.resolve(); // the reply is published while Pub/Sub cannot be reached
      // Before: the library retried the reply for up to a minute, and no option bounded it.
      const line = await logs.waitFor(/Could not send the reply to request .*"slow"/, 10_000);
      expect(line).toMatch(/within 2000 ms \(publishTimeout\)/);
      expect(Date.now() - since).toBeLessThan(scaled(8_000));
      await emulator.up();
      await requester.close();
      await expect(reply).resolves.toBeInstanceOf(Error);
    } finally {
      await requester.close();
    }
  }, 90_000);
});
