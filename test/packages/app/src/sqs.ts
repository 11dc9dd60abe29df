import { CreateQueueCommand, DeleteQueueCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { Controller, type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ClientsModule, Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { clientProvider, SqsClient, SqsContext, SqsServer } from '@nest-transports/sqs';
import { contextName, EventLog, ORDERS, type Order, orderTotal, type StartedTransport, type TotalReply } from './orders.js';

@Controller()
export class SqsOrdersController {
  constructor(private readonly events: EventLog) {}

  @MessagePattern('orders.total')
  total(@Payload() items: number[], @Ctx() ctx: SqsContext): TotalReply {
    return { total: orderTotal(items), context: contextName(ctx, SqsContext), pattern: String(ctx.getPattern()) };
  }

  @EventPattern<string>('orders.created')
  created(@Payload() order: Order, @Ctx() ctx: SqsContext): void {
    this.events.record({ order, context: contextName(ctx, SqsContext), pattern: String(ctx.getPattern()) });
  }
}

@Module({ controllers: [SqsOrdersController], providers: [EventLog] })
export class SqsOrdersModule {}

/** SDK config from the environment, as an app deployed against an emulator or AWS would read it. */
function sqsConfig(config: { getOrThrow<T>(key: string): T }): SQSClientConfig {
  return {
    endpoint: config.getOrThrow<string>('SQS_ENDPOINT'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

@Module({})
export class SqsClientModule {
  /** registerAsync with ConfigService, typed through clientProvider(). */
  static fromConfig(): DynamicModule {
    return {
      module: SqsClientModule,
      imports: [
        ClientsModule.registerAsync([
          {
            name: ORDERS,
            imports: [ConfigModule.forRoot({ ignoreEnvFile: true })],
            inject: [ConfigService],
            useFactory: (config: ConfigService) =>
              clientProvider({ customClass: SqsClient, options: { queue: config.getOrThrow<string>('ORDERS_QUEUE'), sqs: sqsConfig(config) } }),
          },
        ]),
      ],
    };
  }
}

export async function startSqs(runId: string): Promise<StartedTransport> {
  const env = { getOrThrow: <T>(key: string) => process.env[key] as T };
  const admin = new SQSClient(sqsConfig(env));
  const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: `orders-${runId}` }));
  process.env.ORDERS_QUEUE = `orders-${runId}`;
  const app = await NestFactory.createMicroservice(SqsOrdersModule, {
    strategy: new SqsServer({ queues: [QueueUrl!], sqs: sqsConfig(env), waitTimeSeconds: 1 }),
    logger: ['error', 'warn'],
  });
  await app.listen();
  return {
    events: app.get(EventLog),
    clientModule: SqsClientModule.fromConfig(),
    close: async () => {
      await app.close();
      await admin.send(new DeleteQueueCommand({ QueueUrl }));
      admin.destroy();
    },
  };
}
