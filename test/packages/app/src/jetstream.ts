import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Controller, type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { clientProvider, JetStreamClient, JetStreamContext, JetStreamServer } from '@nest-transports/jetstream';
import { contextName, EventLog, ORDERS, type Order, orderTotal, type StartedTransport, type TotalReply } from './orders.js';

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

@Controller()
export class JetStreamOrdersController {
  constructor(private readonly events: EventLog) {}

  @MessagePattern('orders.total')
  total(@Payload() items: number[], @Ctx() ctx: JetStreamContext): TotalReply {
    return { total: orderTotal(items), context: contextName(ctx, JetStreamContext), pattern: ctx.getPattern() };
  }

  @EventPattern<string>('orders.created')
  created(@Payload() order: Order, @Ctx() ctx: JetStreamContext): void {
    this.events.record({ order, context: contextName(ctx, JetStreamContext), pattern: ctx.getPattern() });
  }
}

@Module({ controllers: [JetStreamOrdersController], providers: [EventLog] })
export class JetStreamOrdersModule {}

@Module({})
export class JetStreamClientModule {
  /** register with clientProvider(): options typed by JetStreamClient. */
  static forRun(runId: string): DynamicModule {
    return {
      module: JetStreamClientModule,
      imports: [
        ClientsModule.register([
          clientProvider({
            name: ORDERS,
            customClass: JetStreamClient,
            options: { servers, requestPrefix: `rpc.${runId}`, subject: (route) => `${runId}.${route}` },
          }),
        ]),
      ],
    };
  }
}

/** The stream and its durable consumer are the app's infrastructure (created here as a deploy step would). */
export async function startJetStream(runId: string): Promise<StartedTransport> {
  const admin = await connect({ servers });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: runId, subjects: [`${runId}.>`] });
  await jsm.consumers.add(runId, { durable_name: 'orders', ack_policy: AckPolicy.Explicit });
  const app = await NestFactory.createMicroservice(JetStreamOrdersModule, {
    strategy: new JetStreamServer({ servers, stream: runId, consumer: 'orders', requestPrefix: `rpc.${runId}` }),
    logger: ['error'],
  });
  await app.listen();
  return {
    events: app.get(EventLog),
    clientModule: JetStreamClientModule.forRun(runId),
    close: async () => {
      await app.close();
      await jsm.streams.delete(runId);
      await admin.close();
    },
  };
}
