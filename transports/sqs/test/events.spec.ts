import { afterEach, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { SqsContext } from '../src/index.js';
import { Collector, eventually, describeSqs, type SqsTestBed } from './helpers.js';

interface Seen {
  handler: string;
  data: unknown;
  receiveCount: number;
  metadata?: Record<string, string>;
}

let seen = new Collector<Seen>();
/** Message ids (by data.key) whose handler should fail, and how many more times. */
const failures = new Map<string, number>();

@Controller()
class EventsController {
  @EventPattern<string>('created')
  first(@Payload() data: { key?: string }, @Ctx() ctx: SqsContext) {
    seen.push({ handler: 'first', data, receiveCount: ctx.getReceiveCount(), metadata: ctx.getMetadata() });
  }

  @EventPattern<string>('created')
  async second(@Payload() data: unknown) {
    seen.push({ handler: 'second', data, receiveCount: 0 });
  }

  @EventPattern<string>('flaky')
  async flaky(@Payload() data: { key: string }, @Ctx() ctx: SqsContext) {
    seen.push({ handler: 'flaky', data, receiveCount: ctx.getReceiveCount() });
    const left = failures.get(data.key) ?? 0;
    if (left > 0) {
      failures.set(data.key, left - 1);
      throw new Error(`failing ${data.key} on purpose`);
    }
  }

  @EventPattern<string>('slow')
  async slow(@Payload() ms: number, @Ctx() ctx: SqsContext) {
    await new Promise((r) => setTimeout(r, ms));
    seen.push({ handler: 'slow', data: ms, receiveCount: ctx.getReceiveCount() });
  }

  @EventPattern<string>('external')
  external(@Payload() data: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ handler: 'external', data, receiveCount: ctx.getReceiveCount() });
  }
}

