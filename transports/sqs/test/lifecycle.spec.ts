import { afterEach, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { firstValueFrom } from 'rxjs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BackendUnreachableError } from '@nest-transports/shared';
import { QueueNotFoundError, SqsContext, SqsServer } from '../src/index.js';
import { scaled } from '@nest-transports/backends';
import { Collector, deferred, eventually, describeSqs } from './helpers.js';

let started = deferred();
let active = 0;
let maxActive = 0;
let done = new Collector<string>();
const attempts = new Map<string, number>();

@Controller()
class LifecycleController {
  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<string> {
    started.resolve();
    await new Promise((r) => setTimeout(r, ms));
    return `slept ${ms}`;
  }

  @EventPattern<string>('busy')
  async busy(@Payload() id: string) {
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, 60));
    active--;
    done.push(id);
  }

  @EventPattern<string>('manual')
  async manual(@Payload() id: string, @Ctx() ctx: SqsContext) {
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    if (attempt === 1) await ctx.nack(0);
    else await ctx.ack();
    done.push(`${id}#${attempt}`);
  }
}

describeSqs('SqsServer + SqsClient: lifecycle, limits and failures', (bed) => {
  afterEach(async () => {
    await bed.closeAll();
    started = deferred();
    done = new Collector();
    active = maxActive = 0;
    attempts.clear();
  });

  it('fails listen() with a clear error when a queue does not exist', async () => {
    const server = new SqsServer({ sqs: bed.config, queues: ['no-such-queue'] });
    const err = await new Promise((resolve) => server.listen(resolve));
    expect(err).toBeInstanceOf(QueueNotFoundError);
    expect((err as Error).message).toContain(`queue "no-such-queue" does not exist in region ${bed.config.region}`);
    await server.close();
  });

  it('rejects app.listen() through Nest instead of hanging', async () => {
    const server = new SqsServer({ sqs: bed.config, queues: ['missing-too'] });
    const app = await NestFactory.createMicroservice(class {}, { strategy: server, logger: false });
    await expect(app.listen()).rejects.toBeInstanceOf(QueueNotFoundError);
    await app.close();
  });

  it('fails connect() and the first send() with a clear error when the queue does not exist', async () => {
    const client = bed.client({ queue: 'absent-queue' });
    await expect(client.connect()).rejects.toBeInstanceOf(QueueNotFoundError);
    await expect(firstValueFrom(client.send('x', 1))).rejects.toThrow(/absent-queue" does not exist/);
  });

  it('fails fast with BackendUnreachableError when nothing answers at the endpoint', async () => {
    const client = bed.client({
      queue: 'q',
      sqs: { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 },
    });
    const t0 = Date.now();
    await expect(client.connect()).rejects.toBeInstanceOf(BackendUnreachableError);
    expect(Date.now() - t0).toBeLessThan(scaled(5_000));
  });

  it('reports status and exposes the SDK client', async () => {
    const queue = await bed.queue('status');
    const { server } = await bed.app(LifecycleController, { queues: [queue] });
    const client = bed.client({ queue });
    await client.connect();
    expect(server.unwrap()).toBeInstanceOf(SQSClient);
    expect(client.unwrap()).toBeInstanceOf(SQSClient);
    expect(() => server.on('error', () => undefined)).not.toThrow();
    expect(() => client.on('error', () => undefined)).not.toThrow();
    const statusLog: string[] = [];
    const subs = [server.status.subscribe((s) => statusLog.push(`server:${s}`)), client.status.subscribe((s) => statusLog.push(`client:${s}`))];
    await client.close();
    await server.close();
    subs.forEach((s) => s.unsubscribe());
    expect(statusLog).toEqual(['server:connected', 'client:connected', 'client:disconnected', 'server:disconnected']);
  });

  it('closes gracefully: an in-flight handler finishes, its reply arrives and its message is deleted', async () => {
    const queue = await bed.queue('graceful');
    const { app } = await bed.app(LifecycleController, { queues: [queue] });
    const client = bed.client({ queue });
    const reply = firstValueFrom(client.send('slow', 700));
    await started.promise;
    const t0 = Date.now();
    await app.close();
    expect(Date.now() - t0).toBeGreaterThan(400);
    expect(await reply).toBe('slept 700');
    expect(await bed.counts(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('runs at most maxConcurrency handlers and receives no more than it can start', async () => {
    const queue = await bed.queue('bounded');
    const client = bed.client({ queue });
    await Promise.all(Array.from({ length: 12 }, (_, i) => firstValueFrom(client.emit('busy', `m${i}`))));
    // Received but not yet finished, whenever a receive returns: a message holds its slot from its receive to its handler's end.
    const { sqs } = bed.countingClient();
    let received = 0;
    let peakHeld = 0;
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'ReceiveMessageCommand') {
          received += (result.output as { Messages?: unknown[] }).Messages?.length ?? 0;
          peakHeld = Math.max(peakHeld, received - done.items.length);
        }
        return result;
      },
      { step: 'initialize' },
    );
    await bed.app(LifecycleController, { queues: [queue], pollers: 3, maxConcurrency: 3, sqs });
    await done.wait(12);
    expect(maxActive).toBe(3);
    expect(received).toBe(12);
    expect(peakHeld).toBeLessThanOrEqual(3);
  });

  it('lets handlers ack and nack by hand with manualAck', async () => {
    const queue = await bed.queue('manual');
    await bed.app(LifecycleController, { queues: [queue], manualAck: true });
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('manual', 'x'));
    expect(await done.wait(2)).toEqual(['x#1', 'x#2']);
    await eventually(async () => {
      const c = await bed.counts(queue);
      return c.visible === 0 && c.inFlight === 0;
    });
  });

  it('finds queues by name, and serves again after the client closes and reconnects', async () => {
    const name = (await bed.queue('reconnect')).split('/').pop()!;
    await bed.app(LifecycleController, { queues: [name] });
    const client = bed.client({ queue: name });
    expect(await firstValueFrom(client.send('slow', 1))).toBe('slept 1');
    await client.close();
    expect(await firstValueFrom(client.send('slow', 2))).toBe('slept 2');
  });

  it('handles events sent while no server ran once one starts (durable)', async () => {
    const queue = await bed.queue('durable');
    const client = bed.client({ queue });
    await Promise.all(['a', 'b', 'c'].map((id) => firstValueFrom(client.emit('busy', id))));
    await bed.app(LifecycleController, { queues: [queue] });
    expect((await done.wait(3)).sort()).toEqual(['a', 'b', 'c']);
  });
});
