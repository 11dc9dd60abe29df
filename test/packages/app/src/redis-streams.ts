import { Controller, type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { clientProvider, RedisStreamsClient, RedisStreamsContext, RedisStreamsServer } from '@nest-transports/redis-streams';
import { Redis } from 'ioredis';
import { contextName, EventLog, ORDERS, type Order, orderTotal, type StartedTransport, type TotalReply } from './orders.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

@Controller()
export class RedisStreamsOrdersController {
  constructor(private readonly events: EventLog) {}

  @MessagePattern('orders.total')
  total(@Payload() items: number[], @Ctx() ctx: RedisStreamsContext): TotalReply {
    return { total: orderTotal(items), context: contextName(ctx, RedisStreamsContext), pattern: ctx.getPattern() };
  }

  @EventPattern<string>('orders.created')
  created(@Payload() order: Order, @Ctx() ctx: RedisStreamsContext): void {
    this.events.record({ order, context: contextName(ctx, RedisStreamsContext), pattern: ctx.getPattern() });
  }
}

@Module({ controllers: [RedisStreamsOrdersController], providers: [EventLog] })
export class RedisStreamsOrdersModule {}

@Module({})
export class RedisStreamsClientModule {
  /** register with clientProvider(): options typed by RedisStreamsClient. */
  static forRun(runId: string): DynamicModule {
    return {
      module: RedisStreamsClientModule,
      imports: [ClientsModule.register([clientProvider({ name: ORDERS, customClass: RedisStreamsClient, options: { url, stream: runId } })])],
    };
  }
}

/** The stream and its group are created by the server (createGroups, the default); the run deletes them. */
export async function startRedisStreams(runId: string): Promise<StartedTransport> {
  const app = await NestFactory.createMicroservice(RedisStreamsOrdersModule, {
    strategy: new RedisStreamsServer({ url, stream: runId, group: 'orders' }),
    logger: ['error'],
  });
  await app.listen();
  return {
    events: app.get(EventLog),
    clientModule: RedisStreamsClientModule.forRun(runId),
    close: async () => {
      await app.close();
      const admin = new Redis(url);
      await admin.del(runId, `${runId}:dead-letter`);
      await admin.quit();
    },
  };
}
