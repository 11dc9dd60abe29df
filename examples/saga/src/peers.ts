import type { ClientProxy } from '@nestjs/microservices';

export type ServiceName = 'orders' | 'inventory' | 'payments';
export const SERVICES: readonly ServiceName[] = ['orders', 'inventory', 'payments'];

/** A client to each other service, injected where a service calls or notifies another. */
/** What the services use of a client; Nest's clients (built-in or ours) differ in their `on()`/`status` types. */
export type AnyClient = Pick<ClientProxy, 'send' | 'emit' | 'connect' | 'close'>;
export type Peers = Record<ServiceName, AnyClient>;
export const PEERS = Symbol('PEERS');
