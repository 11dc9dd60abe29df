import type { AddressInfo } from 'node:net';
import { Controller, type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { WsClient, WsContext, WsServer } from '@nest-transports/ws';
import { contextName, EventLog, ORDERS, type Order, orderTotal, type StartedTransport, type TotalReply } from './orders.js';

@Controller()
export class WsOrdersController {
  constructor(private readonly events: EventLog) {}

  @MessagePattern('orders.total')
  total(@Payload() items: number[], @Ctx() ctx: WsContext): TotalReply {
    return { total: orderTotal(items), context: contextName(ctx, WsContext), pattern: String(ctx.getPattern()) };
  }

  @EventPattern<string>('orders.created')
  created(@Payload() order: Order, @Ctx() ctx: WsContext): void {
    this.events.record({ order, context: contextName(ctx, WsContext), pattern: String(ctx.getPattern()) });
  }
}

@Module({ controllers: [WsOrdersController], providers: [EventLog] })
export class WsOrdersModule {}

@Module({})
export class WsClientModule {
  /** The README's form: `customClass` with untyped options. */
  static forUrl(url: string): DynamicModule {
    return { module: WsClientModule, imports: [ClientsModule.register([{ name: ORDERS, customClass: WsClient, options: { url } }])] };
  }
}

/** A hybrid app: HTTP and the WebSocket transport on one port, as in the README. */
export async function startWs(): Promise<StartedTransport> {
  const app = await NestFactory.create(WsOrdersModule, { logger: ['error', 'warn'] });
  app.connectMicroservice({ strategy: new WsServer({ server: app.getHttpServer(), path: '/rpc' }) });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { events: app.get(EventLog), clientModule: WsClientModule.forUrl(`ws://127.0.0.1:${port}/rpc`), close: () => app.close() };
}
