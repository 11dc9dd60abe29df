import { Module, type INestMicroservice, type Provider, type Type } from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { OrderEvents } from './choreographed/order-events.js';
import { InventoryController, Stock } from './inventory.js';
import { OrderOrchestrator } from './orchestrated/orchestrator.js';
import { OrdersController } from './orders.js';
import { PaymentsController, Ledger } from './payments.js';
import { PEERS, SERVICES, type Peers, type ServiceName } from './peers.js';
import { type LogSink, printEntry, TraceLog } from './trace-log.js';
import { traceBuiltinServer } from './tracing.js';
import type { Wiring } from './transports.js';

const PARTS: Record<ServiceName, { controllers: Type[]; providers: Provider[] }> = {
  orders: { controllers: [OrdersController], providers: [OrderOrchestrator, OrderEvents] },
  inventory: { controllers: [InventoryController], providers: [Stock] },
  payments: { controllers: [PaymentsController], providers: [Ledger] },
};

export interface RunningService {
  name: ServiceName;
  app: INestMicroservice;
  peers: Peers;
}

/**
 * Starts one service as its own Nest microservice, with a client to each other service; every
 * message it handles is logged to `log` with its trace id.
 */
export async function startService(name: ServiceName, wiring: Wiring, log: LogSink = printEntry): Promise<RunningService> {
  const peers = Object.fromEntries(SERVICES.map((s) => [s, wiring.client(s)])) as Peers;
  @Module({
    controllers: PARTS[name].controllers,
    providers: [...PARTS[name].providers, { provide: PEERS, useValue: peers }, { provide: APP_INTERCEPTOR, useValue: new TraceLog(name, log) }],
  })
  class ServiceModule {}
  const service = { name, app: await NestFactory.createMicroservice(ServiceModule, { ...wiring.server(name), logger: ['error'] }), peers };
  try {
    traceBuiltinServer(wiring.transport, service.app);
    await service.app.listen();
    return service;
  } catch (err) {
    await stopService(service).catch(() => undefined);
    throw err;
  }
}

export async function stopService({ app, peers }: RunningService): Promise<void> {
  await app.close();
  await Promise.all(Object.values(peers).map((client) => client.close()));
}
