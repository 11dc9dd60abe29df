import { PubSub } from '@google-cloud/pubsub';
import { Controller, type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { clientProvider, PubSubClient, PubSubContext, PubSubServer } from '@nest-transports/pubsub';
import { contextName, EventLog, ORDERS, type Order, orderTotal, type StartedTransport, type TotalReply } from './orders.js';

const projectId = 'nest-transports-packages';

@Controller()
export class PubSubOrdersController {
  constructor(private readonly events: EventLog) {}

  @MessagePattern('orders.total')
  total(@Payload() items: number[], @Ctx() ctx: PubSubContext): TotalReply {
    return { total: orderTotal(items), context: contextName(ctx, PubSubContext), pattern: String(ctx.getPattern()) };
  }

  @EventPattern<string>('orders.created')
  created(@Payload() order: Order, @Ctx() ctx: PubSubContext): void {
    this.events.record({ order, context: contextName(ctx, PubSubContext), pattern: String(ctx.getPattern()) });
  }
}

@Module({ controllers: [PubSubOrdersController], providers: [EventLog] })
export class PubSubOrdersModule {}

@Module({})
export class PubSubClientModule {
  /** register with clientProvider(): options typed by PubSubClient. */
  static forTopic(topic: string): DynamicModule {
    return {
      module: PubSubClientModule,
      imports: [ClientsModule.register([clientProvider({ name: ORDERS, customClass: PubSubClient, options: { clientConfig: { projectId }, topic } })])],
    };
  }
}

/** The topic and subscription are the app's infrastructure (created here as a deploy step would). */
export async function startPubSub(runId: string): Promise<StartedTransport> {
  const admin = new PubSub({ projectId });
  const [topic] = await admin.createTopic(`orders-${runId}`);
  const [subscription] = await topic.createSubscription(`orders-${runId}`);
  const app = await NestFactory.createMicroservice(PubSubOrdersModule, {
    strategy: new PubSubServer({ clientConfig: { projectId }, subscription: subscription.name }),
    logger: ['error', 'warn'],
  });
  await app.listen();
  return {
    events: app.get(EventLog),
    clientModule: PubSubClientModule.forTopic(`orders-${runId}`),
    close: async () => {
      await app.close();
      await subscription.delete();
      await topic.delete();
      await admin.close();
    },
  };
}
