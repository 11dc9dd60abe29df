import { Module, type INestMicroservice, type Provider, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OrderEvents } from './choreographed/order-events.js';
import { InventoryController, Stock } from './inventory.js';
import { OrderOrchestrator } from './orchestrated/orchestrator.js';
import { OrdersController } from './orders.js';
import { PaymentsController, Ledger } from './payments.js';
import { PEERS, SERVICES, type Peers, type ServiceName } from './peers.js';
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

/** Starts one service as its own Nest microservice, with a client to each other service. */
export async function startService(name: ServiceName, wiring: Wiring): Promise<RunningService> {
  const peers = Object.fromEntries(SERVICES.map((s) => [s, wiring.client(s)])) as Peers;
  @Module({ controllers: PARTS[name].controllers, providers: [...PARTS[name].providers, { provide: PEERS, useValue: peers }] })
  class ServiceModule {}
  const app = await NestFactory.createMicroservice(ServiceModule, { ...wiring.server(name), logger: ['error'] });
  await app.listen();
  return { name, app, peers };
}

export async function stopService({ app, peers }: RunningService): Promise<void> {
  await app.close();
  await Promise.all(Object.values(peers).map((client) => client.close()));
}