describeSqs('SqsServer + SqsClient: events and at-least-once delivery', (bed) => {
  afterEach(async () => {
    await bed.closeAll();
    seen = new Collector<Seen>();
    failures.clear();
  });

  it('runs every @EventPattern handler of an event and deletes the message', async () => {
    const queue = await bed.queue('ev');
    await bed.app(EventsController, { queues: [queue] });
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('created', { key: 'a' }));
    const items = await seen.wait(2);
    expect(items.map((i) => i.handler).sort()).toEqual(['first', 'second']);
    await eventually(async () => (await bed.counts(queue)).inFlight === 0);
    expect(await bed.counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('carries Nest 12 packet metadata to SqsContext#getMetadata()', async () => {
    const queue = await bed.queue('meta');
    await bed.app(EventsController, { queues: [queue] });
    const client = bed.client({ queue });
    client.setOnDispatchHook((packet) => Object.assign(packet, { metadata: { traceId: 't-1' } }));
    await firstValueFrom(client.emit('created', { key: 'm' }));
    const [first] = (await seen.wait(2)).filter((i) => i.handler === 'first');
    expect(first.metadata).toEqual({ traceId: 't-1' });
  });

  it('leaves a failed event for redelivery and deletes it once a handler succeeds', async () => {
    const queue = await bed.queue('redeliver');
    failures.set('r1', 2);
    await bed.app(EventsController, { queues: [queue], retryDelaySeconds: 0 });
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('flaky', { key: 'r1' }));
    const items = await seen.wait(3);
    expect(items.map((i) => i.receiveCount)).toEqual([1, 2, 3]);
    await eventually(async () => (await bed.counts(queue)).inFlight === 0);
    expect(await bed.counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('never deletes a message whose handler failed', async () => {
    const queue = await bed.queue('keep');
    failures.set('k1', 100);
    const { app } = await bed.app(EventsController, { queues: [queue], visibilityTimeout: 30 });
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('flaky', { key: 'k1' }));
    await seen.wait(1);
    await app.close();
    expect(await bed.counts(queue)).toEqual({ visible: 0, inFlight: 1 }); // waiting out its visibility timeout
  });

  it('lets the redrive policy move a message to the dead-letter queue after maxReceiveCount failures', async () => {
    const { url, dlq } = await bed.queueWithDlq('redrive', 2);
    failures.set('d1', 100);
    await bed.app(EventsController, { queues: [url], retryDelaySeconds: 0 });
    const client = bed.client({ queue: url });
    await firstValueFrom(client.emit('flaky', { key: 'd1' }));
    await seen.wait(2);
    let dead: Awaited<ReturnType<SqsTestBed['receive']>> = [];
    await eventually(async () => (dead = await bed.receive(dlq, 0)).length > 0);
    expect(JSON.parse(dead[0].Body!)).toMatchObject({ pattern: 'flaky', data: { key: 'd1' } });
    expect(seen.items).toHaveLength(2);
  });

  it('extends the visibility of a message while a long handler runs', async () => {
    const queue = await bed.queue('long');
    await bed.app(EventsController, { queues: [queue], visibilityTimeout: 1 });
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('slow', 2600));
    const [item] = await seen.wait(1, 8_000);
    expect(item.receiveCount).toBe(1);
    await eventually(async () => (await bed.counts(queue)).inFlight === 0);
    expect(seen.items).toHaveLength(1); // a visibility lapse would have started a second run
  });

  it('routes bodies of other producers (plain text, plain JSON) to the default pattern', async () => {
    const queue = await bed.queue('foreign');
    await bed.app(EventsController, { queues: [queue], defaultPattern: 'external' });
    await bed.send(queue, 'hello there');
    await bed.send(queue, JSON.stringify({ orderId: 7 }));
    const items = await seen.wait(2);
    expect(items.map((i) => i.data)).toEqual(expect.arrayContaining(['hello there', { orderId: 7 }]));
  });

  it('deletes a malformed body with onMalformed "discard" and keeps consuming', async () => {
    const queue = await bed.queue('malformed');
    await bed.app(EventsController, { queues: [queue], onMalformed: 'discard' });
    await bed.send(queue, 'not json {');
    await bed.send(queue, JSON.stringify({ no: 'pattern' }));
    await bed.send(queue, JSON.stringify({ pattern: 'created', data: { key: 'after' } }));
    await seen.wait(2);
    await eventually(async () => {
      const c = await bed.counts(queue);
      return c.visible === 0 && c.inFlight === 0;
    });
  });

  it('sends a malformed body down the redrive path by default', async () => {
    const { url, dlq } = await bed.queueWithDlq('malformed-dlq', 1);
    await bed.app(EventsController, { queues: [url], retryDelaySeconds: 0 });
    await bed.send(url, '<<not a packet>>');
    let dead: Awaited<ReturnType<SqsTestBed['receive']>> = [];
    await eventually(async () => (dead = await bed.receive(dlq, 0)).length > 0);
    expect(dead[0].Body).toBe('<<not a packet>>');
  });

  it('acks an event nobody handles and serves on', async () => {
    const queue = await bed.queue('nohandler');
    await bed.app(EventsController, { queues: [queue] });
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('unknown.event', 1));
    await firstValueFrom(client.emit('created', { key: 'next' }));
    await seen.wait(2);
    await eventually(async () => (await bed.counts(queue)).inFlight === 0 && (await bed.counts(queue)).visible === 0);
  });

  it('batches emits into SendMessageBatch and deletes into DeleteMessageBatch', async () => {
    const queue = await bed.queue('batch');
    const server = bed.countingClient();
    const sender = bed.countingClient();
    await bed.app(EventsController, { queues: [queue], sqs: server.sqs, batchWindowMs: 20 });
    const client = bed.client({ queue, sqs: sender.sqs });
    await client.connect();
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => firstValueFrom(client.emit('external', i))));
    await seen.wait(n);
    await eventually(async () => (await bed.counts(queue)).inFlight === 0);
    expect(sender.calls.SendMessage ?? 0).toBe(0);
    expect(sender.calls.SendMessageBatch).toBeLessThanOrEqual(6);
    expect(server.calls.DeleteMessage ?? 0).toBe(0);
    expect(server.calls.DeleteMessageBatch).toBeLessThan(n / 2);
  });
});
